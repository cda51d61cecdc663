//! One connection's gossip state: its timestamp filter and live relay task, its query budget,
//! the node announcements it was already sent, and our own sync with it (the range query we
//! sent and the scids we still have to ask for).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lnfleet_wire::gossip::{
    EncodedShortIds, GossipTimestampFilter, QueryChannelRange, QueryShortChannelIds,
    ReplyChannelRange,
};
use lnfleet_wire::tlv::TlvStream;
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};
use tokio::sync::{broadcast, watch, Mutex};
use tokio::task::JoinHandle;

use super::filter;
use super::index::{GossipIndex, LiveGossip};
use super::queries::SentNodes;
use super::ratelimit::PeerRateLimiter;
use crate::hooks::PeerHandle;

/// Counters per session, summed by the node if it wants.
#[derive(Debug, Default)]
pub struct SessionStats {
    pub live_sent: AtomicU64,
    /// Live items a slow peer missed because the broadcast moved on.
    pub live_missed: AtomicU64,
}

/// Our side of a sync with the peer.
#[derive(Debug, Default)]
pub struct OutgoingSync {
    /// The range query we sent and are still getting replies to.
    pub range_query: Option<QueryChannelRange>,
    /// Scids the peer has that we do not, to ask for (a set: replies may overlap by a block).
    pub wanted: BTreeSet<ShortChannelId>,
    /// When the `query_short_channel_ids` awaiting its `reply_short_channel_ids_end` was sent.
    pub scid_query_sent_at: Option<Instant>,
}

/// A peer that has not ended our scid query by then is taken not to answer it (LDK 0.2 does not
/// implement `query_short_channel_ids`): the next batch may go out.
pub const SCID_QUERY_TIMEOUT: Duration = Duration::from_secs(30);

impl OutgoingSync {
    /// Takes a reply to our range query; returns whether it was the last one.
    pub fn on_range_reply(&mut self, reply: &ReplyChannelRange, index: &GossipIndex) -> bool {
        let Some(query) = &self.range_query else {
            return false;
        };
        if reply.chain_hash != query.chain_hash {
            return false;
        }
        self.wanted.extend(
            reply
                .short_ids
                .0
                .iter()
                .filter(|scid| !index.has_channel(**scid)),
        );
        let done = reply.end_blocknum() >= query.end_blocknum();
        if done {
            self.range_query = None;
        }
        done
    }

    /// The next `query_short_channel_ids` to send, if none is in flight and scids are wanted.
    pub fn next_scid_query(
        &mut self,
        chain_hash: ChainHash,
        batch: usize,
        now: Instant,
    ) -> Option<Vec<u8>> {
        let in_flight = self
            .scid_query_sent_at
            .is_some_and(|sent| now.saturating_duration_since(sent) < SCID_QUERY_TIMEOUT);
        if in_flight || self.wanted.is_empty() {
            return None;
        }
        let take = batch.clamp(1, EncodedShortIds::MAX_IDS);
        // Ascending, as BOLT 7 asks: the set is ordered.
        let ids: Vec<ShortChannelId> = std::iter::from_fn(|| self.wanted.pop_first())
            .take(take)
            .collect();
        self.scid_query_sent_at = Some(now);
        Some(
            QueryShortChannelIds {
                chain_hash,
                short_ids: EncodedShortIds(ids),
                query_flags: None,
                extra_tlvs: TlvStream::default(),
            }
            .encode(),
        )
    }
}

/// Serialized per-session state (one query answered at a time).
pub struct SessionState {
    pub limiter: PeerRateLimiter,
    pub sent_nodes: SentNodes,
    pub sync: OutgoingSync,
    /// The task sending the backlog of the latest filter.
    pub backlog_task: Option<JoinHandle<()>>,
}

/// One connection's gossip session.
pub struct PeerSession {
    pub handle: PeerHandle,
    pub state: Mutex<SessionState>,
    pub filter: watch::Sender<Option<GossipTimestampFilter>>,
    pub stats: Arc<SessionStats>,
    live_task: JoinHandle<()>,
}

impl PeerSession {
    /// Starts the live relay task, idle until the peer sends a filter.
    pub fn start(
        handle: PeerHandle,
        limiter: PeerRateLimiter,
        live: broadcast::Receiver<Arc<LiveGossip>>,
    ) -> Self {
        let (filter, filter_rx) = watch::channel(None);
        let stats = Arc::new(SessionStats::default());
        let live_task = tokio::spawn(relay_live(
            handle.clone(),
            live,
            filter_rx,
            Arc::clone(&stats),
        ));
        PeerSession {
            handle,
            state: Mutex::new(SessionState {
                limiter,
                sent_nodes: SentNodes::default(),
                sync: OutgoingSync::default(),
                backlog_task: None,
            }),
            filter,
            stats,
            live_task,
        }
    }
}

impl Drop for PeerSession {
    fn drop(&mut self) {
        self.live_task.abort();
        if let Ok(mut state) = self.state.try_lock() {
            if let Some(task) = state.backlog_task.take() {
                task.abort();
            }
        }
    }
}

async fn relay_live(
    handle: PeerHandle,
    mut live: broadcast::Receiver<Arc<LiveGossip>>,
    filter: watch::Receiver<Option<GossipTimestampFilter>>,
    stats: Arc<SessionStats>,
) {
    let peer_id = handle.peer_id().serialize();
    loop {
        let item = match live.recv().await {
            Ok(item) => item,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Decision: a peer too slow for the live stream misses items rather than
                // holding the index feed back; it can catch up with queries.
                stats.live_missed.fetch_add(missed, Ordering::Relaxed);
                tracing::debug!(peer = %handle.peer_id(), missed, "live gossip lagged");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(current) = filter.borrow().clone() else {
            continue;
        };
        for message in filter::live_messages(&item, &current, &peer_id) {
            if handle.send(message.to_vec()).await.is_err() {
                return;
            }
            stats.live_sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scid(block: u32) -> ShortChannelId {
        ShortChannelId::new(block, 1, 0).expect("valid scid")
    }

    #[test]
    fn an_unanswered_scid_query_lets_the_next_batch_go_after_the_timeout() {
        let mut sync = OutgoingSync::default();
        sync.wanted.extend([scid(1), scid(2), scid(3)]);
        let start = Instant::now();
        assert!(sync.next_scid_query(ChainHash::REGTEST, 2, start).is_some());
        assert_eq!(sync.wanted.len(), 1);
        // In flight: nothing more until the end reply or the timeout.
        assert!(sync
            .next_scid_query(ChainHash::REGTEST, 2, start + Duration::from_secs(1))
            .is_none());
        let later = start + SCID_QUERY_TIMEOUT + Duration::from_secs(1);
        assert!(sync.next_scid_query(ChainHash::REGTEST, 2, later).is_some());
        assert!(sync.wanted.is_empty());
    }
}
