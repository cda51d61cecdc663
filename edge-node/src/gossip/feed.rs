//! Keeps a [`GossipIndex`] up to date from `ln.gossip.valid`: replays the topic from the start
//! in a consumer group of its own, then follows it live. "Caught up" is reaching the end offsets
//! the topic had when the feed started; from then on every applied record is broadcast so peer
//! sessions can relay it to peers whose timestamp filter admits it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lnfleet_actors::kafka::{self, KafkaConfig, KafkaError, Subscriber};
use lnfleet_actors::topics;
use tokio::sync::{broadcast, watch};

use super::index::{LiveGossip, SharedIndex};

/// How many live items a slow session may fall behind before it misses some (counted there).
pub const LIVE_CAPACITY: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("reading end offsets: {0}")]
    EndOffsets(String),
}

/// Counters of the feed.
#[derive(Debug, Default)]
pub struct FeedStats {
    pub applied: AtomicU64,
    pub malformed: AtomicU64,
}

/// The replaying, then following, consumer of `ln.gossip.valid`.
pub struct GossipIndexFeed {
    subscriber: Subscriber,
    index: SharedIndex,
    end_offsets: BTreeMap<i32, i64>,
    next_offsets: BTreeMap<i32, i64>,
    caught_up: watch::Sender<bool>,
    live: broadcast::Sender<Arc<LiveGossip>>,
    stats: Arc<FeedStats>,
}

impl GossipIndexFeed {
    /// Subscribes with a fresh group (`<group_prefix>-<pid>-<nanos>`, so a restarted edge
    /// replays from the start instead of resuming at a committed offset) and reads the end
    /// offsets to catch up to.
    pub async fn start(
        config: &KafkaConfig,
        group_prefix: &str,
        index: SharedIndex,
    ) -> Result<Self, FeedError> {
        let topic = topics::GOSSIP_VALID.name;
        let offsets_config = config.clone();
        let end_offsets = tokio::task::spawn_blocking(move || {
            kafka::end_offsets(&offsets_config, topic, Duration::from_secs(10))
        })
        .await
        .map_err(|e| FeedError::EndOffsets(e.to_string()))??;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let group = format!("{group_prefix}-{}-{nanos}", std::process::id());
        let subscriber = Subscriber::new(config, &group, &[topic])?;
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let (caught_up, _) = watch::channel(false);
        let feed = GossipIndexFeed {
            subscriber,
            index,
            end_offsets: end_offsets.into_iter().collect(),
            next_offsets: BTreeMap::new(),
            caught_up,
            live,
            stats: Arc::new(FeedStats::default()),
        };
        feed.check_caught_up();
        Ok(feed)
    }

    /// Becomes true once the replay reached the start-time end offsets.
    pub fn caught_up(&self) -> watch::Receiver<bool> {
        self.caught_up.subscribe()
    }

    /// The sender of live items (hand it to [`super::EdgeGossip::new`]).
    pub fn live_sender(&self) -> broadcast::Sender<Arc<LiveGossip>> {
        self.live.clone()
    }

    pub fn stats(&self) -> Arc<FeedStats> {
        Arc::clone(&self.stats)
    }

    fn check_caught_up(&self) {
        if *self.caught_up.borrow() {
            return;
        }
        let reached = self
            .end_offsets
            .iter()
            .all(|(partition, &end)| self.next_offsets.get(partition).copied().unwrap_or(0) >= end);
        if reached {
            tracing::info!(
                channels = self.index.read().map_or(0, |i| i.channel_count()),
                "gossip index caught up"
            );
            self.caught_up.send_replace(true);
        }
    }

    /// Consumes forever (until the consumer fails).
    pub async fn run(mut self) -> Result<(), FeedError> {
        loop {
            let record = self.subscriber.next().await?;
            self.next_offsets
                .insert(record.partition, record.offset + 1);
            let applied = match self.index.write() {
                Ok(mut index) => {
                    index.apply_record(record.key.as_deref(), record.payload.as_deref())
                }
                Err(poisoned) => poisoned
                    .into_inner()
                    .apply_record(record.key.as_deref(), record.payload.as_deref()),
            };
            match applied {
                Ok(live) => {
                    self.stats.applied.fetch_add(1, Ordering::Relaxed);
                    if let (Some(live), true) = (live, *self.caught_up.borrow()) {
                        // No session listening is fine: nobody to relay to.
                        let _ = self.live.send(Arc::new(live));
                    }
                }
                Err(error) => {
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, offset = record.offset, "skipping gossip record");
                }
            }
            self.check_caught_up();
        }
    }
}
