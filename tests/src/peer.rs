//! The loopback node's peer session, over the edge's BOLT 8 transport
//! ([`lnfleet_edge::transport`]). [`serve_session`] is what the loopback node
//! does with an inbound peer: exchange `init`, answer pings by the `num_pong_bytes` rules, ignore
//! unknown odd messages and close on unknown even ones.

use std::time::Duration;

use lnfleet_wire::bolt1::{ErrorMessage, Init, Ping, Warning};
use lnfleet_wire::features::Features;
use lnfleet_wire::message::Message;
use lnfleet_wire::{ChainHash, ChannelId, DecodeError};

pub use lnfleet_edge::transport::{
    HsmNodeKey, NodeKey, PeerConnection, PeerError, PeerReader, PeerWriter,
};

/// The features the loopback node announces: only what it implements.
pub fn loopback_features() -> Features {
    // The loopback node speaks BOLT 1 and 8 only, which have no feature bits: it announces none,
    // and so understands no peer-required bit either.
    Features::new()
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The peer hung up.
    PeerClosed,
    /// The peer sent an unknown even message type: BOLT 1 says close.
    UnknownEvenMessage(u16),
    /// The peer requires a feature we do not understand.
    UnknownRequiredFeature(u32),
    /// The peer's `networks` has no chain in common with ours.
    NoCommonChain,
    /// The peer sent bytes that are not a valid message.
    Malformed(String),
    /// The peer sent `error` for the whole connection.
    PeerError(String),
    /// The transport failed (MAC failure, io error, timeout).
    Transport(String),
}

/// What happened in a session, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub pongs_sent: Vec<u16>,
    pub pings_without_pong: u32,
    pub unknown_odd_ignored: Vec<u16>,
    pub warnings_received: Vec<String>,
    pub other_messages: Vec<&'static str>,
}

/// How the loopback node behaves.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub chain: ChainHash,
    pub init_timeout: Duration,
    /// A peer silent this long is dropped.
    pub idle_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            chain: ChainHash::REGTEST,
            init_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Runs the loopback node's side of a session on an established connection.
pub async fn serve_session(
    conn: &mut PeerConnection,
    config: &SessionConfig,
) -> (SessionEnd, SessionStats) {
    let mut stats = SessionStats::default();
    let end = run_session(conn, config, &mut stats).await;
    (end, stats)
}

async fn run_session(
    conn: &mut PeerConnection,
    config: &SessionConfig,
    stats: &mut SessionStats,
) -> SessionEnd {
    let features = loopback_features();
    let ours = Init::new(features.clone(), vec![config.chain], None);
    let theirs = match conn.exchange_init(&ours, config.init_timeout).await {
        Ok(init) => init,
        Err(error) => return end_for(error),
    };
    if let Some(bit) = theirs.combined_features().first_unknown_required(&features) {
        let text = format!("unknown required feature bit {bit}");
        let _ = conn
            .send(&ErrorMessage::new(ChannelId::ALL, &text).into())
            .await;
        return SessionEnd::UnknownRequiredFeature(bit);
    }
    if let Some(networks) = &theirs.networks {
        if !networks.contains(&config.chain) {
            let text = "no common chain";
            let _ = conn.send(&Warning::new(ChannelId::ALL, text).into()).await;
            return SessionEnd::NoCommonChain;
        }
    }
    loop {
        let received = tokio::time::timeout(config.idle_timeout, conn.recv()).await;
        let message = match received {
            Err(_) => return SessionEnd::Transport("idle timeout".into()),
            Ok(Err(PeerError::Decode(DecodeError::UnknownEvenMessage(msg_type)))) => {
                let text = format!("unknown even message type {msg_type}");
                let _ = conn.send(&Warning::new(ChannelId::ALL, &text).into()).await;
                return SessionEnd::UnknownEvenMessage(msg_type);
            }
            Ok(Err(PeerError::Decode(error))) => {
                let text = format!("malformed message: {error}");
                let _ = conn.send(&Warning::new(ChannelId::ALL, &text).into()).await;
                return SessionEnd::Malformed(error.to_string());
            }
            Ok(Err(error)) => return end_for(error),
            Ok(Ok(message)) => message,
        };
        match message {
            Message::Ping(ping) => {
                if let Err(error) = answer_ping(conn, &ping, stats).await {
                    return end_for(error);
                }
            }
            Message::Unknown(unknown) => stats.unknown_odd_ignored.push(unknown.msg_type),
            Message::Warning(warning) => stats.warnings_received.push(warning.text()),
            Message::Error(error) if error.is_connection_wide() => {
                return SessionEnd::PeerError(error.text())
            }
            other => stats.other_messages.push(other.name()),
        }
    }
}

async fn answer_ping(
    conn: &mut PeerConnection,
    ping: &Ping,
    stats: &mut SessionStats,
) -> Result<(), PeerError> {
    match ping.response() {
        Some(pong) => {
            stats.pongs_sent.push(ping.num_pong_bytes);
            conn.send(&pong.into()).await
        }
        None => {
            stats.pings_without_pong += 1;
            Ok(())
        }
    }
}

fn end_for(error: PeerError) -> SessionEnd {
    match error {
        PeerError::Closed => SessionEnd::PeerClosed,
        PeerError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => SessionEnd::PeerClosed,
        other => SessionEnd::Transport(other.to_string()),
    }
}

/// Accepts connections forever, one task per peer, and logs how each session ended.
pub async fn run_loopback_node<K>(
    listener: tokio::net::TcpListener,
    key: K,
    config: SessionConfig,
) -> std::io::Result<()>
where
    K: NodeKey + Clone,
{
    loop {
        let (stream, remote_addr) = listener.accept().await?;
        let key = key.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let mut conn = match PeerConnection::accept(stream, &key, config.init_timeout).await {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::info!(%remote_addr, %error, "handshake failed");
                    return;
                }
            };
            let peer = conn.remote_node_id();
            tracing::info!(%remote_addr, %peer, "handshake complete");
            let (end, stats) = serve_session(&mut conn, &config).await;
            tracing::info!(%peer, ?end, ?stats, "session ended");
            conn.shutdown().await;
        });
    }
}
