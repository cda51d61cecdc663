//! Gossip that arrived before what it depends on.
//!
//! Raw gossip is spread over four partitions and several replicas, so a `channel_update` may
//! be read before its `channel_announcement`, and a `node_announcement` before any channel of
//! its node: out-of-order arrival is normal, not an error. Such records are parked here and
//! retried when the channel becomes known (accepted here or learned from `ln.gossip.valid`).
//!
//! Bounded: per channel direction and per node only the newest message is kept (an older one
//! would be refused as stale anyway); at most `max_entries` of each kind; nothing older than
//! `max_age_ms`. What is replaced, evicted or expires is counted by the caller under its
//! `unknown_channel` / `unknown_node` reason, once.

use std::collections::HashMap;

use lnfleet_wire::codec::ShortChannelId;
use lnfleet_wire::message::Message;
use secp256k1::PublicKey;

/// Defaults: 10 minutes covers the catch-up of a replica and any cross-partition lag; 20k
/// entries of each kind (about 10 MB of envelopes) is several minutes of mainnet gossip.
pub const DEFAULT_MAX_AGE_MS: u64 = 10 * 60 * 1000;
pub const DEFAULT_MAX_ENTRIES: usize = 20_000;

/// The rejection label a parked message is counted under when it is dropped.
pub const UNKNOWN_CHANNEL: &str = "unknown_channel";
pub const UNKNOWN_NODE: &str = "unknown_node";

/// One parked `ln.gossip.raw` record value (the whole envelope, to be processed again).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parked {
    envelope: Vec<u8>,
    timestamp: u32,
    parked_at_ms: u64,
}

/// What [`PendingGossip::park`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkOutcome {
    /// Kept; nothing dropped.
    Parked,
    /// Kept; one older message was dropped (replaced, or evicted to make room): count it
    /// under `reason`.
    ParkedDropping { reason: &'static str },
    /// Not kept: a newer message for the same direction or node is already parked.
    Superseded { reason: &'static str },
    /// Not a message that waits for anything (only updates and node announcements do).
    NotParkable,
}

/// Parked `channel_update`s (per scid and direction) and `node_announcement`s (per node).
#[derive(Debug, Clone)]
pub struct PendingGossip {
    max_entries: usize,
    max_age_ms: u64,
    updates: HashMap<(ShortChannelId, u8), Parked>,
    nodes: HashMap<PublicKey, Parked>,
}

impl Default for PendingGossip {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ENTRIES, DEFAULT_MAX_AGE_MS)
    }
}

impl PendingGossip {
    pub fn new(max_entries: usize, max_age_ms: u64) -> Self {
        PendingGossip {
            max_entries: max_entries.max(1),
            max_age_ms,
            updates: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.updates.len() + self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parks `envelope`, whose decoded gossip is `message`, received at `now_ms`.
    pub fn park(&mut self, envelope: Vec<u8>, message: &Message, now_ms: u64) -> ParkOutcome {
        let max_entries = self.max_entries;
        match message {
            Message::ChannelUpdate(update) => {
                let key = (update.short_channel_id, update.direction());
                let parked = Parked {
                    envelope,
                    timestamp: update.timestamp,
                    parked_at_ms: now_ms,
                };
                park_newest(&mut self.updates, key, parked, max_entries, UNKNOWN_CHANNEL)
            }
            Message::NodeAnnouncement(ann) => {
                let parked = Parked {
                    envelope,
                    timestamp: ann.timestamp,
                    parked_at_ms: now_ms,
                };
                park_newest(
                    &mut self.nodes,
                    ann.node_id,
                    parked,
                    max_entries,
                    UNKNOWN_NODE,
                )
            }
            _ => ParkOutcome::NotParkable,
        }
    }

    /// Takes what waited for channel `scid` (its updates, then its nodes' announcements):
    /// the envelopes to process again, updates first so they see the channel.
    pub fn release(&mut self, scid: ShortChannelId, node_ids: [PublicKey; 2]) -> Vec<Vec<u8>> {
        let updates = [0u8, 1].map(|direction| self.updates.remove(&(scid, direction)));
        let nodes = node_ids.map(|node_id| self.nodes.remove(&node_id));
        updates
            .into_iter()
            .chain(nodes)
            .flatten()
            .map(|parked| parked.envelope)
            .collect()
    }

    /// Drops what has waited longer than the age bound; returns the reason of each dropped
    /// message, for counting.
    pub fn expire(&mut self, now_ms: u64) -> Vec<&'static str> {
        let max_age_ms = self.max_age_ms;
        let fresh = |parked: &Parked| now_ms.saturating_sub(parked.parked_at_ms) <= max_age_ms;
        let before = (self.updates.len(), self.nodes.len());
        self.updates.retain(|_, parked| fresh(parked));
        self.nodes.retain(|_, parked| fresh(parked));
        let channels = before.0.saturating_sub(self.updates.len());
        let nodes = before.1.saturating_sub(self.nodes.len());
        std::iter::repeat_n(UNKNOWN_CHANNEL, channels)
            .chain(std::iter::repeat_n(UNKNOWN_NODE, nodes))
            .collect()
    }
}

/// Newest wins per key; when full, the longest-parked entry is evicted (a linear scan, only
/// when full: bounded by `max_entries`).
fn park_newest<K: std::hash::Hash + Eq + Copy>(
    map: &mut HashMap<K, Parked>,
    key: K,
    parked: Parked,
    max_entries: usize,
    reason: &'static str,
) -> ParkOutcome {
    if let Some(existing) = map.get_mut(&key) {
        if existing.timestamp >= parked.timestamp {
            return ParkOutcome::Superseded { reason };
        }
        *existing = parked;
        return ParkOutcome::ParkedDropping { reason };
    }
    let mut outcome = ParkOutcome::Parked;
    if map.len() >= max_entries {
        let oldest = map
            .iter()
            .min_by_key(|(_, parked)| parked.parked_at_ms)
            .map(|(key, _)| *key);
        if let Some(oldest) = oldest {
            map.remove(&oldest);
            outcome = ParkOutcome::ParkedDropping { reason };
        }
    }
    map.insert(key, parked);
    outcome
}

#[cfg(test)]
mod tests {
    use lnfleet_tests::gossip::SignedChannel;

    use super::*;

    fn channel(seed: u8) -> SignedChannel {
        let scid = format!("820000x{seed}x0").parse().expect("scid");
        SignedChannel::from_seed(scid, seed)
    }

    fn update(channel: &SignedChannel, direction: u8, timestamp: u32) -> Message {
        Message::ChannelUpdate(channel.update(direction, timestamp, 1))
    }

    fn node(channel: &SignedChannel, side: usize, timestamp: u32) -> Message {
        Message::NodeAnnouncement(channel.node_announcement(side, timestamp))
    }

    fn ids(channel: &SignedChannel) -> [PublicKey; 2] {
        [channel.node_id(0), channel.node_id(1)]
    }

    #[test]
    fn release_returns_updates_then_node_announcements_of_that_channel_only() {
        let (a, b) = (channel(1), channel(2));
        let mut pending = PendingGossip::new(10, 60_000);
        assert_eq!(
            pending.park(b"a-node".to_vec(), &node(&a, 1, 5), 0),
            ParkOutcome::Parked
        );
        assert_eq!(
            pending.park(b"a-upd1".to_vec(), &update(&a, 1, 5), 0),
            ParkOutcome::Parked
        );
        assert_eq!(
            pending.park(b"b-upd0".to_vec(), &update(&b, 0, 5), 0),
            ParkOutcome::Parked
        );
        assert_eq!(pending.len(), 3);
        assert_eq!(
            pending.release(a.scid, ids(&a)),
            vec![b"a-upd1".to_vec(), b"a-node".to_vec()]
        );
        assert_eq!(pending.len(), 1);
        assert!(pending.release(a.scid, ids(&a)).is_empty());
        assert_eq!(pending.release(b.scid, ids(&b)), vec![b"b-upd0".to_vec()]);
        assert!(pending.is_empty());
    }

    #[test]
    fn newest_wins_per_direction_and_node() {
        let a = channel(3);
        let mut pending = PendingGossip::new(10, 60_000);
        pending.park(b"t10".to_vec(), &update(&a, 0, 10), 0);
        assert_eq!(
            pending.park(b"t5".to_vec(), &update(&a, 0, 5), 0),
            ParkOutcome::Superseded {
                reason: UNKNOWN_CHANNEL
            }
        );
        assert_eq!(
            pending.park(b"t20".to_vec(), &update(&a, 0, 20), 0),
            ParkOutcome::ParkedDropping {
                reason: UNKNOWN_CHANNEL
            }
        );
        pending.park(b"n7".to_vec(), &node(&a, 0, 7), 0);
        assert_eq!(
            pending.park(b"n6".to_vec(), &node(&a, 0, 6), 0),
            ParkOutcome::Superseded {
                reason: UNKNOWN_NODE
            }
        );
        assert_eq!(
            pending.release(a.scid, ids(&a)),
            vec![b"t20".to_vec(), b"n7".to_vec()]
        );
    }

    #[test]
    fn full_set_evicts_the_longest_parked() {
        let mut pending = PendingGossip::new(2, 60_000);
        let channels: Vec<SignedChannel> = (10..13).map(channel).collect();
        for (at, c) in (0u64..).zip(&channels) {
            let outcome = pending.park(vec![c.scid.block() as u8], &update(c, 0, 1), at);
            let expected = if at < 2 {
                ParkOutcome::Parked
            } else {
                ParkOutcome::ParkedDropping {
                    reason: UNKNOWN_CHANNEL,
                }
            };
            assert_eq!(outcome, expected);
        }
        assert_eq!(pending.len(), 2);
        let first = &channels[0];
        assert!(pending.release(first.scid, ids(first)).is_empty());
    }

    #[test]
    fn expiry_drops_old_entries_and_reports_their_reasons() {
        let a = channel(20);
        let mut pending = PendingGossip::new(10, 1_000);
        pending.park(b"u".to_vec(), &update(&a, 0, 1), 0);
        pending.park(b"n".to_vec(), &node(&a, 0, 1), 500);
        assert!(pending.expire(1_000).is_empty());
        assert_eq!(pending.expire(1_001), vec![UNKNOWN_CHANNEL]);
        assert_eq!(pending.expire(1_501), vec![UNKNOWN_NODE]);
        assert!(pending.is_empty());
    }

    #[test]
    fn announcements_are_not_parkable() {
        let a = channel(30);
        let mut pending = PendingGossip::default();
        let ann = Message::ChannelAnnouncement(a.announcement());
        assert_eq!(pending.park(vec![1], &ann, 0), ParkOutcome::NotParkable);
        assert!(pending.is_empty());
    }
}
