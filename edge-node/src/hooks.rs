//! The seams inside an edge: how a peer connection hands what it receives to the rest of the edge
//! ([`PeerHooks`]), and how the rest of the edge talks to a connection ([`PeerHandle`]).
//!
//! The peer layer (one actor per connection) only speaks BOLT 1 and 8 itself. Gossip, custom
//! messages, leases and the RPC live elsewhere and meet it here, so each side is tested alone.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::future::BoxFuture;
use lnfleet_wire::bolt1::Init;
use lnfleet_wire::message::Message;
use secp256k1::PublicKey;
use tokio::sync::mpsc;

/// Unique per connection within one edge process (a reconnecting peer gets a new one).
pub type ConnectionId = u64;

/// What the edge knows of one live connection (for `listpeers`, logs and leases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The remote node.
    pub peer_id: PublicKey,
    /// Our (virtual) node id the peer connected to, or we connected from.
    pub local_node_id: PublicKey,
    pub connection_id: ConnectionId,
    pub remote_addr: SocketAddr,
    /// True when the peer dialled us.
    pub inbound: bool,
    /// The peer's `init` features (global and local combined), as bytes.
    pub their_features: Vec<u8>,
    /// Milliseconds since the Unix epoch.
    pub connected_at_ms: u64,
}

/// A command to the actor owning a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCommand {
    /// Send one framed message (u16 type + payload).
    Send(Vec<u8>),
    /// Close the connection; `reason` is logged and, if `notify`, sent as a BOLT 1 `warning`.
    Disconnect { reason: String, notify: bool },
}

/// Why a command did not reach the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeerSendError {
    #[error("the peer is disconnected")]
    Gone,
    #[error("the peer's outbound queue is full")]
    QueueFull,
}

/// A cheap, cloneable way to reach one connection. The queue behind it is bounded: `send` waits
/// for room (backpressure), `try_send` refuses when the peer reads too slowly.
#[derive(Debug, Clone)]
pub struct PeerHandle {
    info: Arc<PeerInfo>,
    commands: mpsc::Sender<PeerCommand>,
}

impl PeerHandle {
    pub fn new(info: PeerInfo, commands: mpsc::Sender<PeerCommand>) -> Self {
        PeerHandle {
            info: Arc::new(info),
            commands,
        }
    }

    pub fn info(&self) -> &PeerInfo {
        &self.info
    }

    pub fn peer_id(&self) -> PublicKey {
        self.info.peer_id
    }

    pub fn connection_id(&self) -> ConnectionId {
        self.info.connection_id
    }

    /// Queues a framed message, waiting while the queue is full.
    pub async fn send(&self, framed: Vec<u8>) -> Result<(), PeerSendError> {
        self.commands
            .send(PeerCommand::Send(framed))
            .await
            .map_err(|_| PeerSendError::Gone)
    }

    /// Queues a framed message if there is room now.
    pub fn try_send(&self, framed: Vec<u8>) -> Result<(), PeerSendError> {
        self.commands
            .try_send(PeerCommand::Send(framed))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => PeerSendError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => PeerSendError::Gone,
            })
    }

    /// Asks the connection to close. Waits for queue room so the request is never lost.
    pub async fn disconnect(
        &self,
        reason: impl Into<String>,
        notify: bool,
    ) -> Result<(), PeerSendError> {
        self.commands
            .send(PeerCommand::Disconnect {
                reason: reason.into(),
                notify,
            })
            .await
            .map_err(|_| PeerSendError::Gone)
    }

    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }
}

/// What a connection hands to the rest of the edge. The node composition implements it; tests
/// implement it to observe a connection.
pub trait PeerHooks: Send + Sync + 'static {
    /// After the `init` exchange succeeded. Leases are taken here.
    fn on_connected(&self, peer: &PeerHandle, their_init: &Init) -> BoxFuture<'static, ()>;

    /// A BOLT 7 message (announcements, updates, queries and replies, timestamp filter), with its
    /// exact bytes. The connection reads nothing more from the peer until the future completes:
    /// that is the backpressure from a slow producer to the peer's socket.
    fn on_gossip(
        &self,
        peer: &PeerHandle,
        message: Message,
        raw: Vec<u8>,
    ) -> BoxFuture<'static, ()>;

    /// An unknown odd-typed message (BOLT 1: the connection ignores it; the edge publishes it).
    fn on_custom_message(&self, peer: &PeerHandle, raw: Vec<u8>) -> BoxFuture<'static, ()>;

    /// The connection closed, for whatever reason.
    fn on_disconnected(&self, peer: &PeerInfo);
}
