//! Messages that cross a service boundary. Each is a [`Contract`]: it has a name and a version,
//! and travels as bincode of `(version, body)`, so a reader refuses a version it does not know with
//! a typed error instead of misreading bytes.

pub mod custom;
pub mod gossip;
pub mod payment;
pub use custom::CustomMessage;
pub use gossip::ValidGossip;
pub use payment::{OutcomeHop, OutcomeResult, PaymentOutcome};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A typed, versioned message between services.
pub trait Contract: Serialize + DeserializeOwned {
    const NAME: &'static str;
    const VERSION: u16;
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("{contract}: unsupported version {got} (this build reads version {supported})")]
    UnsupportedVersion {
        contract: &'static str,
        got: u16,
        supported: u16,
    },
    #[error("{contract}: malformed payload: {source}")]
    Malformed {
        contract: &'static str,
        #[source]
        source: bincode::Error,
    },
}

#[derive(Serialize)]
struct EnvelopeRef<'a, T> {
    version: u16,
    body: &'a T,
}

#[derive(Deserialize)]
struct EnvelopeHeader {
    version: u16,
}

#[derive(Deserialize)]
struct Envelope<T> {
    #[allow(dead_code)] // read by EnvelopeHeader first
    version: u16,
    body: T,
}

/// Encodes `body` with its contract version in front.
pub fn encode<T: Contract>(body: &T) -> Vec<u8> {
    let envelope = EnvelopeRef {
        version: T::VERSION,
        body,
    };
    // Serializing plain data structs into a Vec cannot fail.
    bincode::serialize(&envelope).unwrap_or_default()
}

/// Decodes a payload written by [`encode`], refusing other versions.
pub fn decode<T: Contract>(bytes: &[u8]) -> Result<T, ContractError> {
    let malformed = |source| ContractError::Malformed {
        contract: T::NAME,
        source,
    };
    let header: EnvelopeHeader = bincode::deserialize(bytes).map_err(malformed)?;
    if header.version != T::VERSION {
        return Err(ContractError::UnsupportedVersion {
            contract: T::NAME,
            got: header.version,
            supported: T::VERSION,
        });
    }
    let envelope: Envelope<T> = bincode::deserialize(bytes).map_err(malformed)?;
    Ok(envelope.body)
}

/// A gossip message as an edge received it from a peer, before any validation
/// (topic `ln.gossip.raw`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawGossip {
    /// The edge process that received it.
    pub edge_id: String,
    /// The peer it came from (compressed public key).
    pub peer_id: Vec<u8>,
    /// Milliseconds since the Unix epoch, as the edge's clock saw it.
    pub received_at_ms: u64,
    /// The whole message: u16 type followed by the payload.
    pub message: Vec<u8>,
}

impl Contract for RawGossip {
    const NAME: &'static str = "raw_gossip";
    const VERSION: u16 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RawGossip {
        RawGossip {
            edge_id: "edge-0".into(),
            peer_id: vec![2; 33],
            received_at_ms: 1_700_000_000_000,
            message: vec![1, 2, 3, 4],
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample());
        assert_eq!(decode::<RawGossip>(&bytes).unwrap(), sample());
    }

    #[test]
    fn refuses_other_versions() {
        let mut bytes = encode(&sample());
        bytes[0] = 9; // little-endian u16 version
        match decode::<RawGossip>(&bytes) {
            Err(ContractError::UnsupportedVersion { got: 9, .. }) => {}
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
    }

    #[test]
    fn refuses_truncated_payloads() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            assert!(decode::<RawGossip>(&bytes[..len]).is_err(), "len {len}");
        }
    }
}
