//! How a request proves which client sent it, and what that client may ask.
//!
//! Every client (an edge pod, the gossip service) holds a [`ClientCredential`]: a client id and a
//! 32-byte HMAC-SHA256 key the HSM shares. A request travels as a [`RequestEnvelope`]:
//! `(client id, request id, timestamp ms, payload)` and an HMAC tag over a length-prefixed
//! encoding of those four, so Redis (or anyone who can write to it) cannot forge, alter or
//! re-attribute a request. The HSM answers in a [`ReplyEnvelope`] tagged with the same key, so a
//! client cannot be fed a forged answer either.
//!
//! The HSM's [`Authenticator`] checks, in order: the envelope decodes, the client is known, the
//! tag is right (constant-time), the timestamp is within the allowed clock skew, the payload is
//! an [`HsmRequest`], the client holds its [`Permission`], and the request id is not a replay.
//!
//! Replay protection here is a bounded in-memory cache covering the skew window: the same
//! request id with the same payload is a [`Verdict::Duplicate`] (an idempotent retry: the HSM
//! answers with what it answered before), the same id with another payload is refused. It is
//! per HSM replica and forgets on restart; the durable idempotency store that survives both is
//! the HSM's own (hsm-service), keyed by `(client id, request id)`; it must keep final answers
//! only, never a `Transient` one, or a retry would get the same transient failure. Timestamps are wall-clock
//! milliseconds because they are compared across machines.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::contract::{HsmReply, HsmRequest, Permission};
use crate::contracts::{self, Contract, ContractError};

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: a request tag can never be presented as a reply tag or the reverse.
const REQUEST_TAG_DOMAIN: &[u8] = b"lnfleet-hsm-request-v1";
const REPLY_TAG_DOMAIN: &[u8] = b"lnfleet-hsm-reply-v1";
/// Longest client id; ids appear in Redis keys.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// Milliseconds since the Unix epoch by the wall clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Client ids go into Redis keys (`hsm:reply:<client id>:...`), so they are restricted to
    /// `[A-Za-z0-9_.-]`, 1 to 64 characters.
    #[error("invalid client id {0:?}: use 1 to 64 of [A-Za-z0-9_.-]")]
    InvalidClientId(String),
}

/// Checks a client id is safe to put in a Redis key.
pub fn validate_client_id(client_id: &str) -> Result<(), CredentialError> {
    let valid = !client_id.is_empty()
        && client_id.len() <= MAX_CLIENT_ID_LEN
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(CredentialError::InvalidClientId(client_id.to_owned()))
    }
}

/// A client's identity and the key it shares with the HSM.
#[derive(Clone)]
pub struct ClientCredential {
    client_id: String,
    key: [u8; 32],
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("ClientCredential")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientCredential {
    pub fn new(client_id: impl Into<String>, key: [u8; 32]) -> Result<Self, CredentialError> {
        let client_id = client_id.into();
        validate_client_id(&client_id)?;
        Ok(ClientCredential { client_id, key })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Wraps an encoded [`HsmRequest`] for the HSM.
    pub fn seal_request(
        &self,
        request_id: [u8; 16],
        timestamp_ms: u64,
        payload: Vec<u8>,
    ) -> RequestEnvelope {
        let tag = request_tag(
            &self.key,
            &self.client_id,
            &request_id,
            timestamp_ms,
            &payload,
        );
        RequestEnvelope {
            client_id: self.client_id.clone(),
            request_id,
            timestamp_ms,
            payload,
            tag,
        }
    }

    /// Checks and decodes the HSM's reply to `request_id`.
    pub fn open_reply(&self, bytes: &[u8], request_id: [u8; 16]) -> Result<HsmReply, ReplyError> {
        let envelope: ReplyEnvelope = contracts::decode(bytes).map_err(ReplyError::Malformed)?;
        if envelope.request_id != request_id {
            return Err(ReplyError::WrongRequest);
        }
        reply_mac(&self.key, &self.client_id, &request_id, &envelope.payload)
            .verify_slice(&envelope.tag)
            .map_err(|_| ReplyError::BadTag)?;
        let reply: HsmReply =
            contracts::decode(&envelope.payload).map_err(ReplyError::Malformed)?;
        if reply.request_id != request_id {
            return Err(ReplyError::WrongRequest);
        }
        Ok(reply)
    }
}

/// Why a reply from Redis was not accepted by the client.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("malformed hsm reply: {0}")]
    Malformed(#[source] ContractError),
    #[error("hsm reply tag does not verify")]
    BadTag,
    #[error("hsm reply is for another request")]
    WrongRequest,
}

/// A signed request as it sits in the Redis stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    pub client_id: String,
    /// Random, chosen by the client; the same for retries of one request (idempotency key).
    pub request_id: [u8; 16],
    pub timestamp_ms: u64,
    /// An encoded [`HsmRequest`] (see [`contracts::encode`]).
    pub payload: Vec<u8>,
    pub tag: [u8; 32],
}

impl Contract for RequestEnvelope {
    const NAME: &'static str = "hsm_request_envelope";
    const VERSION: u16 = 1;
}

/// A signed reply as it sits in a reply list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyEnvelope {
    pub request_id: [u8; 16],
    /// An encoded [`HsmReply`].
    pub payload: Vec<u8>,
    pub tag: [u8; 32],
}

impl Contract for ReplyEnvelope {
    const NAME: &'static str = "hsm_reply_envelope";
    const VERSION: u16 = 1;
}

fn mac_with(key: &[u8; 32], domain: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, a 32-byte key cannot be refused.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    update_prefixed(&mut mac, domain);
    mac
}

/// Each field with its u64 big-endian length in front, so no two field lists encode alike.
fn update_prefixed(mac: &mut HmacSha256, field: &[u8]) {
    mac.update(&u64::try_from(field.len()).unwrap_or(u64::MAX).to_be_bytes());
    mac.update(field);
}

fn request_mac(
    key: &[u8; 32],
    client_id: &str,
    request_id: &[u8; 16],
    timestamp_ms: u64,
    payload: &[u8],
) -> HmacSha256 {
    let mut mac = mac_with(key, REQUEST_TAG_DOMAIN);
    update_prefixed(&mut mac, client_id.as_bytes());
    update_prefixed(&mut mac, request_id);
    update_prefixed(&mut mac, &timestamp_ms.to_be_bytes());
    update_prefixed(&mut mac, payload);
    mac
}

fn request_tag(
    key: &[u8; 32],
    client_id: &str,
    request_id: &[u8; 16],
    timestamp_ms: u64,
    payload: &[u8],
) -> [u8; 32] {
    request_mac(key, client_id, request_id, timestamp_ms, payload)
        .finalize()
        .into_bytes()
        .into()
}

fn reply_mac(key: &[u8; 32], client_id: &str, request_id: &[u8; 16], payload: &[u8]) -> HmacSha256 {
    let mut mac = mac_with(key, REPLY_TAG_DOMAIN);
    update_prefixed(&mut mac, client_id.as_bytes());
    update_prefixed(&mut mac, request_id);
    update_prefixed(&mut mac, payload);
    mac
}

/// Why the HSM refused a request before looking at what it asks. Each variant is a metric label
/// ([`AuthError::kind`]).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("malformed request envelope: {0}")]
    MalformedEnvelope(#[source] ContractError),
    #[error("unknown client {client_id:?}")]
    UnknownClient { client_id: String },
    #[error("request tag from client {client_id} does not verify")]
    BadTag { client_id: String },
    #[error("request from {client_id} is {age_ms} ms old, beyond the allowed skew")]
    Stale {
        client_id: String,
        request_id: [u8; 16],
        age_ms: u64,
    },
    #[error("request from {client_id} is {ahead_ms} ms in the future, beyond the allowed skew")]
    FromFuture {
        client_id: String,
        request_id: [u8; 16],
        ahead_ms: u64,
    },
    #[error("request payload from {client_id} is not an hsm request: {source}")]
    MalformedRequest {
        client_id: String,
        request_id: [u8; 16],
        #[source]
        source: ContractError,
    },
    #[error("client {client_id} lacks permission {permission:?}")]
    MissingPermission {
        client_id: String,
        request_id: [u8; 16],
        permission: Permission,
    },
    #[error("client {client_id} reused a request id with another payload")]
    Replay {
        client_id: String,
        request_id: [u8; 16],
    },
}

impl AuthError {
    /// Bounded metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::MalformedEnvelope(_) => "malformed_envelope",
            AuthError::UnknownClient { .. } => "unknown_client",
            AuthError::BadTag { .. } => "bad_tag",
            AuthError::Stale { .. } => "stale",
            AuthError::FromFuture { .. } => "from_future",
            AuthError::MalformedRequest { .. } => "malformed_request",
            AuthError::MissingPermission { .. } => "missing_permission",
            AuthError::Replay { .. } => "replay",
        }
    }

    /// Whom the HSM should tell it refused, if anyone: only a request whose tag verified, since
    /// otherwise the reply key comes from whoever forged it, and never a replay, whose reply key
    /// belongs to the original request.
    pub fn reply_target(&self) -> Option<(&str, [u8; 16])> {
        match self {
            AuthError::Stale {
                client_id,
                request_id,
                ..
            }
            | AuthError::FromFuture {
                client_id,
                request_id,
                ..
            }
            | AuthError::MalformedRequest {
                client_id,
                request_id,
                ..
            }
            | AuthError::MissingPermission {
                client_id,
                request_id,
                ..
            } => Some((client_id, *request_id)),
            AuthError::MalformedEnvelope(_)
            | AuthError::UnknownClient { .. }
            | AuthError::BadTag { .. }
            | AuthError::Replay { .. } => None,
        }
    }
}

/// `lnfleet_hsm_auth_refusals_total{reason}`: requests the HSM refused before looking at them,
/// by [`AuthError::kind`]. For hsm-service to register and feed.
#[derive(Debug, Clone)]
pub struct AuthMetrics {
    refusals: prometheus::IntCounterVec,
}

impl AuthMetrics {
    pub fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let refusals = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "lnfleet_hsm_auth_refusals_total",
                "HSM requests refused by authentication or authorization, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(refusals.clone()))?;
        Ok(AuthMetrics { refusals })
    }

    pub fn record(&self, error: &AuthError) {
        self.refusals.with_label_values(&[error.kind()]).inc();
    }
}

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedRequest {
    pub client_id: String,
    pub request_id: [u8; 16],
    pub request: HsmRequest,
}

/// What the HSM should do with an authorized request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// First time this replica sees this request id: carry it out.
    Fresh(AuthorizedRequest),
    /// A retry of a request seen within the skew window (same id, same payload): answer what was
    /// answered before (from the HSM's idempotency store), do not sign twice.
    Duplicate(AuthorizedRequest),
}

impl Verdict {
    pub fn request(&self) -> &AuthorizedRequest {
        match self {
            Verdict::Fresh(request) | Verdict::Duplicate(request) => request,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// How far a request's timestamp may be from the HSM's clock, either way.
    pub max_clock_skew: Duration,
    /// Request ids remembered for replay detection; the oldest is forgotten first when full.
    pub replay_cache_capacity: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            max_clock_skew: Duration::from_secs(30),
            replay_cache_capacity: 100_000,
        }
    }
}

struct RegisteredClient {
    key: [u8; 32],
    permissions: BTreeSet<Permission>,
}

/// The HSM's side: which clients exist and what each may ask.
pub struct Authenticator {
    config: AuthConfig,
    clients: HashMap<String, RegisteredClient>,
    recent: Mutex<ReplayCache>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.config)
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(config: AuthConfig) -> Self {
        let recent = Mutex::new(ReplayCache::new(config.replay_cache_capacity));
        Authenticator {
            config,
            clients: HashMap::new(),
            recent,
        }
    }

    /// Adds (or replaces) a client and its permissions.
    pub fn register(
        &mut self,
        credential: &ClientCredential,
        permissions: impl IntoIterator<Item = Permission>,
    ) {
        self.clients.insert(
            credential.client_id.clone(),
            RegisteredClient {
                key: credential.key,
                permissions: permissions.into_iter().collect(),
            },
        );
    }

    /// Checks an encoded [`RequestEnvelope`] against the wall clock.
    pub fn verify(&self, envelope: &[u8]) -> Result<Verdict, AuthError> {
        self.verify_at(envelope, now_ms())
    }

    /// Checks an encoded [`RequestEnvelope`] as of `now_ms`.
    pub fn verify_at(&self, envelope: &[u8], now_ms: u64) -> Result<Verdict, AuthError> {
        let envelope: RequestEnvelope =
            contracts::decode(envelope).map_err(AuthError::MalformedEnvelope)?;
        let RequestEnvelope {
            client_id,
            request_id,
            timestamp_ms,
            payload,
            tag,
        } = envelope;
        let Some(client) = self.clients.get(&client_id) else {
            return Err(AuthError::UnknownClient { client_id });
        };
        if request_mac(&client.key, &client_id, &request_id, timestamp_ms, &payload)
            .verify_slice(&tag)
            .is_err()
        {
            return Err(AuthError::BadTag { client_id });
        }
        let skew_ms = u64::try_from(self.config.max_clock_skew.as_millis()).unwrap_or(u64::MAX);
        if timestamp_ms < now_ms.saturating_sub(skew_ms) {
            return Err(AuthError::Stale {
                client_id,
                request_id,
                age_ms: now_ms - timestamp_ms,
            });
        }
        if timestamp_ms > now_ms.saturating_add(skew_ms) {
            return Err(AuthError::FromFuture {
                client_id,
                request_id,
                ahead_ms: timestamp_ms - now_ms,
            });
        }
        let request: HsmRequest = match contracts::decode(&payload) {
            Ok(request) => request,
            Err(source) => {
                return Err(AuthError::MalformedRequest {
                    client_id,
                    request_id,
                    source,
                })
            }
        };
        let permission = request.permission();
        if !client.permissions.contains(&permission) {
            return Err(AuthError::MissingPermission {
                client_id,
                request_id,
                permission,
            });
        }
        let digest: [u8; 32] = Sha256::digest(&payload).into();
        // Twice the skew: a request stays acceptable until its timestamp plus the skew, and it
        // may have been first seen as early as its timestamp minus the skew.
        let window_ms = skew_ms.saturating_mul(2);
        let seen = {
            let mut recent = self
                .recent
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            recent.check_and_insert(&client_id, request_id, digest, now_ms, window_ms)
        };
        let authorized = AuthorizedRequest {
            client_id,
            request_id,
            request,
        };
        match seen {
            Seen::New => Ok(Verdict::Fresh(authorized)),
            Seen::SamePayload => Ok(Verdict::Duplicate(authorized)),
            Seen::OtherPayload => Err(AuthError::Replay {
                client_id: authorized.client_id,
                request_id,
            }),
        }
    }

    /// Encodes and tags the reply to one request, for `client_id`'s key. `None` when the client is
    /// not registered (then nobody can check a reply).
    pub fn seal_reply(&self, client_id: &str, reply: &HsmReply) -> Option<Vec<u8>> {
        let client = self.clients.get(client_id)?;
        let payload = contracts::encode(reply);
        let tag = reply_mac(&client.key, client_id, &reply.request_id, &payload)
            .finalize()
            .into_bytes()
            .into();
        Some(contracts::encode(&ReplyEnvelope {
            request_id: reply.request_id,
            payload,
            tag,
        }))
    }
}

enum Seen {
    New,
    SamePayload,
    OtherPayload,
}

/// Recently seen `(client id, request id)` pairs with a digest of their payload, oldest first.
struct ReplayCache {
    capacity: usize,
    entries: HashMap<(String, [u8; 16]), ([u8; 32], u64)>,
    order: VecDeque<((String, [u8; 16]), u64)>,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        ReplayCache {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn check_and_insert(
        &mut self,
        client_id: &str,
        request_id: [u8; 16],
        digest: [u8; 32],
        now_ms: u64,
        window_ms: u64,
    ) -> Seen {
        self.expire(now_ms, window_ms);
        let key = (client_id.to_owned(), request_id);
        if let Some((seen_digest, _)) = self.entries.get(&key) {
            return if *seen_digest == digest {
                Seen::SamePayload
            } else {
                Seen::OtherPayload
            };
        }
        // Full of live entries: forget the oldest. A flood from authenticated clients then
        // shortens the replay window instead of refusing service; the HSM's durable store
        // still stops a second signature.
        while self.entries.len() >= self.capacity {
            let Some((oldest, _)) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.entries.insert(key.clone(), (digest, now_ms));
        self.order.push_back((key, now_ms));
        Seen::New
    }

    fn expire(&mut self, now_ms: u64, window_ms: u64) {
        while let Some((_, seen_ms)) = self.order.front() {
            if seen_ms.saturating_add(window_ms) > now_ms {
                break;
            }
            if let Some((key, _)) = self.order.pop_front() {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests;
