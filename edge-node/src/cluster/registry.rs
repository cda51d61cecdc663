//! Which edges are alive, what they serve and which peers they hold.
//!
//! Each edge rewrites `edge:registry:<edge id>` (its JSON [`EdgeRecord`], `PX` ttl) on every
//! heartbeat and adds itself to the sorted set `edge:live`, scored by the heartbeat's Redis
//! server time (one clock for all edges). The record's expiry is what decides liveness: an edge
//! whose heartbeats stop is gone once its record expires, and [`EdgeRegistry::list_live`] drops
//! it from the set then.

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{RedisError, Script};
use secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

use super::keys::{self, pubkey_hex, pubkeys_hex};
use super::lease::{Holder, LeaseError, LeaseStore};

/// Bumped on incompatible record changes; records of other versions are not listed.
pub const RECORD_VERSION: u8 = 1;

/// KEYS: record, live set. ARGV: edge id, record, ttl ms. Returns the server time used (ms).
const HEARTBEAT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now
";

/// KEYS: live set. ARGV: record key prefix. Returns flat (edge id, record, score) triples of
/// edges whose record still exists, and drops the others from the set. Reads record keys it
/// builds itself: fine on a single Redis, which is what the cluster runs on.
const LIST_LIVE: &str = r"
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #members, 2 do
  local id = members[i]
  local record = redis.call('GET', ARGV[1] .. id)
  if record then
    table.insert(out, id)
    table.insert(out, record)
    table.insert(out, members[i + 1])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
";

/// One (node, peer) connection an edge holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerPair {
    #[serde(with = "pubkey_hex")]
    pub node: PublicKey,
    #[serde(with = "pubkey_hex")]
    pub peer: PublicKey,
}

/// What an edge announces with each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeRecord {
    pub version: u8,
    /// The virtual node ids this edge serves.
    #[serde(with = "pubkeys_hex")]
    pub node_ids: Vec<PublicKey>,
    /// Where the edge's JSON-RPC listens, if it has one.
    pub rpc_addr: Option<String>,
    /// The edge's inbox key (`edge:inbox:<edge id>`).
    pub inbox: String,
    pub peers: Vec<PeerPair>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
}

/// A live edge as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEdge {
    pub edge_id: String,
    pub record: EdgeRecord,
    /// Redis server time of its last heartbeat, ms since the Unix epoch.
    pub last_heartbeat_ms: u64,
}

/// Where a peer's connection lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLocation {
    pub holder: Holder,
    pub record: EdgeRecord,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error("edge id {0:?} is not key-safe")]
    InvalidEdgeId(String),
    #[error("could not encode the edge record: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("lease lookup: {0}")]
    Lease(#[from] LeaseError),
}

/// The registry in Redis. Cheap to clone.
#[derive(Clone)]
pub struct EdgeRegistry {
    conn: ConnectionManager,
    heartbeat: Script,
    list_live: Script,
}

impl std::fmt::Debug for EdgeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeRegistry").finish_non_exhaustive()
    }
}

impl EdgeRegistry {
    pub fn new(conn: ConnectionManager) -> Self {
        EdgeRegistry {
            conn,
            heartbeat: Script::new(HEARTBEAT),
            list_live: Script::new(LIST_LIVE),
        }
    }

    /// Writes `record` for `edge_id`, alive for `ttl` unless renewed. Returns the server time of
    /// the heartbeat (ms).
    pub async fn heartbeat(
        &self,
        edge_id: &str,
        record: &EdgeRecord,
        ttl: Duration,
    ) -> Result<u64, RegistryError> {
        keys::validate_edge_id(edge_id).map_err(|e| RegistryError::InvalidEdgeId(e.0))?;
        let encoded = serde_json::to_string(record).map_err(RegistryError::Encode)?;
        let mut conn = self.conn.clone();
        let now: u64 = self
            .heartbeat
            .key(keys::registry(edge_id))
            .key(keys::REGISTRY_LIVE)
            .arg(edge_id)
            .arg(encoded)
            .arg(keys::ttl_ms(ttl))
            .invoke_async(&mut conn)
            .await?;
        Ok(now)
    }

    /// Edges whose record has not expired, oldest heartbeat first. Records that do not decode
    /// (another version) are left out.
    pub async fn list_live(&self) -> Result<Vec<LiveEdge>, RegistryError> {
        let mut conn = self.conn.clone();
        let flat: Vec<String> = self
            .list_live
            .key(keys::REGISTRY_LIVE)
            .arg(keys::REGISTRY_PREFIX)
            .invoke_async(&mut conn)
            .await?;
        Ok(flat
            .chunks_exact(3)
            .filter_map(|triple| match triple {
                [edge_id, record, score] => Some(LiveEdge {
                    edge_id: edge_id.clone(),
                    record: decode_record(record)?,
                    last_heartbeat_ms: score.parse::<f64>().ok().map(|ms| ms as u64)?,
                }),
                _ => None,
            })
            .collect())
    }

    /// The edge's record, if it is alive.
    pub async fn get(&self, edge_id: &str) -> Result<Option<EdgeRecord>, RegistryError> {
        keys::validate_edge_id(edge_id).map_err(|e| RegistryError::InvalidEdgeId(e.0))?;
        let mut conn = self.conn.clone();
        let stored: Option<String> = ::redis::cmd("GET")
            .arg(keys::registry(edge_id))
            .query_async(&mut conn)
            .await?;
        Ok(stored.as_deref().and_then(decode_record))
    }

    /// Takes the edge out at once (clean shutdown), instead of waiting for its ttl.
    pub async fn remove(&self, edge_id: &str) -> Result<(), RegistryError> {
        keys::validate_edge_id(edge_id).map_err(|e| RegistryError::InvalidEdgeId(e.0))?;
        let mut conn = self.conn.clone();
        let () = ::redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(keys::registry(edge_id))
            .ignore()
            .cmd("ZREM")
            .arg(keys::REGISTRY_LIVE)
            .arg(edge_id)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The edge holding `(node, peer)`: the lease holder, if that edge is alive. A lease left by
    /// a dead edge (not yet expired) answers `None`.
    pub async fn find_peer(
        &self,
        leases: &LeaseStore,
        node: &PublicKey,
        peer: &PublicKey,
    ) -> Result<Option<PeerLocation>, RegistryError> {
        let Some(holder) = leases.holder(node, peer).await? else {
            return Ok(None);
        };
        let Some(record) = self.get(&holder.edge_id).await? else {
            return Ok(None);
        };
        Ok(Some(PeerLocation { holder, record }))
    }
}

fn decode_record(stored: &str) -> Option<EdgeRecord> {
    serde_json::from_str::<EdgeRecord>(stored)
        .ok()
        .filter(|record| record.version == RECORD_VERSION)
}
