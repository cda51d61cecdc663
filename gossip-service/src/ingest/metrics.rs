//! The ingest loop's counters.

use lnfleet_actors::telemetry::{Metrics, MetricsError};
use prometheus::{IntCounter, IntCounterVec};

use super::MALFORMED_ENVELOPE;
use crate::validate::Rejection;

/// `lnfleet_<service>_gossip_accepted_total{kind}`, `..._gossip_rejected_total{reason}` and
/// `..._gossip_publish_failures_total`. Cheap to clone; clones share the counters.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    accepted: IntCounterVec,
    rejected: IntCounterVec,
    publish_failures: IntCounter,
}

impl IngestMetrics {
    /// Registers the counters; every rejection reason starts at 0 so dashboards see the
    /// whole bounded label set at once.
    pub fn register(metrics: &Metrics) -> Result<Self, MetricsError> {
        let accepted = metrics.counter_vec(
            "gossip_accepted_total",
            "Gossip messages accepted and published to ln.gossip.valid, by message type",
            &["kind"],
        )?;
        let rejected = metrics.counter_vec(
            "gossip_rejected_total",
            "Records of ln.gossip.raw dropped, by reason",
            &["reason"],
        )?;
        let publish_failures = metrics.counter(
            "gossip_publish_failures_total",
            "Failed attempts to publish to ln.gossip.valid (each is retried)",
        )?;
        for reason in Rejection::REASONS.iter().chain(&[MALFORMED_ENVELOPE]) {
            rejected.with_label_values(&[reason]);
        }
        Ok(IngestMetrics {
            accepted,
            rejected,
            publish_failures,
        })
    }

    pub fn accepted(&self, kind: &str) {
        self.accepted.with_label_values(&[kind]).inc();
    }

    pub fn rejected(&self, reason: &str) {
        self.rejected.with_label_values(&[reason]).inc();
    }

    pub fn publish_failed(&self) {
        self.publish_failures.inc();
    }

    pub fn accepted_count(&self, kind: &str) -> u64 {
        self.accepted.with_label_values(&[kind]).get()
    }

    pub fn rejected_count(&self, reason: &str) -> u64 {
        self.rejected.with_label_values(&[reason]).get()
    }

    pub fn publish_failure_count(&self) -> u64 {
        self.publish_failures.get()
    }
}
