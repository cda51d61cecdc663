//! Two validator replicas in one consumer group over the four partitions of `ln.gossip.raw`
//! (a real tansu broker). Every message gets its own raw key, so channel announcements, their
//! updates and their nodes' announcements land on different partitions, owned by different
//! replicas, and the updates are published before the announcements. Both replicas follow
//! `ln.gossip.valid`, so each learns what the other accepted and retries what it parked:
//! every valid message must reach `ln.gossip.valid` (at least once), and nothing valid may end
//! as `unknown_channel` / `unknown_node`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lnfleet_actors::contracts::{self, RawGossip, ValidGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::telemetry::Metrics;
use lnfleet_actors::topics;
use lnfleet_gossip::chain::NoChainSource;
use lnfleet_gossip::ingest::{self, IngestLoop, IngestMetrics};
use lnfleet_gossip::validate::{GossipKey, Validator, ValidatorConfig};
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::codec::{ChainHash, WireMessage};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(90);
const CHANNELS: u8 = 6;

fn raw(message: Vec<u8>) -> Vec<u8> {
    contracts::encode(&RawGossip {
        edge_id: "edge-p".into(),
        peer_id: vec![2; 33],
        received_at_ms: 1,
        message,
    })
}

fn replica(
    config: &KafkaConfig,
    name: &str,
) -> (IngestLoop<NoChainSource>, IngestMetrics, Metrics) {
    let mut config = config.clone();
    config.client_id = name.to_owned();
    let metrics = Metrics::new("gossip").expect("registry");
    let ingest_metrics = IngestMetrics::register(&metrics).expect("metrics");
    let validator = Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource);
    let ingest_loop = IngestLoop::new(&config, validator, ingest_metrics.clone()).expect("loop");
    (ingest_loop, ingest_metrics, metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_knowledge_across_raw_partitions() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "partitions-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW, topics::GOSSIP_VALID])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));

    let (loop_a, metrics_a, registry_a) = replica(&config, "validator-a");
    let (loop_b, metrics_b, registry_b) = replica(&config, "validator-b");
    let (stop, shutdown) = watch::channel(false);
    let running_a = tokio::spawn(loop_a.run(shutdown.clone()));
    let running_b = tokio::spawn(loop_b.run(shutdown));
    // Let both join the group and split the partitions before anything is published.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let now_secs = u32::try_from(ingest::system_now_ms() / 1000).expect("before 2106");
    let channels: Vec<SignedChannel> = (1..=CHANNELS)
        .map(|i| {
            SignedChannel::from_seed(format!("830000x{i}x0").parse().expect("scid"), 0x40 + 4 * i)
        })
        .collect();
    let mut dependents = Vec::new();
    let mut announcements = Vec::new();
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (i, channel) in channels.iter().enumerate() {
        let ann = channel.announcement().encode();
        expected.insert(GossipKey::Channel(channel.scid).kafka_key(), ann.clone());
        announcements.push((format!("c-{i}"), ann));
        for direction in 0..2u8 {
            let update = channel.update(direction, now_secs - 60, 1_000).encode();
            expected.insert(
                GossipKey::Update(channel.scid, direction).kafka_key(),
                update.clone(),
            );
            dependents.push((format!("u-{i}-{direction}"), update));
        }
        for side in 0..2usize {
            let node = channel.node_announcement(side, now_secs - 30).encode();
            expected.insert(
                GossipKey::Node(channel.node_id(side)).kafka_key(),
                node.clone(),
            );
            dependents.push((format!("n-{i}-{side}"), node));
        }
    }

    // Updates and node announcements first: out of order on purpose.
    let publisher = Publisher::new(&config).expect("publisher");
    let mut partitions = BTreeSet::new();
    for (key, message) in dependents.iter().chain(&announcements) {
        let (partition, _) = publisher
            .publish(
                topics::GOSSIP_RAW.name,
                key.as_bytes(),
                &raw(message.clone()),
            )
            .await
            .expect("broker acknowledges");
        partitions.insert(partition);
    }
    assert!(
        partitions.len() >= 2,
        "keys should spread over partitions: {partitions:?}"
    );

    let valid = Subscriber::new(
        &config,
        "partitions-test-reader",
        &[topics::GOSSIP_VALID.name],
    )
    .expect("reader");
    let mut received: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut records = 0usize;
    while received.len() < expected.len() {
        let record = tokio::time::timeout(WAIT, valid.next())
            .await
            .unwrap_or_else(|_| {
                let missing: Vec<_> = expected
                    .keys()
                    .filter(|k| !received.contains_key(*k))
                    .collect();
                panic!(
                    "missing on ln.gossip.valid: {missing:?}\nreplica a:\n{}\nreplica b:\n{}",
                    registry_a.encode_text(),
                    registry_b.encode_text()
                )
            })
            .expect("consumes");
        records += 1;
        let key = String::from_utf8(record.key.expect("keyed")).expect("utf-8 key");
        let value = contracts::decode::<ValidGossip>(&record.payload.expect("value"))
            .expect("a ValidGossip");
        received.insert(key, value.message);
    }
    assert_eq!(expected.len(), 5 * usize::from(CHANNELS));
    assert_eq!(received, expected);
    assert!(records >= expected.len());

    for (name, metrics, registry) in [
        ("a", &metrics_a, &registry_a),
        ("b", &metrics_b, &registry_b),
    ] {
        for reason in [
            "unknown_channel",
            "unknown_node",
            "bad_signature",
            "malformed",
        ] {
            assert_eq!(
                metrics.rejected_count(reason),
                0,
                "replica {name} {reason}\n{}",
                registry.encode_text()
            );
        }
    }
    // Every replica comes to know every channel, whoever accepted it.
    let knows_all = |metrics: &IngestMetrics| {
        metrics.accepted_count("channel_announcement")
            + metrics.learned_count("channel_announcement")
            >= u64::from(CHANNELS)
    };
    tokio::time::timeout(WAIT, async {
        while !(knows_all(&metrics_a) && knows_all(&metrics_b)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "a replica missed channels\na:\n{}\nb:\n{}",
            registry_a.encode_text(),
            registry_b.encode_text()
        )
    });
    let accepted = |kind| metrics_a.accepted_count(kind) + metrics_b.accepted_count(kind);
    assert!(accepted("channel_announcement") >= u64::from(CHANNELS));
    assert!(accepted("channel_update") >= 2 * u64::from(CHANNELS));
    assert!(accepted("node_announcement") >= 2 * u64::from(CHANNELS));
    // Updates and node announcements came first, so whoever read them parked some.
    assert!(metrics_a.parked_count() + metrics_b.parked_count() > 0);
    eprintln!(
        "raw partitions used: {partitions:?}; valid records: {records}; accepted a/b: {}/{}",
        metrics_a.accepted_count("channel_update")
            + metrics_a.accepted_count("node_announcement")
            + metrics_a.accepted_count("channel_announcement"),
        metrics_b.accepted_count("channel_update")
            + metrics_b.accepted_count("node_announcement")
            + metrics_b.accepted_count("channel_announcement"),
    );

    stop.send(true).expect("loops listen");
    for running in [running_a, running_b] {
        let validator = tokio::time::timeout(WAIT, running)
            .await
            .expect("loop stops on shutdown")
            .expect("loop does not panic");
        assert_eq!(validator.channel_count(), usize::from(CHANNELS));
    }
}
