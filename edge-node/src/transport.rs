//! One BOLT 8 connection on tokio, built from `lnfleet-wire`'s sans-IO handshake and cipher
//! state. The handshake's static-key ECDH goes through [`NodeKey`]: on an edge that is the HSM
//! ([`HsmNodeKey`]), so no edge process ever holds a node secret.
//!
//! [`PeerConnection`] is a whole connection (handshake, then send/receive); a peer actor splits
//! it into a [`PeerReader`] and a [`PeerWriter`] so reading and writing proceed independently.

use std::time::Duration;

use lnfleet_actors::hsm::HsmClient;
use lnfleet_wire::bolt1::Init;
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::noise::{
    Decryptor, EcdhError, Encryptor, HandshakeError, InitiatorHandshake, LocalStaticKey, NeedsEcdh,
    ResponderHandshake, StaticKeyEcdh, TransportError, ACT_ONE_LEN, ACT_THREE_LEN, ACT_TWO_LEN,
};
use lnfleet_wire::{DecodeError, WireMessage};
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

/// Bytes read from the socket at once. Every connection holds this buffer for its whole life, and
/// for an idle peer it is most of the connection's memory: 4 KiB instead of 16 KiB took an
/// idle peer from about 26 to 14 KiB of edge RSS (`benches/edge_load.rs`), for a few percent
/// more CPU on messages larger than the buffer; most messages (gossip, pings) fit in one read.
const READ_BUFFER_LEN: usize = 4 * 1024;

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
            read_buf: vec![0u8; READ_BUFFER_LEN].into_boxed_slice(),
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

    /// Splits the connection so reading and writing can run in different tasks.
    pub fn into_split(self) -> (PeerReader, PeerWriter) {
        (
            PeerReader {
                reader: self.reader,
                decryptor: self.decryptor,
                read_buf: self.read_buf,
            },
            PeerWriter {
                writer: self.writer,
                encryptor: self.encryptor,
            },
        )
    }
}

/// The receiving half of a [`PeerConnection`].
pub struct PeerReader {
    reader: OwnedReadHalf,
    decryptor: Decryptor,
    read_buf: Box<[u8]>,
}

impl PeerReader {
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
}

/// The sending half of a [`PeerConnection`].
pub struct PeerWriter {
    writer: OwnedWriteHalf,
    encryptor: Encryptor,
}

impl PeerWriter {
    /// Encrypts and writes one framed message (type + payload).
    pub async fn send_raw(&mut self, framed: &[u8]) -> Result<(), PeerError> {
        let ciphertext = self.encryptor.encrypt_message(framed)?;
        self.writer.write_all(&ciphertext).await?;
        Ok(())
    }

    /// Encrypts several framed messages into one write.
    pub async fn send_batch(&mut self, framed: &[&[u8]]) -> Result<(), PeerError> {
        let ciphertext = self.encryptor.encrypt_batch(framed)?;
        self.writer.write_all(&ciphertext).await?;
        Ok(())
    }

    pub async fn shutdown(mut self) {
        let _ = self.writer.shutdown().await;
    }
}
