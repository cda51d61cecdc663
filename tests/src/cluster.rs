//! The local cluster the README's first command runs: what exists of lnfleet today, on loopback.
//! It grows with every service: the HSM, the gossip service and the edge nodes join here as they
//! are built.

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
use tokio::task::JoinHandle;

use lnfleet_actors::hsm::{HsmClient, HsmClientConfig, HsmClientMetrics};

use crate::harness::{free_port, KafkaBroker, RedisServer};
use crate::hsm::{http_get, HsmClientSpec, RunningHsm};
use crate::peer::{run_loopback_node, HsmNodeKey, PeerConnection, SessionConfig};

/// Ports to use; 0 picks a free one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterPorts {
    pub redis: u16,
    pub kafka: u16,
    pub node: u16,
}

fn port_or_free(port: u16) -> anyhow::Result<u16> {
    Ok(if port == 0 { free_port()? } else { port })
}

/// The running cluster. Dropping it stops every process it started.
pub struct Cluster {
    pub redis: RedisServer,
    pub broker: KafkaBroker,
    pub hsm: RunningHsm,
    pub node_id: PublicKey,
    pub node_addr: SocketAddr,
    node: JoinHandle<std::io::Result<()>>,
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

        // The HSM holds the node key; the BOLT 8 node asks it for the handshake's ECDH.
        let hsm_seed: [u8; 32] = secp256k1::rand::random();
        let edge = HsmClientSpec::new("loopback-edge", &["node_info", "ecdh"]);
        let hsm = RunningHsm::start(&redis.url(), "hsm-0", &hsm_seed, &[0], &[&edge]).await?;
        let node_id = *hsm
            .node_ids
            .first()
            .ok_or_else(|| anyhow::anyhow!("hsm serves no node"))?;
        tracing::info!(%node_id, telemetry = %hsm.telemetry_addr, "hsm-service started");
        let registry = prometheus::Registry::new();
        let client = HsmClient::connect(
            &redis.url(),
            edge.credential.clone(),
            HsmClientConfig::default(),
            HsmClientMetrics::register(&registry)?,
        )
        .await?;
        let key = HsmNodeKey { client, node_id };

        let node_port = port_or_free(ports.node)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", node_port)).await?;
        let node_addr = listener.local_addr()?;
        let node = tokio::spawn(run_loopback_node(listener, key, SessionConfig::default()));
        tracing::info!(%node_id, %node_addr, "loopback bolt 8 node listening");

        Ok(Cluster {
            redis,
            broker,
            hsm,
            node_id,
            node_addr,
            node,
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
            "bolt 8 node    {}@{} (loopback node, regtest; its handshake ECDH is done by the hsm)\n",
            self.node_id, self.node_addr
        ));
        out.push_str(
            "gossip-service not running yet (issue 4: snapshot loader, graph and gossip validator exist as a library)\n",
        );
        out.push_str(
            "edge nodes     not built yet (issue 5: two edges serving one virtual node)\n",
        );
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
        let mut peer = PeerConnection::connect(self.node_addr, &key, self.node_id, limit).await?;
        let ours = Init::new(Features::new(), vec![ChainHash::REGTEST], None);
        peer.exchange_init(&ours, limit).await?;
        peer.send(&Ping::new(16, 0).into()).await?;
        match tokio::time::timeout(limit, peer.recv()).await?? {
            Message::Pong(pong) if pong.ignored.len() == 16 => {}
            other => anyhow::bail!("loopback node answered ping with {}", other.name()),
        }
        peer.shutdown().await;
        let (_, metrics) = http_get(self.hsm.telemetry_addr, "/metrics").await?;
        anyhow::ensure!(
            metrics.contains(r#"lnfleet_hsm_requests_total{operation="ecdh",result="ok"}"#),
            "the handshake did not go through the hsm"
        );
        tracing::info!("check: bolt 8 handshake (ecdh by the hsm), init and ping/pong");
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.node.abort();
    }
}
