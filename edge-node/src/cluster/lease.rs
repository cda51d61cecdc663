//! Peer leases with fencing tokens: which edge owns the connection to one peer of one virtual
//! node. The newest connection always wins; every acquire draws a strictly larger token from a
//! per-key counter in the same Lua script that writes the lease, so an older holder can be told
//! apart and refused (renew, release and fenced writes compare the whole lease value).

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{RedisError, Script, Value};
use secp256k1::PublicKey;

use super::keys;
use crate::hooks::ConnectionId;

/// Takes the lease unconditionally: bumps the counter, remembers the previous holder, writes the
/// new one with its expiry. KEYS: lease, counter. ARGV: edge id, connection id, ttl ms.
const ACQUIRE: &str = r"
local token = redis.call('INCR', KEYS[2])
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[2] .. ':' .. ARGV[1], 'PX', ARGV[3])
return {token, previous}
";

/// Extends the lease only while it is still ours. KEYS: lease. ARGV: expected value, ttl ms.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lease only while it is still ours. KEYS: lease. ARGV: expected value.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Writes another key only while the lease is still ours. KEYS: lease, target. ARGV: expected
/// value, value to write, ttl ms (0: no expiry).
const FENCED_SET: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
";

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub edge_id: String,
    pub connection_id: ConnectionId,
    pub token: u64,
}

impl Holder {
    /// The stored form, `<token>:<connection id>:<edge id>` (edge ids may not contain `:` anyway,
    /// but it is last so parsing never depends on that).
    fn encode(&self) -> String {
        format!("{}:{}:{}", self.token, self.connection_id, self.edge_id)
    }

    fn decode(stored: &str) -> Option<Holder> {
        let mut parts = stored.splitn(3, ':');
        let token = parts.next()?.parse().ok()?;
        let connection_id = parts.next()?.parse().ok()?;
        let edge_id = parts.next()?.to_owned();
        keys::validate_edge_id(&edge_id).ok()?;
        Some(Holder {
            edge_id,
            connection_id,
            token,
        })
    }
}

/// A lease this edge took for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub node: PublicKey,
    pub peer: PublicKey,
    pub edge_id: String,
    pub connection_id: ConnectionId,
    /// Strictly increasing per (node, peer): a larger token is a newer connection.
    pub token: u64,
    pub ttl: Duration,
    /// Whoever held it just before (and lost it to this acquire), if the lease was live.
    pub previous: Option<Holder>,
}

impl Lease {
    pub fn holder(&self) -> Holder {
        Holder {
            edge_id: self.edge_id.clone(),
            connection_id: self.connection_id,
            token: self.token,
        }
    }
}

/// Why a lease operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("edge id {edge_id:?} is not key-safe (1-64 of [A-Za-z0-9_.-])")]
    InvalidEdgeId { edge_id: String },
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error("unexpected reply from the lease script: {0}")]
    UnexpectedReply(String),
}

/// Leases in Redis. Cheap to clone (shares the connection).
#[derive(Clone)]
pub struct LeaseStore {
    conn: ConnectionManager,
    acquire: Script,
    renew: Script,
    release: Script,
    fenced_set: Script,
}

impl std::fmt::Debug for LeaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseStore").finish_non_exhaustive()
    }
}

impl LeaseStore {
    pub fn new(conn: ConnectionManager) -> Self {
        LeaseStore {
            conn,
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            fenced_set: Script::new(FENCED_SET),
        }
    }

    /// Takes the lease for `(node, peer)` for this connection, stealing it from any holder.
    pub async fn acquire(
        &self,
        node: &PublicKey,
        peer: &PublicKey,
        edge_id: &str,
        connection_id: ConnectionId,
        ttl: Duration,
    ) -> Result<Lease, LeaseError> {
        keys::validate_edge_id(edge_id).map_err(|_| LeaseError::InvalidEdgeId {
            edge_id: edge_id.to_owned(),
        })?;
        let mut conn = self.conn.clone();
        let reply: Value = self
            .acquire
            .key(keys::lease(node, peer))
            .key(keys::lease_counter(node, peer))
            .arg(edge_id)
            .arg(connection_id)
            .arg(keys::ttl_ms(ttl))
            .invoke_async(&mut conn)
            .await?;
        let (token, previous) = parse_acquire_reply(reply)?;
        Ok(Lease {
            node: *node,
            peer: *peer,
            edge_id: edge_id.to_owned(),
            connection_id,
            token,
            ttl,
            previous,
        })
    }

    /// Extends the lease by its ttl; `false` if it was taken over or expired (the holder must
    /// stop acting for the peer).
    pub async fn renew(&self, lease: &Lease) -> Result<bool, LeaseError> {
        let mut conn = self.conn.clone();
        let renewed: i64 = self
            .renew
            .key(keys::lease(&lease.node, &lease.peer))
            .arg(lease.holder().encode())
            .arg(keys::ttl_ms(lease.ttl))
            .invoke_async(&mut conn)
            .await?;
        Ok(renewed == 1)
    }

    /// Gives the lease up; `false` if it was no longer ours (nothing is deleted then).
    pub async fn release(&self, lease: &Lease) -> Result<bool, LeaseError> {
        let mut conn = self.conn.clone();
        let released: i64 = self
            .release
            .key(keys::lease(&lease.node, &lease.peer))
            .arg(lease.holder().encode())
            .invoke_async(&mut conn)
            .await?;
        Ok(released == 1)
    }

    /// Sets `key` to `value` only while `lease` is current (a replaced holder's late write is
    /// refused). `ttl` of `None` writes without expiry. `false` when refused.
    pub async fn fenced_set(
        &self,
        lease: &Lease,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, LeaseError> {
        let mut conn = self.conn.clone();
        let written: i64 = self
            .fenced_set
            .key(keys::lease(&lease.node, &lease.peer))
            .key(key)
            .arg(lease.holder().encode())
            .arg(value)
            .arg(ttl.map(keys::ttl_ms).unwrap_or(0))
            .invoke_async(&mut conn)
            .await?;
        Ok(written == 1)
    }

    /// The current holder, if the lease is live.
    pub async fn holder(
        &self,
        node: &PublicKey,
        peer: &PublicKey,
    ) -> Result<Option<Holder>, LeaseError> {
        let mut conn = self.conn.clone();
        let stored: Option<String> = ::redis::cmd("GET")
            .arg(keys::lease(node, peer))
            .query_async(&mut conn)
            .await?;
        Ok(stored.as_deref().and_then(Holder::decode))
    }
}

fn parse_acquire_reply(reply: Value) -> Result<(u64, Option<Holder>), LeaseError> {
    let unexpected = |reply: &Value| LeaseError::UnexpectedReply(format!("{reply:?}"));
    let Value::Array(items) = &reply else {
        return Err(unexpected(&reply));
    };
    let token = match items.first() {
        Some(Value::Int(token)) => u64::try_from(*token).map_err(|_| unexpected(&reply))?,
        _ => return Err(unexpected(&reply)),
    };
    // Lua's `false` (no previous value) arrives as nil, or the array is cut short.
    let previous = match items.get(1) {
        Some(Value::BulkString(bytes)) => std::str::from_utf8(bytes).ok().and_then(Holder::decode),
        _ => None,
    };
    Ok((token, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_round_trips_through_its_stored_form() {
        let holder = Holder {
            edge_id: "edge-a.1".into(),
            connection_id: 42,
            token: 7,
        };
        assert_eq!(Holder::decode(&holder.encode()), Some(holder));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lease_values_never_panic(stored in "[0-9:a-z-]{0,40}") {
            if let Some(holder) = Holder::decode(&stored) {
                proptest::prop_assert_eq!(Holder::decode(&holder.encode()), Some(holder));
            }
        }
    }

    #[test]
    fn garbled_holder_values_decode_to_none() {
        for stored in ["", "x:1:a", "1:y:a", "1:2", "1:2:", "-1:2:a", "1:2:a b"] {
            assert_eq!(Holder::decode(stored), None, "{stored}");
        }
    }
}
