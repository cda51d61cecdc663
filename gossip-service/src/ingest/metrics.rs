//! The ingest loop's counters.

use lnfleet_actors::telemetry::{Metrics, MetricsError};
use prometheus::{IntCounter, IntCounterVec, IntGauge};

use super::MALFORMED_ENVELOPE;
use crate::validate::{PruneReason, Rejection};

/// `lnfleet_<service>_gossip_accepted_total{kind}`, `..._gossip_rejected_total{reason}`,
/// `..._gossip_publish_failures_total`, `..._gossip_pruned_total{reason}` (tombstones
/// published), `..._gossip_learned_total{kind}` (records of `ln.gossip.valid` that changed
/// this replica's state), `..._gossip_parked_total` and the `..._gossip_pending` gauge.
/// Cheap to clone; clones share the counters.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    accepted: IntCounterVec,
    rejected: IntCounterVec,
    publish_failures: IntCounter,
    pruned: IntCounterVec,
    learned: IntCounterVec,
    parked: IntCounter,
    pending: IntGauge,
    prune_runs: IntCounter,
}

/// The `kind` labels of `gossip_learned_total`.
pub const LEARNED_KINDS: [&str; 4] = [
    "channel_announcement",
    "channel_update",
    "node_announcement",
    "tombstone",
];

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
        let pruned = metrics.counter_vec(
            "gossip_pruned_total",
            "Tombstones published to ln.gossip.valid by this replica, by prune reason",
            &["reason"],
        )?;
        let learned = metrics.counter_vec(
            "gossip_learned_total",
            "Records of ln.gossip.valid that changed this replica's validation state",
            &["kind"],
        )?;
        let parked = metrics.counter(
            "gossip_parked_total",
            "Updates and node announcements parked until their channel is known",
        )?;
        let pending = metrics.gauge(
            "gossip_pending",
            "Updates and node announcements parked now",
        )?;
        let prune_runs = metrics.counter(
            "gossip_prune_runs_total",
            "Prune passes over the validator's channels (each may publish tombstones)",
        )?;
        for reason in Rejection::REASONS.iter().chain(&[MALFORMED_ENVELOPE]) {
            rejected.with_label_values(&[reason]);
        }
        for reason in PruneReason::LABELS {
            pruned.with_label_values(&[reason]);
        }
        for kind in LEARNED_KINDS {
            learned.with_label_values(&[kind]);
        }
        Ok(IngestMetrics {
            accepted,
            rejected,
            publish_failures,
            pruned,
            learned,
            parked,
            pending,
            prune_runs,
        })
    }

    pub fn pruned(&self, reason: PruneReason) {
        self.pruned.with_label_values(&[reason.label()]).inc();
    }

    pub fn pruned_count(&self, reason: PruneReason) -> u64 {
        self.pruned.with_label_values(&[reason.label()]).get()
    }

    pub fn learned(&self, kind: &str) {
        self.learned.with_label_values(&[kind]).inc();
    }

    pub fn learned_count(&self, kind: &str) -> u64 {
        self.learned.with_label_values(&[kind]).get()
    }

    pub fn prune_ran(&self) {
        self.prune_runs.inc();
    }

    pub fn parked(&self) {
        self.parked.inc();
    }

    pub fn parked_count(&self) -> u64 {
        self.parked.get()
    }

    pub fn set_pending(&self, pending: usize) {
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
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
