//! A replica replays `ln.gossip.valid` from a real tansu broker into an empty graph, applies
//! latest-wins by timestamp itself, becomes ready at the end offsets, then follows live.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lnfleet_actors::contracts::{self, ValidGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher};
use lnfleet_actors::telemetry::{Metrics, Readiness};
use lnfleet_actors::topics;
use lnfleet_gossip::graph::Graph;
use lnfleet_gossip::replay::{CatchUpTarget, GossipReplay, READINESS_CHECK};
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::gossip::signing::sign_hash;
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate};
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};
use secp256k1::{PublicKey, SecretKey, SECP256K1};

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).expect("valid test secret")
}

fn public(secret: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, secret)
}

/// A channel with generated keys, `nodes[0]` being `node_id_1`.
struct TestChannel {
    scid: ShortChannelId,
    nodes: [SecretKey; 2],
    bitcoin: [SecretKey; 2],
}

impl TestChannel {
    fn new(block: u32, seed: u8) -> Self {
        let mut nodes = [secret(seed), secret(seed + 1)];
        if public(&nodes[0]).serialize() > public(&nodes[1]).serialize() {
            nodes.swap(0, 1);
        }
        TestChannel {
            scid: ShortChannelId::new(block, 1, 0).expect("valid scid"),
            nodes,
            bitcoin: [secret(seed + 2), secret(seed + 3)],
        }
    }

    fn announcement(&self) -> ChannelAnnouncement {
        let placeholder = sign_hash(&[1; 32], &self.nodes[0]);
        let mut ann = ChannelAnnouncement {
            node_signature_1: placeholder,
            node_signature_2: placeholder,
            bitcoin_signature_1: placeholder,
            bitcoin_signature_2: placeholder,
            features: Vec::new(),
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: self.scid,
            node_id_1: public(&self.nodes[0]),
            node_id_2: public(&self.nodes[1]),
            bitcoin_key_1: public(&self.bitcoin[0]),
            bitcoin_key_2: public(&self.bitcoin[1]),
            excess_data: Vec::new(),
        };
        ann.sign_all(
            &self.nodes[0],
            &self.nodes[1],
            &self.bitcoin[0],
            &self.bitcoin[1],
        );
        ann.verify().expect("signed announcement verifies");
        ann
    }

    fn update(&self, direction: u8, timestamp: u32, fee_base_msat: u32) -> ChannelUpdate {
        let mut update = ChannelUpdate {
            signature: sign_hash(&[1; 32], &self.nodes[0]),
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: self.scid,
            timestamp,
            message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
            channel_flags: direction,
            cltv_expiry_delta: 144,
            htlc_minimum_msat: 1_000,
            fee_base_msat,
            fee_proportional_millionths: 100 + u32::from(direction),
            htlc_maximum_msat: 4_000_000_000,
            excess_data: Vec::new(),
        };
        update.sign(&self.nodes[usize::from(direction)]);
        update
    }
}

fn valid(message: Vec<u8>, timestamp: u32) -> Vec<u8> {
    contracts::encode(&ValidGossip {
        message,
        timestamp,
        accepted_at_ms: 1_700_000_000_000,
        origin_edge: "edge-1".into(),
        origin_peer: vec![2; 33],
    })
}

struct Topic {
    publisher: Publisher,
    end_offset: i64,
}

impl Topic {
    async fn send(&mut self, key: String, payload: Vec<u8>) {
        let (partition, offset) = self
            .publisher
            .publish(topics::GOSSIP_VALID.name, key.as_bytes(), &payload)
            .await
            .expect("broker acknowledges");
        assert_eq!(partition, 0, "ln.gossip.valid has one partition");
        self.end_offset = self.end_offset.max(offset + 1);
    }

    async fn announce(&mut self, channel: &TestChannel) {
        let message = channel.announcement().encode();
        self.send(format!("c/{}", channel.scid), valid(message, 0))
            .await;
    }

    async fn update(&mut self, channel: &TestChannel, direction: u8, timestamp: u32, fee: u32) {
        let message = channel.update(direction, timestamp, fee).encode();
        let key = format!("u/{}/{direction}", channel.scid);
        self.send(key, valid(message, timestamp)).await;
    }
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fee(graph: &RwLock<Graph>, scid: ShortChannelId, direction: u8) -> (u32, bool) {
    let graph = graph.read().unwrap();
    let half = graph.half_channel(scid, direction).expect("half in graph");
    (half.fee_base_msat(), half.enabled())
}

#[tokio::test]
async fn replica_replays_latest_wins_becomes_ready_then_follows_live() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "replay-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_VALID])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    let mut topic = Topic {
        publisher: Publisher::new(&config).unwrap(),
        end_offset: 0,
    };

    let a = TestChannel::new(800_000, 0x10);
    let b = TestChannel::new(800_001, 0x20);
    let closed = TestChannel::new(800_002, 0x30);
    for channel in [&a, &b, &closed] {
        topic.announce(channel).await;
    }
    // Out of timestamp order; the newest per direction must win.
    topic.update(&a, 0, 100, 1).await;
    topic.update(&a, 0, 300, 3).await;
    topic.update(&a, 0, 200, 2).await;
    topic.update(&a, 1, 150, 10).await;
    topic.update(&a, 1, 110, 11).await;
    topic.update(&b, 0, 100, 5).await;
    topic.update(&b, 1, 100, 6).await;
    topic.update(&closed, 0, 100, 7).await;
    topic.update(&closed, 1, 100, 8).await;
    topic.send(format!("c/{}", closed.scid), Vec::new()).await;
    // Older than the stored one and equal to it, published last: both ignored.
    topic.update(&a, 0, 250, 99).await;
    topic.update(&b, 1, 100, 98).await;

    let graph = Arc::new(RwLock::new(Graph::default()));
    let readiness = Readiness::new();
    let metrics = Metrics::new("gossip").unwrap();
    let replay = GossipReplay::start(
        &config,
        "replica-1",
        Arc::clone(&graph),
        CatchUpTarget::new([(0, topic.end_offset)]),
        &readiness,
        &metrics,
    )
    .expect("replay starts");
    assert_eq!(readiness.is_check_ready(READINESS_CHECK), Some(false));
    let task = tokio::spawn(replay.run());

    eventually("replay catches up", || {
        readiness.is_check_ready(READINESS_CHECK) == Some(true)
    })
    .await;
    assert_eq!(graph.read().unwrap().channel_count(), 3);
    assert_eq!(fee(&graph, a.scid, 0), (3, true));
    assert_eq!(fee(&graph, a.scid, 1), (10, true));
    assert_eq!(fee(&graph, b.scid, 0), (5, true));
    assert_eq!(fee(&graph, b.scid, 1), (6, true));
    assert!(
        !fee(&graph, closed.scid, 0).1,
        "tombstoned channel disabled"
    );
    assert!(
        !fee(&graph, closed.scid, 1).1,
        "tombstoned channel disabled"
    );
    {
        let graph = graph.read().unwrap();
        let half = graph.half_channel(a.scid, 1).unwrap();
        assert_eq!(half.fee_proportional_millionths(), 101);
        assert_eq!(
            half.capacity_sat(),
            4_000_000,
            "capacity from htlc_maximum_msat"
        );
    }

    // Live: a newer update after catch-up is applied.
    topic.update(&a, 1, 400, 40).await;
    eventually("live update applied", || {
        fee(&graph, a.scid, 1) == (40, true)
    })
    .await;
    assert_eq!(fee(&graph, a.scid, 0), (3, true));

    task.abort();
}
