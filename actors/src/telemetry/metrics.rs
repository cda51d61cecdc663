//! A Prometheus registry per service, and constructors that enforce the naming convention.
//!
//! # Naming convention
//!
//! Every metric is named `lnfleet_<service>_<what>_<unit>`:
//! - `<service>` and `<what>_<unit>` are lowercase snake case (`[a-z][a-z0-9_]*`, no `__`, no
//!   trailing `_`); the `lnfleet_<service>_` prefix is added here, callers pass `<what>_<unit>`.
//! - counters end in `_total` (`peer_messages_received_total`);
//! - histograms end in a base unit, `_seconds` for durations (`graph_load_seconds`) or `_bytes`
//!   for sizes;
//! - nothing but a counter ends in `_total`, and no name ends in a scaled unit (`_ms`,
//!   `_milliseconds`, `_minutes`, `_kb`, ...): durations are seconds, sizes are bytes;
//! - label names are snake case and label sets stay small and bounded (a message type, never a
//!   peer id).
//!
//! A name that breaks a rule is refused with a [`MetricsError`] before it reaches the registry.

use std::sync::{Arc, Mutex};

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Prefix shared by every lnfleet metric.
pub const METRIC_PREFIX: &str = "lnfleet";

/// Units a histogram may end in: Prometheus base units only.
const HISTOGRAM_UNITS: &[&str] = &["seconds", "bytes"];

/// Scaled units refused as a final name segment, with the base unit to use instead.
const SCALED_UNITS: &[(&str, &str)] = &[
    ("ns", "seconds"),
    ("nanoseconds", "seconds"),
    ("us", "seconds"),
    ("microseconds", "seconds"),
    ("ms", "seconds"),
    ("millis", "seconds"),
    ("milliseconds", "seconds"),
    ("secs", "seconds"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("kb", "bytes"),
    ("kib", "bytes"),
    ("mb", "bytes"),
    ("mib", "bytes"),
    ("gb", "bytes"),
];

/// What kind of metric a name is meant for; the rules differ per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl std::fmt::Display for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        })
    }
}

/// Why a metric could not be created.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("service name {service:?} is not lowercase snake case")]
    InvalidServiceName { service: String },
    #[error("metric name {name:?} is not lowercase snake case")]
    NotSnakeCase { name: String },
    #[error("metric name {name:?} needs a <what>_<unit> shape (at least two segments)")]
    MissingUnit { name: String },
    #[error("counter {name:?} must end in _total")]
    CounterWithoutTotal { name: String },
    #[error("{kind} {name:?} must not end in _total (only counters do)")]
    TotalOnNonCounter { name: String, kind: MetricKind },
    #[error("histogram {name:?} must end in a base unit (_seconds or _bytes)")]
    HistogramWithoutBaseUnit { name: String },
    #[error("metric {name:?} uses the scaled unit {unit:?}; use _{base} instead")]
    ScaledUnit {
        name: String,
        unit: &'static str,
        base: &'static str,
    },
    #[error("label name {label:?} of metric {name:?} is not lowercase snake case")]
    InvalidLabel { name: String, label: String },
    #[error("metric {name:?} is already registered")]
    AlreadyRegistered { name: String },
    #[error("prometheus refused metric {name:?}: {source}")]
    Prometheus {
        name: String,
        #[source]
        source: prometheus::Error,
    },
}

/// `[a-z][a-z0-9_]*` without `__` and without a trailing `_`.
fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

/// Checks `name` (the `<what>_<unit>` part, without prefix) against the rules for `kind`.
pub fn validate_metric_name(name: &str, kind: MetricKind) -> Result<(), MetricsError> {
    let owned = || name.to_owned();
    if !is_snake_case(name) {
        return Err(MetricsError::NotSnakeCase { name: owned() });
    }
    let Some((_, unit)) = name.rsplit_once('_') else {
        return Err(MetricsError::MissingUnit { name: owned() });
    };
    let ends_in_total = unit == "total";
    // A counter's unit sits before `_total` (`sent_bytes_total`); check that segment too.
    let unit_before_total = name
        .strip_suffix("_total")
        .and_then(|rest| rest.rsplit_once('_'))
        .map(|(_, u)| u);
    for candidate in [Some(unit), unit_before_total].into_iter().flatten() {
        if let Some(&(scaled, base)) = SCALED_UNITS.iter().find(|(s, _)| *s == candidate) {
            return Err(MetricsError::ScaledUnit {
                name: owned(),
                unit: scaled,
                base,
            });
        }
    }
    match kind {
        MetricKind::Counter if !ends_in_total => {
            Err(MetricsError::CounterWithoutTotal { name: owned() })
        }
        MetricKind::Gauge | MetricKind::Histogram if ends_in_total => {
            Err(MetricsError::TotalOnNonCounter {
                name: owned(),
                kind,
            })
        }
        MetricKind::Histogram if !HISTOGRAM_UNITS.contains(&unit) => {
            Err(MetricsError::HistogramWithoutBaseUnit { name: owned() })
        }
        _ => Ok(()),
    }
}

fn validate_labels(name: &str, labels: &[&str]) -> Result<(), MetricsError> {
    match labels.iter().find(|label| !is_snake_case(label)) {
        Some(label) => Err(MetricsError::InvalidLabel {
            name: name.to_owned(),
            label: (*label).to_owned(),
        }),
        None => Ok(()),
    }
}

/// The gauges behind [`super::Progress`], registered on first use.
#[derive(Clone)]
pub(crate) struct ProgressGauges {
    pub(crate) done: IntGaugeVec,
    pub(crate) total: IntGaugeVec,
}

struct MetricsInner {
    service: String,
    registry: Registry,
    progress: Mutex<Option<ProgressGauges>>,
}

/// One service's metrics: a Prometheus registry plus the service name every metric is prefixed
/// with. Cheap to clone; clones share the registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("service", &self.inner.service)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry for `service` (snake case: `hsm`, `gossip`, `edge`).
    pub fn new(service: &str) -> Result<Self, MetricsError> {
        if !is_snake_case(service) {
            return Err(MetricsError::InvalidServiceName {
                service: service.to_owned(),
            });
        }
        Ok(Metrics {
            inner: Arc::new(MetricsInner {
                service: service.to_owned(),
                registry: Registry::new(),
                progress: Mutex::new(None),
            }),
        })
    }

    /// The service name metrics are prefixed with.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The underlying registry, to register collectors built elsewhere.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// `lnfleet_<service>_<name>`.
    pub fn full_name(&self, name: &str) -> String {
        format!("{METRIC_PREFIX}_{}_{name}", self.inner.service)
    }

    /// The Prometheus text exposition of everything registered.
    pub fn encode_text(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec only fails on a metric family without metrics, which the
        // registry never gathers; an empty exposition is the harmless fallback.
        if TextEncoder::new()
            .encode(&self.inner.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    fn register<C>(&self, full_name: String, collector: C) -> Result<C, MetricsError>
    where
        C: prometheus::core::Collector + Clone + 'static,
    {
        match self.inner.registry.register(Box::new(collector.clone())) {
            Ok(()) => Ok(collector),
            Err(prometheus::Error::AlreadyReg) => {
                Err(MetricsError::AlreadyRegistered { name: full_name })
            }
            Err(source) => Err(MetricsError::Prometheus {
                name: full_name,
                source,
            }),
        }
    }

    fn opts(&self, name: &str, help: &str, kind: MetricKind) -> Result<Opts, MetricsError> {
        validate_metric_name(name, kind)?;
        Ok(Opts::new(self.full_name(name), help))
    }

    fn checked<T>(full: &str, made: prometheus::Result<T>) -> Result<T, MetricsError> {
        made.map_err(|source| MetricsError::Prometheus {
            name: full.to_owned(),
            source,
        })
    }

    /// A counter `lnfleet_<service>_<name>`; `name` must end in `_total`.
    pub fn counter(&self, name: &str, help: &str) -> Result<IntCounter, MetricsError> {
        let opts = self.opts(name, help, MetricKind::Counter)?;
        let full = opts.name.clone();
        let counter = Self::checked(&full, IntCounter::with_opts(opts))?;
        self.register(full, counter)
    }

    /// A labelled counter; `name` must end in `_total`.
    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, MetricsError> {
        let opts = self.opts(name, help, MetricKind::Counter)?;
        let full = opts.name.clone();
        validate_labels(&full, labels)?;
        let counter = Self::checked(&full, IntCounterVec::new(opts, labels))?;
        self.register(full, counter)
    }

    /// An integer gauge (counts of things: peers, queued messages).
    pub fn gauge(&self, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
        let opts = self.opts(name, help, MetricKind::Gauge)?;
        let full = opts.name.clone();
        let gauge = Self::checked(&full, IntGauge::with_opts(opts))?;
        self.register(full, gauge)
    }

    /// A floating-point gauge (ratios, timestamps in seconds).
    pub fn float_gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        let opts = self.opts(name, help, MetricKind::Gauge)?;
        let full = opts.name.clone();
        let gauge = Self::checked(&full, Gauge::with_opts(opts))?;
        self.register(full, gauge)
    }

    /// A labelled integer gauge.
    pub fn gauge_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntGaugeVec, MetricsError> {
        let opts = self.opts(name, help, MetricKind::Gauge)?;
        let full = opts.name.clone();
        validate_labels(&full, labels)?;
        let gauge = Self::checked(&full, IntGaugeVec::new(opts, labels))?;
        self.register(full, gauge)
    }

    /// A histogram; `name` ends in `_seconds` or `_bytes`. `buckets: None` uses Prometheus'
    /// default buckets (5 ms to 10 s), which suit request durations.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: Option<Vec<f64>>,
    ) -> Result<Histogram, MetricsError> {
        let opts = self.histogram_opts(name, help, buckets)?;
        let full = opts.common_opts.name.clone();
        let histogram = Self::checked(&full, Histogram::with_opts(opts))?;
        self.register(full, histogram)
    }

    /// A labelled histogram; `name` ends in `_seconds` or `_bytes`.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Option<Vec<f64>>,
    ) -> Result<HistogramVec, MetricsError> {
        let opts = self.histogram_opts(name, help, buckets)?;
        let full = opts.common_opts.name.clone();
        validate_labels(&full, labels)?;
        let histogram = Self::checked(&full, HistogramVec::new(opts, labels))?;
        self.register(full, histogram)
    }

    fn histogram_opts(
        &self,
        name: &str,
        help: &str,
        buckets: Option<Vec<f64>>,
    ) -> Result<HistogramOpts, MetricsError> {
        let opts = HistogramOpts::from(self.opts(name, help, MetricKind::Histogram)?);
        Ok(match buckets {
            Some(buckets) => opts.buckets(buckets),
            None => opts,
        })
    }

    /// The `progress_{done,target}{task}` gauges, registered on first use. (Not `_total`:
    /// that suffix is for counters.)
    pub(crate) fn progress_gauges(&self) -> Result<ProgressGauges, MetricsError> {
        let mut slot = self
            .inner
            .progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(gauges) = slot.as_ref() {
            return Ok(gauges.clone());
        }
        let gauge = |what: &str, help: &str| {
            let full = self.full_name(what);
            let vec = Self::checked(&full, IntGaugeVec::new(Opts::new(&full, help), &["task"]))?;
            self.register(full, vec)
        };
        let gauges = ProgressGauges {
            done: gauge(
                "progress_done",
                "Units of long-running work done so far, per task",
            )?,
            total: gauge(
                "progress_target",
                "Units of long-running work to do, per task",
            )?,
        };
        *slot = Some(gauges.clone());
        Ok(gauges)
    }
}

#[cfg(test)]
mod tests;
