//! Custom peer messages on `ln.custommsg`: Core Lightning's `custommsg` hook, cluster-wide.
//!
//! Key: the peer id (hex), so one peer's messages stay in order on one partition.

use serde::{Deserialize, Serialize};

use super::Contract;

/// An unknown odd-typed message a peer sent to one of our node ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomMessage {
    /// Our node id the peer is connected to (compressed public key).
    pub node_id: Vec<u8>,
    /// The peer that sent it (compressed public key).
    pub peer_id: Vec<u8>,
    /// The edge process holding the connection.
    pub edge_id: String,
    /// Milliseconds since the Unix epoch, by the edge's clock.
    pub received_at_ms: u64,
    /// The whole message: u16 type followed by the payload (Core Lightning's `payload`).
    pub payload: Vec<u8>,
}

impl Contract for CustomMessage {
    const NAME: &'static str = "custom_message";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{decode, encode};

    #[test]
    fn round_trips_and_refuses_truncation() {
        let message = CustomMessage {
            node_id: vec![2; 33],
            peer_id: vec![3; 33],
            edge_id: "edge-1".into(),
            received_at_ms: 1_700_000_000_000,
            payload: vec![0x80, 0x01, 0xaa],
        };
        let bytes = encode(&message);
        assert_eq!(decode::<CustomMessage>(&bytes).unwrap(), message);
        assert!(decode::<CustomMessage>(&bytes[..bytes.len() - 2]).is_err());
    }
}
