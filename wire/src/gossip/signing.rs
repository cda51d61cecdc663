//! The hash every signed gossip message commits to, and ECDSA over it.
//!
//! BOLT 7 signs the double-SHA256 of the message bytes that follow the signature field(s), up to
//! the end of the message (unknown trailing fields included). Each message exposes those bytes as
//! `signed_bytes()` so a remote signer can hash them itself.

use secp256k1::ecdsa::Signature;
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};
use sha2::{Digest, Sha256};

use crate::codec::ShortChannelId;

use super::announcement::ChannelAnnouncementSigner;

/// SHA256(SHA256(data)).
pub fn double_sha256(data: &[u8]) -> [u8; 32] {
    let first = Sha256::digest(data);
    Sha256::digest(first).into()
}

/// A signature that does not verify against the key the spec says signed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("channel_announcement {scid}: {signer} does not verify")]
    ChannelAnnouncement {
        scid: ShortChannelId,
        signer: ChannelAnnouncementSigner,
    },
    #[error("node_announcement from {node_id}: signature does not verify")]
    NodeAnnouncement { node_id: PublicKey },
    #[error("channel_update {scid} direction {direction}: signature does not verify")]
    ChannelUpdate { scid: ShortChannelId, direction: u8 },
    #[error("announcement_signatures {scid}: {signer} does not verify")]
    AnnouncementSignatures {
        scid: ShortChannelId,
        signer: ChannelAnnouncementSigner,
    },
}

/// Signs a 32-byte hash (RFC 6979 nonce, low-S).
pub fn sign_hash(hash: &[u8; 32], secret: &SecretKey) -> Signature {
    SECP256K1.sign_ecdsa(&Message::from_digest(*hash), secret)
}

/// Verifies `sig` over `hash`. Like libsecp256k1, rejects high-S signatures.
pub fn verify_hash(hash: &[u8; 32], sig: &Signature, key: &PublicKey) -> bool {
    SECP256K1
        .verify_ecdsa(&Message::from_digest(*hash), sig, key)
        .is_ok()
}
