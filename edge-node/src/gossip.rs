//! The edge's gossip: relaying what peers announce to the gossip service, and answering peers'
//! gossip queries from a light index of the validated gossip.
//!
//! - [`relay`]: peer gossip → `ln.gossip.raw`, with a bounded in-flight window (backpressure).
//! - [`index`]: announcements and latest updates per scid and node, latest-wins.
//! - [`feed`]: replays `ln.gossip.valid` into the index, then follows it live.
//! - [`queries`]: `query_channel_range` and `query_short_channel_ids` answers (sans I/O).
//! - [`filter`]: `gossip_timestamp_filter` backlog and live matching, never back to the origin.
//! - [`ratelimit`]: per-peer token buckets on query answers.
//! - [`session`]: one connection's gossip state and live relay task.
//! - [`hooks`]: [`hooks::GossipHooks`], gossip and custom messages as a whole `PeerHooks`.
//!
//! [`EdgeGossip`] ties them to a connection through the gossip part of
//! [`crate::hooks::PeerHooks`].

pub mod feed;
pub mod filter;
pub mod hooks;
pub mod index;
pub mod queries;
pub mod ratelimit;
pub mod relay;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use lnfleet_wire::bolt1::{Init, Warning};
use lnfleet_wire::features::Feature;
use lnfleet_wire::gossip::{GossipTimestampFilter, QueryChannelRange};
use lnfleet_wire::message::Message;
use lnfleet_wire::tlv::TlvStream;
use lnfleet_wire::{ChainHash, WireMessage};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

pub use feed::{FeedError, GossipIndexFeed};
pub use hooks::GossipHooks;
pub use index::{GossipIndex, LiveGossip, SharedIndex};
pub use ratelimit::RateLimits;
pub use relay::GossipRelay;
use session::PeerSession;

use crate::hooks::{ConnectionId, PeerHandle, PeerInfo};

/// Two weeks: how far back we ask a peer for gossip when we already have an index.
pub const INITIAL_FILTER_AGE_SECS: u32 = 14 * 24 * 60 * 60;

/// How many backlog messages are charged to the rate limiter and sent at once.
const BACKLOG_CHUNK: usize = 1_000;

/// Settings of the edge's gossip.
#[derive(Debug, Clone)]
pub struct GossipConfig {
    pub chain_hash: ChainHash,
    pub rate_limits: RateLimits,
    /// Ids per `reply_channel_range` (capped by the message size limit).
    pub max_ids_per_reply: usize,
    /// Scids per outgoing `query_short_channel_ids`.
    pub scid_query_batch: usize,
    /// Whether to sync from peers when they connect.
    pub sync_on_connect: bool,
    /// [`GossipIndexFeed::caught_up`]: when set, peers' queries and filters wait until the
    /// index has replayed the topic, so answers are never partial.
    pub index_ready: Option<watch::Receiver<bool>>,
}

impl GossipConfig {
    pub fn new(chain_hash: ChainHash) -> Self {
        GossipConfig {
            chain_hash,
            rate_limits: RateLimits::default(),
            max_ids_per_reply: queries::max_ids_per_reply(false),
            scid_query_batch: 1_000,
            sync_on_connect: true,
            index_ready: None,
        }
    }
}

struct Inner {
    config: GossipConfig,
    relay: Arc<GossipRelay>,
    index: SharedIndex,
    live: broadcast::Sender<Arc<LiveGossip>>,
    sessions: Mutex<HashMap<ConnectionId, Arc<PeerSession>>>,
}

/// Relay + index + per-peer sessions. Cheap to clone; its methods have the signatures of the
/// gossip part of [`crate::hooks::PeerHooks`], so a composed hook delegates to them.
#[derive(Clone)]
pub struct EdgeGossip {
    inner: Arc<Inner>,
}

impl EdgeGossip {
    /// `live`: from [`GossipIndexFeed::live_sender`] (or any sender of applied items).
    pub fn new(
        config: GossipConfig,
        relay: Arc<GossipRelay>,
        index: SharedIndex,
        live: broadcast::Sender<Arc<LiveGossip>>,
    ) -> Self {
        EdgeGossip {
            inner: Arc::new(Inner {
                config,
                relay,
                index,
                live,
                sessions: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn index(&self) -> &SharedIndex {
        &self.inner.index
    }

    pub fn relay(&self) -> &Arc<GossipRelay> {
        &self.inner.relay
    }

    /// Sessions currently open.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.lock().map_or(0, |s| s.len())
    }

    fn session(&self, peer: &PeerHandle) -> Arc<PeerSession> {
        let mut sessions = match self.inner.sessions.lock() {
            Ok(sessions) => sessions,
            Err(poisoned) => poisoned.into_inner(),
        };
        let session = sessions.entry(peer.connection_id()).or_insert_with(|| {
            Arc::new(PeerSession::start(
                peer.clone(),
                ratelimit::PeerRateLimiter::new(self.inner.config.rate_limits, Instant::now()),
                self.inner.live.subscribe(),
            ))
        });
        Arc::clone(session)
    }

    /// After `init`: asks the peer for gossip (a timestamp filter, and a range query when it
    /// offers `gossip_queries`).
    pub fn on_connected(&self, peer: &PeerHandle, their_init: &Init) -> BoxFuture<'static, ()> {
        let this = self.clone();
        let peer = peer.clone();
        let offers_queries = their_init
            .features
            .union(&their_init.global_features)
            .supports(Feature::GossipQueries);
        Box::pin(async move {
            let session = this.session(&peer);
            if !this.inner.config.sync_on_connect {
                return;
            }
            let chain_hash = this.inner.config.chain_hash;
            let index_empty = this.inner.index.read().map_or(true, |i| i.is_empty());
            let filter = if !offers_queries {
                // BOLT 7: to a peer without gossip_queries, ask for nothing this way.
                GossipTimestampFilter {
                    chain_hash,
                    first_timestamp: u32::MAX,
                    timestamp_range: 0,
                }
            } else {
                let now = u32::try_from(relay::now_ms() / 1000).unwrap_or(u32::MAX);
                let first_timestamp = if index_empty {
                    0
                } else {
                    now.saturating_sub(INITIAL_FILTER_AGE_SECS)
                };
                GossipTimestampFilter {
                    chain_hash,
                    first_timestamp,
                    timestamp_range: u32::MAX,
                }
            };
            if peer.send(filter.encode()).await.is_err() || !offers_queries {
                return;
            }
            let query = QueryChannelRange {
                chain_hash,
                first_blocknum: 0,
                number_of_blocks: u32::MAX,
                query_option: None,
                extra_tlvs: TlvStream::default(),
            };
            let encoded = query.encode();
            session.state.lock().await.sync.range_query = Some(query);
            let _ = peer.send(encoded).await;
        })
    }

    /// A BOLT 7 message from `peer`. Broadcast gossip goes to the relay (completing once the
    /// record has a place in the in-flight window); queries are answered, paced by the peer's
    /// budget, before the future completes.
    pub fn on_gossip(
        &self,
        peer: &PeerHandle,
        message: Message,
        raw: Vec<u8>,
    ) -> BoxFuture<'static, ()> {
        let this = self.clone();
        let peer = peer.clone();
        Box::pin(async move { this.handle_gossip(peer, message, raw).await })
    }

    /// The connection closed: its session ends.
    pub fn on_disconnected(&self, peer: &PeerInfo) {
        let removed = match self.inner.sessions.lock() {
            Ok(mut sessions) => sessions.remove(&peer.connection_id),
            Err(poisoned) => poisoned.into_inner().remove(&peer.connection_id),
        };
        drop(removed);
    }

    async fn wait_index_ready(&self) {
        if let Some(ready) = &self.inner.config.index_ready {
            let mut ready = ready.clone();
            // A feed that stopped leaves the index as it is; answer from it.
            let _ = ready.wait_for(|caught_up| *caught_up).await;
        }
    }

    async fn handle_gossip(&self, peer: PeerHandle, message: Message, raw: Vec<u8>) {
        if matches!(
            message,
            Message::QueryChannelRange(_)
                | Message::QueryShortChannelIds(_)
                | Message::GossipTimestampFilter(_)
        ) {
            self.wait_index_ready().await;
        }
        match message {
            Message::ChannelAnnouncement(_)
            | Message::ChannelUpdate(_)
            | Message::NodeAnnouncement(_) => {
                if let Err(error) = self
                    .inner
                    .relay
                    .publish(peer.peer_id(), &message, raw)
                    .await
                {
                    tracing::warn!(peer = %peer.peer_id(), %error, "gossip not relayed");
                }
                self.resume_stalled_sync(&peer).await;
            }
            Message::QueryChannelRange(query) => {
                let answer = match self.inner.index.read() {
                    Ok(index) => queries::encoded_channel_range_replies(
                        &index,
                        self.inner.config.chain_hash,
                        &query,
                        self.inner.config.max_ids_per_reply,
                    ),
                    Err(_) => return,
                };
                self.send_paced(&peer, answer, "query_channel_range").await;
            }
            Message::QueryShortChannelIds(query) => {
                let session = self.session(&peer);
                let answer = {
                    let mut state = session.state.lock().await;
                    match self.inner.index.read() {
                        Ok(index) => queries::short_channel_ids_answer(
                            &index,
                            self.inner.config.chain_hash,
                            &query,
                            &mut state.sent_nodes,
                        ),
                        Err(_) => return,
                    }
                };
                self.send_paced(&peer, answer, "query_short_channel_ids")
                    .await;
            }
            Message::GossipTimestampFilter(filter) => self.apply_filter(&peer, filter).await,
            Message::ReplyChannelRange(reply) => {
                let session = self.session(&peer);
                let mut state = session.state.lock().await;
                let done = match self.inner.index.read() {
                    Ok(index) => state.sync.on_range_reply(&reply, &index),
                    Err(_) => return,
                };
                if done {
                    tracing::debug!(peer = %peer.peer_id(), wanted = state.sync.wanted.len(), "range sync replies complete");
                }
                let next = state.sync.next_scid_query(
                    self.inner.config.chain_hash,
                    self.inner.config.scid_query_batch,
                    std::time::Instant::now(),
                );
                drop(state);
                if let Some(query) = next {
                    let _ = peer.send(query).await;
                }
            }
            Message::ReplyShortChannelIdsEnd(_) => {
                let session = self.session(&peer);
                let mut state = session.state.lock().await;
                state.sync.scid_query_sent_at = None;
                let next = state.sync.next_scid_query(
                    self.inner.config.chain_hash,
                    self.inner.config.scid_query_batch,
                    std::time::Instant::now(),
                );
                drop(state);
                if let Some(query) = next {
                    let _ = peer.send(query).await;
                }
            }
            other => {
                tracing::debug!(peer = %peer.peer_id(), message = other.name(), "not gossip, ignored");
            }
        }
    }

    /// Sends the next scid batch if the peer left our last query unanswered too long.
    async fn resume_stalled_sync(&self, peer: &PeerHandle) {
        let session = self.session(peer);
        let mut state = session.state.lock().await;
        if state.sync.scid_query_sent_at.is_none() {
            return;
        }
        let next = state.sync.next_scid_query(
            self.inner.config.chain_hash,
            self.inner.config.scid_query_batch,
            std::time::Instant::now(),
        );
        drop(state);
        if let Some(query) = next {
            tracing::debug!(peer = %peer.peer_id(), "scid query unanswered; sending the next batch");
            let _ = peer.send(query).await;
        }
    }

    /// Charges the answer to the peer's budget, waits if it must, then sends it; refuses with a
    /// warning when the wait would be too long.
    async fn send_paced(&self, peer: &PeerHandle, answer: Vec<Vec<u8>>, query: &'static str) {
        let session = self.session(peer);
        let bytes = answer.iter().map(Vec::len).sum();
        let charged =
            session
                .state
                .lock()
                .await
                .limiter
                .charge(answer.len(), bytes, Instant::now());
        match charged {
            Ok(wait) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                for message in answer {
                    if peer.send(message).await.is_err() {
                        return;
                    }
                }
            }
            Err(limited) => {
                tracing::warn!(peer = %peer.peer_id(), query, %limited, "gossip query refused");
                let warning = Warning::connection_wide(&format!("{query} refused: {limited}"));
                let _ = peer.send(warning.encode()).await;
            }
        }
    }

    /// A new filter replaces the old one: live relay uses it at once, and the backlog it admits
    /// is sent in paced chunks by a task of its own (the peer's reads go on meanwhile).
    async fn apply_filter(&self, peer: &PeerHandle, filter: GossipTimestampFilter) {
        let session = self.session(peer);
        if filter.chain_hash != self.inner.config.chain_hash {
            session.filter.send_replace(None);
            return;
        }
        session.filter.send_replace(Some(filter.clone()));
        let backlog = match self.inner.index.read() {
            Ok(index) => filter::backlog(&index, &filter, &peer.peer_id().serialize()),
            Err(_) => return,
        };
        let task_session = Arc::clone(&session);
        let task = tokio::spawn(async move {
            for chunk in backlog.chunks(BACKLOG_CHUNK) {
                let bytes = chunk.iter().map(|m| m.len()).sum();
                let wait = task_session
                    .state
                    .lock()
                    .await
                    .limiter
                    .charge(chunk.len(), bytes, Instant::now())
                    .unwrap_or_else(|limited| limited.wait);
                if !wait.is_zero() {
                    tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
                }
                for message in chunk {
                    if task_session.handle.send(message.to_vec()).await.is_err() {
                        return;
                    }
                }
            }
        });
        let mut state = session.state.lock().await;
        if let Some(previous) = state.backlog_task.replace(task) {
            previous.abort();
        }
    }
}
