//! BOLT 1 setup and control messages: `init`, `error`, `warning`, `ping`, `pong`, and the peer
//! storage pair `peer_storage` / `peer_storage_retrieval`.
//!
//! Each message keeps its extension TLV stream: known records become typed fields, unknown odd
//! records stay in `extra_tlvs` so the message re-encodes byte for byte, and an unknown even
//! record fails the decode (BOLT 1, "Lightning Message Format").

mod diagnostic;
mod init;
mod peer_storage;
mod ping;

pub use diagnostic::{ErrorMessage, Warning, MAX_DATA_LEN};
pub use init::{Init, NETWORKS_TLV, REMOTE_ADDR_TLV};
pub use peer_storage::{PeerStorage, PeerStorageRetrieval, MAX_BLOB_LEN};
pub use ping::{pong_is_expected, Ping, Pong, MAX_IGNORED_LEN, MAX_PONG_LEN, NO_PONG_THRESHOLD};

/// The largest message the transport carries, type included.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize;

#[cfg(test)]
mod tests;
