//! The remote signer's key-holding core: the seed, the derivation of every key from it, and the
//! [`Signer`] that answers ECDH and signing requests for the virtual nodes it serves.
//!
//! The key core is plain synchronous code; [`service`] puts it on the Redis request stream.
//!
//! - [`seed`]: the root secret and how it is loaded.
//! - [`derivation`]: HKDF-SHA256 scheme v1 (node keys, per-channel secrets).
//! - [`key_source`]: derived keys, or explicit keys for conformance tests.
//! - [`signer`]: ECDH, gossip, invoice and message signatures.
//! - [`dispatch`]: a contract request to the signer call that answers it.
//! - [`service`]: the request-stream loop with authentication, metrics and stale-entry claiming.
//! - [`config`]: command line, environment and the client registry file.
//! - [`channels`]: channel keys, commitments and closes under the validating [`policy`], with
//!   state in the HSM's own durable [`store`].
#![forbid(unsafe_code)]

pub mod config;
pub mod derivation;
pub mod dispatch;
pub mod key_source;
pub mod seed;
pub mod service;
pub mod signer;

pub use derivation::{ChannelKeyId, ChannelPublicKeys, ChannelSecrets, Derivation};
pub use key_source::{ExplicitKeys, KeyError, KeySource};
pub use seed::{Seed, SeedError};
pub use signer::{
    encode_signed_message, verify_message, ChannelAnnouncementSignatures, MessageError, Signer,
    SignerError,
};

pub mod channels;
pub mod policy;
pub mod store;

pub use channels::{
    ChannelError, ChannelSetup, ChannelSigner, CommitmentInfo, HtlcInfo, MutualCloseInfo,
    SignedHolderCommitment,
};
pub use policy::{Policy, PolicyViolation};
pub use store::{RequestKey, Store, StoreError};
