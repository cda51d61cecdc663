//! A router replica's graph, built by replaying `ln.gossip.valid` from the start and then
//! following it live.
//!
//! # Offsets
//!
//! Every replica consumes in its own consumer group, named by [`replica_group`] (replica id plus
//! start time and pid): a group with no committed offsets starts at the earliest record
//! (`auto.offset.reset=earliest` in [`Subscriber`]), so each start replays the whole topic and
//! no replica ever moves another's offsets. The group's auto-committed offsets are never read
//! back; the in-memory graph is rebuilt on every start anyway.
//!
//! # Latest wins
//!
//! Applied by [`ReplayState`] itself, never trusting broker compaction (see [`state`]).
//!
//! # Caught up
//!
//! The replay is caught up once it has consumed, on every partition, up to the end offset
//! (high watermark) observed at start, given as [`CatchUpTarget`]. `lnfleet-gossip` does not
//! depend on `rdkafka` directly and `lnfleet_actors::kafka` exposes no watermark query yet, so the
//! caller supplies the end offsets (the test takes them from the publisher's acknowledgements).
//! The readiness check [`READINESS_CHECK`] turns ready then; progress is logged and exported
//! through [`Progress`] (task [`PROGRESS_TASK`], units: records consumed vs. the sum of the
//! initial end offsets).

pub mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use lnfleet_actors::kafka::{KafkaConfig, KafkaError, Subscriber};
use lnfleet_actors::telemetry::{Metrics, MetricsError, Progress, Readiness, ReadinessCheck};
use lnfleet_actors::topics;

use crate::api::RouterState;
use crate::graph::Graph;
pub use state::{Applied, ApplyError, ReplayState};

/// The readiness check a replica declares: ready once the replay has caught up.
pub const READINESS_CHECK: &str = "gossip_replay";
/// The [`Progress`] task name.
pub const PROGRESS_TASK: &str = "gossip_replay";

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
}

/// Where the graph the replay writes lives: a bare `RwLock<Graph>` or the API's state.
pub trait SharedGraph: Send + Sync {
    fn graph_lock(&self) -> &RwLock<Graph>;
}

impl SharedGraph for RwLock<Graph> {
    fn graph_lock(&self) -> &RwLock<Graph> {
        self
    }
}

impl SharedGraph for RouterState {
    fn graph_lock(&self) -> &RwLock<Graph> {
        &self.graph
    }
}

/// The end offset (high watermark) of each partition of `ln.gossip.valid` when the replica
/// started: the replay is caught up once it has consumed up to all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchUpTarget {
    end_offsets: BTreeMap<i32, i64>,
}

impl CatchUpTarget {
    /// `(partition, end offset)` pairs; the end offset is the offset the next record will get.
    pub fn new(end_offsets: impl IntoIterator<Item = (i32, i64)>) -> Self {
        CatchUpTarget {
            end_offsets: end_offsets.into_iter().collect(),
        }
    }

    /// Records to consume in all (offsets, so compacted-away records count as done).
    pub fn total(&self) -> u64 {
        self.end_offsets
            .values()
            .map(|&end| u64::try_from(end).unwrap_or(0))
            .sum()
    }

    /// How far `next_offsets` (per partition, the offset after the last one consumed) is.
    fn done(&self, next_offsets: &BTreeMap<i32, i64>) -> u64 {
        self.end_offsets
            .iter()
            .map(|(partition, &end)| {
                let next = next_offsets.get(partition).copied().unwrap_or(0);
                u64::try_from(next.min(end)).unwrap_or(0)
            })
            .sum()
    }

    fn reached(&self, next_offsets: &BTreeMap<i32, i64>) -> bool {
        self.end_offsets
            .iter()
            .all(|(partition, &end)| next_offsets.get(partition).copied().unwrap_or(0) >= end)
    }
}

/// A consumer group no other replica (nor an earlier run of this one) uses.
pub fn replica_group(replica_id: &str) -> String {
    let started_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "gossip-replay-{replica_id}-{started_ns}-{}",
        std::process::id()
    )
}

/// Counts of what the replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub consumed: u64,
    pub applied: u64,
    pub stale: u64,
    pub rejected: u64,
}

/// Replays `ln.gossip.valid` into a shared graph, then follows it.
pub struct GossipReplay<G: SharedGraph + ?Sized> {
    subscriber: Subscriber,
    graph: Arc<G>,
    state: ReplayState,
    target: CatchUpTarget,
    next_offsets: BTreeMap<i32, i64>,
    readiness: ReadinessCheck,
    /// `Some` until caught up.
    progress: Option<Progress>,
    stats: ReplayStats,
}

impl<G: SharedGraph + ?Sized> GossipReplay<G> {
    /// Subscribes in a fresh group ([`replica_group`]) and declares [`READINESS_CHECK`].
    pub fn start(
        config: &KafkaConfig,
        replica_id: &str,
        graph: Arc<G>,
        target: CatchUpTarget,
        readiness: &Readiness,
        metrics: &Metrics,
    ) -> Result<Self, ReplayError> {
        let group = replica_group(replica_id);
        let subscriber = Subscriber::new(config, &group, &[topics::GOSSIP_VALID.name])?;
        tracing::info!(%group, total = target.total(), "gossip replay starting");
        let mut replay = GossipReplay {
            subscriber,
            graph,
            state: ReplayState::new(),
            readiness: readiness.declare(READINESS_CHECK),
            progress: Some(Progress::start(metrics, PROGRESS_TASK, target.total())?),
            target,
            next_offsets: BTreeMap::new(),
            stats: ReplayStats::default(),
        };
        replay.check_caught_up();
        Ok(replay)
    }

    pub fn is_caught_up(&self) -> bool {
        self.progress.is_none()
    }

    pub fn stats(&self) -> ReplayStats {
        self.stats
    }

    /// Per partition, the offset after the last record consumed (for consumer lag).
    pub fn next_offsets(&self) -> &BTreeMap<i32, i64> {
        &self.next_offsets
    }

    /// Consumes and applies records until the subscriber fails.
    pub async fn run(mut self) -> Result<(), ReplayError> {
        loop {
            self.step().await?;
        }
    }

    /// Waits for one record and applies it.
    pub async fn step(&mut self) -> Result<(), ReplayError> {
        let record = self.subscriber.next().await?;
        self.stats.consumed += 1;
        let outcome = {
            let mut graph = self
                .graph
                .graph_lock()
                .write()
                // A panic mid-update leaves at worst one half-channel stale; keep serving.
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.state
                .apply_record(&mut graph, record.key.as_deref(), record.payload.as_deref())
        };
        match outcome {
            Ok(Applied::Stale { .. }) => self.stats.stale += 1,
            Ok(_) => self.stats.applied += 1,
            Err(error) => {
                self.stats.rejected += 1;
                tracing::warn!(partition = record.partition, offset = record.offset, %error, "gossip record not applied");
            }
        }
        let next = self.next_offsets.entry(record.partition).or_insert(0);
        *next = (*next).max(record.offset.saturating_add(1));
        self.check_caught_up();
        Ok(())
    }

    fn check_caught_up(&mut self) {
        let done = self.target.done(&self.next_offsets);
        let reached = self.target.reached(&self.next_offsets);
        if let Some(progress) = self.progress.as_mut() {
            progress.set_done(done);
        }
        if reached {
            if let Some(progress) = self.progress.take() {
                progress.finish();
                tracing::info!(
                    applied = self.stats.applied,
                    stale = self.stats.stale,
                    rejected = self.stats.rejected,
                    "gossip replay caught up; following live"
                );
                self.readiness.set_ready();
            }
        }
    }
}
