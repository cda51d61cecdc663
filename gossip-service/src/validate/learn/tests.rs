use lnfleet_actors::contracts::ValidGossip;
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_wire::codec::{ChainHash, WireMessage};

use super::*;
use crate::chain::NoChainSource;
use crate::validate::{PruneReason, Rejection, ValidatorConfig};

const NOW: u64 = 1_690_200_000;
const NOW_TS: u32 = 1_690_200_000;

fn validator() -> Validator<NoChainSource> {
    Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource)
}

fn valid(message: Vec<u8>, timestamp: u32) -> ValidGossip {
    ValidGossip {
        message,
        timestamp,
        accepted_at_ms: NOW * 1000,
        origin_edge: "edge-x".into(),
        origin_peer: vec![2; 33],
    }
}

fn channel() -> SignedChannel {
    SignedChannel::from_seed("810000x3x1".parse().expect("scid"), 0x51)
}

#[test]
fn learned_announcement_lets_updates_and_node_announcements_validate() {
    let mut v = validator();
    let channel = channel();
    let update = channel.update(0, NOW_TS - 10, 1_000).encode();
    let node = channel.node_announcement(1, NOW_TS - 5).encode();
    assert_eq!(
        v.validate(&update, NOW).map_err(|r| r.reason()),
        Err("unknown_channel")
    );
    let learned = v
        .learn(&valid(channel.announcement().encode(), 0))
        .expect("learns");
    assert_eq!(
        learned,
        Learned::Channel {
            scid: channel.scid,
            node_ids: [channel.node_id(0), channel.node_id(1)]
        }
    );
    let before = v.signature_verifications();
    assert!(v.validate(&update, NOW).is_ok());
    assert!(v.validate(&node, NOW).is_ok());
    assert_eq!(v.signature_verifications(), before + 2);
    // Learning the same announcement again (our own output read back) changes nothing.
    assert_eq!(
        v.learn(&valid(channel.announcement().encode(), 0)),
        Ok(Learned::Nothing)
    );
    assert_eq!(v.channel_count(), 1);
    assert_eq!(v.node_count(), 2);
}

#[test]
fn learned_bytes_arriving_raw_are_duplicates_without_verification() {
    let mut v = validator();
    let channel = channel();
    let announcement = channel.announcement().encode();
    v.learn(&valid(announcement.clone(), 0)).expect("learns");
    assert_eq!(v.validate(&announcement, NOW), Err(Rejection::Duplicate));
    assert_eq!(v.signature_verifications(), 0);
}

#[test]
fn learned_updates_and_nodes_only_move_forward_in_time() {
    let mut v = validator();
    let channel = channel();
    v.learn(&valid(channel.announcement().encode(), 0))
        .expect("learns");
    let newer = channel.update(1, NOW_TS - 10, 1_000);
    let older = channel.update(1, NOW_TS - 100, 2_000);
    assert_eq!(
        v.learn(&valid(newer.encode(), newer.timestamp)),
        Ok(Learned::Update {
            scid: channel.scid,
            direction: 1
        })
    );
    assert_eq!(
        v.learn(&valid(older.encode(), older.timestamp)),
        Ok(Learned::Nothing)
    );
    // The raw older update is now stale for this replica too.
    assert_eq!(
        v.validate(&channel.update(1, NOW_TS - 50, 3_000).encode(), NOW)
            .map_err(|r| r.reason()),
        Err("stale_timestamp")
    );
    let node = channel.node_announcement(0, NOW_TS - 3);
    assert_eq!(
        v.learn(&valid(node.encode(), node.timestamp)),
        Ok(Learned::Node(channel.node_id(0)))
    );
    assert_eq!(
        v.validate(&channel.node_announcement(0, NOW_TS - 30).encode(), NOW)
            .map_err(|r| r.reason()),
        Err("stale_timestamp")
    );
}

#[test]
fn updates_and_nodes_of_unknown_channels_are_not_learned() {
    let mut v = validator();
    let channel = channel();
    let update = channel.update(0, NOW_TS, 1);
    assert_eq!(
        v.learn(&valid(update.encode(), update.timestamp)),
        Ok(Learned::Nothing)
    );
    let node = channel.node_announcement(0, NOW_TS);
    assert_eq!(
        v.learn(&valid(node.encode(), node.timestamp)),
        Ok(Learned::Nothing)
    );
    assert_eq!(v.node_count(), 0);
}

#[test]
fn non_gossip_or_garbage_on_the_valid_topic_is_an_error() {
    let mut v = validator();
    assert!(matches!(
        v.learn(&valid(vec![0, 16, 0, 0, 0, 0], 0)),
        Err(LearnError::NotGossip { msg_type: 16 })
    ));
    assert!(matches!(
        v.learn(&valid(vec![1, 2], 0)),
        Err(LearnError::Malformed(_))
    ));
}

#[test]
fn tombstones_forget_channels_updates_and_nodes() {
    let mut v = validator();
    let channel = channel();
    v.learn(&valid(channel.announcement().encode(), 0))
        .expect("learns");
    let update = channel.update(0, NOW_TS - 10, 1);
    v.learn(&valid(update.encode(), update.timestamp))
        .expect("learns");

    let update_key: GossipKey = format!("u/{}/0", channel.scid).parse().expect("key");
    assert_eq!(v.forget(update_key), Learned::Forgotten(update_key));
    assert_eq!(v.forget(update_key), Learned::Nothing);
    // With the update forgotten, an older one is acceptable again.
    assert!(v
        .validate(&channel.update(0, NOW_TS - 20, 2).encode(), NOW)
        .is_ok());

    let channel_key: GossipKey = format!("c/{}", channel.scid).parse().expect("key");
    assert_eq!(v.forget(channel_key), Learned::Forgotten(channel_key));
    assert!(!v.knows_channel(channel.scid));
    assert_eq!(v.node_count(), 0);
    assert_eq!(v.forget(channel_key), Learned::Nothing);
    assert_eq!(
        v.validate(&channel.update(0, NOW_TS - 5, 3).encode(), NOW)
            .map_err(|r| r.reason()),
        Err("unknown_channel")
    );
}

#[test]
fn gossip_keys_round_trip_and_bad_keys_are_refused() {
    let channel = channel();
    for key in [
        GossipKey::Channel(channel.scid),
        GossipKey::Update(channel.scid, 0),
        GossipKey::Update(channel.scid, 1),
        GossipKey::Node(channel.node_id(0)),
    ] {
        assert_eq!(key.kafka_key().parse::<GossipKey>(), Ok(key));
    }
    for bad in [
        "",
        "c",
        "c/1x2",
        "u/1x2x3/2",
        "u/1x2x3",
        "n/zz",
        "x/1x2x3",
        "c/1x2x3/0/1",
    ] {
        assert!(bad.parse::<GossipKey>().is_err(), "{bad}");
    }
}

#[test]
fn pruning_a_learned_stale_channel_tombstones_it() {
    let mut v = validator();
    let channel = channel();
    v.learn(&valid(channel.announcement().encode(), 0))
        .expect("learns");
    let update = channel.update(0, NOW_TS, 1);
    v.learn(&valid(update.encode(), update.timestamp))
        .expect("learns");
    assert!(v.prune(NOW + 86_400).is_empty());
    let tombstones = v.prune(NOW + 15 * 86_400);
    let keys: Vec<String> = tombstones.iter().map(|t| t.key.kafka_key()).collect();
    assert_eq!(
        keys,
        vec![
            format!("c/{}", channel.scid),
            format!("u/{}/0", channel.scid)
        ]
    );
    assert!(tombstones.iter().all(|t| t.reason == PruneReason::Stale));
}
