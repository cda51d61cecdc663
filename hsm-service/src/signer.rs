//! The signer: holds the node keys of the virtual nodes this HSM serves and answers ECDH and
//! signing requests for them. Every refusal is a [`SignerError`]; nothing here logs.
//!
//! - ECDH (BOLT 8 handshakes, onion shared secrets): this file.
//! - [`gossip`]: `node_announcement`, `channel_update`, `channel_announcement`,
//!   `announcement_signatures`.
//! - [`invoice`]: BOLT 11 invoice signatures.
//! - [`message`]: Core Lightning's `signmessage` / `checkmessage`.

use std::collections::BTreeMap;
use std::fmt;

use secp256k1::ecdh::SharedSecret;
use secp256k1::{PublicKey, SecretKey, SECP256K1};

use crate::derivation::{ChannelKeyId, ChannelPublicKeys, ChannelSecrets};
use crate::key_source::{KeyError, KeySource};

pub mod gossip;
pub mod invoice;
pub mod message;

#[cfg(test)]
mod tests;

pub use gossip::ChannelAnnouncementSignatures;
pub use message::{encode_signed_message, verify_message, MessageError};

/// Why the signer refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// The request names a node id this HSM does not serve.
    #[error("node {node_id} is not served by this signer")]
    UnknownNode { node_id: PublicKey },
    /// The channel (or gossip message) does not involve the node and peer named.
    #[error("not our channel: {reason}")]
    NotOurChannel { reason: &'static str },
    /// A `channel_announcement` names a bitcoin key for our side that is not our funding key.
    #[error("the announcement's bitcoin key for our side is not our funding key")]
    FundingKeyMismatch,
    /// A `channel_update` whose direction bit says the other node sent it.
    #[error("channel_update direction {direction} is the peer's side, not ours")]
    WrongDirection { direction: u8 },
    /// Malformed request data.
    #[error("invalid input: {what}")]
    InvalidInput { what: &'static str },
    /// The key source has no such key.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Signs for a fixed set of node ids.
pub struct Signer {
    source: KeySource,
    nodes: BTreeMap<PublicKey, SecretKey>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            // Display form: the compressed hex node ids operators know.
            .field(
                "node_ids",
                &self
                    .nodes
                    .keys()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Serves the nodes at `node_indices` of `source` (with a derived source, the virtual node
    /// numbers; with explicit keys, positions in the list).
    pub fn new(
        source: KeySource,
        node_indices: impl IntoIterator<Item = u32>,
    ) -> Result<Signer, SignerError> {
        let mut nodes = BTreeMap::new();
        for index in node_indices {
            let secret = source.node_secret(index)?;
            nodes.insert(PublicKey::from_secret_key(SECP256K1, &secret), secret);
        }
        Ok(Signer { source, nodes })
    }

    /// Serves every node of an explicit key set.
    pub fn explicit(keys: crate::key_source::ExplicitKeys) -> Signer {
        let count = u32::try_from(keys.node_count()).unwrap_or(u32::MAX);
        let source = KeySource::Explicit(keys);
        let nodes = (0..count)
            .filter_map(|index| source.node_secret(index).ok())
            .map(|secret| (PublicKey::from_secret_key(SECP256K1, &secret), secret))
            .collect();
        Signer { source, nodes }
    }

    /// The node ids served, in ascending order.
    pub fn node_ids(&self) -> Vec<PublicKey> {
        self.nodes.keys().copied().collect()
    }

    pub fn serves(&self, node_id: &PublicKey) -> bool {
        self.nodes.contains_key(node_id)
    }

    /// BOLT 8 ECDH: SHA256 of the compressed point `node_secret * point`.
    pub fn ecdh(&self, node_id: &PublicKey, point: &PublicKey) -> Result<[u8; 32], SignerError> {
        let secret = self.node_secret(node_id)?;
        Ok(SharedSecret::new(point, secret).secret_bytes())
    }

    /// [`Signer::ecdh`] with the point as untrusted bytes (33-byte compressed, or 65 uncompressed).
    pub fn ecdh_bytes(&self, node_id: &PublicKey, point: &[u8]) -> Result<[u8; 32], SignerError> {
        let point = PublicKey::from_slice(point).map_err(|_| SignerError::InvalidInput {
            what: "ecdh point is not a valid secp256k1 public key",
        })?;
        self.ecdh(node_id, &point)
    }

    /// The secrets of a channel of one of our nodes (for the channel signing code in this crate).
    pub fn channel_secrets(&self, id: &ChannelKeyId) -> Result<ChannelSecrets, SignerError> {
        self.node_secret(&id.node_id)?;
        Ok(self.source.channel_secrets(id)?)
    }

    /// The public keys of a channel of one of our nodes.
    pub fn channel_public_keys(&self, id: &ChannelKeyId) -> Result<ChannelPublicKeys, SignerError> {
        Ok(self.channel_secrets(id)?.public_keys())
    }

    /// The per-channel shachain seed (the wire crate derives per-commitment secrets from it).
    pub fn shachain_seed(&self, id: &ChannelKeyId) -> Result<[u8; 32], SignerError> {
        Ok(self.channel_secrets(id)?.shachain_seed)
    }

    /// The key of a node we serve (for the signing code of this crate only).
    pub(crate) fn node_secret(&self, node_id: &PublicKey) -> Result<&SecretKey, SignerError> {
        self.nodes
            .get(node_id)
            .ok_or(SignerError::UnknownNode { node_id: *node_id })
    }
}
