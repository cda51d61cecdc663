//! Virtual nodes across several edges: several edge processes serve the same node ids behind a
//! load balancer, and Redis decides which one owns the connection to each peer.
//!
//! - [`lease`]: one lease per (node, peer) with a fencing token; the newest connection wins.
//! - [`inbox`]: commands between edges (close a stolen connection, forward a send) with replies.
//! - [`registry`]: which edges are alive (heartbeats with a ttl) and what they hold.
//! - [`ClusterMember`]: the three together for one edge. It decides; the peer layer acts.
//!
//! Redis keys (built only in [`keys`]):
//!
//! | key | type | written by | read by |
//! |---|---|---|---|
//! | `edge:lease:<node>:<peer>` | string `<token>:<connection id>:<edge id>`, `PX` lease ttl | the edge that accepted the newest connection (acquire script); renew/release only by the same holder | every edge (`find_peer`, forwarding) |
//! | `edge:lease-token:<node>:<peer>` | integer, never expires | the acquire script (`INCR`) | nobody else |
//! | `edge:inbox:<edge id>` | list of JSON `Envelope`s, trimmed to 10 000, expires 120 s after the last push | other edges (`RPUSH`) | the owner (`BLPOP`) |
//! | `edge:reply:<edge id>:<request id>` | list of one JSON `Reply`, expires after 60 s | the edge that served the request | the requesting edge (`BLPOP`) |
//! | `edge:registry:<edge id>` | JSON `EdgeRecord`, `PX` heartbeat ttl | the edge itself, every heartbeat | every edge |
//! | `edge:live` | sorted set of edge ids by last heartbeat (server ms) | heartbeats; `list_live` drops expired edges | every edge |
//!
//! Node and peer ids are 33-byte compressed keys in hex. Edge ids are `[A-Za-z0-9_.-]{1,64}`.

pub mod inbox;
pub mod keys;
pub mod lease;
pub mod metrics;
pub mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lnfleet_actors::redis::RedisConnectError;
use lnfleet_actors::telemetry::{Metrics, MetricsError};
use secp256k1::PublicKey;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::hooks::{ConnectionId, PeerInfo};
pub use inbox::{EdgeCommand, Inbox, InboxClient, InboxError, Incoming, Replier, Reply};
pub use lease::{Holder, Lease, LeaseError, LeaseStore};
pub use metrics::ClusterMetrics;
pub use registry::{EdgeRecord, EdgeRegistry, LiveEdge, PeerLocation, PeerPair, RegistryError};

/// How one edge takes part in the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub edge_id: String,
    pub node_ids: Vec<PublicKey>,
    pub rpc_addr: Option<String>,
    /// A lease not renewed for this long can be taken by anyone.
    pub lease_ttl: Duration,
    /// Well under `lease_ttl`, so one missed renewal does not lose the lease.
    pub renew_interval: Duration,
    /// An edge whose heartbeats stop for this long is gone from the registry.
    pub heartbeat_ttl: Duration,
    pub heartbeat_interval: Duration,
    /// How long a forwarded request waits for the other edge.
    pub request_timeout: Duration,
    /// Forwarded requests waiting at once (each holds a Redis connection).
    pub max_waiting_requests: usize,
    /// Attempts to reach Redis at start.
    pub connect_attempts: u32,
}

impl ClusterConfig {
    /// Production defaults: 15 s leases renewed every 5 s, 15 s heartbeats every 5 s.
    pub fn new(edge_id: impl Into<String>, node_ids: Vec<PublicKey>) -> Self {
        ClusterConfig {
            edge_id: edge_id.into(),
            node_ids,
            rpc_addr: None,
            lease_ttl: Duration::from_secs(15),
            renew_interval: Duration::from_secs(5),
            heartbeat_ttl: Duration::from_secs(15),
            heartbeat_interval: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            max_waiting_requests: 32,
            connect_attempts: 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Connect(#[from] RedisConnectError),
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Inbox(#[from] InboxError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// Who lost a lease to a newer connection when this edge took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// Nobody held it (or the old lease had expired).
    Nobody,
    /// An older connection on this edge: the caller closes it.
    Local {
        connection_id: ConnectionId,
        token: u64,
    },
    /// A connection on another edge, which was sent `ClosePeer` (`notified` false if that send
    /// failed; its lease renewal will fail anyway and it closes then).
    Remote { holder: Holder, notified: bool },
}

/// The result of [`ClusterMember::on_peer_connected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub lease: Lease,
    pub replaced: Replaced,
}

/// What to do with a `ClosePeer` this edge received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePeerDecision {
    /// Our connection is older than the new lease: close it.
    Close { connection_id: ConnectionId },
    /// Our connection is the same or newer than the sender's (a late message): keep it.
    Keep { connection_id: ConnectionId },
    /// We hold no lease for that peer.
    NotHeld,
}

/// A lease the renew loop found taken over or expired: the caller closes that connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseLost {
    pub node: PublicKey,
    pub peer: PublicKey,
    pub connection_id: ConnectionId,
    pub token: u64,
}

/// Where a command for a peer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This edge holds the connection: the caller runs the command on it.
    Local { connection_id: ConnectionId },
    /// Another (live) edge holds it; the command was forwarded and this is its answer.
    Forwarded { edge_id: String, reply: Reply },
    /// No live edge holds a connection to that peer.
    NotConnected,
}

/// What to do with a command read from this edge's inbox ([`ClusterMember::decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxDecision {
    /// `ClosePeer` with a newer token: close this connection (no reply is expected).
    Close { connection_id: ConnectionId },
    /// Run the command (send, disconnect) on this connection, then reply with the outcome.
    RunOn { connection_id: ConnectionId },
    /// `Connect` to a peer this edge does not hold: dial `addr`, then reply.
    Dial { addr: String },
    /// Nothing to do but send this reply (`Ok` for a stale `ClosePeer` or an already-held
    /// `Connect`, `PeerNotConnected` for a send to a peer this edge does not hold).
    Reply(Reply),
}

struct Shared {
    config: ClusterConfig,
    leases: LeaseStore,
    registry: EdgeRegistry,
    inbox_client: InboxClient,
    held: Mutex<HashMap<PeerPair, Lease>>,
    metrics: ClusterMetrics,
    started_at_ms: u64,
}

impl Shared {
    fn held(&self) -> MutexGuard<'_, HashMap<PeerPair, Lease>> {
        // A panic while holding the map cannot leave it half-updated (single inserts/removes).
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update_gauge(&self, held: &HashMap<PeerPair, Lease>) {
        self.metrics
            .leases_held
            .set(i64::try_from(held.len()).unwrap_or(i64::MAX));
    }

    fn record(&self) -> EdgeRecord {
        let mut peers: Vec<PeerPair> = self.held().keys().copied().collect();
        peers.sort_by_key(|pair| (pair.node.serialize(), pair.peer.serialize()));
        EdgeRecord {
            version: registry::RECORD_VERSION,
            node_ids: self.config.node_ids.clone(),
            rpc_addr: self.config.rpc_addr.clone(),
            inbox: keys::inbox(&self.config.edge_id),
            peers,
            started_at_ms: self.started_at_ms,
        }
    }

    async fn heartbeat(&self) -> Result<(), RegistryError> {
        let record = self.record();
        self.registry
            .heartbeat(&self.config.edge_id, &record, self.config.heartbeat_ttl)
            .await
            .map(|_now| ())
    }

    async fn renew_all(&self, lost: &mpsc::Sender<LeaseLost>) {
        let snapshot: Vec<Lease> = self.held().values().cloned().collect();
        for lease in snapshot {
            match self.leases.renew(&lease).await {
                Ok(true) => {}
                Ok(false) => {
                    // Already dropped (ClosePeer, disconnect, or a newer local connection that
                    // reported this one): nothing more to tell.
                    if !self.forget(&lease) {
                        continue;
                    }
                    self.metrics.leases_lost.inc();
                    tracing::info!(node = %lease.node, peer = %lease.peer, token = lease.token, "peer lease lost");
                    let event = LeaseLost {
                        node: lease.node,
                        peer: lease.peer,
                        connection_id: lease.connection_id,
                        token: lease.token,
                    };
                    // The receiver dropped: nobody to tell, the lease is already forgotten.
                    let _ = lost.send(event).await;
                }
                Err(error) => {
                    self.metrics.lease_renew_failures.inc();
                    tracing::warn!(%error, peer = %lease.peer, "peer lease renewal failed");
                }
            }
        }
    }

    /// Drops `lease` from the held map if it is still the one there.
    fn forget(&self, lease: &Lease) -> bool {
        let pair = PeerPair {
            node: lease.node,
            peer: lease.peer,
        };
        let mut held = self.held();
        let same = held
            .get(&pair)
            .is_some_and(|current| current.token == lease.token);
        if same {
            held.remove(&pair);
            self.update_gauge(&held);
        }
        same
    }
}

/// One edge's membership: leases for its connections, its heartbeat and the way to other edges.
/// Dropping it stops its background tasks (leases and record then expire by themselves);
/// [`ClusterMember::shutdown`] hands everything back at once.
pub struct ClusterMember {
    shared: Arc<Shared>,
    /// Behind a mutex so a member shared by the peer hooks can still be shut down.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for ClusterMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterMember")
            .field("edge_id", &self.shared.config.edge_id)
            .finish_non_exhaustive()
    }
}

/// What [`ClusterMember::start`] hands back besides the member.
#[derive(Debug)]
pub struct ClusterHandles {
    /// This edge's inbox: the caller's loop reads it and acts (see [`ClusterMember::on_close_peer`]).
    pub inbox: Inbox,
    /// Leases the renew loop lost: the caller closes those connections.
    pub lost_leases: mpsc::Receiver<LeaseLost>,
}

impl ClusterMember {
    /// Connects to Redis, registers this edge (first heartbeat before returning) and starts the
    /// heartbeat and lease-renewal tasks. Registers the cluster metrics in `metrics`.
    pub async fn start(
        config: ClusterConfig,
        redis_url: &str,
        metrics: &Metrics,
    ) -> Result<(ClusterMember, ClusterHandles), ClusterError> {
        keys::validate_edge_id(&config.edge_id)
            .map_err(|e| ClusterError::Inbox(InboxError::InvalidEdgeId(e.0)))?;
        let metrics = ClusterMetrics::register(metrics)?;
        let conn = lnfleet_actors::redis::connect(redis_url, config.connect_attempts).await?;
        let blocking = lnfleet_actors::redis::connect(redis_url, config.connect_attempts).await?;
        let client = ::redis::Client::open(redis_url)?;
        let inbox_client = InboxClient::new(
            &config.edge_id,
            conn.clone(),
            client,
            config.max_waiting_requests,
            Some(metrics.clone()),
        )?;
        let inbox = Inbox::new(&config.edge_id, blocking, conn.clone(), metrics.clone())?;
        let shared = Arc::new(Shared {
            leases: LeaseStore::new(conn.clone()),
            registry: EdgeRegistry::new(conn),
            inbox_client,
            held: Mutex::new(HashMap::new()),
            metrics,
            started_at_ms: now_ms(),
            config,
        });
        shared.heartbeat().await?;
        let (lost_tx, lost_rx) = mpsc::channel(1024);
        let tasks = vec![
            tokio::spawn(heartbeat_loop(shared.clone())),
            tokio::spawn(renew_loop(shared.clone(), lost_tx)),
        ];
        tracing::info!(edge = %shared.config.edge_id, "joined the edge cluster");
        Ok((
            ClusterMember {
                shared,
                tasks: Mutex::new(tasks),
            },
            ClusterHandles {
                inbox,
                lost_leases: lost_rx,
            },
        ))
    }

    pub fn edge_id(&self) -> &str {
        &self.shared.config.edge_id
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.shared.config
    }

    pub fn leases(&self) -> &LeaseStore {
        &self.shared.leases
    }

    pub fn registry(&self) -> &EdgeRegistry {
        &self.shared.registry
    }

    pub fn inbox_client(&self) -> &InboxClient {
        &self.shared.inbox_client
    }

    pub fn metrics(&self) -> &ClusterMetrics {
        &self.shared.metrics
    }

    /// The lease this edge holds for `(node, peer)`, if any.
    pub fn held_lease(&self, node: &PublicKey, peer: &PublicKey) -> Option<Lease> {
        let pair = PeerPair {
            node: *node,
            peer: *peer,
        };
        self.shared.held().get(&pair).cloned()
    }

    pub fn held_leases(&self) -> Vec<Lease> {
        self.shared.held().values().cloned().collect()
    }

    /// Takes the lease for a new connection. A previous holder on another edge is sent
    /// `ClosePeer`; one on this edge is reported for the caller to close.
    pub async fn on_peer_connected(&self, info: &PeerInfo) -> Result<Connected, ClusterError> {
        let shared = &self.shared;
        let lease = shared
            .leases
            .acquire(
                &info.local_node_id,
                &info.peer_id,
                &shared.config.edge_id,
                info.connection_id,
                shared.config.lease_ttl,
            )
            .await?;
        let pair = PeerPair {
            node: info.local_node_id,
            peer: info.peer_id,
        };
        {
            let mut held = shared.held();
            // Two local connections racing: only the larger token is ours now.
            let newer = held
                .get(&pair)
                .is_none_or(|current| current.token < lease.token);
            if newer {
                held.insert(pair, lease.clone());
                shared.update_gauge(&held);
            }
        }
        let replaced = match &lease.previous {
            None => Replaced::Nobody,
            // The same connection taking its lease again (after losing track of it).
            Some(previous)
                if previous.edge_id == shared.config.edge_id
                    && previous.connection_id == info.connection_id =>
            {
                Replaced::Nobody
            }
            Some(previous) if previous.edge_id == shared.config.edge_id => {
                shared.metrics.lease_steals.inc();
                Replaced::Local {
                    connection_id: previous.connection_id,
                    token: previous.token,
                }
            }
            Some(previous) => {
                shared.metrics.lease_steals.inc();
                let close = EdgeCommand::ClosePeer {
                    node: info.local_node_id,
                    peer: info.peer_id,
                    token: lease.token,
                };
                let notified = match shared.inbox_client.send(&previous.edge_id, close).await {
                    Ok(_request_id) => true,
                    Err(error) => {
                        tracing::warn!(%error, edge = %previous.edge_id, peer = %info.peer_id, "could not tell the previous holder to close");
                        false
                    }
                };
                Replaced::Remote {
                    holder: previous.clone(),
                    notified,
                }
            }
        };
        tracing::debug!(peer = %info.peer_id, token = lease.token, ?replaced, "peer lease taken");
        Ok(Connected { lease, replaced })
    }

    /// Gives back the lease of a closed connection; `false` if this connection no longer held
    /// it (it was replaced, or another local connection is newer).
    pub async fn on_peer_disconnected(&self, info: &PeerInfo) -> Result<bool, ClusterError> {
        let pair = PeerPair {
            node: info.local_node_id,
            peer: info.peer_id,
        };
        let lease = {
            let mut held = self.shared.held();
            match held.get(&pair) {
                Some(lease) if lease.connection_id == info.connection_id => {
                    let lease = held.remove(&pair);
                    self.shared.update_gauge(&held);
                    lease
                }
                _ => None,
            }
        };
        let Some(lease) = lease else {
            return Ok(false);
        };
        Ok(self.shared.leases.release(&lease).await?)
    }

    /// Decides on a `ClosePeer { node, peer, token }` read from the inbox: close our connection
    /// only if its token is older than the sender's.
    pub fn on_close_peer(
        &self,
        node: &PublicKey,
        peer: &PublicKey,
        token: u64,
    ) -> ClosePeerDecision {
        let pair = PeerPair {
            node: *node,
            peer: *peer,
        };
        let mut held = self.shared.held();
        let Some(lease) = held.get(&pair) else {
            return ClosePeerDecision::NotHeld;
        };
        let connection_id = lease.connection_id;
        if lease.token >= token {
            return ClosePeerDecision::Keep { connection_id };
        }
        held.remove(&pair);
        self.shared.update_gauge(&held);
        ClosePeerDecision::Close { connection_id }
    }

    /// Decides what an inbox command asks of this edge, from its held leases (no I/O; a
    /// `ClosePeer` that closes drops the lease from the held map).
    pub fn decide(&self, incoming: &Incoming) -> InboxDecision {
        let (node, peer) = incoming.command.target();
        match &incoming.command {
            EdgeCommand::ClosePeer { token, .. } => {
                match self.on_close_peer(&node, &peer, *token) {
                    ClosePeerDecision::Close { connection_id } => {
                        InboxDecision::Close { connection_id }
                    }
                    ClosePeerDecision::Keep { .. } | ClosePeerDecision::NotHeld => {
                        InboxDecision::Reply(Reply::Ok)
                    }
                }
            }
            EdgeCommand::Connect { addr, .. } => match self.held_lease(&node, &peer) {
                Some(_) => InboxDecision::Reply(Reply::Ok),
                None => InboxDecision::Dial { addr: addr.clone() },
            },
            EdgeCommand::SendCustomMessage { .. } | EdgeCommand::Disconnect { .. } => {
                match self.held_lease(&node, &peer) {
                    Some(lease) => InboxDecision::RunOn {
                        connection_id: lease.connection_id,
                    },
                    None => InboxDecision::Reply(Reply::PeerNotConnected),
                }
            }
        }
    }

    /// Where `command` for `(node, peer)` runs: here (the caller runs it), on the live edge
    /// holding the lease (forwarded now, its reply returned), or nowhere.
    pub async fn route_request(
        &self,
        node: &PublicKey,
        peer: &PublicKey,
        command: EdgeCommand,
    ) -> Result<Route, ClusterError> {
        if let Some(lease) = self.held_lease(node, peer) {
            return Ok(Route::Local {
                connection_id: lease.connection_id,
            });
        }
        let shared = &self.shared;
        let Some(location) = shared
            .registry
            .find_peer(&shared.leases, node, peer)
            .await?
        else {
            return Ok(Route::NotConnected);
        };
        if location.holder.edge_id == shared.config.edge_id {
            // The lease names us but the map does not (the connection is being set up or torn
            // down): the caller checks the connection id against its own table.
            return Ok(Route::Local {
                connection_id: location.holder.connection_id,
            });
        }
        let reply = shared
            .inbox_client
            .request(
                &location.holder.edge_id,
                command,
                shared.config.request_timeout,
            )
            .await?;
        Ok(Route::Forwarded {
            edge_id: location.holder.edge_id,
            reply,
        })
    }

    /// Stops the background tasks, releases every held lease and leaves the registry.
    pub async fn shutdown(&self) -> Result<(), ClusterError> {
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain(..)
            .collect();
        for task in tasks {
            task.abort();
        }
        let leases: Vec<Lease> = self.shared.held().drain().map(|(_, lease)| lease).collect();
        self.shared.update_gauge(&self.shared.held());
        for lease in leases {
            self.shared.leases.release(&lease).await?;
        }
        self.shared
            .registry
            .remove(&self.shared.config.edge_id)
            .await?;
        tracing::info!(edge = %self.shared.config.edge_id, "left the edge cluster");
        Ok(())
    }
}

impl Drop for ClusterMember {
    fn drop(&mut self) {
        let tasks = self
            .tasks
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for task in tasks.iter() {
            task.abort();
        }
    }
}

async fn heartbeat_loop(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(shared.config.heartbeat_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(error) = shared.heartbeat().await {
            shared.metrics.heartbeat_failures.inc();
            tracing::warn!(%error, edge = %shared.config.edge_id, "heartbeat failed");
        }
    }
}

async fn renew_loop(shared: Arc<Shared>, lost: mpsc::Sender<LeaseLost>) {
    let mut ticker = tokio::time::interval(shared.config.renew_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        shared.renew_all(&lost).await;
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
