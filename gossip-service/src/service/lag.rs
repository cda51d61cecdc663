//! Consumer lag per topic: how many records a consumer of this process is behind the log.
//!
//! The loops that consume record their positions (per partition, the offset after the last
//! record consumed) in [`ConsumerPositions`]; a loop that does not (the ingest loop) is measured
//! by its group's committed offsets ([`LagSource`]). [`run_lag_monitor`] polls the end offsets
//! with [`lnfleet_actors::kafka::end_offsets`] every interval and exports
//! `lnfleet_<service>_consumer_lag_records{topic}` = Σ partitions (end offset − next offset).
//! Polling, not per record, because asking the broker costs a round trip per partition.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lnfleet_actors::kafka::{self, KafkaConfig};
use lnfleet_actors::telemetry::{Metrics, MetricsError};
use prometheus::IntGaugeVec;
use tokio::sync::watch;

use super::stopped;

/// How long one end-offset query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Per topic, per partition, the next offset each consumer of this process will read.
#[derive(Debug, Clone, Default)]
pub struct ConsumerPositions {
    topics: Arc<Mutex<BTreeMap<&'static str, BTreeMap<i32, i64>>>>,
}

impl ConsumerPositions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the positions of `topic`.
    pub fn record(&self, topic: &'static str, next_offsets: &BTreeMap<i32, i64>) {
        self.topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(topic, next_offsets.clone());
    }

    /// The positions of `topic` (empty when nothing was consumed yet).
    pub fn of(&self, topic: &str) -> BTreeMap<i32, i64> {
        self.topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }
}

/// Σ over partitions of (end offset − next offset), a partition never read counting from 0.
pub fn lag_records(end_offsets: &[(i32, i64)], next_offsets: &BTreeMap<i32, i64>) -> i64 {
    end_offsets
        .iter()
        .map(|(partition, end)| {
            let next = next_offsets.get(partition).copied().unwrap_or(0);
            end.saturating_sub(next).max(0)
        })
        .fold(0i64, i64::saturating_add)
}

/// The `consumer_lag_records{topic}` gauge.
pub fn register_lag_gauge(metrics: &Metrics) -> Result<IntGaugeVec, MetricsError> {
    metrics.gauge_vec(
        "consumer_lag_records",
        "Records of a topic not yet consumed by this process (end offset minus next offset)",
        &["topic"],
    )
}

/// Where the consumed position of a topic comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LagSource {
    /// A consumer of this process that records into [`ConsumerPositions`].
    Positions(&'static str),
    /// A consumer group's committed offsets (for consumers that do not expose positions, such as
    /// the ingest loop). Offsets are auto-committed every few seconds, so this lags by that much.
    Group { topic: &'static str, group: String },
}

impl LagSource {
    pub fn topic(&self) -> &'static str {
        match self {
            LagSource::Positions(topic) | LagSource::Group { topic, .. } => topic,
        }
    }
}

/// Per partition, the next offset of `source`.
fn positions_of(
    config: &KafkaConfig,
    source: &LagSource,
    positions: &ConsumerPositions,
) -> Result<BTreeMap<i32, i64>, kafka::KafkaError> {
    match source {
        LagSource::Positions(topic) => Ok(positions.of(topic)),
        LagSource::Group { topic, group } => {
            Ok(
                kafka::committed_offsets(config, group, topic, QUERY_TIMEOUT)?
                    .into_iter()
                    .filter_map(|(partition, offset)| Some((partition, offset?)))
                    .collect(),
            )
        }
    }
}

/// Polls every source every `interval` and sets the lag gauge, until shutdown. A failed poll is
/// logged and leaves the gauge as it was.
pub async fn run_lag_monitor(
    config: KafkaConfig,
    positions: ConsumerPositions,
    sources: Vec<LagSource>,
    gauge: IntGaugeVec,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            _ = ticker.tick() => {}
        }
        for source in &sources {
            let topic = source.topic();
            let (query_config, query_source, query_positions) =
                (config.clone(), source.clone(), positions.clone());
            // Both queries block on broker round trips: off the executor.
            let query = tokio::task::spawn_blocking(move || {
                let end = kafka::end_offsets(&query_config, topic, QUERY_TIMEOUT)?;
                let next = positions_of(&query_config, &query_source, &query_positions)?;
                Ok::<_, kafka::KafkaError>(lag_records(&end, &next))
            });
            match query.await {
                Ok(Ok(lag)) => gauge.with_label_values(&[topic]).set(lag),
                Ok(Err(error)) => tracing::warn!(topic, %error, "consumer lag unavailable"),
                Err(error) => tracing::warn!(topic, %error, "consumer lag query panicked"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_unread_records_of_every_partition() {
        let next = BTreeMap::from([(0, 7), (1, 3)]);
        assert_eq!(
            lag_records(&[(0, 10), (1, 3), (2, 4)], &next),
            7,
            "3 + 0 + 4"
        );
        // A position past the end (a retention race) is no lag, not negative lag.
        assert_eq!(lag_records(&[(0, 5)], &next), 0);
        assert_eq!(lag_records(&[], &next), 0);
    }

    #[test]
    fn positions_are_shared_between_clones() {
        let positions = ConsumerPositions::new();
        let clone = positions.clone();
        clone.record("ln.gossip.valid", &BTreeMap::from([(0, 4)]));
        assert_eq!(positions.of("ln.gossip.valid"), BTreeMap::from([(0, 4)]));
        assert!(positions.of("ln.payments.outcomes").is_empty());
    }
}
