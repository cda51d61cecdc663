//! Raw offsets against a real tansu broker: the ingest loop commits what it decided, so the
//! next member of `gossip-validators` starts after it; and a manual-commit subscriber that
//! commits only part of what it read sees the rest again (at-least-once).

use std::time::Duration;

use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::telemetry::Metrics;
use lnfleet_actors::topics;
use lnfleet_gossip::chain::NoChainSource;
use lnfleet_gossip::ingest::{self, IngestLoop, IngestMetrics, CONSUMER_GROUP, MALFORMED_ENVELOPE};
use lnfleet_gossip::validate::{Validator, ValidatorConfig};
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::codec::{ChainHash, WireMessage};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(60);

fn raw(message: Vec<u8>) -> Vec<u8> {
    contracts::encode(&RawGossip {
        edge_id: "edge-o".into(),
        peer_id: vec![2; 33],
        received_at_ms: 1,
        message,
    })
}

async fn started_broker(client: &str) -> (KafkaBroker, KafkaConfig) {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), client);
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW, topics::GOSSIP_VALID])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    (broker, config)
}

#[tokio::test]
async fn ingest_commits_decided_raw_records_for_the_next_group_member() {
    let (_broker, config) = started_broker("offsets-test").await;
    let now_secs = u32::try_from(ingest::system_now_ms() / 1000).expect("fits");
    let channel = SignedChannel::from_seed("850000x1x0".parse().expect("scid"), 0x81);
    let publisher = Publisher::new(&config).expect("publisher");
    for record in [
        raw(channel.announcement().encode()),
        raw(channel.update(0, now_secs - 60, 1).encode()),
        b"not an envelope".to_vec(),
    ] {
        publisher
            .publish(topics::GOSSIP_RAW.name, b"edge-o", &record)
            .await
            .expect("acknowledged");
    }

    let metrics = Metrics::new("gossip").expect("registry");
    let ingest_metrics = IngestMetrics::register(&metrics).expect("metrics");
    let validator = Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource);
    let ingest_loop = IngestLoop::new(&config, validator, ingest_metrics.clone()).expect("loop");
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(ingest_loop.run(shutdown));
    tokio::time::timeout(WAIT, async {
        while ingest_metrics.accepted_count("channel_update") < 1
            || ingest_metrics.rejected_count(MALFORMED_ENVELOPE) < 1
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("records not decided\n{}", metrics.encode_text()));
    stop.send(true).expect("loop listens");
    tokio::time::timeout(WAIT, running)
        .await
        .expect("loop stops")
        .expect("no panic");

    // A new member of the validators' group starts after the three decided records.
    let next_member =
        Subscriber::new_manual_commit(&config, CONSUMER_GROUP, &[topics::GOSSIP_RAW.name])
            .expect("subscriber");
    let marker = raw(channel.update(1, now_secs - 30, 2).encode());
    let (partition, offset) = publisher
        .publish(topics::GOSSIP_RAW.name, b"edge-o", &marker)
        .await
        .expect("acknowledged");
    let first = tokio::time::timeout(WAIT, next_member.next())
        .await
        .expect("a record arrives")
        .expect("consumes");
    assert_eq!((first.partition, first.offset), (partition, offset));
    assert_eq!(first.payload.as_deref(), Some(&marker[..]));
}

#[tokio::test]
async fn uncommitted_records_are_read_again_by_the_group() {
    let (_broker, config) = started_broker("commit-test").await;
    let publisher = Publisher::new(&config).expect("publisher");
    for value in [b"one", b"two", b"tre"] {
        publisher
            .publish(topics::GOSSIP_RAW.name, b"same-key", value)
            .await
            .expect("acknowledged");
    }
    let group = "commit-test-group";
    let topic = [topics::GOSSIP_RAW.name];
    {
        let subscriber = Subscriber::new_manual_commit(&config, group, &topic).expect("subscriber");
        let mut read = Vec::new();
        for _ in 0..3 {
            let record = tokio::time::timeout(WAIT, subscriber.next())
                .await
                .expect("record")
                .expect("consumes");
            read.push(record);
        }
        let values: Vec<_> = read.iter().filter_map(|r| r.payload.clone()).collect();
        assert_eq!(
            values,
            vec![b"one".to_vec(), b"two".to_vec(), b"tre".to_vec()]
        );
        // Only "one" is done.
        subscriber.commit_sync(&read[0]).expect("commit");
    }
    let again = Subscriber::new_manual_commit(&config, group, &topic).expect("subscriber");
    let record = tokio::time::timeout(WAIT, again.next())
        .await
        .expect("record")
        .expect("consumes");
    assert_eq!(record.payload.as_deref(), Some(&b"two"[..]));
}
