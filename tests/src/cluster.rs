//! The local cluster the README's first command runs, on loopback: Redis, a Kafka-protocol broker
//! with the topics, an hsm-service replica holding the node key, the gossip service's routing API
//! over the mainnet snapshot, and two edges serving the HSM's node id as one virtual node.

use std::net::SocketAddr;
use std::time::Duration;

use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::{redis as lnredis, topics};
use lnfleet_wire::bolt1::{Init, Ping};
use lnfleet_wire::features::Features;
use lnfleet_wire::message::Message;
use lnfleet_wire::noise::LocalStaticKey;
use lnfleet_wire::ChainHash;
use secp256k1::{PublicKey, SecretKey};

use lnfleet_actors::hsm::HsmClientConfig;
use lnfleet_edge::node::EdgeConfig;
use lnfleet_edge::peer::PeerConfig;

use lnfleet_actors::telemetry::{Metrics, Readiness, TelemetryServer};
use lnfleet_gossip::api::{self, ApiServer, RouterState};
use lnfleet_gossip::graph::Graph;
use lnfleet_gossip::snapshot::Snapshot;
use std::path::PathBuf;
use std::sync::Arc;

use crate::edge::EdgeThread;
use crate::harness::{free_port, KafkaBroker, RedisServer};
use crate::hsm::{http_get, HsmClientSpec, RunningHsm};
use crate::http::http_post_json;
use crate::peer::PeerConnection;

/// Ports to use; 0 picks a free one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterPorts {
    pub redis: u16,
    pub kafka: u16,
    pub node: u16,
    pub gossip: u16,
}

/// The real mainnet snapshot shipped in the repository.
pub fn default_snapshot() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/lngraph");
    (
        dir.join("gossip-store-2026-02-03.compressed"),
        dir.join("gossip-store-2026-02-03-node-map.xz"),
    )
}

/// The gossip service's routing API, loaded from the snapshot.
pub struct GossipApi {
    pub addr: SocketAddr,
    pub telemetry_addr: SocketAddr,
    /// Two well-connected real nodes without a direct channel, for the demonstration route:
    /// (source, destination).
    pub hubs: (String, String),
    pub nodes: usize,
    pub channels: usize,
    _server: ApiServer,
    _telemetry: TelemetryServer,
}

/// Starts the routing API over the snapshot on `port` (0: a free one).
pub async fn start_gossip(port: u16) -> anyhow::Result<GossipApi> {
    let (snapshot, node_map) = default_snapshot();
    let graph = tokio::task::spawn_blocking(move || {
        Snapshot::load(&snapshot, &node_map).map(|s| Graph::from_snapshot(&s))
    })
    .await??;
    let mut degrees: Vec<(usize, u32)> = (0..graph.node_count() as u32)
        .map(|n| (graph.outgoing(n).filter(|e| e.enabled()).count(), n))
        .collect();
    degrees.sort_unstable_by(|a, b| b.cmp(a));
    let id = |rank: usize| -> anyhow::Result<String> {
        let node = degrees.get(rank).map(|d| d.1).unwrap_or_default();
        Ok(hex::encode(
            graph
                .node_id(node)
                .ok_or_else(|| anyhow::anyhow!("empty graph"))?,
        ))
    };
    // The best-connected node, and a well-connected node it has no channel with, so the
    // demonstration route has several hops.
    let source = degrees.first().map(|d| d.1).unwrap_or_default();
    let destination_rank = (10..degrees.len())
        .find(|&rank| {
            let target = degrees[rank].1;
            !graph.outgoing(source).any(|edge| edge.target() == target)
        })
        .unwrap_or(1);
    let hubs = (id(0)?, id(destination_rank)?);
    let (nodes, channels) = (graph.node_count(), graph.channel_count());
    let metrics = Metrics::new("gossip")?;
    let readiness = Readiness::new();
    let telemetry =
        lnfleet_actors::telemetry::serve("127.0.0.1:0".parse()?, metrics.clone(), readiness)?;
    let state = Arc::new(RouterState::new(graph, &metrics)?);
    let server = api::serve(SocketAddr::from(([127, 0, 0, 1], port)), state)?;
    Ok(GossipApi {
        addr: server.local_addr(),
        telemetry_addr: telemetry.local_addr(),
        hubs,
        nodes,
        channels,
        _server: server,
        _telemetry: telemetry,
    })
}

impl GossipApi {
    /// `getroute` from the first hub to the second for `amount`, as JSON-RPC over HTTP.
    pub async fn demo_route(&self, amount: &str) -> anyhow::Result<serde_json::Value> {
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "getroute",
            "params": {"id": self.hubs.1, "amount_msat": amount, "riskfactor": 10,
                       "fromid": self.hubs.0},
        });
        let (status, body) = http_post_json(self.addr, "/", &request.to_string()).await?;
        anyhow::ensure!(status == 200, "gossip api answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }
}

fn port_or_free(port: u16) -> anyhow::Result<u16> {
    Ok(if port == 0 { free_port()? } else { port })
}

/// The running cluster. Dropping it stops every process it started.
pub struct Cluster {
    pub redis: RedisServer,
    pub broker: KafkaBroker,
    pub hsm: RunningHsm,
    pub gossip: GossipApi,
    pub node_id: PublicKey,
    /// Two edges serving `node_id`; the first listens on the requested node port.
    pub edges: Vec<EdgeThread>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(ports: ClusterPorts) -> anyhow::Result<Self> {
        let redis_port = port_or_free(ports.redis)?;
        let redis =
            tokio::task::spawn_blocking(move || RedisServer::start_on(redis_port)).await??;
        tracing::info!(url = %redis.url(), pid = redis.pid(), "redis started");

        let kafka_port = port_or_free(ports.kafka)?;
        let broker =
            tokio::task::spawn_blocking(move || KafkaBroker::start_on(kafka_port)).await??;
        tracing::info!(bootstrap = %broker.bootstrap(), pid = broker.pid(), "kafka broker started");
        let config = KafkaConfig::new(broker.bootstrap(), "lnfleet-cluster");
        kafka::ensure_topics(&config, &topics::ALL).await?;
        tracing::info!(count = topics::ALL.len(), "kafka topics ready");

        // The HSM holds the node key; the edges ask it for every handshake's ECDH.
        let hsm_seed: [u8; 32] = secp256k1::rand::random();
        let edge_clients = [
            HsmClientSpec::new("edge-a", &["node_info", "ecdh"]),
            HsmClientSpec::new("edge-b", &["node_info", "ecdh"]),
        ];
        let client_refs: Vec<&HsmClientSpec> = edge_clients.iter().collect();
        let hsm = RunningHsm::start(&redis.url(), "hsm-0", &hsm_seed, &[0], &client_refs).await?;
        let node_id = *hsm
            .node_ids
            .first()
            .ok_or_else(|| anyhow::anyhow!("hsm serves no node"))?;
        tracing::info!(%node_id, telemetry = %hsm.telemetry_addr, "hsm-service started");

        let gossip = start_gossip(ports.gossip).await?;
        tracing::info!(addr = %gossip.addr, nodes = gossip.nodes, channels = gossip.channels,
            "gossip-service routing api listening");

        let dir = tempfile::tempdir()?;
        let mut edges = Vec::new();
        for (i, client) in edge_clients.iter().enumerate() {
            let edge_id = client.credential.client_id().to_owned();
            let port = if i == 0 {
                port_or_free(ports.node)?
            } else {
                free_port()?
            };
            let mut kafka = KafkaConfig::new(broker.bootstrap(), format!("edge-{edge_id}"));
            kafka.session_timeout = Duration::from_secs(6);
            let mut peer = PeerConfig::default();
            peer.session.chain = ChainHash::REGTEST;
            let config = EdgeConfig {
                edge_id: edge_id.clone(),
                listen: SocketAddr::from(([127, 0, 0, 1], port)),
                node_id: Some(node_id),
                chain: ChainHash::REGTEST,
                network: "regtest".into(),
                redis_url: redis.url(),
                kafka,
                hsm_credential: client.credential.clone(),
                hsm: HsmClientConfig::default(),
                gossip_url: format!("http://{}/", gossip.addr),
                rpc_file: Some(dir.path().join(format!("{edge_id}-rpc"))),
                rpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], free_port()?))),
                alias: format!("lnfleet-{edge_id}"),
                peer,
                lease_ttl: Duration::from_secs(15),
                heartbeat_interval: Duration::from_secs(5),
            };
            let edge = EdgeThread::start(config).await?;
            tracing::info!(edge = %edge_id, listen = %edge.addrs.listen, "edge-node started");
            edges.push(edge);
        }

        Ok(Cluster {
            redis,
            broker,
            hsm,
            gossip,
            node_id,
            edges,
            _dir: dir,
        })
    }

    /// What is running and where, for people.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "redis          {} (pid {})\n",
            self.redis.url(),
            self.redis.pid()
        ));
        out.push_str(&format!(
            "kafka broker   {} (tansu, pid {}), topics: {}\n",
            self.broker.bootstrap(),
            self.broker.pid(),
            topics::ALL.map(|t| t.name).join(", ")
        ));
        out.push_str(&format!(
            "hsm-service    stream hsm:requests on that redis, node {}, metrics http://{}/metrics \
             (development seed, random per run)\n",
            self.node_id, self.hsm.telemetry_addr
        ));
        out.push_str(&format!(
            "gossip-service http://{} (JSON-RPC and REST getroute/getroutes; mainnet snapshot \
             2026-02-03: {} nodes, {} channels; metrics http://{}/metrics)\n",
            self.gossip.addr, self.gossip.nodes, self.gossip.channels, self.gossip.telemetry_addr
        ));
        for edge in &self.edges {
            let addrs = &edge.addrs;
            out.push_str(&format!(
                "edge-node      {}: {}@{} (regtest; ECDH by the hsm), rpc socket {}, rpc http \
                 http://{}/, metrics http://{}/metrics\n",
                edge.edge_id,
                addrs.node_id,
                addrs.listen,
                addrs
                    .rpc_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                addrs.rpc_http.map(|a| a.to_string()).unwrap_or_default(),
                addrs.telemetry,
            ));
        }
        out
    }

    /// Checks every part end to end; an error names the part that failed.
    pub async fn check(&self) -> anyhow::Result<()> {
        let mut conn = lnredis::connect(&self.redis.url(), 10).await?;
        lnredis::ping(&mut conn).await?;
        tracing::info!("check: redis answers PING");

        let config = KafkaConfig::new(self.broker.bootstrap(), "lnfleet-cluster-check");
        let publisher = Publisher::new(&config)?;
        for topic in topics::ALL {
            let gossip = RawGossip {
                edge_id: "cluster-check".into(),
                peer_id: self.node_id.serialize().to_vec(),
                received_at_ms: 0,
                message: topic.name.as_bytes().to_vec(),
            };
            let payload = contracts::encode(&gossip);
            publisher.publish(topic.name, b"check", &payload).await?;
            let subscriber = Subscriber::new(&config, "cluster-check", &[topic.name])?;
            let record = tokio::time::timeout(Duration::from_secs(60), subscriber.next())
                .await
                .map_err(|_| anyhow::anyhow!("no record came back from {}", topic.name))??;
            let back: RawGossip = contracts::decode(record.payload.as_deref().unwrap_or(&[]))?;
            anyhow::ensure!(
                back.message == topic.name.as_bytes(),
                "{}: wrong record",
                topic.name
            );
        }
        tracing::info!("check: a record went through every kafka topic");

        let (status, body) = http_get(self.hsm.telemetry_addr, "/readyz").await?;
        anyhow::ensure!(status == 200, "hsm not ready: {body}");
        tracing::info!("check: hsm-service is ready");

        let key = LocalStaticKey::new(SecretKey::new(&mut secp256k1::rand::thread_rng()));
        let limit = Duration::from_secs(10);
        for edge in &self.edges {
            let (status, body) = http_get(edge.addrs.telemetry, "/readyz").await?;
            anyhow::ensure!(status == 200, "{} not ready: {body}", edge.edge_id);
            let mut peer =
                PeerConnection::connect(edge.addrs.listen, &key, self.node_id, limit).await?;
            let ours = Init::new(Features::new(), vec![ChainHash::REGTEST], None);
            peer.exchange_init(&ours, limit).await?;
            peer.send(&Ping::new(16, 0).into()).await?;
            loop {
                match tokio::time::timeout(limit, peer.recv()).await?? {
                    Message::Pong(pong) if pong.ignored.len() == 16 => break,
                    // The edge asks a new peer for gossip first.
                    Message::GossipTimestampFilter(_) | Message::QueryChannelRange(_) => {}
                    other => anyhow::bail!("{} answered ping with {}", edge.edge_id, other.name()),
                }
            }
            peer.shutdown().await;
            let rpc = edge
                .addrs
                .rpc_http
                .ok_or_else(|| anyhow::anyhow!("{} has no rpc http", edge.edge_id))?;
            let request = r#"{"jsonrpc":"2.0","id":1,"method":"getinfo","params":{}}"#;
            let (_, body) = http_post_json(rpc, "/", request).await?;
            let info: serde_json::Value = serde_json::from_str(&body)?;
            anyhow::ensure!(
                info["result"]["id"] == self.node_id.to_string().as_str(),
                "{} serves another node id: {body}",
                edge.edge_id
            );
        }
        tracing::info!(
            edges = self.edges.len(),
            "check: every edge is the same node: bolt 8 handshake (ecdh by the hsm), init, ping/pong, getinfo"
        );

        let reply = self.gossip.demo_route("100000sat").await?;
        let hops = reply["result"]["route"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("no route between real nodes: {reply}"))?;
        anyhow::ensure!(
            hops.last().map(|h| h["id"] == self.gossip.hubs.1.as_str()) == Some(true),
            "route does not end at the destination"
        );
        tracing::info!(
            hops = hops.len(),
            "check: getroute between two real mainnet nodes"
        );
        let (_, metrics) = http_get(self.hsm.telemetry_addr, "/metrics").await?;
        anyhow::ensure!(
            metrics.contains(r#"lnfleet_hsm_requests_total{operation="ecdh",result="ok"}"#),
            "the handshake did not go through the hsm"
        );
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Edges first: they release their leases in Redis while it still runs.
        self.edges.clear();
    }
}
