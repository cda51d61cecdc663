//! Periodic pruning against a real tansu broker, with an injected clock: a channel and its
//! update are accepted; the clock jumps past the two-week horizon; the next prune tick
//! publishes tombstones for the channel and its update on `ln.gossip.valid`, counted by
//! reason. The loop reads its own tombstones back without publishing them again.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::telemetry::Metrics;
use lnfleet_actors::topics;
use lnfleet_gossip::chain::NoChainSource;
use lnfleet_gossip::ingest::{IngestLoop, IngestMetrics};
use lnfleet_gossip::validate::{PruneReason, Validator, ValidatorConfig, TWO_WEEKS_SECS};
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::codec::{ChainHash, WireMessage};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(60);
/// 2023-07-24 in ms.
const START_MS: u64 = 1_690_200_000_000;

static CLOCK_MS: AtomicU64 = AtomicU64::new(START_MS);

fn clock() -> u64 {
    CLOCK_MS.load(Ordering::SeqCst)
}

fn raw(message: Vec<u8>) -> Vec<u8> {
    contracts::encode(&RawGossip {
        edge_id: "edge-q".into(),
        peer_id: vec![2; 33],
        received_at_ms: 1,
        message,
    })
}

#[tokio::test]
async fn stale_channels_are_tombstoned_on_the_prune_tick() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "prune-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW, topics::GOSSIP_VALID])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));

    let start_secs = u32::try_from(START_MS / 1000).expect("fits");
    let channel = SignedChannel::from_seed("840000x5x1".parse().expect("scid"), 0x71);
    let publisher = Publisher::new(&config).expect("publisher");
    for message in [
        channel.announcement().encode(),
        channel.update(1, start_secs - 60, 1_000).encode(),
    ] {
        publisher
            .publish(topics::GOSSIP_RAW.name, b"edge-q", &raw(message))
            .await
            .expect("broker acknowledges");
    }

    let metrics = Metrics::new("gossip").expect("registry");
    let ingest_metrics = IngestMetrics::register(&metrics).expect("metrics");
    let validator = Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource);
    let ingest_loop = IngestLoop::new(&config, validator, ingest_metrics.clone())
        .expect("loop")
        .with_clock(clock)
        .with_prune_interval(Duration::from_millis(300));
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(ingest_loop.run(shutdown));

    let valid = Subscriber::new(&config, "prune-test-reader", &[topics::GOSSIP_VALID.name])
        .expect("reader");
    let next = || async {
        let record = tokio::time::timeout(WAIT, valid.next())
            .await
            .unwrap_or_else(|_| panic!("nothing on ln.gossip.valid\n{}", metrics.encode_text()))
            .expect("consumes");
        let key = String::from_utf8(record.key.expect("keyed")).expect("utf-8");
        (key, record.payload.unwrap_or_default())
    };
    let mut accepted = BTreeSet::new();
    while accepted.len() < 2 {
        let (key, payload) = next().await;
        assert!(
            !payload.is_empty(),
            "{key} tombstoned before the clock moved"
        );
        accepted.insert(key);
    }
    let channel_key = format!("c/{}", channel.scid);
    let update_key = format!("u/{}/1", channel.scid);
    assert_eq!(
        accepted,
        BTreeSet::from([channel_key.clone(), update_key.clone()])
    );
    // Several ticks pass with a fresh channel: nothing is pruned.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ingest_metrics.pruned_count(PruneReason::Stale), 0);

    // Past the horizon of the update's timestamp.
    CLOCK_MS.store(START_MS + (TWO_WEEKS_SECS + 120) * 1000, Ordering::SeqCst);
    let mut tombstones = BTreeSet::new();
    while tombstones.len() < 2 {
        let (key, payload) = next().await;
        assert!(payload.is_empty(), "{key}: expected a tombstone");
        tombstones.insert(key);
    }
    assert_eq!(tombstones, BTreeSet::from([channel_key, update_key]));
    assert_eq!(ingest_metrics.pruned_count(PruneReason::Stale), 2);
    // The loop reads its tombstones back as no-ops and prunes nothing twice.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(2), valid.next())
            .await
            .is_err(),
        "a duplicate tombstone from a single replica"
    );
    assert_eq!(ingest_metrics.pruned_count(PruneReason::Stale), 2);

    stop.send(true).expect("loop listens");
    let validator = tokio::time::timeout(WAIT, running)
        .await
        .expect("loop stops")
        .expect("no panic");
    assert_eq!(validator.channel_count(), 0);
    assert_eq!(validator.node_count(), 0);
}
