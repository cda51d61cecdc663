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
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::{ShortChannelId, WireMessage};

fn channel(block: u32, seed: u8) -> SignedChannel {
    SignedChannel::from_seed(ShortChannelId::new(block, 1, 0).expect("valid scid"), seed)
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

    async fn announce(&mut self, channel: &SignedChannel) {
        let message = channel.announcement().encode();
        self.send(format!("c/{}", channel.scid), valid(message, 0))
            .await;
    }

    async fn update(&mut self, channel: &SignedChannel, direction: u8, timestamp: u32, fee: u32) {
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

    let a = channel(800_000, 0x10);
    let b = channel(800_001, 0x20);
    let closed = channel(800_002, 0x30);
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
