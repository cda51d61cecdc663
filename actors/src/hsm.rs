//! The remote HSM, seen from the services that need a key: the request/response contract, how a
//! request proves who sent it, and the Redis stream that carries it.
//!
//! - [`contract`]: [`HsmRequest`] / [`HsmResponse`] / [`HsmError`], versioned bincode, and the
//!   [`Permission`] each request needs (after Core Lightning hsmd's capabilities).
//! - [`auth`]: per-client HMAC-SHA256 credentials, sealed request and reply envelopes, and the
//!   HSM's [`Authenticator`] (client registry, clock skew, permissions, replay cache).
//! - [`transport`]: the Redis key shapes, the HSM's [`RequestStream`] (consumer group, ack,
//!   reclaiming a crashed replica's entries) and per-request reply lists.
//! - [`client`]: the async [`HsmClient`] edges and the gossip service use, with idempotent retries
//!   and metrics, and [`BlockingEcdh`] for BOLT 8's synchronous static-key ECDH.
//!
//! The signer itself (keys, policy, the durable idempotency store) lives in `hsm-service`.

pub mod auth;
pub mod client;
pub mod contract;
pub mod transport;

pub use auth::{AuthConfig, AuthError, AuthMetrics, Authenticator, ClientCredential, Verdict};
pub use client::{BlockingEcdh, HsmClient, HsmClientConfig, HsmClientError, HsmClientMetrics};
pub use contract::{
    ChannelBasepoints, ChannelRef, ChannelSetupInfo, CommitmentInfo, HsmError, HsmReply,
    HsmRequest, HsmResponse, HtlcInfo, MutualCloseInfo, Permission, PublicKeyBytes,
    RecoverableSignatureBytes, SignatureBytes, SignedHtlcTx,
};
pub use transport::{RequestStream, StreamEntry};
