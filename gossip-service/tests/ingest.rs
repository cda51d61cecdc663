//! The ingest loop against a real tansu broker: signed gossip, garbage, a duplicate and an
//! orphan update go into `ln.gossip.raw`; exactly the valid messages come out of
//! `ln.gossip.valid`, and every drop is counted by reason.
//!
//! The validator uses `NoChainSource` (funding checks off): the channel's scid names no real
//! output, and the chain check has its own tests in `validate`.

use std::collections::BTreeMap;
use std::time::Duration;

use lnfleet_actors::contracts::{self, RawGossip, ValidGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::telemetry::Metrics;
use lnfleet_actors::topics;
use lnfleet_gossip::chain::NoChainSource;
use lnfleet_gossip::ingest::{self, IngestLoop, IngestMetrics, MALFORMED_ENVELOPE};
use lnfleet_gossip::validate::{GossipKey, PruneReason, Tombstone, Validator, ValidatorConfig};
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::codec::{ChainHash, WireMessage};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(60);

fn raw(message: Vec<u8>, peer: u8) -> Vec<u8> {
    contracts::encode(&RawGossip {
        edge_id: "edge-a".into(),
        peer_id: vec![peer; 33],
        received_at_ms: 1,
        message,
    })
}

#[tokio::test]
async fn ingest_publishes_exactly_the_valid_gossip_and_counts_every_rejection() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "ingest-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW, topics::GOSSIP_VALID])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));

    let now_secs = u32::try_from(ingest::system_now_ms() / 1000).expect("before 2106");
    let channel = SignedChannel::from_seed("800000x7x1".parse().unwrap(), 0x31);
    let orphan = SignedChannel::from_seed("800001x1x0".parse().unwrap(), 0x41);
    let announcement = channel.announcement().encode();
    let update_0 = channel.update(0, now_secs - 60, 1_000).encode();
    let update_1 = channel.update(1, now_secs - 30, 1_001).encode();
    let node_1 = channel.node_announcement(1, now_secs - 10).encode();

    let records: Vec<Vec<u8>> = vec![
        raw(announcement.clone(), 2),
        raw(update_0.clone(), 2),
        b"not a RawGossip envelope".to_vec(),
        raw(update_1.clone(), 3),
        raw(vec![0x01, 0x00, 0xde, 0xad], 3),
        raw(update_0.clone(), 3),
        raw(orphan.update(0, now_secs - 5, 1_000).encode(), 3),
        raw(node_1.clone(), 2),
    ];
    let publisher = Publisher::new(&config).unwrap();
    // One raw key: one partition, so the announcement precedes its updates.
    for record in &records {
        publisher
            .publish(topics::GOSSIP_RAW.name, b"edge-a", record)
            .await
            .expect("broker acknowledges");
    }

    let metrics = Metrics::new("gossip").unwrap();
    let ingest_metrics = IngestMetrics::register(&metrics).unwrap();
    let validator = Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource);
    // The orphan update is parked first; a short age makes it expire (and count) quickly.
    let ingest_loop = IngestLoop::new(&config, validator, ingest_metrics.clone())
        .unwrap()
        .with_pending_limits(100, Duration::from_secs(1));
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(ingest_loop.run(shutdown));

    let valid =
        Subscriber::new(&config, "ingest-test-reader", &[topics::GOSSIP_VALID.name]).unwrap();
    let mut received = BTreeMap::new();
    while received.len() < 4 {
        let record = tokio::time::timeout(WAIT, valid.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} valid records arrived\n{}",
                    received.len(),
                    metrics.encode_text()
                )
            })
            .expect("consumes");
        let key = String::from_utf8(record.key.expect("keyed")).expect("utf-8 key");
        let value = contracts::decode::<ValidGossip>(&record.payload.expect("value"))
            .expect("a ValidGossip");
        assert!(received.insert(key.clone(), value).is_none(), "{key} twice");
    }

    // Every raw record is decided once the four rejections are counted.
    let rejected = |reason| ingest_metrics.rejected_count(reason);
    let reasons = [
        MALFORMED_ENVELOPE,
        "malformed",
        "duplicate",
        "unknown_channel",
    ];
    tokio::time::timeout(WAIT, async {
        while reasons.iter().map(|r| rejected(r)).sum::<u64>() < 4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("rejections not counted\n{}", metrics.encode_text()));
    for reason in reasons {
        assert_eq!(rejected(reason), 1, "{reason}\n{}", metrics.encode_text());
    }
    assert_eq!(ingest_metrics.accepted_count("channel_announcement"), 1);
    assert_eq!(ingest_metrics.accepted_count("channel_update"), 2);
    assert_eq!(ingest_metrics.accepted_count("node_announcement"), 1);
    assert!(metrics
        .encode_text()
        .contains("lnfleet_gossip_gossip_rejected_total{reason=\"duplicate\"} 1"));

    let node_key = GossipKey::Node(channel.node_id(1)).kafka_key();
    let expected: BTreeMap<String, (Vec<u8>, u32, u8)> = [
        ("c/800000x7x1".to_owned(), (announcement, 0, 2)),
        ("u/800000x7x1/0".to_owned(), (update_0, now_secs - 60, 2)),
        ("u/800000x7x1/1".to_owned(), (update_1, now_secs - 30, 3)),
        (node_key, (node_1, now_secs - 10, 2)),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        received.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, (message, timestamp, peer)) in &expected {
        let got = &received[key];
        assert_eq!(&got.message, message, "{key}");
        assert_eq!(got.timestamp, *timestamp, "{key}");
        assert_eq!(got.origin_edge, "edge-a", "{key}");
        assert_eq!(got.origin_peer, vec![*peer; 33], "{key}");
        assert!(got.accepted_at_ms >= u64::from(now_secs) * 1000, "{key}");
    }
    // Nothing else: all eight raw records are decided and their publishes acknowledged.
    assert!(
        tokio::time::timeout(Duration::from_secs(3), valid.next())
            .await
            .is_err(),
        "an extra record reached ln.gossip.valid"
    );

    // A pruned channel becomes an empty value under its key.
    let written = ingest::publish_tombstones(
        &publisher,
        &[Tombstone {
            key: GossipKey::Channel(channel.scid),
            reason: PruneReason::Stale,
        }],
    )
    .await
    .expect("tombstone published");
    assert_eq!(written, 1);
    let tombstone = tokio::time::timeout(WAIT, valid.next())
        .await
        .expect("tombstone arrives")
        .expect("consumes");
    assert_eq!(tombstone.key.as_deref(), Some(&b"c/800000x7x1"[..]));
    assert!(tombstone.payload.unwrap_or_default().is_empty());

    // The loop follows ln.gossip.valid: it reads the tombstone back and forgets the channel.
    tokio::time::timeout(WAIT, async {
        while ingest_metrics.learned_count("tombstone") < 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("tombstone not learned\n{}", metrics.encode_text()));
    assert_eq!(ingest_metrics.parked_count(), 1);

    stop.send(true).unwrap();
    let validator = tokio::time::timeout(WAIT, running)
        .await
        .expect("loop stops on shutdown")
        .expect("loop does not panic");
    assert!(!validator.knows_channel(channel.scid));
}
