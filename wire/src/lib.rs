//! The Lightning protocol as pure, sans-IO code.
//!
//! Bytes go in, typed messages and bytes come out. Nothing here spawns a thread, opens a socket or
//! knows about tokio: the services in the workspace bring the runtime.
//!
//! - [`codec`]: the reader/writer primitives and the [`codec::WireMessage`] trait every message implements.
//! - [`bigsize`], [`tlv`]: BOLT 1 fundamentals.
//! - [`features`]: BOLT 9 feature bits.
//! - [`address`]: BOLT 7 address descriptors.
//! - [`bolt1`]: `init`, `error`, `warning`, `ping`, `pong`, peer storage.
//! - [`bolt3`]: key derivation, shachain, scripts, commitment and HTLC transactions.
//! - [`gossip`]: BOLT 7 gossip messages, `short_channel_id`, signatures.
//! - [`channel`]: BOLT 2 channel messages, including `start_batch`.
//! - [`message`]: framing (u16 type + payload) and the unknown-message rule.
//! - [`noise`]: BOLT 8 transport (Noise_XK handshake and the cipher state).
#![forbid(unsafe_code)]

pub mod address;
pub mod bigsize;
pub mod bolt1;
pub mod bolt3;
pub mod channel;
pub mod codec;
pub mod features;
pub mod gossip;
pub mod message;
pub mod noise;
pub mod tlv;

pub use codec::{ChainHash, ChannelId, DecodeError, Reader, ShortChannelId, WireMessage, WriteExt};
