//! A BOLT 8 peer on tokio, built from `lnfleet-wire`'s sans-IO pieces: the handshake (with the
//! static-key ECDH behind [`StaticKeyEcdh`]), the cipher state and the message codecs.
//!
//! [`PeerConnection`] is one encrypted connection. [`serve_session`] is what the loopback node
//! does with an inbound peer: exchange `init`, answer pings by the `num_pong_bytes` rules, ignore
//! unknown odd messages and close on unknown even ones.

use std::time::Duration;

use lnfleet_actors::hsm::HsmClient;
use lnfleet_wire::bolt1::{ErrorMessage, Init, Ping, Warning};
use lnfleet_wire::features::Features;
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::noise::{
    Decryptor, EcdhError, Encryptor, HandshakeError, InitiatorHandshake, LocalStaticKey, NeedsEcdh,
    ResponderHandshake, StaticKeyEcdh, TransportError, ACT_ONE_LEN, ACT_THREE_LEN, ACT_TWO_LEN,
};
use lnfleet_wire::{ChainHash, ChannelId, DecodeError, WireMessage};
use secp256k1::PublicKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

/// Who holds the node's static key, asked for the one ECDH of the handshake. A local key (tests,
/// development) answers at once; the HSM answers over Redis, so an edge never holds the secret.
pub trait NodeKey: Send + Sync + 'static {
    fn node_id(&self) -> PublicKey;
    fn ecdh<'a>(
        &'a self,
        point: PublicKey,
    ) -> impl std::future::Future<Output = Result<[u8; 32], EcdhError>> + Send + 'a;
}

impl NodeKey for LocalStaticKey {
    fn node_id(&self) -> PublicKey {
        StaticKeyEcdh::node_id(self)
    }

    async fn ecdh(&self, point: PublicKey) -> Result<[u8; 32], EcdhError> {
        StaticKeyEcdh::ecdh(self, &point)
    }
}

/// A node key held by the HSM.
#[derive(Clone)]
pub struct HsmNodeKey {
    pub client: HsmClient,
    pub node_id: PublicKey,
}

impl NodeKey for HsmNodeKey {
    fn node_id(&self) -> PublicKey {
        self.node_id
    }

    async fn ecdh(&self, point: PublicKey) -> Result<[u8; 32], EcdhError> {
        self.client
            .ecdh(&self.node_id, &point)
            .await
            .map_err(|error| error.into_ecdh_error())
    }
}

async fn answer_ecdh(key: &impl NodeKey, needs: NeedsEcdh) -> Result<[u8; 32], PeerError> {
    key.ecdh(needs.point)
        .await
        .map_err(|error| PeerError::Handshake(HandshakeError::Ecdh(error)))
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("peer closed the connection")]
    Closed,
    #[error("expected init as the first message, got {0}")]
    NoInit(&'static str),
}

/// One encrypted connection after a completed handshake.
pub struct PeerConnection {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    encryptor: Encryptor,
    decryptor: Decryptor,
    remote_node_id: PublicKey,
    read_buf: Box<[u8]>,
}

async fn within<T>(
    limit: Duration,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, PeerError>>,
) -> Result<T, PeerError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| PeerError::Timeout(what))?
}

impl PeerConnection {
    /// Dials `remote` at `addr` and runs the initiator side of the handshake.
    pub async fn connect(
        addr: impl ToSocketAddrs,
        local: &impl NodeKey,
        remote: PublicKey,
        limit: Duration,
    ) -> Result<Self, PeerError> {
        within(limit, "during the handshake", async {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut reader, mut writer) = stream.into_split();
            let mut handshake = InitiatorHandshake::new(local.node_id(), remote);
            writer.write_all(&handshake.act_one()?).await?;
            let mut act_two = [0u8; ACT_TWO_LEN];
            reader.read_exact(&mut act_two).await?;
            let needs = handshake.process_act_two(&act_two)?;
            let shared_secret = answer_ecdh(local, needs).await?;
            let (act_three, done) = handshake.complete_act_two(shared_secret)?;
            writer.write_all(&act_three).await?;
            let (encryptor, decryptor) = done.transport.split();
            Ok(Self::new(
                reader,
                writer,
                encryptor,
                decryptor,
                done.remote_node_id,
            ))
        })
        .await
    }

    /// Runs the responder side of the handshake on an accepted stream.
    pub async fn accept(
        stream: TcpStream,
        local: &impl NodeKey,
        limit: Duration,
    ) -> Result<Self, PeerError> {
        within(limit, "during the handshake", async {
            stream.set_nodelay(true)?;
            let (mut reader, mut writer) = stream.into_split();
            let mut handshake = ResponderHandshake::new(local.node_id());
            let mut act_one = [0u8; ACT_ONE_LEN];
            reader.read_exact(&mut act_one).await?;
            let needs = handshake.process_act_one(&act_one)?;
            let shared_secret = answer_ecdh(local, needs).await?;
            writer
                .write_all(&handshake.complete_act_one(shared_secret)?)
                .await?;
            let mut act_three = [0u8; ACT_THREE_LEN];
            reader.read_exact(&mut act_three).await?;
            let done = handshake.process_act_three(&act_three)?;
            let (encryptor, decryptor) = done.transport.split();
            Ok(Self::new(
                reader,
                writer,
                encryptor,
                decryptor,
                done.remote_node_id,
            ))
        })
        .await
    }

    fn new(
        reader: OwnedReadHalf,
        writer: OwnedWriteHalf,
        encryptor: Encryptor,
        decryptor: Decryptor,
        remote_node_id: PublicKey,
    ) -> Self {
        PeerConnection {
            reader,
            writer,
            encryptor,
            decryptor,
            remote_node_id,
            read_buf: vec![0u8; 16 * 1024].into_boxed_slice(),
        }
    }

    pub fn remote_node_id(&self) -> PublicKey {
        self.remote_node_id
    }

    /// Sends one framed message (type + payload), however it was built.
    pub async fn send_raw(&mut self, framed: &[u8]) -> Result<(), PeerError> {
        let ciphertext = self.encryptor.encrypt_message(framed)?;
        self.writer.write_all(&ciphertext).await?;
        Ok(())
    }

    pub async fn send(&mut self, message: &Message) -> Result<(), PeerError> {
        self.send_raw(&message.encode()).await
    }

    /// The next whole decrypted message, type + payload.
    pub async fn recv_raw(&mut self) -> Result<Vec<u8>, PeerError> {
        loop {
            if let Some(message) = self.decryptor.next_message()? {
                return Ok(message);
            }
            let n = self.reader.read(&mut self.read_buf).await?;
            if n == 0 {
                return Err(PeerError::Closed);
            }
            self.decryptor.feed(&self.read_buf[..n]);
        }
    }

    /// The next message, decoded. Unknown even types are a [`DecodeError::UnknownEvenMessage`].
    pub async fn recv(&mut self) -> Result<Message, PeerError> {
        let raw = self.recv_raw().await?;
        Ok(message::decode(&raw)?)
    }

    /// Sends our `init` and reads theirs, which BOLT 1 requires to be the first message.
    pub async fn exchange_init(&mut self, ours: &Init, limit: Duration) -> Result<Init, PeerError> {
        self.send_raw(&ours.encode()).await?;
        within(limit, "waiting for init", async {
            match self.recv().await? {
                Message::Init(init) => Ok(init),
                other => Err(PeerError::NoInit(other.name())),
            }
        })
        .await
    }

    pub async fn shutdown(mut self) {
        let _ = self.writer.shutdown().await;
    }
}

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
