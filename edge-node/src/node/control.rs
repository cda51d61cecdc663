//! What the edge does for its RPC and for other edges: find a local connection, dial out, run an
//! inbox command, close a connection whose lease moved elsewhere.
//!
//! Peer actors live on the edge's main actix system, but RPC handlers may run elsewhere (the HTTP
//! server's worker threads), so dialling goes through [`Control::dial`], which hands the work to a
//! task on the main system.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secp256k1::PublicKey;
use tokio::sync::{mpsc, oneshot, watch};

use crate::cluster::{
    ClusterMember, EdgeCommand, Inbox, InboxDecision, Incoming, LeaseLost, Reply,
};
use crate::hooks::{ConnectionId, PeerHandle};
use crate::listener;
use crate::peer::PeerEnv;
use crate::transport::HsmNodeKey;

/// How long one inbox read waits before checking for shutdown.
const INBOX_POLL: Duration = Duration::from_secs(1);

/// A request to dial a peer, answered on `reply`.
struct DialRequest {
    peer: PublicKey,
    addr: String,
    reply: oneshot::Sender<Result<PeerHandle, String>>,
}

/// Shared by the RPC backend, the inbox loop and the lease watcher.
pub struct Control {
    pub env: Arc<PeerEnv>,
    pub node_id: PublicKey,
    pub cluster: Arc<ClusterMember>,
    dial_requests: mpsc::Sender<DialRequest>,
}

impl Control {
    /// Starts the dialer on the current actix system.
    pub fn start(
        env: Arc<PeerEnv>,
        key: Arc<HsmNodeKey>,
        cluster: Arc<ClusterMember>,
    ) -> Arc<Self> {
        let (dial_requests, mut queue) = mpsc::channel::<DialRequest>(64);
        let node_id = key.node_id;
        let dial_env = env.clone();
        actix::spawn(async move {
            while let Some(request) = queue.recv().await {
                let env = dial_env.clone();
                let key = key.clone();
                actix::spawn(async move {
                    let outcome = dial(&env, &key, request.peer, &request.addr).await;
                    // Ignored error: the asker gave up waiting.
                    let _ = request.reply.send(outcome);
                });
            }
        });
        Arc::new(Control {
            env,
            node_id,
            cluster,
            dial_requests,
        })
    }

    /// This edge's live connection to `peer`, if any.
    pub fn local(&self, peer: &PublicKey) -> Option<PeerHandle> {
        self.env.peers.get(&self.node_id, peer)
    }

    fn local_with_id(&self, peer: &PublicKey, connection_id: ConnectionId) -> Option<PeerHandle> {
        self.local(peer)
            .filter(|handle| handle.connection_id() == connection_id)
    }

    /// Dials `peer` at `addr` (`host:port`) from the main system.
    pub async fn dial(&self, peer: PublicKey, addr: String) -> Result<PeerHandle, String> {
        let (reply, answer) = oneshot::channel();
        self.dial_requests
            .send(DialRequest { peer, addr, reply })
            .await
            .map_err(|_| "the edge is shutting down".to_owned())?;
        answer
            .await
            .map_err(|_| "the dial task ended without answering".to_owned())?
    }

    /// Runs one command another edge sent; the answer to send back.
    pub async fn execute(&self, incoming: &Incoming) -> Reply {
        let (_, peer) = incoming.command.target();
        match self.cluster.decide(incoming) {
            InboxDecision::Close { connection_id } => {
                if let Some(handle) = self.local_with_id(&peer, connection_id) {
                    tracing::info!(%peer, connection_id, from_edge = %incoming.from_edge, "closing: the peer reconnected through another edge");
                    let _ = handle
                        .disconnect("the peer reconnected through another edge", false)
                        .await;
                }
                Reply::Ok
            }
            InboxDecision::RunOn { connection_id } => {
                let Some(handle) = self.local_with_id(&peer, connection_id) else {
                    return Reply::PeerNotConnected;
                };
                match &incoming.command {
                    EdgeCommand::SendCustomMessage { payload, .. } => {
                        match handle.send(payload.clone()).await {
                            Ok(()) => Reply::Ok,
                            Err(_) => Reply::PeerNotConnected,
                        }
                    }
                    EdgeCommand::Disconnect { .. } => {
                        let _ = handle.disconnect("disconnect requested", true).await;
                        Reply::Ok
                    }
                    other => Reply::Failed {
                        reason: format!("{} cannot run on a connection", other.kind()),
                    },
                }
            }
            InboxDecision::Dial { addr } => match self.dial(peer, addr).await {
                Ok(_) => Reply::Ok,
                Err(reason) => Reply::Failed { reason },
            },
            InboxDecision::Reply(reply) => reply,
        }
    }

    /// Closes the connection whose lease the renew loop found taken or expired.
    async fn lease_lost(&self, lost: LeaseLost) {
        if let Some(handle) = self.local_with_id(&lost.peer, lost.connection_id) {
            tracing::info!(peer = %lost.peer, connection_id = lost.connection_id, "peer lease lost: closing");
            let _ = handle.disconnect("peer lease lost", false).await;
        }
    }
}

async fn dial(
    env: &Arc<PeerEnv>,
    key: &HsmNodeKey,
    peer: PublicKey,
    addr: &str,
) -> Result<PeerHandle, String> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| format!("resolving {addr}: {e}"))?
        .collect();
    let mut last = format!("no address for {addr}");
    for socket_addr in resolved {
        match listener::connect(env, key, peer, socket_addr).await {
            Ok(handle) => return Ok(handle),
            Err(error) => last = format!("{socket_addr}: {error}"),
        }
    }
    Err(last)
}

/// Serves this edge's inbox until `stop` turns true.
pub async fn run_inbox(mut inbox: Inbox, control: Arc<Control>, mut stop: watch::Receiver<bool>) {
    let replier = inbox.replier();
    loop {
        if *stop.borrow() {
            return;
        }
        let next = tokio::select! {
            _ = stop.changed() => continue,
            next = inbox.next(INBOX_POLL) => next,
        };
        match next {
            Ok(Some(incoming)) => {
                let reply = control.execute(&incoming).await;
                if let Err(error) = replier.reply(&incoming, &reply).await {
                    tracing::warn!(%error, to_edge = %incoming.from_edge, "inbox reply failed");
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "reading the inbox failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Closes connections whose leases were lost, until the sender is gone.
pub async fn run_lease_watch(mut lost: mpsc::Receiver<LeaseLost>, control: Arc<Control>) {
    while let Some(lease) = lost.recv().await {
        control.lease_lost(lease).await;
    }
}
