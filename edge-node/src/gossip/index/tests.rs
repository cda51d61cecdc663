use lnfleet_tests::gossip::SignedChannel;
use lnfleet_wire::WireMessage;

use super::*;

fn scid(block: u32) -> ShortChannelId {
    ShortChannelId::new(block, 1, 0).unwrap()
}

fn record(message: Vec<u8>, timestamp: u32) -> Vec<u8> {
    contracts::encode(&ValidGossip {
        message,
        timestamp,
        accepted_at_ms: 1,
        origin_edge: "edge-1".into(),
        origin_peer: vec![2; 33],
    })
}

fn apply(index: &mut GossipIndex, key: String, message: Vec<u8>, timestamp: u32) {
    index
        .apply_record(Some(key.as_bytes()), Some(&record(message, timestamp)))
        .unwrap();
}

fn update_ts(index: &GossipIndex, scid: ShortChannelId, direction: usize) -> Option<u32> {
    index.channel(scid)?.updates[direction]
        .as_ref()
        .map(|u| u.timestamp)
}

#[test]
fn newest_update_per_direction_wins_whatever_the_order() {
    let mut index = GossipIndex::new();
    let channel = SignedChannel::from_seed(scid(800_000), 0x10);
    let key = |d: u8| format!("u/{}/{d}", channel.scid);
    apply(
        &mut index,
        format!("c/{}", channel.scid),
        channel.announcement().encode(),
        0,
    );
    apply(&mut index, key(0), channel.update(0, 100, 1).encode(), 100);
    apply(&mut index, key(0), channel.update(0, 300, 3).encode(), 300);
    apply(&mut index, key(0), channel.update(0, 200, 2).encode(), 200);
    apply(&mut index, key(0), channel.update(0, 300, 9).encode(), 300);
    apply(&mut index, key(1), channel.update(1, 50, 5).encode(), 50);
    assert_eq!(update_ts(&index, channel.scid, 0), Some(300));
    assert_eq!(update_ts(&index, channel.scid, 1), Some(50));
    let stored = index.channel(channel.scid).unwrap().updates[0]
        .clone()
        .unwrap();
    assert_eq!(
        *stored.bytes,
        channel.update(0, 300, 3).encode(),
        "equal timestamp ignored"
    );
}

#[test]
fn first_announcement_is_kept_and_node_announcements_are_latest_wins() {
    let mut index = GossipIndex::new();
    let channel = SignedChannel::from_seed(scid(800_000), 0x10);
    let mut other = channel.announcement();
    other.features = vec![0x01];
    channel.sign(&mut other);
    apply(
        &mut index,
        format!("c/{}", channel.scid),
        channel.announcement().encode(),
        0,
    );
    apply(&mut index, format!("c/{}", channel.scid), other.encode(), 0);
    let entry = index.channel(channel.scid).unwrap();
    assert_eq!(
        *entry.announcement.as_ref().unwrap().bytes,
        channel.announcement().encode()
    );
    let node = channel.node_id(0);
    let key = format!("n/{node}");
    apply(
        &mut index,
        key.clone(),
        channel.node_announcement(0, 20).encode(),
        20,
    );
    apply(
        &mut index,
        key.clone(),
        channel.node_announcement(0, 10).encode(),
        10,
    );
    assert_eq!(index.node(&node.serialize()).unwrap().timestamp, 20);
}

#[test]
fn tombstones_remove_channels_updates_and_nodes() {
    let mut index = GossipIndex::new();
    let a = SignedChannel::from_seed(scid(800_000), 0x10);
    let b = SignedChannel::from_seed(scid(800_001), 0x20);
    for channel in [&a, &b] {
        apply(
            &mut index,
            format!("c/{}", channel.scid),
            channel.announcement().encode(),
            0,
        );
        apply(
            &mut index,
            format!("u/{}/0", channel.scid),
            channel.update(0, 10, 1).encode(),
            10,
        );
        apply(
            &mut index,
            format!("u/{}/1", channel.scid),
            channel.update(1, 10, 1).encode(),
            10,
        );
    }
    let node = a.node_id(0);
    apply(
        &mut index,
        format!("n/{node}"),
        a.node_announcement(0, 10).encode(),
        10,
    );
    assert_eq!(index.channel_count(), 2);

    let tombstone = |index: &mut GossipIndex, key: String| {
        assert_eq!(
            index.apply_record(Some(key.as_bytes()), Some(&[])).unwrap(),
            None
        );
    };
    tombstone(&mut index, format!("c/{}", a.scid));
    tombstone(&mut index, format!("u/{}/1", b.scid));
    tombstone(&mut index, format!("n/{node}"));
    assert!(!index.has_channel(a.scid));
    assert!(index.has_channel(b.scid));
    assert_eq!(update_ts(&index, b.scid, 0), Some(10));
    assert_eq!(update_ts(&index, b.scid, 1), None);
    assert!(index.node(&node.serialize()).is_none());
    // A tombstone with no key, or a key of the wrong shape, is an error, not a panic.
    assert!(matches!(
        index.apply_record(None, None),
        Err(IndexError::MissingKey)
    ));
    assert!(index.apply_record(Some(b"x/1"), Some(&[])).is_err());
    assert!(index.apply_record(Some(b"u/1x1x1/2"), Some(&[])).is_err());
    assert!(index
        .apply_record(Some(b"c/1x1x1"), Some(&[1, 2, 3]))
        .is_err());
}

#[test]
fn live_items_release_an_announcement_with_its_first_update_only() {
    let mut index = GossipIndex::new();
    let channel = SignedChannel::from_seed(scid(800_000), 0x10);
    let ann = channel.announcement().encode();
    let live = index
        .apply_record(Some(b"c"), Some(&record(ann.clone(), 0)))
        .unwrap();
    assert_eq!(live, None, "no update yet: nothing to relay");
    let first = channel.update(0, 10, 1).encode();
    let live = index
        .apply_record(None, Some(&record(first.clone(), 10)))
        .unwrap()
        .unwrap();
    let bytes: Vec<Vec<u8>> = live.messages.iter().map(|m| m.bytes.to_vec()).collect();
    assert_eq!(bytes, vec![ann, first]);
    let second = channel.update(1, 11, 1).encode();
    let live = index
        .apply_record(None, Some(&record(second.clone(), 11)))
        .unwrap()
        .unwrap();
    assert_eq!(live.messages.len(), 1);
    assert_eq!(*live.messages[0].bytes, second);
}

#[test]
fn block_ranges_select_announced_channels_and_do_not_overflow() {
    let mut index = GossipIndex::new();
    for block in [10, 20, 30, (1 << 24) - 1] {
        let channel = SignedChannel::from_seed(scid(block), 0x10);
        apply(
            &mut index,
            String::new(),
            channel.announcement().encode(),
            0,
        );
    }
    let blocks = |first: u64, end: u64| -> Vec<u32> {
        index
            .channels_in_blocks(first, end)
            .map(|(scid, _)| scid.block())
            .collect()
    };
    assert_eq!(blocks(10, 30), vec![10, 20]);
    assert_eq!(blocks(11, 31), vec![20, 30]);
    assert_eq!(
        blocks(0, u64::from(u32::MAX) * 2),
        vec![10, 20, 30, (1 << 24) - 1]
    );
    assert!(blocks(30, 30).is_empty());
    assert!(blocks(1 << 30, 1 << 31).is_empty());
}

proptest::proptest! {
    /// Whatever a record holds, applying it is an error value at worst, never a panic.
    #[test]
    fn arbitrary_records_never_panic(
        key in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
        value in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..300)),
    ) {
        let mut index = GossipIndex::new();
        let _ = index.apply_record(key.as_deref(), value.as_deref());
    }
}
