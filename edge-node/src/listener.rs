//! Connections in and out for one of our node ids: [`serve`] accepts on a listening socket,
//! [`connect`] dials a peer. Both run the BOLT 8 handshake with a [`NodeKey`] (the HSM on an
//! edge), then [`establish`] the peer actor. Outcomes are counted by reason in
//! `peer_handshakes_total`. Both must run inside an actix system (see [`crate::peer`]).

use std::net::SocketAddr;
use std::sync::Arc;

use secp256k1::PublicKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::hooks::PeerHandle;
use crate::peer::{establish, EstablishError, PeerEnv};
use crate::transport::{NodeKey, PeerConnection};

/// Accepts connections for `key`'s node id until the listening socket fails. Each handshake runs
/// in its own task; at most `max_pending_handshakes` at once, beyond which accepting waits.
pub async fn serve<K: NodeKey>(
    env: Arc<PeerEnv>,
    key: Arc<K>,
    listener: TcpListener,
) -> std::io::Result<()> {
    if actix::Arbiter::try_current().is_none() {
        return Err(std::io::Error::other(EstablishError::NoActixSystem));
    }
    let pending = Arc::new(Semaphore::new(env.config.max_pending_handshakes.max(1)));
    let local = key.node_id();
    tracing::info!(local = %local, addr = ?listener.local_addr().ok(), "accepting peers");
    loop {
        // Closed only if dropped, which this loop never does.
        let Ok(permit) = pending.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, remote_addr) = listener.accept().await?;
        let env = env.clone();
        let key = key.clone();
        actix::spawn(async move {
            let _permit = permit;
            let _ = accept_one(&env, key.as_ref(), stream, remote_addr).await;
        });
    }
}

/// The responder side for one accepted stream.
pub async fn accept_one<K: NodeKey>(
    env: &Arc<PeerEnv>,
    key: &K,
    stream: TcpStream,
    remote_addr: SocketAddr,
) -> Result<PeerHandle, EstablishError> {
    let outcome = async {
        let conn = PeerConnection::accept(stream, key, env.config.handshake_timeout).await?;
        establish(env, conn, key.node_id(), remote_addr, true).await
    }
    .await;
    count(env, &outcome, remote_addr, true);
    outcome
}

/// Dials `peer_id` at `addr` as `key`'s node id.
pub async fn connect<K: NodeKey>(
    env: &Arc<PeerEnv>,
    key: &K,
    peer_id: PublicKey,
    addr: SocketAddr,
) -> Result<PeerHandle, EstablishError> {
    if actix::Arbiter::try_current().is_none() {
        return Err(EstablishError::NoActixSystem);
    }
    let outcome = async {
        let conn =
            PeerConnection::connect(addr, key, peer_id, env.config.handshake_timeout).await?;
        establish(env, conn, key.node_id(), addr, false).await
    }
    .await;
    count(env, &outcome, addr, false);
    outcome
}

fn count(
    env: &PeerEnv,
    outcome: &Result<PeerHandle, EstablishError>,
    addr: SocketAddr,
    inbound: bool,
) {
    let label = match outcome {
        Ok(_) => "ok",
        Err(error) => {
            tracing::info!(%addr, inbound, error = %error, "peer connection failed");
            error.label()
        }
    };
    env.metrics.handshakes.with_label_values(&[label]).inc();
}
