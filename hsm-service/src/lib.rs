//! The remote signer's key-holding core: the seed, the derivation of every key from it, and the
//! [`Signer`] that answers ECDH and signing requests for the virtual nodes it serves.
//!
//! Plain synchronous code: the service wiring (request stream, policy, durable state) sits on
//! top of it.
//!
//! - [`seed`]: the root secret and how it is loaded.
//! - [`derivation`]: HKDF-SHA256 scheme v1 (node keys, per-channel secrets).
//! - [`key_source`]: derived keys, or explicit keys for conformance tests.
//! - [`signer`]: ECDH, gossip, invoice and message signatures.
#![forbid(unsafe_code)]

pub mod derivation;
pub mod key_source;
pub mod seed;
pub mod signer;

pub use derivation::{ChannelKeyId, ChannelPublicKeys, ChannelSecrets, Derivation};
pub use key_source::{ExplicitKeys, KeyError, KeySource};
pub use seed::{Seed, SeedError};
pub use signer::{ChannelAnnouncementSignatures, MessageError, Signer, SignerError};

pub mod channels;
pub mod policy;
pub mod store;

pub use channels::{
    ChannelError, ChannelSetup, ChannelSigner, CommitmentInfo, HtlcInfo, MutualCloseInfo,
    SignedHolderCommitment,
};
pub use policy::{Policy, PolicyViolation};
pub use store::{RequestKey, Store, StoreError};
