//! The outcome feed: a router replica's consumer of `ln.payments.outcomes`, applying every
//! [`PaymentOutcome`](lnfleet_actors::contracts::payment::PaymentOutcome) record to the
//! replica's [`MissionControl`](super::MissionControl).
//!
//! # Same log, same order, same knowledge
//!
//! Mission control is a pure function of the outcomes applied and their order (see the parent
//! module), and `ln.payments.outcomes` has one partition. So each replica consumes the whole
//! topic from the earliest offset in a consumer group of its own ([`feed_group`]: replica id,
//! start time, pid): no replica shares or moves another's offsets, and a restarted replica,
//! whose in-memory knowledge is gone, rebuilds it from the start instead of resuming from a
//! committed offset. Replicas that consumed the same prefix of the log answer alike.
//!
//! # Bad input
//!
//! Outcomes come from every edge: a record that does not decode is counted `malformed`, one that
//! decodes but is inconsistent (empty route, erring hop outside it) is counted `ignored`, and the
//! feed goes on. Nothing in a record can stop it.
//!
//! # Caught up
//!
//! Like the gossip replay: caught up once every partition is consumed up to the end offset seen
//! at start; then the readiness check [`READINESS_CHECK`] turns ready.

use std::collections::BTreeMap;
use std::sync::Arc;

use lnfleet_actors::kafka::{KafkaConfig, KafkaError, Record, Subscriber};
use lnfleet_actors::telemetry::{Metrics, MetricsError, Readiness, ReadinessCheck};
use lnfleet_actors::topics;
use prometheus::IntCounterVec;

use super::ApplyError;
use crate::api::RouterState;

/// The readiness check a replica declares for its outcome feed.
pub const READINESS_CHECK: &str = "outcome_feed";

/// The `result` labels of `lnfleet_<service>_mission_control_outcomes_total`.
pub const RESULTS: [&str; 3] = ["applied", "ignored", "malformed"];

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
}

/// A consumer group no other replica (nor an earlier run of this one) uses.
pub fn feed_group(replica_id: &str) -> String {
    let started_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "mission-control-{replica_id}-{started_ns}-{}",
        std::process::id()
    )
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOutcome {
    Applied,
    Ignored,
    Malformed,
}

impl FeedOutcome {
    pub fn label(self) -> &'static str {
        match self {
            FeedOutcome::Applied => "applied",
            FeedOutcome::Ignored => "ignored",
            FeedOutcome::Malformed => "malformed",
        }
    }
}

/// `mission_control_outcomes_total{result}`; every result starts at 0.
#[derive(Debug, Clone)]
pub struct FeedMetrics {
    outcomes: IntCounterVec,
}

impl FeedMetrics {
    pub fn register(metrics: &Metrics) -> Result<Self, MetricsError> {
        let outcomes = metrics.counter_vec(
            "mission_control_outcomes_total",
            "Records of ln.payments.outcomes consumed by mission control, by result",
            &["result"],
        )?;
        for result in RESULTS {
            outcomes.with_label_values(&[result]);
        }
        Ok(FeedMetrics { outcomes })
    }

    fn count(&self, outcome: FeedOutcome) {
        self.outcomes.with_label_values(&[outcome.label()]).inc();
    }
}

/// Applies one record value to the state's mission control. Plain and synchronous so tests
/// drive it without a broker.
pub fn apply_payload(state: &RouterState, payload: Option<&[u8]>) -> FeedOutcome {
    let Some(bytes) = payload.filter(|bytes| !bytes.is_empty()) else {
        tracing::debug!("payment outcome record without a value");
        return FeedOutcome::Malformed;
    };
    let result = state
        .mission_control
        .write()
        // A panic mid-apply leaves at worst one direction half-updated; keep learning.
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .apply_encoded(bytes);
    match result {
        Ok(()) => FeedOutcome::Applied,
        Err(ApplyError::Ignored(reason)) => {
            tracing::debug!(%reason, "payment outcome ignored");
            FeedOutcome::Ignored
        }
        Err(ApplyError::Malformed(error)) => {
            tracing::debug!(%error, "payment outcome does not decode");
            FeedOutcome::Malformed
        }
    }
}

/// One replica's consumer of `ln.payments.outcomes`.
pub struct OutcomeFeed {
    subscriber: Subscriber,
    state: Arc<RouterState>,
    metrics: FeedMetrics,
    /// Per partition, the end offset seen at start.
    target: BTreeMap<i32, i64>,
    /// Per partition, the offset after the last record consumed.
    next_offsets: BTreeMap<i32, i64>,
    readiness: ReadinessCheck,
    caught_up: bool,
}

impl OutcomeFeed {
    /// Subscribes in a fresh group ([`feed_group`]) and declares [`READINESS_CHECK`];
    /// `end_offsets` are the topic's `(partition, end offset)` pairs at start.
    pub fn start(
        config: &KafkaConfig,
        replica_id: &str,
        state: Arc<RouterState>,
        end_offsets: impl IntoIterator<Item = (i32, i64)>,
        readiness: &Readiness,
        metrics: FeedMetrics,
    ) -> Result<Self, FeedError> {
        let group = feed_group(replica_id);
        let subscriber = Subscriber::new(config, &group, &[topics::PAYMENT_OUTCOMES.name])?;
        let target: BTreeMap<i32, i64> = end_offsets.into_iter().collect();
        tracing::info!(%group, records = target.values().sum::<i64>(), "outcome feed starting");
        let mut feed = OutcomeFeed {
            subscriber,
            state,
            metrics,
            target,
            next_offsets: BTreeMap::new(),
            readiness: readiness.declare(READINESS_CHECK),
            caught_up: false,
        };
        feed.check_caught_up();
        Ok(feed)
    }

    pub fn is_caught_up(&self) -> bool {
        self.caught_up
    }

    /// Per partition, the offset after the last record consumed (for lag).
    pub fn next_offsets(&self) -> &BTreeMap<i32, i64> {
        &self.next_offsets
    }

    /// Waits for one record and applies it; an error is the broker's, never the record's.
    pub async fn step(&mut self) -> Result<FeedOutcome, KafkaError> {
        let record = self.subscriber.next().await?;
        Ok(self.handle(&record))
    }

    fn handle(&mut self, record: &Record) -> FeedOutcome {
        let outcome = apply_payload(&self.state, record.payload.as_deref());
        self.metrics.count(outcome);
        if outcome != FeedOutcome::Applied {
            tracing::warn!(
                partition = record.partition,
                offset = record.offset,
                result = outcome.label(),
                "payment outcome not applied"
            );
        }
        let next = self.next_offsets.entry(record.partition).or_insert(0);
        *next = (*next).max(record.offset.saturating_add(1));
        self.check_caught_up();
        outcome
    }

    fn check_caught_up(&mut self) {
        if self.caught_up {
            return;
        }
        let reached = self
            .target
            .iter()
            .all(|(partition, &end)| self.next_offsets.get(partition).copied().unwrap_or(0) >= end);
        if reached {
            self.caught_up = true;
            let directions = self
                .state
                .mission_control
                .read()
                .map(|mc| mc.len())
                .unwrap_or(0);
            tracing::info!(directions, "outcome feed caught up; following live");
            self.readiness.set_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use lnfleet_actors::contracts;
    use lnfleet_actors::contracts::payment::{
        failure_code, OutcomeHop, OutcomeResult, PaymentOutcome,
    };

    use super::*;
    use crate::graph::Graph;

    fn outcome(route: Vec<OutcomeHop>, erring_hop: u32) -> Vec<u8> {
        contracts::encode(&PaymentOutcome {
            edge_id: "edge-1".into(),
            payment_hash: [1; 32],
            attempt_id: 1,
            at_ms: 1_700_000_000_000,
            route,
            result: OutcomeResult::Failure {
                erring_hop,
                code: failure_code::TEMPORARY_CHANNEL_FAILURE,
            },
        })
    }

    #[test]
    fn every_record_is_applied_ignored_or_malformed_and_counted() {
        let metrics = Metrics::new("gossip").unwrap();
        let state = RouterState::new(Graph::default(), &metrics).unwrap();
        let hop = OutcomeHop {
            scid: 700_000 << 40,
            direction: 1,
            amount_msat: 5_000,
        };
        assert_eq!(
            apply_payload(&state, Some(&outcome(vec![hop], 0))),
            FeedOutcome::Applied
        );
        assert_eq!(
            apply_payload(&state, Some(&outcome(vec![hop], 3))),
            FeedOutcome::Ignored
        );
        assert_eq!(
            apply_payload(&state, Some(b"not an outcome")),
            FeedOutcome::Malformed
        );
        assert_eq!(apply_payload(&state, None), FeedOutcome::Malformed);
        assert_eq!(apply_payload(&state, Some(&[])), FeedOutcome::Malformed);
        let mission = state.mission_control.read().unwrap();
        assert_eq!(
            mission.len(),
            1,
            "only the applied outcome taught something"
        );
        let bounds = mission
            .bounds_at(
                lnfleet_wire::ShortChannelId(hop.scid),
                1,
                1_700_000_000_000,
                1_000_000,
            )
            .expect("bounds learned");
        assert_eq!(bounds.max_msat, 4_999);
    }

    #[test]
    fn metrics_start_at_zero_for_every_result() {
        let metrics = Metrics::new("gossip").unwrap();
        let feed_metrics = FeedMetrics::register(&metrics).unwrap();
        feed_metrics.count(FeedOutcome::Ignored);
        let text = metrics.encode_text();
        assert!(
            text.contains(r#"lnfleet_gossip_mission_control_outcomes_total{result="applied"} 0"#)
        );
        assert!(
            text.contains(r#"lnfleet_gossip_mission_control_outcomes_total{result="ignored"} 1"#)
        );
    }
}
