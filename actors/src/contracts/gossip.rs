//! Validated gossip on `ln.gossip.valid`, the cluster's gossip store.
//!
//! Keys: `c/<scid>` (channel_announcement), `u/<scid>/<direction>` (channel_update),
//! `n/<node id hex>` (node_announcement), scids as `BLOCKxTXxOUT`. A record with an empty value
//! (a tombstone) removes the key: the channel was pruned. The broker may or may not compact the
//! topic; readers replay it from the start and keep, per key, the record with the highest
//! `timestamp` (channel announcements have none and keep the first).

use serde::{Deserialize, Serialize};

use super::Contract;

/// One accepted gossip message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidGossip {
    /// The message exactly as received (u16 type + payload): signatures cover these bytes.
    pub message: Vec<u8>,
    /// The message's own timestamp (`channel_update`, `node_announcement`); 0 for a
    /// `channel_announcement`.
    pub timestamp: u32,
    /// When the validator accepted it (ms since the Unix epoch).
    pub accepted_at_ms: u64,
    /// The edge and peer it first came from.
    pub origin_edge: String,
    pub origin_peer: Vec<u8>,
}

impl Contract for ValidGossip {
    const NAME: &'static str = "valid_gossip";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{decode, encode};

    #[test]
    fn round_trips_and_refuses_truncation() {
        let gossip = ValidGossip {
            message: vec![1, 2, 0xaa],
            timestamp: 1_700_000_000,
            accepted_at_ms: 1_700_000_000_123,
            origin_edge: "edge-1".into(),
            origin_peer: vec![2; 33],
        };
        let bytes = encode(&gossip);
        assert_eq!(decode::<ValidGossip>(&bytes).unwrap(), gossip);
        for len in 0..bytes.len() {
            assert!(decode::<ValidGossip>(&bytes[..len]).is_err());
        }
    }
}
