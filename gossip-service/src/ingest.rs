//! The validator's Kafka loop: `ln.gossip.raw` in, `ln.gossip.valid` out.
//!
//! [`IngestLoop`] joins the consumer group [`CONSUMER_GROUP`], so validator replicas scale with
//! the partitions of `ln.gossip.raw` (each replica owns some partitions and its own
//! [`Validator`] state). Per record: decode the [`RawGossip`] envelope, validate the message,
//! publish what was accepted under [`crate::validate::GossipKey::kafka_key`] as a
//! [`ValidGossip`], count what was not. Nothing a peer or an edge sends can stop the loop: every
//! bad input ends as a counted rejection.
//!
//! # Shared knowledge
//!
//! Each replica reads only some raw partitions, but a `channel_update` needs the
//! `channel_announcement` some other replica may have accepted. So every replica also follows
//! `ln.gossip.valid` (in a consumer group of its own that never commits, so it reads from the
//! earliest record on every start) and records what it reads with the trusted
//! [`Validator::learn`] / [`Validator::forget`]. Before the first raw record it catches up to
//! the end offsets `ln.gossip.valid` had at start; afterwards both topics are interleaved,
//! `ln.gossip.valid` first. Updates and node announcements that still find nothing are parked
//! ([`pending`]) and retried when their channel becomes known.
//!
//! # Offsets
//!
//! Raw offsets are committed by hand, after the record was decided and, if accepted, its
//! publish acknowledged: at-least-once. A replayed record is dropped by the digest check, or
//! published again (harmless: readers of `ln.gossip.valid` are latest-wins). A parked record
//! counts as decided: the pending set lives in memory, so a crash loses it; the peer
//! re-broadcasts its gossip.
//!
//! # Pruning
//!
//! Every prune interval (1 hour by default) the replica prunes and publishes the tombstones.
//! Every replica knows every channel, so every replica prunes every channel: the raw key (the
//! edge's dedup key) says nothing about which scid a partition carries, so there is no owner
//! to pick by partition. Duplicate tombstones are harmless: a tombstone is idempotent for
//! every reader (the router marks the channel closed, compaction keeps one empty value, and a
//! replica that already forgot the key ignores it), and a replica that reads another's
//! tombstone first forgets the channel and does not prune it again.
//!
//! # Blocking chain sources
//!
//! Validation is sans-IO and CPU-light (duplicates are caught by digest before any signature
//! check; one accepted message costs one to four ECDSA verifications, tens of microseconds
//! each), so with an in-memory chain source it runs inline. When the chain source reports
//! [`ChainSource::may_block`] (bitcoind over HTTP), `validate` and `prune` run inside
//! `tokio::task::block_in_place` on a multi-thread runtime, so other tasks keep running while
//! bitcoind answers; the loop itself handles one record at a time anyway. On a current-thread
//! runtime there is no other worker to hand tasks to, so the call runs inline.
//!
//! - [`metrics`]: [`IngestMetrics`], the ingest counters.
//! - [`pending`]: [`PendingGossip`], gossip waiting for its channel.

pub mod metrics;
pub mod pending;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lnfleet_actors::contracts::{self, RawGossip, ValidGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, KafkaError, Publisher, Record, Subscriber};
use lnfleet_actors::topics;
use lnfleet_wire::message::{self, Message};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::{debug, info, warn};

use crate::chain::ChainSource;
use crate::validate::{GossipKey, Learned, Tombstone, Validator};

pub use metrics::IngestMetrics;
pub use pending::{ParkOutcome, PendingGossip};

/// How often the pruning horizon and the chain are checked unless configured otherwise.
pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// How often parked gossip is checked for expiry.
const EXPIRE_INTERVAL: Duration = Duration::from_secs(1);

/// How long to wait for the end offsets of `ln.gossip.valid` before following it anyway.
const END_OFFSETS_TIMEOUT: Duration = Duration::from_secs(10);

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

/// One validator replica: consumes `ln.gossip.raw`, follows `ln.gossip.valid`, publishes to
/// `ln.gossip.valid`.
pub struct IngestLoop<C> {
    validator: Validator<C>,
    config: KafkaConfig,
    subscriber: Subscriber,
    follower: Option<Subscriber>,
    publisher: Publisher,
    metrics: IngestMetrics,
    clock: fn() -> u64,
    prune_interval: Duration,
    pending: PendingGossip,
    /// The last decided raw record per partition (without its payload): committed
    /// synchronously on shutdown, as the asynchronous commits may still be queued.
    last_decided: HashMap<i32, Record>,
}

impl<C: ChainSource> IngestLoop<C> {
    /// Joins [`CONSUMER_GROUP`] on `ln.gossip.raw` (manual commits) and follows
    /// `ln.gossip.valid` from the earliest record in a group of its own (the topics must
    /// exist: `lnfleet_actors::kafka::ensure_topics`).
    pub fn new(
        config: &KafkaConfig,
        validator: Validator<C>,
        metrics: IngestMetrics,
    ) -> Result<Self, KafkaError> {
        let subscriber =
            Subscriber::new_manual_commit(config, CONSUMER_GROUP, &[topics::GOSSIP_RAW.name])?;
        let follower = Subscriber::new_manual_commit(
            config,
            &follower_group(&config.client_id),
            &[topics::GOSSIP_VALID.name],
        )?;
        let publisher = Publisher::new(config)?;
        Ok(IngestLoop {
            validator,
            config: config.clone(),
            subscriber,
            follower: Some(follower),
            publisher,
            metrics,
            clock: system_now_ms,
            prune_interval: DEFAULT_PRUNE_INTERVAL,
            pending: PendingGossip::default(),
            last_decided: HashMap::new(),
        })
    }

    /// Replaces the wall clock (ms since the epoch), for tests with fixed timestamps.
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    /// How often to prune and publish tombstones (default [`DEFAULT_PRUNE_INTERVAL`]).
    pub fn with_prune_interval(mut self, interval: Duration) -> Self {
        self.prune_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Bounds of the parked gossip: entries of each kind, and how long one may wait.
    pub fn with_pending_limits(mut self, max_entries: usize, max_age: Duration) -> Self {
        let max_age_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
        self.pending = PendingGossip::new(max_entries, max_age_ms);
        self
    }

    /// Stops following `ln.gossip.valid`: the replica then knows only what it validated
    /// itself (a single replica owning every raw partition).
    pub fn without_valid_follow(mut self) -> Self {
        self.follower = None;
        self
    }

    pub fn validator(&self) -> &Validator<C> {
        &self.validator
    }

    /// Runs until `shutdown` turns true or its sender is dropped; returns the validator so a
    /// caller can inspect or reuse its state.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Validator<C> {
        info!(group = CONSUMER_GROUP, "gossip ingest started");
        if !self.catch_up(&mut shutdown).await {
            info!("gossip ingest stopped during catch-up");
            return self.validator;
        }
        let start = tokio::time::Instant::now();
        let mut prune_tick =
            tokio::time::interval_at(start + self.prune_interval, self.prune_interval);
        prune_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut expire_tick = tokio::time::interval_at(start + EXPIRE_INTERVAL, EXPIRE_INTERVAL);
        expire_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let event = tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
                record = next_or_never(self.follower.as_ref()) => Event::Valid(record),
                record = self.subscriber.next() => Event::Raw(record),
                _ = prune_tick.tick() => Event::Prune,
                _ = expire_tick.tick() => Event::Expire,
            };
            let keep_going = match event {
                Event::Valid(Ok(record)) => self.follow(record, &mut shutdown).await,
                Event::Raw(Ok(record)) => self.handle_raw(record, &mut shutdown).await,
                Event::Valid(Err(error)) | Event::Raw(Err(error)) => {
                    warn!(%error, "consuming gossip failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    true
                }
                Event::Prune => self.prune(&mut shutdown).await,
                Event::Expire => {
                    self.expire();
                    true
                }
            };
            if !keep_going {
                break;
            }
        }
        self.commit_decided();
        info!("gossip ingest stopped");
        self.validator
    }

    /// Waits for the commit of every decided raw record (a round trip per partition, once,
    /// at shutdown).
    fn commit_decided(&mut self) {
        for (partition, record) in self.last_decided.drain() {
            if let Err(error) = self.subscriber.commit_sync(&record) {
                warn!(partition, %error, "final commit of ln.gossip.raw failed");
            }
        }
    }

    /// Reads `ln.gossip.valid` up to the end offsets it had when we started, learning
    /// everything; false when shutdown came first.
    async fn catch_up(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        if self.follower.is_none() {
            return true;
        }
        let config = self.config.clone();
        let ends = tokio::task::spawn_blocking(move || {
            kafka::end_offsets(&config, topics::GOSSIP_VALID.name, END_OFFSETS_TIMEOUT)
        })
        .await;
        let mut remaining: HashMap<i32, i64> = match ends {
            Ok(Ok(ends)) => ends.into_iter().filter(|(_, end)| *end > 0).collect(),
            Ok(Err(error)) => {
                warn!(%error, "end offsets of ln.gossip.valid unknown; following without catch-up");
                return true;
            }
            Err(error) => {
                warn!(%error, "end offsets lookup did not finish; following without catch-up");
                return true;
            }
        };
        info!(
            partitions = remaining.len(),
            "catching up on ln.gossip.valid"
        );
        while !remaining.is_empty() {
            let record = tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return false;
                    }
                    continue;
                }
                record = next_or_never(self.follower.as_ref()) => record,
            };
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    warn!(%error, "consuming ln.gossip.valid failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            };
            let (partition, next) = (record.partition, record.offset.saturating_add(1));
            if !self.follow(record, shutdown).await {
                return false;
            }
            if remaining.get(&partition).is_some_and(|end| next >= *end) {
                remaining.remove(&partition);
            }
        }
        info!(
            channels = self.validator.channel_count(),
            nodes = self.validator.node_count(),
            "caught up on ln.gossip.valid"
        );
        true
    }

    /// Learns one record of `ln.gossip.valid`; a newly known channel releases parked gossip.
    async fn follow(&mut self, record: Record, shutdown: &mut watch::Receiver<bool>) -> bool {
        let learned = match record.payload.as_deref() {
            Some(payload) if !payload.is_empty() => {
                let learned = contracts::decode::<ValidGossip>(payload)
                    .map_err(|e| e.to_string())
                    .and_then(|gossip| self.validator.learn(&gossip).map_err(|e| e.to_string()));
                match learned {
                    Ok(learned) => learned,
                    Err(error) => {
                        warn!(offset = record.offset, %error, "unreadable record on ln.gossip.valid");
                        return true;
                    }
                }
            }
            _ => {
                let key = record
                    .key
                    .as_deref()
                    .and_then(|key| std::str::from_utf8(key).ok())
                    .and_then(|key| key.parse::<GossipKey>().ok());
                match key {
                    Some(key) => self.validator.forget(key),
                    None => {
                        warn!(offset = record.offset, "tombstone without a gossip key");
                        return true;
                    }
                }
            }
        };
        let kind = match learned {
            Learned::Channel { scid, node_ids } => {
                self.metrics.learned("channel_announcement");
                let released = self.pending.release(scid, node_ids);
                return self.decide_all(released.into(), shutdown).await;
            }
            Learned::Update { .. } => "channel_update",
            Learned::Node(_) => "node_announcement",
            Learned::Forgotten(_) => "tombstone",
            Learned::Nothing => return true,
        };
        self.metrics.learned(kind);
        true
    }

    /// Decides one raw record, then commits its offset; false when shutdown interrupted a
    /// publish (the offset stays uncommitted: the record is read again after a restart).
    async fn handle_raw(&mut self, record: Record, shutdown: &mut watch::Receiver<bool>) -> bool {
        let envelope = record.payload.clone().unwrap_or_default();
        if !self.decide_all(VecDeque::from([envelope]), shutdown).await {
            return false;
        }
        if let Err(error) = self.subscriber.commit(&record) {
            // The next commit covers this offset too; at worst the record is replayed.
            warn!(%error, "committing ln.gossip.raw offset failed");
        }
        let decided = Record {
            payload: None,
            key: None,
            ..record
        };
        self.last_decided.insert(decided.partition, decided);
        true
    }

    /// Decides envelopes one by one; an accepted channel announcement appends what was parked
    /// for it. False when shutdown interrupted a publish.
    async fn decide_all(
        &mut self,
        mut queue: VecDeque<Vec<u8>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        while let Some(envelope) = queue.pop_front() {
            let now_ms = (self.clock)();
            let may_block = self.validator.chain().may_block();
            let validator = &mut self.validator;
            let outcome = off_executor_if(may_block, || {
                process_record(validator, Some(&envelope), now_ms)
            });
            match outcome {
                Outcome::Rejected { reason }
                    if reason == pending::UNKNOWN_CHANNEL || reason == pending::UNKNOWN_NODE =>
                {
                    self.park(envelope, reason, now_ms);
                }
                Outcome::Rejected { reason } => self.metrics.rejected(reason),
                Outcome::Accepted { key, kind, value } => {
                    self.metrics.accepted(kind);
                    let payload = contracts::encode(&value);
                    if !self.publish_until_done(&key, &payload, shutdown).await {
                        return false;
                    }
                    if let Ok(Message::ChannelAnnouncement(ann)) = message::decode(&value.message) {
                        let released = self
                            .pending
                            .release(ann.short_channel_id, [ann.node_id_1, ann.node_id_2]);
                        queue.extend(released);
                    }
                }
            }
        }
        self.metrics.set_pending(self.pending.len());
        true
    }

    /// Parks gossip whose channel or node is not known yet; what parking drops is counted
    /// under `reason`.
    fn park(&mut self, envelope: Vec<u8>, reason: &'static str, now_ms: u64) {
        let message = contracts::decode::<RawGossip>(&envelope)
            .ok()
            .and_then(|raw| message::decode(&raw.message).ok());
        let Some(message) = message else {
            self.metrics.rejected(reason);
            return;
        };
        match self.pending.park(envelope, &message, now_ms) {
            ParkOutcome::Parked => self.metrics.parked(),
            ParkOutcome::ParkedDropping { reason } => {
                self.metrics.parked();
                self.metrics.rejected(reason);
            }
            ParkOutcome::Superseded { reason } => self.metrics.rejected(reason),
            ParkOutcome::NotParkable => self.metrics.rejected(reason),
        }
        self.metrics.set_pending(self.pending.len());
    }

    fn expire(&mut self) {
        for reason in self.pending.expire((self.clock)()) {
            debug!(reason, "parked gossip expired");
            self.metrics.rejected(reason);
        }
        self.metrics.set_pending(self.pending.len());
    }

    /// Prunes and publishes the tombstones (each retried until the broker takes it: the
    /// validator has already forgotten the keys).
    async fn prune(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let now_secs = (self.clock)() / 1000;
        let may_block = self.validator.chain().may_block();
        let validator = &mut self.validator;
        let tombstones = off_executor_if(may_block, || validator.prune(now_secs));
        self.metrics.prune_ran();
        if !tombstones.is_empty() {
            info!(
                tombstones = tombstones.len(),
                "pruned stale and closed channels"
            );
        }
        for tombstone in tombstones {
            let key = tombstone.key.kafka_key();
            if !self.publish_until_done(&key, &[], shutdown).await {
                return false;
            }
            self.metrics.pruned(tombstone.reason);
        }
        true
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

/// What woke the loop.
enum Event {
    Valid(Result<Record, KafkaError>),
    Raw(Result<Record, KafkaError>),
    Prune,
    Expire,
}

/// The next record of an optional subscriber; never resolves without one.
async fn next_or_never(subscriber: Option<&Subscriber>) -> Result<Record, KafkaError> {
    match subscriber {
        Some(subscriber) => subscriber.next().await,
        None => std::future::pending().await,
    }
}

/// Runs `work` through `block_in_place` when it may block and the runtime has other workers to
/// take over; inline otherwise (see the module docs).
fn off_executor_if<R>(may_block: bool, work: impl FnOnce() -> R) -> R {
    let multi_thread = Handle::try_current()
        .map(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread)
        .unwrap_or(false);
    if may_block && multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// A consumer group of this process alone: it never commits, so it always starts from the
/// earliest record, and no other replica shares its partitions.
fn follower_group(client_id: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{CONSUMER_GROUP}-follow-{client_id}-{}-{nanos}",
        std::process::id()
    )
}
