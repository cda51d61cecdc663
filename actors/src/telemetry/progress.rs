//! Progress of long work (graph load, gossip replay): gauges a dashboard can chart and an
//! info log line every few percent or every few seconds, whichever comes first.
//!
//! Gauges: `lnfleet_<service>_progress_done{task}` and `lnfleet_<service>_progress_target{task}`.
//! `task` is a fixed name from the code (`graph_load`), never data, so the label stays bounded.
//! Log line: `info!(task, done, total, percent, rate, "progress")`, `rate` in units per second
//! since the start; `finish` logs `"task complete"` with the elapsed seconds.

use std::time::Duration;

use prometheus::IntGauge;
use tokio::time::Instant;

use super::metrics::{Metrics, MetricsError};

/// When a [`Progress`] logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressConfig {
    /// Log each time another `every_percent` of the total is done (ignored while the total is 0).
    pub every_percent: f64,
    /// Log at least this often while work advances.
    pub every: Duration,
}

impl Default for ProgressConfig {
    fn default() -> Self {
        ProgressConfig {
            every_percent: 10.0,
            every: Duration::from_secs(10),
        }
    }
}

/// Decides when to log; kept apart from the gauges and the clock so tests drive it directly.
#[derive(Debug, Clone)]
struct LogSchedule {
    config: ProgressConfig,
    last_logged_at: Instant,
    last_logged_step: u64,
}

impl LogSchedule {
    fn new(config: ProgressConfig, now: Instant) -> Self {
        LogSchedule {
            config,
            last_logged_at: now,
            last_logged_step: 0,
        }
    }

    /// Which `every_percent` step `done` has reached, if the percentage is known.
    fn step(&self, done: u64, total: u64) -> Option<u64> {
        if total == 0 || self.config.every_percent <= 0.0 {
            return None;
        }
        let step = percent(done, total) / self.config.every_percent;
        // Saturating float-to-int: a huge step is still "past the last one".
        Some(step.floor() as u64)
    }

    /// Whether a line is due now; if so, remembers that it was logged.
    fn due(&mut self, done: u64, total: u64, now: Instant) -> bool {
        let step = self.step(done, total);
        let crossed_step = step.is_some_and(|step| step > self.last_logged_step);
        let waited = now.saturating_duration_since(self.last_logged_at) >= self.config.every;
        if crossed_step || waited {
            self.last_logged_at = now;
            if let Some(step) = step {
                self.last_logged_step = step;
            }
            true
        } else {
            false
        }
    }
}

fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        done as f64 * 100.0 / total as f64
    }
}

/// Progress of one long task. Owned by whoever does the work; `done`/`total` are also exported
/// as gauges, so the work can be followed on `/metrics`.
#[derive(Debug)]
pub struct Progress {
    task: String,
    done: u64,
    total: u64,
    done_gauge: IntGauge,
    total_gauge: IntGauge,
    started: Instant,
    schedule: LogSchedule,
}

/// Gauges are i64; progress beyond i64::MAX is clamped rather than wrapped.
fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Progress {
    /// Starts `task` with `total` units to do (0 when not known yet) and the default schedule.
    pub fn start(metrics: &Metrics, task: &str, total: u64) -> Result<Self, MetricsError> {
        Self::start_with(metrics, task, total, ProgressConfig::default())
    }

    /// Starts `task` with an explicit logging schedule.
    pub fn start_with(
        metrics: &Metrics,
        task: &str,
        total: u64,
        config: ProgressConfig,
    ) -> Result<Self, MetricsError> {
        let gauges = metrics.progress_gauges()?;
        let now = Instant::now();
        let progress = Progress {
            task: task.to_owned(),
            done: 0,
            total,
            done_gauge: gauges.done.with_label_values(&[task]),
            total_gauge: gauges.total.with_label_values(&[task]),
            started: now,
            schedule: LogSchedule::new(config, now),
        };
        progress.done_gauge.set(0);
        progress.total_gauge.set(gauge_value(total));
        tracing::info!(task, total, "task started");
        Ok(progress)
    }

    pub fn task(&self) -> &str {
        &self.task
    }

    pub fn done(&self) -> u64 {
        self.done
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Percentage done, 0 while the total is unknown.
    pub fn percent(&self) -> f64 {
        percent(self.done, self.total)
    }

    /// Records `units` more done.
    pub fn advance(&mut self, units: u64) {
        self.set_done(self.done.saturating_add(units));
    }

    /// Records that `done` units are done in all.
    pub fn set_done(&mut self, done: u64) {
        self.done = done;
        self.done_gauge.set(gauge_value(done));
        self.log_if_due(Instant::now());
    }

    /// Changes the total (it was unknown at the start, or grew).
    pub fn set_total(&mut self, total: u64) {
        self.total = total;
        self.total_gauge.set(gauge_value(total));
    }

    /// Units per second since the start.
    fn rate(&self, now: Instant) -> f64 {
        let secs = now.saturating_duration_since(self.started).as_secs_f64();
        if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        }
    }

    fn log_if_due(&mut self, now: Instant) {
        if self.schedule.due(self.done, self.total, now) {
            tracing::info!(
                task = %self.task,
                done = self.done,
                total = self.total,
                percent = self.percent(),
                rate = self.rate(now),
                "progress"
            );
        }
    }

    /// Ends the task: logs the elapsed time and the final rate. The gauges keep their last
    /// values, so a finished load still reads "done == total" on `/metrics`.
    pub fn finish(self) {
        let now = Instant::now();
        tracing::info!(
            task = %self.task,
            done = self.done,
            total = self.total,
            elapsed_seconds = now.saturating_duration_since(self.started).as_secs_f64(),
            rate = self.rate(now),
            "task complete"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(every_percent: f64, every_secs: u64) -> (LogSchedule, Instant) {
        let start = Instant::now();
        let config = ProgressConfig {
            every_percent,
            every: Duration::from_secs(every_secs),
        };
        (LogSchedule::new(config, start), start)
    }

    #[test]
    fn logs_once_per_percent_step() {
        let (mut schedule, start) = schedule(10.0, 3600);
        let due: Vec<u64> = (0..=1000)
            .filter(|done| schedule.due(*done, 1000, start))
            .collect();
        assert_eq!(
            due,
            [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
            "one line per 10% crossed"
        );
    }

    #[test]
    fn a_jump_over_several_steps_logs_once() {
        let (mut schedule, start) = schedule(10.0, 3600);
        assert!(schedule.due(550, 1000, start));
        assert!(!schedule.due(590, 1000, start));
        assert!(schedule.due(600, 1000, start));
    }

    #[test]
    fn logs_after_the_interval_even_without_a_step() {
        let (mut schedule, start) = schedule(10.0, 5);
        assert!(!schedule.due(1, 1000, start + Duration::from_secs(4)));
        assert!(schedule.due(2, 1000, start + Duration::from_secs(5)));
        assert!(!schedule.due(3, 1000, start + Duration::from_secs(9)));
        assert!(schedule.due(4, 1000, start + Duration::from_secs(10)));
    }

    #[test]
    fn unknown_total_logs_on_time_only() {
        let (mut schedule, start) = schedule(10.0, 5);
        assert!(!schedule.due(1_000_000, 0, start + Duration::from_secs(1)));
        assert!(schedule.due(2_000_000, 0, start + Duration::from_secs(6)));
    }

    #[test]
    fn gauges_follow_done_and_total() -> Result<(), MetricsError> {
        let metrics = Metrics::new("gossip")?;
        let mut progress = Progress::start(&metrics, "graph_load", 0)?;
        progress.set_total(200);
        progress.advance(50);
        progress.advance(25);
        assert_eq!(progress.done(), 75);
        assert!((progress.percent() - 37.5).abs() < f64::EPSILON);
        let text = metrics.encode_text();
        assert!(text.contains(r#"lnfleet_gossip_progress_done{task="graph_load"} 75"#));
        assert!(text.contains(r#"lnfleet_gossip_progress_target{task="graph_load"} 200"#));
        progress.finish();
        assert!(metrics
            .encode_text()
            .contains(r#"lnfleet_gossip_progress_done{task="graph_load"} 75"#));
        Ok(())
    }

    #[test]
    fn two_tasks_share_the_gauges_under_different_labels() -> Result<(), MetricsError> {
        let metrics = Metrics::new("gossip")?;
        let mut load = Progress::start(&metrics, "graph_load", 10)?;
        let mut replay = Progress::start(&metrics, "gossip_replay", 20)?;
        load.advance(10);
        replay.advance(5);
        let text = metrics.encode_text();
        assert!(text.contains(r#"lnfleet_gossip_progress_done{task="graph_load"} 10"#));
        assert!(text.contains(r#"lnfleet_gossip_progress_done{task="gossip_replay"} 5"#));
        Ok(())
    }

    #[test]
    fn progress_line_has_structured_fields() -> Result<(), MetricsError> {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut bytes) = self.0.lock() {
                    bytes.extend_from_slice(buf);
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let metrics = Metrics::new("gossip")?;
        tracing::subscriber::with_default(subscriber, || -> Result<(), MetricsError> {
            let mut progress = Progress::start(&metrics, "graph_load", 4)?;
            progress.advance(1);
            progress.finish();
            Ok(())
        })?;
        let output = captured
            .0
            .lock()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let progress_line = output
            .lines()
            .find(|line| line.contains(r#""message":"progress""#))
            .unwrap_or_default();
        for field in [
            r#""task":"graph_load""#,
            r#""done":1"#,
            r#""total":4"#,
            r#""percent":25.0"#,
            r#""rate":"#,
        ] {
            assert!(progress_line.contains(field), "{field} missing: {output}");
        }
        assert!(output.contains(r#""message":"task complete""#));
        Ok(())
    }
}
