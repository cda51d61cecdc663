//! `gossip_timestamp_filter`: which gossip a peer wants. On a new filter the peer gets what the
//! index holds inside `[first_timestamp, first_timestamp + timestamp_range)`, then live gossip as
//! it is applied, filtered the same way. A message is never sent back to the peer it came from.

use lnfleet_wire::gossip::GossipTimestampFilter;

use super::index::{GossipIndex, LiveGossip, StoredMessage};

/// Whether `message` may go to `peer_id` under `filter`.
pub fn admits(filter: &GossipTimestampFilter, message: &StoredMessage, peer_id: &[u8]) -> bool {
    message.origin_peer.as_slice() != peer_id && filter.admits(message.timestamp)
}

/// The backlog answering a new filter, in sending order: per channel its announcement (only
/// when it has an update; its timestamp is the newest update's) before its updates, then node
/// announcements.
pub fn backlog(
    index: &GossipIndex,
    filter: &GossipTimestampFilter,
    peer_id: &[u8],
) -> Vec<std::sync::Arc<Vec<u8>>> {
    let mut out = Vec::new();
    for (_, entry) in index.channels() {
        let (Some(announcement), Some(latest)) =
            (&entry.announcement, entry.latest_update_timestamp())
        else {
            continue;
        };
        let updates: Vec<&StoredMessage> = entry
            .updates
            .iter()
            .flatten()
            .filter(|update| admits(filter, update, peer_id))
            .collect();
        let announce = filter.admits(latest) && announcement.origin_peer.as_slice() != peer_id;
        if announce {
            out.push(announcement.bytes.clone());
        }
        out.extend(updates.into_iter().map(|update| update.bytes.clone()));
    }
    out.extend(
        index
            .nodes()
            .map(|(_, ann)| ann)
            .filter(|ann| admits(filter, ann, peer_id))
            .map(|ann| ann.bytes.clone()),
    );
    out
}

/// The live messages that pass `filter` for `peer_id`. A channel announcement travels with its
/// first update and takes that update's timestamp.
pub fn live_messages(
    live: &LiveGossip,
    filter: &GossipTimestampFilter,
    peer_id: &[u8],
) -> Vec<std::sync::Arc<Vec<u8>>> {
    let newest = live.messages.iter().map(|m| m.timestamp).max().unwrap_or(0);
    live.messages
        .iter()
        .filter(|message| {
            let timestamp = if message.timestamp == 0 {
                newest
            } else {
                message.timestamp
            };
            message.origin_peer.as_slice() != peer_id && filter.admits(timestamp)
        })
        .map(|message| message.bytes.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lnfleet_actors::contracts::ValidGossip;
    use lnfleet_tests::gossip::SignedChannel;
    use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};

    use super::*;

    const PEER_A: [u8; 33] = [2; 33];
    const PEER_B: [u8; 33] = [3; 33];

    fn valid(message: Vec<u8>, timestamp: u32, origin: [u8; 33]) -> ValidGossip {
        ValidGossip {
            message,
            timestamp,
            accepted_at_ms: 0,
            origin_edge: "edge-1".into(),
            origin_peer: origin.to_vec(),
        }
    }

    fn filter(first: u32, range: u32) -> GossipTimestampFilter {
        GossipTimestampFilter {
            chain_hash: ChainHash::BITCOIN,
            first_timestamp: first,
            timestamp_range: range,
        }
    }

    fn scid(block: u32) -> ShortChannelId {
        ShortChannelId::new(block, 1, 0).unwrap()
    }

    #[test]
    fn backlog_sends_matching_updates_after_their_announcement_and_skips_the_origin() {
        let mut index = GossipIndex::new();
        let channel = SignedChannel::from_seed(scid(700_000), 0x10);
        let ann = channel.announcement().encode();
        let old = channel.update(0, 100, 1).encode();
        let new = channel.update(1, 500, 1).encode();
        let node = channel.node_announcement(0, 450).encode();
        index.apply(valid(ann.clone(), 0, PEER_B)).unwrap();
        index.apply(valid(old.clone(), 100, PEER_B)).unwrap();
        index.apply(valid(new.clone(), 500, PEER_B)).unwrap();
        index.apply(valid(node.clone(), 450, PEER_A)).unwrap();
        // A channel with no update is never sent.
        let lonely = SignedChannel::from_seed(scid(700_001), 0x20);
        index
            .apply(valid(lonely.announcement().encode(), 0, PEER_B))
            .unwrap();

        let sent: Vec<Vec<u8>> = backlog(&index, &filter(400, 200), &PEER_A)
            .iter()
            .map(|m| m.to_vec())
            .collect();
        assert_eq!(
            sent,
            vec![ann.clone(), new.clone()],
            "node from A not echoed"
        );

        let sent: Vec<Vec<u8>> = backlog(&index, &filter(0, u32::MAX), &PEER_B)
            .iter()
            .map(|m| m.to_vec())
            .collect();
        assert_eq!(sent, vec![node]);
        assert!(backlog(&index, &filter(501, 100), &PEER_A).is_empty());
    }

    #[test]
    fn live_items_are_filtered_by_time_and_never_echoed() {
        let mut index = GossipIndex::new();
        let channel = SignedChannel::from_seed(scid(700_000), 0x10);
        index
            .apply(valid(channel.announcement().encode(), 0, PEER_B))
            .unwrap();
        let live = index
            .apply(valid(channel.update(0, 300, 1).encode(), 300, PEER_B))
            .unwrap()
            .expect("first update releases the announcement");
        assert_eq!(live.messages.len(), 2);
        assert_eq!(live_messages(&live, &filter(0, u32::MAX), &PEER_A).len(), 2);
        assert_eq!(live_messages(&live, &filter(0, u32::MAX), &PEER_B).len(), 0);
        assert_eq!(live_messages(&live, &filter(301, 10), &PEER_A).len(), 0);
        let msg = StoredMessage {
            bytes: Arc::new(vec![1]),
            timestamp: 5,
            origin_peer: PEER_A.to_vec(),
        };
        assert!(!admits(&filter(0, 10), &msg, &PEER_A));
        assert!(admits(&filter(0, 10), &msg, &PEER_B));
        assert!(!admits(&filter(6, 10), &msg, &PEER_B));
    }
}
