//! Where the signer's keys come from: derived from a seed (production), or given explicitly
//! (conformance tests whose vectors fix the keys, such as BOLT 3's).

use std::collections::HashMap;
use std::fmt;

use secp256k1::{PublicKey, SecretKey, SECP256K1};

use crate::derivation::{ChannelKeyId, ChannelSecrets, Derivation};
use crate::seed::Seed;

/// A key the source does not have. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no node key at index {index}")]
    UnknownNodeIndex { index: u32 },
    /// Boxed: the channel id is large and errors should stay small.
    #[error("no secrets for channel {} of node {} with peer {}", .0.channel_db_id, .0.node_id, .0.peer_id)]
    UnknownChannel(Box<ChannelKeyId>),
}

/// Keys fixed by hand, for deterministic development and conformance tests.
#[derive(Clone, Default)]
pub struct ExplicitKeys {
    nodes: Vec<SecretKey>,
    channels: HashMap<ChannelKeyId, ChannelSecrets>,
    any_channel: Option<ChannelSecrets>,
}

impl ExplicitKeys {
    pub fn new() -> ExplicitKeys {
        ExplicitKeys::default()
    }

    /// Adds a node key; its index is the number of nodes added before it.
    pub fn with_node(mut self, node_secret: SecretKey) -> ExplicitKeys {
        self.nodes.push(node_secret);
        self
    }

    /// Fixes the secrets of one channel.
    pub fn with_channel(mut self, id: ChannelKeyId, secrets: ChannelSecrets) -> ExplicitKeys {
        self.channels.insert(id, secrets);
        self
    }

    /// Secrets for every channel not fixed by [`ExplicitKeys::with_channel`] (a vector that gives
    /// one set of keys, whatever the channel).
    pub fn with_any_channel(mut self, secrets: ChannelSecrets) -> ExplicitKeys {
        self.any_channel = Some(secrets);
        self
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

impl fmt::Debug for ExplicitKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node_ids: Vec<String> = self
            .nodes
            .iter()
            .map(|secret| PublicKey::from_secret_key(SECP256K1, secret).to_string())
            .collect();
        f.debug_struct("ExplicitKeys")
            .field("node_ids", &node_ids)
            .field("channels", &self.channels.len())
            .field("any_channel", &self.any_channel.is_some())
            .finish()
    }
}

/// The signer's source of keys.
// One per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Everything derived from one seed with scheme v1 ([`crate::derivation`]).
    Derived(Seed),
    /// Keys given one by one.
    Explicit(ExplicitKeys),
}

impl KeySource {
    /// The node key at `index` (derived: any index; explicit: the index-th key added).
    pub fn node_secret(&self, index: u32) -> Result<SecretKey, KeyError> {
        match self {
            KeySource::Derived(seed) => Ok(Derivation::new(seed).node_secret(index)),
            KeySource::Explicit(keys) => usize::try_from(index)
                .ok()
                .and_then(|i| keys.nodes.get(i))
                .copied()
                .ok_or(KeyError::UnknownNodeIndex { index }),
        }
    }

    /// The secrets of one channel.
    pub fn channel_secrets(&self, id: &ChannelKeyId) -> Result<ChannelSecrets, KeyError> {
        match self {
            KeySource::Derived(seed) => Ok(Derivation::new(seed).channel_secrets(id)),
            KeySource::Explicit(keys) => keys
                .channels
                .get(id)
                .or(keys.any_channel.as_ref())
                .cloned()
                .ok_or_else(|| KeyError::UnknownChannel(Box::new(*id))),
        }
    }
}
