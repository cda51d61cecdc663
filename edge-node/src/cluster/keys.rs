//! Every Redis key the cluster uses is built here (the table is in the [`super`] module docs).

use std::time::Duration;

use secp256k1::PublicKey;

pub const LEASE_PREFIX: &str = "edge:lease:";
pub const LEASE_COUNTER_PREFIX: &str = "edge:lease-token:";
pub const INBOX_PREFIX: &str = "edge:inbox:";
pub const REPLY_PREFIX: &str = "edge:reply:";
pub const REGISTRY_PREFIX: &str = "edge:registry:";
/// Sorted set of edge ids scored by their last heartbeat (Redis server time, ms).
pub const REGISTRY_LIVE: &str = "edge:live";

/// Longest edge id accepted.
pub const MAX_EDGE_ID_LEN: usize = 64;

/// Edge ids go into keys and into the lease value, so they are kept to `[A-Za-z0-9_.-]{1,64}`.
pub fn validate_edge_id(edge_id: &str) -> Result<(), InvalidEdgeId> {
    let key_safe = edge_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if edge_id.is_empty() || edge_id.len() > MAX_EDGE_ID_LEN || !key_safe {
        return Err(InvalidEdgeId(edge_id.to_owned()));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("edge id {0:?} is not key-safe (1-64 of [A-Za-z0-9_.-])")]
pub struct InvalidEdgeId(pub String);

/// `edge:lease:<node hex>:<peer hex>`: `<token>:<connection id>:<edge id>`, with PX expiry.
pub fn lease(node: &PublicKey, peer: &PublicKey) -> String {
    format!("{LEASE_PREFIX}{node}:{peer}")
}

/// `edge:lease-token:<node hex>:<peer hex>`: the INCR counter tokens come from. Never expires:
/// a reset counter would hand out tokens smaller than a connection still alive somewhere.
pub fn lease_counter(node: &PublicKey, peer: &PublicKey) -> String {
    format!("{LEASE_COUNTER_PREFIX}{node}:{peer}")
}

/// `edge:inbox:<edge id>`: list of JSON command envelopes (RPUSH by senders, BLPOP by the owner).
pub fn inbox(edge_id: &str) -> String {
    format!("{INBOX_PREFIX}{edge_id}")
}

/// `edge:reply:<requesting edge id>:<request id>`: list holding one JSON reply.
pub fn reply(edge_id: &str, request_id: &str) -> String {
    format!("{REPLY_PREFIX}{edge_id}:{request_id}")
}

/// `edge:registry:<edge id>`: the edge's JSON record, expiring unless heartbeats renew it.
pub fn registry(edge_id: &str) -> String {
    format!("{REGISTRY_PREFIX}{edge_id}")
}

/// Milliseconds for `PX`/`PEXPIRE`, never 0 (Redis refuses a zero expiry).
pub fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Serde for public keys as 33-byte compressed hex (the secp256k1 serde feature is off).
pub mod pubkey_hex {
    use secp256k1::PublicKey;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &PublicKey, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(key.serialize()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        PublicKey::from_slice(&bytes).map_err(serde::de::Error::custom)
    }
}

/// [`pubkey_hex`] for a list.
pub mod pubkeys_hex {
    use secp256k1::PublicKey;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(keys: &[PublicKey], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(keys.len()))?;
        for key in keys {
            seq.serialize_element(&hex::encode(key.serialize()))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<PublicKey>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| {
                let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
                PublicKey::from_slice(&bytes).map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_ids_must_be_key_safe() {
        assert!(validate_edge_id("edge-1.eu_west").is_ok());
        for bad in ["", "a:b", "a b", "é", &"x".repeat(65)] {
            assert!(validate_edge_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_ttl_becomes_one_millisecond() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_secs(2)), 2000);
    }
}
