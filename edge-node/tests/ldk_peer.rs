//! LDK (`lightning` + `lightning-net-tokio`) as the edge's peer, over real Redis, tansu and an
//! in-process HSM replica: it connects through the HSM-backed BOLT 8 handshake, stays connected
//! while both sides ping, and exchanges gossip: LDK's reaches `ln.gossip.raw`, and validated
//! gossip on `ln.gossip.valid` reaches LDK's `NetworkGraph` after LDK's timestamp filter (as the
//! filter's backlog, and live).

mod ldk_support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lnfleet_actors::contracts::{self, RawGossip, ValidGossip};
use lnfleet_actors::hsm::HsmClientConfig;
use lnfleet_actors::kafka::{KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::telemetry::{Metrics, Readiness};
use lnfleet_actors::topics;
use lnfleet_edge::node::{EdgeConfig, EdgeNode, READY_GOSSIP_INDEX};
use lnfleet_edge::peer::PeerConfig;
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::{KafkaBroker, RedisServer};
use lnfleet_tests::hsm::{HsmClientSpec, RunningHsm};
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};

use ldk_support::LdkNode;

const WAIT: Duration = Duration::from_secs(60);
const EDGE_ID: &str = "edge-ldk";
const OTHER_PEER: [u8; 33] = [2; 33];

/// Redis, tansu, an HSM replica and one edge on regtest with a one-second keepalive.
struct Cluster {
    edge: EdgeNode,
    metrics: Metrics,
    readiness: Readiness,
    kafka: KafkaConfig,
    broker: KafkaBroker,
    _hsm: RunningHsm,
    _redis: RedisServer,
}

impl Cluster {
    async fn start() -> Cluster {
        let redis = RedisServer::start().expect("redis starts");
        let broker = KafkaBroker::start().expect("tansu starts");
        let client = HsmClientSpec::new(EDGE_ID, &["ecdh", "node_info"]);
        let hsm = RunningHsm::start(&redis.url(), "hsm-1", &[7; 32], &[0], &[&client])
            .await
            .expect("hsm replica starts");
        let mut kafka = KafkaConfig::new(broker.bootstrap(), EDGE_ID);
        kafka.session_timeout = Duration::from_secs(6);

        let mut peer = PeerConfig::default();
        peer.session.chain = ChainHash::REGTEST;
        peer.session.ping_interval = Duration::from_secs(1);
        peer.session.pong_timeout = Duration::from_secs(2);
        // LDK pings on every `timer_tick_occurred`; the test ticks each second, ten times LDK's
        // documented cadence, so the flood guard (10 a minute by default) is widened to match.
        peer.session.max_pings_per_window = 120;
        let config = EdgeConfig {
            edge_id: EDGE_ID.into(),
            listen: "127.0.0.1:0".parse().expect("an address"),
            node_id: None,
            chain: ChainHash::REGTEST,
            network: "regtest".into(),
            redis_url: redis.url(),
            kafka: kafka.clone(),
            hsm_credential: client.credential.clone(),
            hsm: HsmClientConfig::default(),
            // No route is asked for in these tests.
            gossip_url: "http://127.0.0.1:9/".into(),
            rpc_file: None,
            rpc_listen: None,
            alias: "edge-ldk".into(),
            peer,
            lease_ttl: Duration::from_secs(15),
            heartbeat_interval: Duration::from_secs(5),
        };
        let metrics = Metrics::new("edge").expect("metrics");
        let readiness = Readiness::new();
        let edge = EdgeNode::start(config, &metrics, &readiness)
            .await
            .unwrap_or_else(|e| panic!("edge starts: {e}\nbroker log:\n{}", broker.log()));
        Cluster {
            edge,
            metrics,
            readiness,
            kafka,
            broker,
            _hsm: hsm,
            _redis: redis,
        }
    }

    /// The edge's SIGTERM path, while the runtime still runs: every connection is closed and
    /// its lease released before the actix system goes away.
    async fn stop(self) {
        self.edge.shutdown(Duration::from_secs(10)).await;
    }

    /// `lnfleet_edge_<name>{<label>="<value>"}` as `/metrics` shows it (0 when never counted).
    fn counter(&self, name: &str, label: &str, value: &str) -> u64 {
        let series = format!("lnfleet_edge_{name}{{{label}=\"{value}\"}} ");
        sum_series(&self.metrics.encode_text(), |line| {
            line.starts_with(&series)
        })
    }

    /// Connections the edge closed, whatever the reason.
    fn disconnects(&self) -> u64 {
        sum_series(&self.metrics.encode_text(), |line| {
            line.starts_with("lnfleet_edge_peer_disconnects_total{")
        })
    }

    /// The edge's connection id for `peer`, if connected.
    fn connection_to(&self, peer: &secp256k1::PublicKey) -> Option<u64> {
        self.edge
            .peers()
            .list()
            .into_iter()
            .find(|info| info.peer_id == *peer)
            .map(|info| info.connection_id)
    }

    /// Connects `ldk` and waits until both sides list each other; returns the edge's
    /// connection id.
    async fn connect(&self, ldk: &LdkNode) -> u64 {
        let _connection = ldk
            .connect(self.edge.node_id(), self.edge.listen_addr())
            .await;
        let edge_id = self.edge.node_id();
        wait_until(
            "both sides list the connection",
            || self.connection_to(&ldk.node_id).is_some() && ldk.peer(&edge_id).is_some(),
            ldk,
        )
        .await;
        self.connection_to(&ldk.node_id)
            .expect("edge lists the peer")
    }

    /// Publishes a channel's announcement and both updates to `ln.gossip.valid`, as the gossip
    /// service does once it has validated them.
    async fn publish_valid(&self, channel: &SignedChannel, timestamp: u32) {
        let publisher = Publisher::new(&self.kafka).expect("publisher");
        let mut records = vec![(format!("c/{}", channel.scid), announcement(channel), 0)];
        for direction in 0..2u8 {
            records.push((
                format!("u/{}/{direction}", channel.scid),
                update(channel, direction, timestamp),
                timestamp,
            ));
        }
        for (key, message, timestamp) in records {
            let payload = contracts::encode(&ValidGossip {
                message,
                timestamp,
                accepted_at_ms: now_secs() * 1000,
                origin_edge: "edge-other".into(),
                origin_peer: OTHER_PEER.to_vec(),
            });
            publisher
                .publish(topics::GOSSIP_VALID.name, key.as_bytes(), &payload)
                .await
                .unwrap_or_else(|e| panic!("publish: {e}\nbroker log:\n{}", self.broker.log()));
        }
    }
}

/// The sum of the values of the exposition's lines that `select` picks.
fn sum_series(text: &str, select: impl Fn(&str) -> bool) -> u64 {
    text.lines()
        .filter(|line| select(line))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A fresh timestamp LDK accepts (it refuses updates over two weeks old or a day ahead).
fn recent_timestamp() -> u32 {
    u32::try_from(now_secs() - 60).expect("before 2106")
}

fn channel(block: u32, seed: u8) -> SignedChannel {
    SignedChannel::from_seed(
        ShortChannelId::new(block, 1, 0).expect("a valid scid"),
        seed,
    )
}

/// The fixture's announcement moved to regtest and signed again.
fn announcement(channel: &SignedChannel) -> Vec<u8> {
    let mut ann = channel.announcement();
    ann.chain_hash = ChainHash::REGTEST;
    channel.sign(&mut ann);
    ann.encode()
}

fn update(channel: &SignedChannel, direction: u8, timestamp: u32) -> Vec<u8> {
    let mut update = channel.update(direction, timestamp, 1_000);
    update.chain_hash = ChainHash::REGTEST;
    update.sign(&channel.nodes[usize::from(direction)]);
    update.encode()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool, ldk: &LdkNode) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out waiting until {what}\nLDK log:\n{}",
                ldk.log.dump()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix::test]
async fn ldk_connects_and_stays_connected_through_pings_both_ways() {
    let cluster = Cluster::start().await;
    let ldk = LdkNode::start([0x4c; 32], Duration::from_secs(1));
    let edge_id = cluster.edge.node_id();
    let connection = cluster.connect(&ldk).await;
    let details = ldk.peer(&edge_id).expect("LDK lists the edge");
    assert!(!details.is_inbound_connection);
    assert!(
        details.init_features.supports_gossip_queries(),
        "the edge offers gossip_queries"
    );

    let pings_from_ldk = cluster.counter("peer_messages_received_total", "message", "ping");
    let pongs_from_ldk = cluster.counter("peer_messages_received_total", "message", "pong");
    let pongs_to_ldk = cluster.counter("peer_messages_sent_total", "message", "pong");
    // Six seconds: six LDK timer ticks (each pings, or drops a peer that left the last ping
    // unanswered) and six edge keepalives (each closes after two seconds without a pong).
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        assert_eq!(
            cluster.connection_to(&ldk.node_id),
            Some(connection),
            "the edge kept the same connection\nLDK log:\n{}",
            ldk.log.dump()
        );
        assert!(
            ldk.peer(&edge_id).is_some(),
            "LDK kept the edge\nLDK log:\n{}",
            ldk.log.dump()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let pings_from_ldk =
        cluster.counter("peer_messages_received_total", "message", "ping") - pings_from_ldk;
    let pongs_from_ldk =
        cluster.counter("peer_messages_received_total", "message", "pong") - pongs_from_ldk;
    let pongs_to_ldk =
        cluster.counter("peer_messages_sent_total", "message", "pong") - pongs_to_ldk;
    assert!(pings_from_ldk >= 4, "LDK pinged {pings_from_ldk} times");
    assert!(pongs_to_ldk >= 4, "the edge answered {pongs_to_ldk} pings");
    assert!(
        pongs_from_ldk >= 4,
        "LDK answered {pongs_from_ldk} edge pings"
    );
    assert_eq!(cluster.disconnects(), 0);
    assert!(cluster
        .metrics
        .encode_text()
        .contains("lnfleet_edge_peers_connected 1"));
    assert_eq!(ldk.peer_manager.list_peers().len(), 1);

    // The edge's shutdown closes the connection: LDK sees it go.
    cluster.stop().await;
    wait_until(
        "LDK sees the edge close the connection",
        || ldk.peer(&edge_id).is_none(),
        &ldk,
    )
    .await;
}

#[actix::test]
async fn ldk_gossip_reaches_ln_gossip_raw_and_valid_gossip_reaches_ldk() {
    let cluster = Cluster::start().await;
    let timestamp = recent_timestamp();

    // Validated before LDK connects: the backlog answering LDK's filter.
    let backlog = channel(500, 0x10);
    cluster.publish_valid(&backlog, timestamp).await;
    let ldk = LdkNode::start([0x4d; 32], Duration::from_secs(1));
    wait_until(
        "the edge's gossip index caught up",
        || cluster.readiness.is_check_ready(READY_GOSSIP_INDEX) == Some(true),
        &ldk,
    )
    .await;

    // LDK's own channel, which it sends the edge when the edge's filter asks for a full sync.
    let own = channel(600, 0x20);
    let own_messages = [
        announcement(&own),
        update(&own, 0, timestamp),
        update(&own, 1, timestamp),
    ];
    ldk.learn(&own_messages[0], &own_messages[1..]);
    cluster.connect(&ldk).await;

    // (a) LDK's gossip lands on ln.gossip.raw, from LDK's node id, byte for byte.
    let subscriber = Subscriber::new(&cluster.kafka, "raw-reader", &[topics::GOSSIP_RAW.name])
        .expect("subscriber");
    let mut missing: BTreeSet<Vec<u8>> = own_messages.iter().cloned().collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let record = tokio::time::timeout(left, subscriber.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of LDK's messages never reached ln.gossip.raw\nLDK log:\n{}",
                    missing.len(),
                    ldk.log.dump()
                )
            })
            .expect("consumer works");
        let raw: RawGossip =
            contracts::decode(&record.payload.expect("a payload")).expect("a RawGossip");
        assert_eq!(raw.edge_id, EDGE_ID);
        assert_eq!(raw.peer_id, ldk.node_id.serialize().to_vec());
        assert!(
            missing.remove(&raw.message),
            "unexpected or repeated gossip on ln.gossip.raw: {}",
            hex::encode(&raw.message)
        );
        let key = String::from_utf8(record.key.expect("a key")).expect("utf-8 key");
        assert_eq!(key, format!("c/{}", own.scid));
    }

    // (b) The validated channel reaches LDK's graph as the backlog of LDK's filter...
    wait_until(
        "LDK holds the backlog channel with both updates",
        || ldk.has_channel_with_both_updates(backlog.scid.0),
        &ldk,
    )
    .await;
    // ...and one validated after LDK connected arrives live.
    let live = channel(700, 0x30);
    assert!(!ldk.has_channel(live.scid.0));
    cluster.publish_valid(&live, timestamp + 1).await;
    wait_until(
        "LDK holds the live channel with both updates",
        || ldk.has_channel_with_both_updates(live.scid.0),
        &ldk,
    )
    .await;
    let graph = ldk.graph.read_only();
    let live_entry = graph
        .channels()
        .get(&live.scid.0)
        .expect("the live channel");
    let live_node_1 = lightning::routing::gossip::NodeId::from_pubkey(&live.node_id(0));
    assert_eq!(live_entry.node_one, live_node_1);
    assert_eq!(graph.channels().len(), 3, "own, backlog and live channels");
    drop(graph);
    assert!(cluster.connection_to(&ldk.node_id).is_some());
    assert_eq!(cluster.disconnects(), 0);
    cluster.stop().await;
}
