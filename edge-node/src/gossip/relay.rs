//! Publishing every broadcast gossip message a peer sends (`channel_announcement`,
//! `channel_update`, `node_announcement`) to `ln.gossip.raw`, unverified: validation is the
//! gossip service's job.
//!
//! Backpressure: at most `window` records wait for the broker's acknowledgement. [`GossipRelay::
//! publish`] completes once its record has a place in that window, so a slow broker fills the
//! window and then slows the peer's reads. Failed publishes are retried with backoff (each
//! failure counted) until they succeed; nothing is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_actors::kafka::Publisher;
use lnfleet_actors::topics;
use lnfleet_wire::message::Message;
use secp256k1::PublicKey;
use tokio::sync::Semaphore;

/// The record key: one channel's announcement and updates share a key (so a partition), node
/// announcements are keyed by node.
pub fn raw_gossip_key(message: &Message) -> Option<String> {
    match message {
        Message::ChannelAnnouncement(ann) => Some(format!("c/{}", ann.short_channel_id)),
        Message::ChannelUpdate(update) => Some(format!("c/{}", update.short_channel_id)),
        Message::NodeAnnouncement(ann) => Some(format!("n/{}", ann.node_id)),
        _ => None,
    }
}

/// Counters of the relay, readable by the node's metrics.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    /// Messages handed to the relay that are not broadcast gossip (ignored).
    pub ignored: AtomicU64,
}

/// Why a message was not relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("{0} is not broadcast gossip")]
    NotBroadcastGossip(&'static str),
    #[error("the relay is shut down")]
    Closed,
}

/// Publishes raw gossip with a bounded in-flight window.
pub struct GossipRelay {
    publisher: Arc<Publisher>,
    edge_id: String,
    window: Arc<Semaphore>,
    window_size: u32,
    stats: Arc<RelayStats>,
    topic: &'static str,
}

impl GossipRelay {
    /// `window`: how many records may await the broker's ack at once.
    pub fn new(publisher: Arc<Publisher>, edge_id: impl Into<String>, window: u32) -> Self {
        let window_size = window.max(1);
        GossipRelay {
            publisher,
            edge_id: edge_id.into(),
            window: Arc::new(Semaphore::new(window_size as usize)),
            window_size,
            stats: Arc::new(RelayStats::default()),
            topic: topics::GOSSIP_RAW.name,
        }
    }

    pub fn stats(&self) -> Arc<RelayStats> {
        Arc::clone(&self.stats)
    }

    pub fn edge_id(&self) -> &str {
        &self.edge_id
    }

    /// Queues `raw` (the exact bytes of `message`) from `peer` for publishing; returns once it
    /// holds a place in the in-flight window.
    pub async fn publish(
        &self,
        peer: PublicKey,
        message: &Message,
        raw: Vec<u8>,
    ) -> Result<(), RelayError> {
        let Some(key) = raw_gossip_key(message) else {
            self.stats.ignored.fetch_add(1, Ordering::Relaxed);
            return Err(RelayError::NotBroadcastGossip(message.name()));
        };
        let permit = Arc::clone(&self.window)
            .acquire_owned()
            .await
            .map_err(|_| RelayError::Closed)?;
        let payload = contracts::encode(&RawGossip {
            edge_id: self.edge_id.clone(),
            peer_id: peer.serialize().to_vec(),
            received_at_ms: now_ms(),
            message: raw,
        });
        let publisher = Arc::clone(&self.publisher);
        let stats = Arc::clone(&self.stats);
        let topic = self.topic;
        tokio::spawn(async move {
            publish_until_acked(&publisher, topic, &key, &payload, &stats).await;
            drop(permit);
        });
        Ok(())
    }

    /// Waits until every queued record is acknowledged (shutdown, tests).
    pub async fn flush(&self) {
        if let Ok(all) = self.window.acquire_many(self.window_size).await {
            drop(all);
        }
    }
}

async fn publish_until_acked(
    publisher: &Publisher,
    topic: &str,
    key: &str,
    payload: &[u8],
    stats: &RelayStats,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match publisher.publish(topic, key.as_bytes(), payload).await {
            Ok(_) => {
                stats.published.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(error) => {
                stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, key, retry_in = ?backoff, "raw gossip publish failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use lnfleet_tests::gossip::SignedChannel;
    use lnfleet_wire::ShortChannelId;

    use super::*;

    #[test]
    fn a_channels_announcement_and_updates_share_a_key_nodes_have_their_own() {
        let channel = SignedChannel::from_seed(ShortChannelId::new(800_000, 2, 1).unwrap(), 7);
        let ann = Message::ChannelAnnouncement(channel.announcement());
        let update = Message::ChannelUpdate(channel.update(1, 10, 1));
        let node = Message::NodeAnnouncement(channel.node_announcement(0, 10));
        assert_eq!(raw_gossip_key(&ann).as_deref(), Some("c/800000x2x1"));
        assert_eq!(raw_gossip_key(&ann), raw_gossip_key(&update));
        assert_eq!(
            raw_gossip_key(&node),
            Some(format!("n/{}", channel.node_id(0)))
        );
    }
}
