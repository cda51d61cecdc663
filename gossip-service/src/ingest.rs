//! The validator's Kafka loop: `ln.gossip.raw` in, `ln.gossip.valid` out.
//!
//! [`IngestLoop`] joins the consumer group [`CONSUMER_GROUP`], so validator replicas scale with
//! the partitions of `ln.gossip.raw` (each replica owns some partitions and its own
//! [`Validator`] state). Per record: decode the [`RawGossip`] envelope, validate the message,
//! publish what was accepted under [`crate::validate::GossipKey::kafka_key`] as a
//! [`ValidGossip`], count what was not. Nothing a peer or an edge sends can stop the loop: every
//! bad input ends as a counted rejection.
//!
//! Validation runs inline on the executor. It is sans-IO and CPU-light (duplicates are caught
//! by digest before any signature check; one accepted message costs one to four ECDSA
//! verifications, tens of microseconds each), and the loop handles one record at a time
//! anyway, so a blocking pool would add a hop without adding throughput. This only holds with
//! a chain source that does not block: [`crate::chain::NoChainSource`] or a cached one. A
//! bitcoind-backed source makes a network call per new channel and belongs on
//! `spawn_blocking` (not done yet).
//!
//! - [`metrics`]: [`IngestMetrics`], the accepted and rejected counters.

pub mod metrics;

#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lnfleet_actors::contracts::{self, RawGossip, ValidGossip};
use lnfleet_actors::kafka::{KafkaConfig, KafkaError, Publisher, Record, Subscriber};
use lnfleet_actors::topics;
use lnfleet_wire::message::Message;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::chain::ChainSource;
use crate::validate::{Tombstone, Validator};

pub use metrics::IngestMetrics;

/// The consumer group every validator replica joins on `ln.gossip.raw`.
pub const CONSUMER_GROUP: &str = "gossip-validators";

/// The rejection label of a record whose value is not a [`RawGossip`] envelope.
pub const MALFORMED_ENVELOPE: &str = "malformed_envelope";

/// Pause before retrying a failed consume or publish, so a broker outage is not a busy loop.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// What became of one `ln.gossip.raw` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Publish `value` under `key` on `ln.gossip.valid`; `kind` is the message name.
    Accepted {
        key: String,
        kind: &'static str,
        value: ValidGossip,
    },
    /// Dropped; `reason` is the metric label.
    Rejected { reason: &'static str },
}

/// Decides one record: `payload` is the record value, `now_ms` the validator's clock. Plain and
/// synchronous so tests drive it without a broker.
pub fn process_record<C: ChainSource>(
    validator: &mut Validator<C>,
    payload: Option<&[u8]>,
    now_ms: u64,
) -> Outcome {
    let raw = match payload.map(contracts::decode::<RawGossip>) {
        Some(Ok(raw)) => raw,
        Some(Err(error)) => {
            debug!(%error, "raw gossip envelope does not decode");
            return Outcome::Rejected {
                reason: MALFORMED_ENVELOPE,
            };
        }
        None => {
            debug!("raw gossip record without a value");
            return Outcome::Rejected {
                reason: MALFORMED_ENVELOPE,
            };
        }
    };
    // Our clock, not the edge's `received_at_ms`: timestamp policy must not depend on how
    // well each edge keeps time.
    match validator.validate(&raw.message, now_ms / 1000) {
        Ok(accepted) => {
            let timestamp = match &accepted.message {
                Message::ChannelUpdate(update) => update.timestamp,
                Message::NodeAnnouncement(ann) => ann.timestamp,
                _ => 0,
            };
            Outcome::Accepted {
                key: accepted.key.kafka_key(),
                kind: accepted.message.name(),
                value: ValidGossip {
                    message: accepted.raw,
                    timestamp,
                    accepted_at_ms: now_ms,
                    origin_edge: raw.edge_id,
                    origin_peer: raw.peer_id,
                },
            }
        }
        Err(rejection) => Outcome::Rejected {
            reason: rejection.reason(),
        },
    }
}

/// Milliseconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Publishes an empty value under each pruned key of `ln.gossip.valid` (the contract's
/// tombstone). Returns how many were written; stops at the first failure.
pub async fn publish_tombstones(
    publisher: &Publisher,
    tombstones: &[Tombstone],
) -> Result<usize, KafkaError> {
    for tombstone in tombstones {
        let key = tombstone.key.kafka_key();
        publisher
            .publish(topics::GOSSIP_VALID.name, key.as_bytes(), &[])
            .await?;
        debug!(key, reason = ?tombstone.reason, "tombstone published");
    }
    Ok(tombstones.len())
}

/// One validator replica: consumes `ln.gossip.raw`, publishes to `ln.gossip.valid`.
pub struct IngestLoop<C> {
    validator: Validator<C>,
    subscriber: Subscriber,
    publisher: Publisher,
    metrics: IngestMetrics,
    clock: fn() -> u64,
}

impl<C: ChainSource> IngestLoop<C> {
    /// Joins [`CONSUMER_GROUP`] on `ln.gossip.raw` (the topics must exist:
    /// `lnfleet_actors::kafka::ensure_topics`).
    pub fn new(
        config: &KafkaConfig,
        validator: Validator<C>,
        metrics: IngestMetrics,
    ) -> Result<Self, KafkaError> {
        let subscriber = Subscriber::new(config, CONSUMER_GROUP, &[topics::GOSSIP_RAW.name])?;
        let publisher = Publisher::new(config)?;
        Ok(IngestLoop {
            validator,
            subscriber,
            publisher,
            metrics,
            clock: system_now_ms,
        })
    }

    /// Replaces the wall clock (ms since the epoch), for tests with fixed timestamps.
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    pub fn validator(&self) -> &Validator<C> {
        &self.validator
    }

    /// Runs until `shutdown` turns true or its sender is dropped; returns the validator so a
    /// caller can inspect or reuse its state.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Validator<C> {
        info!(group = CONSUMER_GROUP, "gossip ingest started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let record = tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
                record = self.subscriber.next() => record,
            };
            match record {
                Ok(record) => {
                    if !self.handle(record, &mut shutdown).await {
                        break;
                    }
                }
                Err(error) => {
                    warn!(%error, "consuming ln.gossip.raw failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
        info!("gossip ingest stopped");
        self.validator
    }

    /// Processes one record; false when shutdown interrupted a publish.
    async fn handle(&mut self, record: Record, shutdown: &mut watch::Receiver<bool>) -> bool {
        match process_record(
            &mut self.validator,
            record.payload.as_deref(),
            (self.clock)(),
        ) {
            Outcome::Rejected { reason } => {
                self.metrics.rejected(reason);
                true
            }
            Outcome::Accepted { key, kind, value } => {
                self.metrics.accepted(kind);
                let payload = contracts::encode(&value);
                self.publish_until_done(&key, &payload, shutdown).await
            }
        }
    }

    /// The validator has already recorded the message as seen, so a lost publish would lose it
    /// for good: retry until the broker takes it (backpressure on `ln.gossip.raw`) or we stop.
    async fn publish_until_done(
        &self,
        key: &str,
        payload: &[u8],
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        loop {
            match self
                .publisher
                .publish(topics::GOSSIP_VALID.name, key.as_bytes(), payload)
                .await
            {
                Ok(_) => return true,
                Err(error) => {
                    self.metrics.publish_failed();
                    warn!(key, %error, "publishing to ln.gossip.valid failed; retrying");
                }
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return false;
                    }
                }
                () = tokio::time::sleep(RETRY_DELAY) => {}
            }
        }
    }
}
