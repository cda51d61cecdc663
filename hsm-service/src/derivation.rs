//! How every secret the HSM holds is derived from its [`Seed`]: HKDF-SHA256 (RFC 5869), scheme v1.
//!
//! ```text
//! PRK    = HKDF-Extract(salt = "lnfleet-hsm/v1", IKM = seed)            (seed: 32..=64 bytes)
//! secret = HKDF-Expand(PRK, info, L = 32)
//!
//! node key of node index i (u32):
//!   info = "lnfleet-hsm/v1/node-key" || u32be(i) || u32be(attempt)
//!
//! channel secret <purpose> of (node_id, peer_id, channel_db_id):
//!   info = "lnfleet-hsm/v1/channel/" || purpose || 0x00
//!          || node_id (33-byte compressed) || peer_id (33-byte compressed)
//!          || u64be(channel_db_id) || u32be(attempt)
//!   purpose ∈ { "funding-key", "revocation-basepoint", "payment-basepoint",
//!               "delayed-payment-basepoint", "htlc-basepoint", "shachain-seed" }
//! ```
//!
//! `attempt` starts at 0. A 32-byte output that is not a valid secp256k1 secret key (zero, or
//! not below the curve order: probability about 2^-128) is discarded and the next attempt is
//! used, so the result is deterministic and nothing panics. The shachain seed is any 32 bytes,
//! so it always uses attempt 0.
//!
//! The version in the salt and info strings is part of the scheme: changing any string, field
//! order or encoding changes every key and therefore every node id and channel. The fixed
//! vectors in the tests below (also in `hsm-service/KEYS.md`) fail if that happens by accident.
//! A future v2 would use new strings and live beside v1, never replace it.

use std::fmt;

use hkdf::Hkdf;
use secp256k1::{PublicKey, SecretKey, SECP256K1};
use sha2::Sha256;

use crate::seed::Seed;

/// HKDF salt of scheme v1.
pub const SALT_V1: &[u8] = b"lnfleet-hsm/v1";
/// Info prefix of node keys.
pub const NODE_KEY_INFO_V1: &[u8] = b"lnfleet-hsm/v1/node-key";
/// Info prefix of per-channel secrets (followed by the purpose and a zero byte).
pub const CHANNEL_INFO_V1: &[u8] = b"lnfleet-hsm/v1/channel/";

/// The six per-channel secrets, each with its own info string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelSecretPurpose {
    FundingKey,
    RevocationBasepoint,
    PaymentBasepoint,
    DelayedPaymentBasepoint,
    HtlcBasepoint,
    ShachainSeed,
}

impl ChannelSecretPurpose {
    /// The purpose string in the HKDF info.
    pub fn label(self) -> &'static str {
        match self {
            ChannelSecretPurpose::FundingKey => "funding-key",
            ChannelSecretPurpose::RevocationBasepoint => "revocation-basepoint",
            ChannelSecretPurpose::PaymentBasepoint => "payment-basepoint",
            ChannelSecretPurpose::DelayedPaymentBasepoint => "delayed-payment-basepoint",
            ChannelSecretPurpose::HtlcBasepoint => "htlc-basepoint",
            ChannelSecretPurpose::ShachainSeed => "shachain-seed",
        }
    }
}

/// Which channel a set of secrets belongs to: our node, the peer, and the channel's database id
/// (the id is ours, stable from `open_channel` on, unlike the `channel_id` which changes at
/// funding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelKeyId {
    pub node_id: PublicKey,
    pub peer_id: PublicKey,
    pub channel_db_id: u64,
}

/// A channel's secrets. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelSecrets {
    pub funding_key: SecretKey,
    pub revocation_base_secret: SecretKey,
    pub payment_base_secret: SecretKey,
    pub delayed_payment_base_secret: SecretKey,
    pub htlc_base_secret: SecretKey,
    /// Seed of the BOLT 3 per-commitment secret chain (the wire crate's shachain uses it).
    pub shachain_seed: [u8; 32],
}

impl ChannelSecrets {
    /// The public halves: what `open_channel` / `accept_channel` announce.
    pub fn public_keys(&self) -> ChannelPublicKeys {
        let public = |secret: &SecretKey| PublicKey::from_secret_key(SECP256K1, secret);
        ChannelPublicKeys {
            funding_pubkey: public(&self.funding_key),
            revocation_basepoint: public(&self.revocation_base_secret),
            payment_basepoint: public(&self.payment_base_secret),
            delayed_payment_basepoint: public(&self.delayed_payment_base_secret),
            htlc_basepoint: public(&self.htlc_base_secret),
        }
    }
}

impl fmt::Debug for ChannelSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChannelSecrets(<redacted>)")
    }
}

/// A channel's public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelPublicKeys {
    pub funding_pubkey: PublicKey,
    pub revocation_basepoint: PublicKey,
    pub payment_basepoint: PublicKey,
    pub delayed_payment_basepoint: PublicKey,
    pub htlc_basepoint: PublicKey,
}

/// The extracted HKDF key of one seed; derives node keys and channel secrets (scheme v1).
#[derive(Clone)]
pub struct Derivation {
    prk: Hkdf<Sha256>,
}

impl fmt::Debug for Derivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Derivation(v1, <redacted>)")
    }
}

impl Derivation {
    pub fn new(seed: &Seed) -> Derivation {
        Derivation {
            prk: Hkdf::<Sha256>::new(Some(SALT_V1), seed.expose()),
        }
    }

    /// The node key of virtual node `index`.
    pub fn node_secret(&self, index: u32) -> SecretKey {
        let mut info = Vec::with_capacity(NODE_KEY_INFO_V1.len() + 8);
        info.extend_from_slice(NODE_KEY_INFO_V1);
        info.extend_from_slice(&index.to_be_bytes());
        self.secret_key(info)
    }

    /// All six secrets of one channel.
    pub fn channel_secrets(&self, id: &ChannelKeyId) -> ChannelSecrets {
        let key = |purpose| self.secret_key(channel_info(purpose, id));
        ChannelSecrets {
            funding_key: key(ChannelSecretPurpose::FundingKey),
            revocation_base_secret: key(ChannelSecretPurpose::RevocationBasepoint),
            payment_base_secret: key(ChannelSecretPurpose::PaymentBasepoint),
            delayed_payment_base_secret: key(ChannelSecretPurpose::DelayedPaymentBasepoint),
            htlc_base_secret: key(ChannelSecretPurpose::HtlcBasepoint),
            shachain_seed: self.expand(&attempt_info(
                channel_info(ChannelSecretPurpose::ShachainSeed, id),
                0,
            )),
        }
    }

    /// Expands `info || u32be(attempt)` for attempt 0, 1, ... until the output is a valid
    /// secret key. The loop runs once except with probability ~2^-128 per extra round.
    fn secret_key(&self, info: Vec<u8>) -> SecretKey {
        let mut attempt: u32 = 0;
        loop {
            let candidate = self.expand(&attempt_info(info.clone(), attempt));
            if let Ok(key) = SecretKey::from_slice(&candidate) {
                return key;
            }
            attempt = attempt.wrapping_add(1);
        }
    }

    fn expand(&self, info: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 255 * 32 limit, so this cannot fail; the error
        // branch keeps the function panic-free anyway (and would yield an invalid zero key
        // that `secret_key` skips).
        if self.prk.expand(info, &mut out).is_err() {
            out = [0u8; 32];
        }
        out
    }
}

fn channel_info(purpose: ChannelSecretPurpose, id: &ChannelKeyId) -> Vec<u8> {
    let mut info = Vec::with_capacity(CHANNEL_INFO_V1.len() + 32 + 33 + 33 + 8 + 4);
    info.extend_from_slice(CHANNEL_INFO_V1);
    info.extend_from_slice(purpose.label().as_bytes());
    info.push(0);
    info.extend_from_slice(&id.node_id.serialize());
    info.extend_from_slice(&id.peer_id.serialize());
    info.extend_from_slice(&id.channel_db_id.to_be_bytes());
    info
}

fn attempt_info(mut info: Vec<u8>, attempt: u32) -> Vec<u8> {
    info.extend_from_slice(&attempt.to_be_bytes());
    info
}

#[cfg(test)]
mod tests;
