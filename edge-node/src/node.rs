//! One edge process, composed: the HSM client (whose node ids this edge serves and who does every
//! handshake's ECDH), the peer listener, the cluster membership (leases, inbox, registry), the
//! gossip relay and index, the custom-message relay, and the RPC.
//!
//! [`EdgeNode::start`] must run inside an actix system (peer actors live there; see
//! [`crate::peer`]). [`EdgeNode::shutdown`] is the SIGTERM path: stop accepting, release every
//! peer lease and close every connection, so peers reconnect through another edge at once.

pub mod control;
pub mod hooks;
pub mod metrics;
pub mod rpc_backend;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lnfleet_actors::hsm::{ClientCredential, HsmClient, HsmClientConfig, HsmClientMetrics};
use lnfleet_actors::kafka::{ensure_topics, KafkaConfig, KafkaError, Publisher};
use lnfleet_actors::telemetry::{Metrics, MetricsError, Readiness};
use lnfleet_actors::topics;
use lnfleet_wire::ChainHash;
use secp256k1::PublicKey;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster::{ClusterConfig, ClusterError, ClusterMember};
use crate::custommsg::CustomMessageRelay;
use crate::gossip::{EdgeGossip, GossipConfig, GossipIndex, GossipIndexFeed, GossipRelay};
use crate::peer::{PeerConfig, PeerEnv};
use crate::peers::Peers;
use crate::routing::RouteClient;
use crate::rpc::http::{serve_http, HttpRpcServer};
use crate::rpc::types::{NetAddress, OurFeatures};
use crate::rpc::unix::{serve_unix, UnixRpcServer};
use crate::rpc::RpcDispatcher;
use crate::transport::HsmNodeKey;
use control::Control;
use rpc_backend::{EdgeRpc, NodeDescription};

/// Everything an edge needs to start.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Unique among the cluster's edges (`[A-Za-z0-9_.-]{1,64}`): names its inbox and leases.
    pub edge_id: String,
    /// Where peers connect (9735 by default).
    pub listen: SocketAddr,
    /// The node id to serve; `None`: the HSM's first.
    pub node_id: Option<PublicKey>,
    pub chain: ChainHash,
    /// `bitcoin`, `testnet`, `signet` or `regtest`, for `getinfo`.
    pub network: String,
    pub redis_url: String,
    pub kafka: KafkaConfig,
    pub hsm_credential: ClientCredential,
    pub hsm: HsmClientConfig,
    /// The gossip service's JSON-RPC endpoint.
    pub gossip_url: String,
    pub rpc_file: Option<PathBuf>,
    pub rpc_listen: Option<SocketAddr>,
    pub alias: String,
    pub peer: PeerConfig,
    pub lease_ttl: Duration,
    pub heartbeat_interval: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("hsm: {0}")]
    Hsm(String),
    #[error("the hsm does not hold node id {0}")]
    UnknownNodeId(PublicKey),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("gossip index: {0}")]
    GossipIndex(String),
}

/// Readiness checks an edge declares.
pub const READY_HSM: &str = "hsm";
pub const READY_LISTENING: &str = "listening";
pub const READY_GOSSIP_INDEX: &str = "gossip_index";

/// A running edge. Dropping it stops its tasks but releases nothing: call [`EdgeNode::shutdown`].
pub struct EdgeNode {
    node_id: PublicKey,
    listen_addr: SocketAddr,
    control: Arc<Control>,
    relay: Arc<GossipRelay>,
    rpc: Arc<RpcDispatcher<EdgeRpc>>,
    unix_rpc: Option<UnixRpcServer>,
    http_rpc: Option<HttpRpcServer>,
    accept: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl EdgeNode {
    /// Starts every part of the edge. Call inside an actix system.
    pub async fn start(
        config: EdgeConfig,
        metrics: &Metrics,
        readiness: &Readiness,
    ) -> Result<EdgeNode, EdgeError> {
        let hsm_ready = readiness.declare(READY_HSM);
        let listening = readiness.declare(READY_LISTENING);
        let index_ready = readiness.declare(READY_GOSSIP_INDEX);

        let hsm_metrics = HsmClientMetrics::register(metrics.registry())
            .map_err(|e| EdgeError::Hsm(e.to_string()))?;
        let hsm = HsmClient::connect(
            &config.redis_url,
            config.hsm_credential.clone(),
            config.hsm.clone(),
            hsm_metrics,
        )
        .await
        .map_err(|e| EdgeError::Hsm(e.to_string()))?;
        let served = hsm
            .node_info()
            .await
            .map_err(|e| EdgeError::Hsm(e.to_string()))?;
        let node_id = match config.node_id {
            Some(wanted) if served.contains(&wanted) => wanted,
            Some(wanted) => return Err(EdgeError::UnknownNodeId(wanted)),
            None => *served
                .first()
                .ok_or_else(|| EdgeError::Hsm("the hsm serves no node id".into()))?,
        };
        hsm_ready.set_ready();
        tracing::info!(node_id = %node_id, edge = %config.edge_id, "serving node id");

        ensure_topics(&config.kafka, &topics::ALL).await?;
        let publisher = Arc::new(Publisher::new(&config.kafka)?);

        let index = Arc::new(RwLock::new(GossipIndex::new()));
        let feed = GossipIndexFeed::start(
            &config.kafka,
            &format!("edge-{}-index", config.edge_id),
            index.clone(),
        )
        .await
        .map_err(|e| EdgeError::GossipIndex(e.to_string()))?;
        let mut gossip_config = GossipConfig::new(config.chain);
        let caught_up = feed.caught_up();
        gossip_config.index_ready = Some(caught_up.clone());
        let live = feed.live_sender();
        let feed_stats = feed.stats();
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(error) = feed.run().await {
                tracing::error!(%error, "gossip index feed stopped");
            }
        })];
        tasks.push(tokio::spawn(async move {
            let mut caught_up = caught_up;
            if caught_up.wait_for(|ready| *ready).await.is_ok() {
                index_ready.set_ready();
            }
        }));
        let relay = Arc::new(GossipRelay::new(publisher.clone(), &config.edge_id, 256));
        let gossip = EdgeGossip::new(gossip_config, relay.clone(), index, live);
        let custom = Arc::new(CustomMessageRelay::new(publisher, &config.edge_id));

        let mut cluster_config = ClusterConfig::new(&config.edge_id, vec![node_id]);
        cluster_config.lease_ttl = config.lease_ttl;
        cluster_config.renew_interval = config.lease_ttl / 3;
        cluster_config.heartbeat_interval = config.heartbeat_interval;
        cluster_config.heartbeat_ttl = config.heartbeat_interval * 3;
        cluster_config.rpc_addr = config.rpc_listen.map(|a| a.to_string());
        let (cluster, handles) =
            ClusterMember::start(cluster_config, &config.redis_url, metrics).await?;
        let cluster = Arc::new(cluster);

        let hooks = Arc::new(hooks::EdgeHooks {
            cluster: cluster.clone(),
            gossip,
            custom: custom.clone(),
        });
        let env = PeerEnv::new(config.peer.clone(), hooks, metrics, Peers::new())?;
        let key = Arc::new(HsmNodeKey {
            client: hsm,
            node_id,
        });
        let control = Control::start(env.clone(), key.clone(), cluster.clone());

        let (stop, stopped) = watch::channel(false);
        tasks.push(tokio::spawn(control::run_inbox(
            handles.inbox,
            control.clone(),
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(control::run_lease_watch(
            handles.lost_leases,
            control.clone(),
        )));
        tasks.push(metrics::spawn_stats_export(
            metrics,
            relay.stats(),
            custom.stats(),
            feed_stats,
        )?);

        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let listen_addr = listener.local_addr()?;
        let accept_env = env.clone();
        let accept = actix::spawn(async move {
            if let Err(error) = crate::listener::serve(accept_env, key, listener).await {
                tracing::error!(%error, "peer listener stopped");
            }
        });
        listening.set_ready();

        let description = NodeDescription {
            alias: config.alias.clone(),
            color: "3399ff".into(),
            network: config.network.clone(),
            binding: vec![NetAddress::from(listen_addr)],
            lightning_dir: config
                .rpc_file
                .as_ref()
                .and_then(|p| p.parent())
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            our_features: OurFeatures {
                init: hex::encode(config.peer.session.features.to_wire_bytes()),
                node: hex::encode(config.peer.session.features.to_wire_bytes()),
                channel: String::new(),
                invoice: String::new(),
            },
        };
        let backend = Arc::new(EdgeRpc {
            control: control.clone(),
            routes: RouteClient::new(&config.gossip_url, Duration::from_secs(10)),
            description,
        });
        let rpc = Arc::new(RpcDispatcher::new(backend, metrics)?);
        let unix_rpc = match &config.rpc_file {
            Some(path) => Some(serve_unix(path, rpc.clone())?),
            None => None,
        };
        let http_rpc = match config.rpc_listen {
            Some(addr) => Some(serve_http(addr, rpc.clone())?),
            None => None,
        };
        tracing::info!(%listen_addr, node_id = %node_id, "edge started");
        Ok(EdgeNode {
            node_id,
            listen_addr,
            control,
            relay,
            rpc,
            unix_rpc,
            http_rpc,
            accept,
            tasks,
            stop,
        })
    }

    pub fn node_id(&self) -> PublicKey {
        self.node_id
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    pub fn peers(&self) -> &Peers {
        &self.control.env.peers
    }

    pub fn rpc(&self) -> &Arc<RpcDispatcher<EdgeRpc>> {
        &self.rpc
    }

    pub fn http_rpc_addr(&self) -> Option<SocketAddr> {
        self.http_rpc.as_ref().map(HttpRpcServer::local_addr)
    }

    pub fn rpc_file(&self) -> Option<&std::path::Path> {
        self.unix_rpc.as_ref().map(UnixRpcServer::path)
    }

    /// Stops accepting, releases every peer lease (so another edge may take each peer at once),
    /// closes every connection, and flushes gossip not yet on the broker. Bounded by `grace`.
    pub async fn shutdown(mut self, grace: Duration) {
        tracing::info!(peers = self.peers().len(), "edge shutting down");
        self.accept.abort();
        let _ = self.stop.send(true);
        let work = async {
            if let Err(error) = self.control.cluster.shutdown().await {
                tracing::warn!(%error, "releasing leases failed; they expire on their own");
            }
            for info in self.control.env.peers.list() {
                if let Some(handle) = self
                    .control
                    .env
                    .peers
                    .get(&info.local_node_id, &info.peer_id)
                {
                    let _ = handle.disconnect("edge shutting down", true).await;
                }
            }
            self.relay.flush().await;
            // Give the writers a moment to put the farewells on the wire.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while !self.control.env.peers.is_empty() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        if tokio::time::timeout(grace, work).await.is_err() {
            tracing::warn!("shutdown grace period ran out");
        }
        if let Some(http) = self.http_rpc.take() {
            http.stop().await;
        }
        self.unix_rpc.take();
        for task in self.tasks.drain(..) {
            task.abort();
        }
        tracing::info!("edge stopped");
    }
}

impl Drop for EdgeNode {
    fn drop(&mut self) {
        self.accept.abort();
        for task in &self.tasks {
            task.abort();
        }
    }
}
