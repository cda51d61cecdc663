//! Edge inboxes: how one edge asks another to act on a connection it holds.
//!
//! Each edge owns a list `edge:inbox:<edge id>` of JSON [`Envelope`]s. Senders `RPUSH` (and
//! refresh the list's expiry, so a dead edge's inbox disappears); the owner `BLPOP`s it in
//! [`Inbox::next`]. A request that wants an answer names its sender and a random request id; the
//! owner pushes one JSON [`Reply`] to `edge:reply:<sender>:<request id>`, where the sender waits
//! with `BLPOP` until its timeout. Entries that do not decode are counted and skipped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, MultiplexedConnection};
use ::redis::{AsyncConnectionConfig, Client, RedisError};
use secp256k1::PublicKey;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Semaphore};

use super::keys::{self, pubkey_hex};
use super::metrics::ClusterMetrics;

/// Bumped when the envelope changes incompatibly; other versions are counted as garbled.
pub const ENVELOPE_VERSION: u8 = 1;
/// An inbox nobody reads (its edge died) expires this long after the last push.
pub const INBOX_TTL: Duration = Duration::from_secs(120);
/// Inboxes keep at most this many entries (oldest dropped): a stuck edge must not fill Redis.
pub const INBOX_MAX_LEN: i64 = 10_000;
/// A reply nobody took (the requester gave up) expires after this.
pub const REPLY_TTL: Duration = Duration::from_secs(60);
/// Longest single `BLPOP` in [`Inbox::next`]: well under the connection's 10 s response
/// timeout, so a long wait is never mistaken for a dead server.
pub const MAX_INBOX_WAIT: Duration = Duration::from_secs(5);

/// What one edge asks another to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EdgeCommand {
    /// The lease for (node, peer) was taken with `token`: close your connection to that peer if
    /// your own token for it is older.
    ClosePeer {
        #[serde(with = "pubkey_hex")]
        node: PublicKey,
        #[serde(with = "pubkey_hex")]
        peer: PublicKey,
        token: u64,
    },
    /// Dial `addr` as `node`.
    Connect {
        #[serde(with = "pubkey_hex")]
        node: PublicKey,
        #[serde(with = "pubkey_hex")]
        peer: PublicKey,
        addr: String,
    },
    /// Send one framed message (type + payload) to the peer.
    SendCustomMessage {
        #[serde(with = "pubkey_hex")]
        node: PublicKey,
        #[serde(with = "pubkey_hex")]
        peer: PublicKey,
        #[serde(with = "bytes_hex")]
        payload: Vec<u8>,
    },
    /// Close the connection to the peer.
    Disconnect {
        #[serde(with = "pubkey_hex")]
        node: PublicKey,
        #[serde(with = "pubkey_hex")]
        peer: PublicKey,
    },
}

impl EdgeCommand {
    /// Bounded label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            EdgeCommand::ClosePeer { .. } => "close_peer",
            EdgeCommand::Connect { .. } => "connect",
            EdgeCommand::SendCustomMessage { .. } => "send_custom_message",
            EdgeCommand::Disconnect { .. } => "disconnect",
        }
    }

    /// The (node, peer) the command is about.
    pub fn target(&self) -> (PublicKey, PublicKey) {
        match self {
            EdgeCommand::ClosePeer { node, peer, .. }
            | EdgeCommand::Connect { node, peer, .. }
            | EdgeCommand::SendCustomMessage { node, peer, .. }
            | EdgeCommand::Disconnect { node, peer } => (*node, *peer),
        }
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    /// The target edge has no connection to that peer.
    PeerNotConnected,
    /// The target edge's lease for that peer was replaced.
    NotLeaseHolder,
    /// The target edge tried and failed.
    Failed {
        reason: String,
    },
}

/// One inbox entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub version: u8,
    /// 32 hex characters, random per request.
    pub request_id: String,
    /// The sending edge (replies go to `edge:reply:<from_edge>:<request_id>`).
    pub from_edge: String,
    pub wants_reply: bool,
    /// Milliseconds since the Unix epoch after which the sender no longer waits; `None` for
    /// commands that stay meaningful late (`ClosePeer`).
    pub deadline_ms: Option<u64>,
    pub command: EdgeCommand,
}

/// A command read from this edge's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub request_id: String,
    pub from_edge: String,
    pub wants_reply: bool,
    pub command: EdgeCommand,
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error("edge id {0:?} is not key-safe")]
    InvalidEdgeId(String),
    #[error("no reply from edge {target} to request {request_id} within {timeout:?}")]
    Timeout {
        target: String,
        request_id: String,
        timeout: Duration,
    },
    #[error("reply from edge {target} did not decode: {source}")]
    GarbledReply {
        target: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not encode the envelope: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("the reply waiter is closed")]
    Closed,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn new_request_id() -> String {
    hex::encode(secp256k1::rand::random::<[u8; 16]>())
}

fn is_request_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Sends commands to other edges' inboxes and waits for their replies. `BLPOP` holds the
/// connection it runs on, so waits use pooled connections of their own, at most `max_waiting`
/// at once (further requests queue: backpressure, not unbounded connections).
pub struct InboxClient {
    edge_id: String,
    conn: ConnectionManager,
    client: Client,
    idle: Mutex<Vec<MultiplexedConnection>>,
    slots: Semaphore,
    max_idle: usize,
    metrics: Option<ClusterMetrics>,
}

impl std::fmt::Debug for InboxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxClient")
            .field("edge_id", &self.edge_id)
            .finish_non_exhaustive()
    }
}

impl InboxClient {
    /// `edge_id` is this (sending) edge; `client` opens the connections replies are awaited on.
    pub fn new(
        edge_id: &str,
        conn: ConnectionManager,
        client: Client,
        max_waiting: usize,
        metrics: Option<ClusterMetrics>,
    ) -> Result<Self, InboxError> {
        keys::validate_edge_id(edge_id).map_err(|e| InboxError::InvalidEdgeId(e.0))?;
        let max_waiting = max_waiting.max(1);
        Ok(InboxClient {
            edge_id: edge_id.to_owned(),
            conn,
            client,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(max_waiting),
            max_idle: max_waiting,
            metrics,
        })
    }

    pub fn edge_id(&self) -> &str {
        &self.edge_id
    }

    /// Queues `command` for `target` without waiting for an answer; returns the request id.
    pub async fn send(&self, target: &str, command: EdgeCommand) -> Result<String, InboxError> {
        let envelope = self.envelope(command, false, None);
        self.push(target, &envelope).await?;
        Ok(envelope.request_id)
    }

    /// Queues `command` for `target` and waits up to `timeout` for its reply.
    pub async fn request(
        &self,
        target: &str,
        command: EdgeCommand,
        timeout: Duration,
    ) -> Result<Reply, InboxError> {
        let deadline = now_ms().saturating_add(keys::ttl_ms(timeout));
        let envelope = self.envelope(command, true, Some(deadline));
        self.push(target, &envelope).await?;
        let Some(raw) = self.wait_reply(&envelope.request_id, timeout).await? else {
            if let Some(metrics) = &self.metrics {
                metrics.inbox_request_timeouts.inc();
            }
            return Err(InboxError::Timeout {
                target: target.to_owned(),
                request_id: envelope.request_id,
                timeout,
            });
        };
        serde_json::from_slice(&raw).map_err(|source| InboxError::GarbledReply {
            target: target.to_owned(),
            source,
        })
    }

    fn envelope(&self, command: EdgeCommand, wants_reply: bool, deadline: Option<u64>) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            request_id: new_request_id(),
            from_edge: self.edge_id.clone(),
            wants_reply,
            deadline_ms: deadline,
            command,
        }
    }

    async fn push(&self, target: &str, envelope: &Envelope) -> Result<(), InboxError> {
        keys::validate_edge_id(target).map_err(|e| InboxError::InvalidEdgeId(e.0))?;
        let encoded = serde_json::to_vec(envelope).map_err(InboxError::Encode)?;
        let key = keys::inbox(target);
        let mut conn = self.conn.clone();
        let () = ::redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&key)
            .arg(encoded)
            .ignore()
            .cmd("LTRIM")
            .arg(&key)
            .arg(-INBOX_MAX_LEN)
            .arg(-1)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(keys::ttl_ms(INBOX_TTL))
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn wait_reply(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, InboxError> {
        let _slot = self.slots.acquire().await.map_err(|_| InboxError::Closed)?;
        let pooled = self.idle.lock().await.pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let config =
                    AsyncConnectionConfig::new().set_connection_timeout(Duration::from_secs(2));
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?
            }
        };
        let key = keys::reply(&self.edge_id, request_id);
        // BLPOP's own timeout answers; the outer one only guards against a hung server.
        let mut blpop_cmd = ::redis::cmd("BLPOP");
        blpop_cmd.arg(&key).arg(blpop_seconds(timeout));
        let blpop = blpop_cmd.query_async::<Option<(String, Vec<u8>)>>(&mut conn);
        let waited = tokio::time::timeout(timeout + Duration::from_secs(2), blpop).await;
        match waited {
            Ok(Ok(reply)) => {
                self.return_connection(conn).await;
                Ok(reply.map(|(_key, value)| value))
            }
            Ok(Err(error)) => Err(error.into()),
            // The connection may still deliver the late BLPOP answer: drop it, not pool it.
            Err(_elapsed) => Ok(None),
        }
    }

    async fn return_connection(&self, conn: MultiplexedConnection) {
        let mut idle = self.idle.lock().await;
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }
}

/// `BLPOP` takes seconds (decimals allowed since Redis 6); 0 would mean forever.
fn blpop_seconds(wait: Duration) -> f64 {
    wait.as_secs_f64().max(0.01)
}

/// Answers requests read from an inbox. Cheap to clone, so a command can be handled on its own
/// task and answered from there.
#[derive(Clone)]
pub struct Replier {
    conn: ConnectionManager,
}

impl std::fmt::Debug for Replier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replier").finish_non_exhaustive()
    }
}

impl Replier {
    pub fn new(conn: ConnectionManager) -> Self {
        Replier { conn }
    }

    /// Sends `reply` to whoever sent `incoming`; nothing if it wanted no reply.
    pub async fn reply(&self, incoming: &Incoming, reply: &Reply) -> Result<(), InboxError> {
        if !incoming.wants_reply {
            return Ok(());
        }
        let encoded = serde_json::to_vec(reply).map_err(InboxError::Encode)?;
        let key = keys::reply(&incoming.from_edge, &incoming.request_id);
        let mut conn = self.conn.clone();
        let () = ::redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&key)
            .arg(encoded)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(keys::ttl_ms(REPLY_TTL))
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}

/// This edge's inbox (owner side).
pub struct Inbox {
    edge_id: String,
    key: String,
    blocking: ConnectionManager,
    replier: Replier,
    metrics: ClusterMetrics,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("edge_id", &self.edge_id)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// `blocking` is used only for `BLPOP`: give it a connection nothing else uses, and keep
    /// `next`'s wait below its response timeout. `replies` sends answers.
    pub fn new(
        edge_id: &str,
        blocking: ConnectionManager,
        replies: ConnectionManager,
        metrics: ClusterMetrics,
    ) -> Result<Self, InboxError> {
        keys::validate_edge_id(edge_id).map_err(|e| InboxError::InvalidEdgeId(e.0))?;
        Ok(Inbox {
            edge_id: edge_id.to_owned(),
            key: keys::inbox(edge_id),
            blocking,
            replier: Replier::new(replies),
            metrics,
        })
    }

    pub fn edge_id(&self) -> &str {
        &self.edge_id
    }

    pub fn replier(&self) -> Replier {
        self.replier.clone()
    }

    /// The next valid command, waiting up to `wait` (at most [`MAX_INBOX_WAIT`]) for one; `None`
    /// when none came. Garbled and expired entries are counted and skipped.
    pub async fn next(&mut self, wait: Duration) -> Result<Option<Incoming>, InboxError> {
        let deadline = tokio::time::Instant::now() + wait.min(MAX_INBOX_WAIT);
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let popped: Option<(String, Vec<u8>)> = ::redis::cmd("BLPOP")
                .arg(&self.key)
                .arg(blpop_seconds(remaining))
                .query_async(&mut self.blocking)
                .await?;
            let Some((_key, raw)) = popped else {
                return Ok(None);
            };
            match self.accept(&raw) {
                Some(incoming) => return Ok(Some(incoming)),
                None if remaining.is_zero() => return Ok(None),
                None => continue,
            }
        }
    }

    /// Decodes and checks one entry, counting what is skipped.
    fn accept(&self, raw: &[u8]) -> Option<Incoming> {
        let envelope = match decode_envelope(raw) {
            Ok(envelope) => envelope,
            Err(reason) => {
                self.metrics.inbox_garbled.inc();
                tracing::warn!(edge = %self.edge_id, %reason, len = raw.len(), "skipping garbled inbox entry");
                return None;
            }
        };
        if envelope
            .deadline_ms
            .is_some_and(|deadline| deadline < now_ms())
        {
            self.metrics.inbox_expired.inc();
            tracing::debug!(edge = %self.edge_id, request = %envelope.request_id, "skipping expired inbox command");
            return None;
        }
        self.metrics
            .inbox_commands
            .with_label_values(&[envelope.command.kind()])
            .inc();
        Some(Incoming {
            request_id: envelope.request_id,
            from_edge: envelope.from_edge,
            wants_reply: envelope.wants_reply,
            command: envelope.command,
        })
    }
}

/// An envelope, or why it is refused. The sender and request id become a reply key, so both
/// are checked to be key-safe.
pub fn decode_envelope(raw: &[u8]) -> Result<Envelope, String> {
    let envelope: Envelope = serde_json::from_slice(raw).map_err(|error| error.to_string())?;
    if envelope.version != ENVELOPE_VERSION {
        return Err(format!("unknown envelope version {}", envelope.version));
    }
    if keys::validate_edge_id(&envelope.from_edge).is_err() {
        return Err("sender is not a key-safe edge id".to_owned());
    }
    if !is_request_id(&envelope.request_id) {
        return Err("request id is not 32 hex characters".to_owned());
    }
    Ok(envelope)
}

/// Serde for byte strings as hex (compact and readable in `redis-cli`).
mod bytes_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secp256k1::{Secp256k1, SecretKey};

    fn key(byte: u8) -> PublicKey {
        let secret = SecretKey::from_slice(&[byte; 32]).unwrap_or_else(|_| unreachable!());
        PublicKey::from_secret_key(&Secp256k1::new(), &secret)
    }

    #[test]
    fn every_command_round_trips_through_json() {
        let (node, peer) = (key(1), key(2));
        let commands = [
            EdgeCommand::ClosePeer {
                node,
                peer,
                token: 9,
            },
            EdgeCommand::Connect {
                node,
                peer,
                addr: "127.0.0.1:9735".into(),
            },
            EdgeCommand::SendCustomMessage {
                node,
                peer,
                payload: vec![0x80, 0x01, 0xff],
            },
            EdgeCommand::Disconnect { node, peer },
        ];
        for command in commands {
            let envelope = Envelope {
                version: ENVELOPE_VERSION,
                request_id: new_request_id(),
                from_edge: "edge-a".into(),
                wants_reply: true,
                deadline_ms: Some(5),
                command,
            };
            let encoded = serde_json::to_vec(&envelope).unwrap_or_default();
            assert_eq!(decode_envelope(&encoded), Ok(envelope));
        }
    }

    #[test]
    fn envelopes_with_unsafe_reply_addresses_are_refused() {
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            request_id: "00".repeat(16),
            from_edge: "edge:a".into(),
            wants_reply: true,
            deadline_ms: None,
            command: EdgeCommand::Disconnect {
                node: key(1),
                peer: key(2),
            },
        };
        let encoded = serde_json::to_vec(&envelope).unwrap_or_default();
        assert!(decode_envelope(&encoded).is_err());
        let wrong_id = Envelope {
            from_edge: "edge-a".into(),
            request_id: "x".into(),
            ..envelope
        };
        let encoded = serde_json::to_vec(&wrong_id).unwrap_or_default();
        assert!(decode_envelope(&encoded).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_inbox_entries_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode_envelope(&raw);
        }

        #[test]
        fn arbitrary_json_shaped_entries_never_panic(text in r#"\{"(version|request_id|from_edge|command|kind)":[ -~]{0,80}\}"#) {
            let _ = decode_envelope(text.as_bytes());
        }
    }

    #[test]
    fn replies_round_trip_through_json() {
        for reply in [
            Reply::Ok,
            Reply::PeerNotConnected,
            Reply::NotLeaseHolder,
            Reply::Failed {
                reason: "dial".into(),
            },
        ] {
            let encoded = serde_json::to_vec(&reply).unwrap_or_default();
            assert_eq!(serde_json::from_slice::<Reply>(&encoded).ok(), Some(reply));
        }
    }
}
