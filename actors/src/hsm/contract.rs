//! What a service may ask the HSM and what it answers, modelled on Core Lightning's hsmd and VLS.
//!
//! Keys and signatures travel as fixed-size byte newtypes ([`PublicKeyBytes`],
//! [`SignatureBytes`]) rather than `secp256k1` types: the workspace does not enable secp256k1's
//! `serde` feature, and a length check at decode time is all the transport needs. Converting to
//! curve types (which also checks the point is on the curve) is explicit and fails with
//! [`KeyError`]. Transactions are consensus-encoded bytes: the HSM parses and checks them itself,
//! it never trusts a caller's summary.

use std::fmt;

use secp256k1::ecdsa::{RecoverableSignature, RecoveryId, Signature};
use secp256k1::PublicKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::contracts::Contract;

/// Why bytes from the contract are not a valid key or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid compressed public key")]
    InvalidPublicKey,
    #[error("not a valid compact ecdsa signature")]
    InvalidSignature,
    #[error("recovery id {0} out of range")]
    InvalidRecoveryId(u8),
}

/// Fixed-size byte arrays longer than serde's 32-element limit, encoded as length-prefixed bytes
/// and length-checked on decode.
macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            pub const LEN: usize = $len;

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let bytes: Vec<u8> = serde_bytes_vec(deserializer)?;
                let array: [u8; $len] = bytes.as_slice().try_into().map_err(|_| {
                    serde::de::Error::invalid_length(bytes.len(), &stringify!($len))
                })?;
                Ok($name(array))
            }
        }
    };
}

/// `serialize_bytes` is read back as a `Vec<u8>` by bincode (u64 length + bytes).
fn serde_bytes_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    Vec::<u8>::deserialize(deserializer)
}

fixed_bytes!(
    /// A compressed secp256k1 public key (33 bytes), not yet checked to be on the curve.
    PublicKeyBytes,
    33
);
fixed_bytes!(
    /// A compact ECDSA signature (64 bytes, `r || s`).
    SignatureBytes,
    64
);

impl From<&PublicKey> for PublicKeyBytes {
    fn from(key: &PublicKey) -> Self {
        PublicKeyBytes(key.serialize())
    }
}

impl From<PublicKey> for PublicKeyBytes {
    fn from(key: PublicKey) -> Self {
        PublicKeyBytes(key.serialize())
    }
}

impl PublicKeyBytes {
    pub fn to_public_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_slice(&self.0).map_err(|_| KeyError::InvalidPublicKey)
    }
}

impl From<&Signature> for SignatureBytes {
    fn from(signature: &Signature) -> Self {
        SignatureBytes(signature.serialize_compact())
    }
}

impl From<Signature> for SignatureBytes {
    fn from(signature: Signature) -> Self {
        SignatureBytes(signature.serialize_compact())
    }
}

impl SignatureBytes {
    pub fn to_signature(&self) -> Result<Signature, KeyError> {
        Signature::from_compact(&self.0).map_err(|_| KeyError::InvalidSignature)
    }
}

/// A recoverable signature (BOLT 11 invoices, `signmessage`): compact signature plus recovery id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverableSignatureBytes {
    pub signature: SignatureBytes,
    pub recovery_id: u8,
}

impl From<&RecoverableSignature> for RecoverableSignatureBytes {
    fn from(signature: &RecoverableSignature) -> Self {
        let (recovery_id, compact) = signature.serialize_compact();
        RecoverableSignatureBytes {
            signature: SignatureBytes(compact),
            // Recovery ids are 0..=3.
            recovery_id: u8::try_from(recovery_id.to_i32()).unwrap_or(u8::MAX),
        }
    }
}

impl RecoverableSignatureBytes {
    pub fn to_recoverable_signature(&self) -> Result<RecoverableSignature, KeyError> {
        let recovery_id = RecoveryId::from_i32(i32::from(self.recovery_id))
            .map_err(|_| KeyError::InvalidRecoveryId(self.recovery_id))?;
        RecoverableSignature::from_compact(&self.signature.0, recovery_id)
            .map_err(|_| KeyError::InvalidSignature)
    }
}

/// One channel as the HSM knows it: hsmd's (peer id, database id) pair, under one node key (the
/// HSM may hold several nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelRef {
    pub node_id: PublicKeyBytes,
    pub peer_id: PublicKeyBytes,
    pub channel_db_id: u64,
}

/// An HTLC on a commitment, as the HSM's policy needs it to check the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtlcInfo {
    /// Offered by the commitment's owner (true) or received (false).
    pub offered: bool,
    pub amount_msat: u64,
    pub payment_hash: [u8; 32],
    pub cltv_expiry: u32,
}

/// A second-stage HTLC transaction to sign, spending one output of a commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtlcTransaction {
    /// Consensus-encoded transaction.
    pub tx: Vec<u8>,
    /// The value of the commitment output it spends (needed for the segwit sighash).
    pub input_amount_sat: u64,
    pub htlc: HtlcInfo,
}

/// A request to the HSM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HsmRequest {
    /// Which node keys the HSM holds.
    NodeInfo,
    /// BOLT 8 / onion ECDH: `SHA256(compressed(point * node_secret))`.
    Ecdh {
        node_id: PublicKeyBytes,
        point: PublicKeyBytes,
    },
    /// Sign an encoded `node_announcement` (the HSM checks it is ours and hashes it).
    SignNodeAnnouncement {
        node_id: PublicKeyBytes,
        message: Vec<u8>,
    },
    /// Sign an encoded `channel_update` for one of our channels (the channel names our node and
    /// the peer, so the HSM can check the direction bit is our side).
    SignChannelUpdate {
        channel: ChannelRef,
        message: Vec<u8>,
    },
    /// Node and bitcoin signatures for an encoded `channel_announcement`.
    SignChannelAnnouncement {
        node_id: PublicKeyBytes,
        channel: ChannelRef,
        message: Vec<u8>,
    },
    /// Node and bitcoin signatures to send in `announcement_signatures`, over the encoded
    /// `channel_announcement` they commit to.
    SignAnnouncementSignatures {
        node_id: PublicKeyBytes,
        channel: ChannelRef,
        message: Vec<u8>,
    },
    /// BOLT 11: sign `hrp` and the 5-bit data part.
    SignInvoice {
        node_id: PublicKeyBytes,
        hrp: String,
        data_5bit: Vec<u8>,
    },
    /// `signmessage`: the HSM adds the "Lightning Signed Message:" prefix itself.
    SignMessage {
        node_id: PublicKeyBytes,
        message: Vec<u8>,
    },
    /// Derive a new channel's keys; answers its basepoints and funding key.
    NewChannel {
        node_id: PublicKeyBytes,
        peer_id: PublicKeyBytes,
        channel_db_id: u64,
    },
    /// Our per-commitment point for `commitment_number`.
    GetPerCommitmentPoint {
        channel: ChannelRef,
        commitment_number: u64,
    },
    /// Check the peer's signatures on our new commitment and release the previous secret.
    ValidateCommitmentAndRevoke {
        channel: ChannelRef,
        commitment_number: u64,
        commitment_tx: Vec<u8>,
        counterparty_signature: SignatureBytes,
        htlc_signatures: Vec<SignatureBytes>,
    },
    /// Sign the peer's commitment transaction and its HTLC transactions.
    SignCounterpartyCommitment {
        channel: ChannelRef,
        commitment_number: u64,
        commitment_tx: Vec<u8>,
        per_commitment_point: PublicKeyBytes,
        feerate_per_kw: u32,
        htlcs: Vec<HtlcInfo>,
    },
    /// Sign our own latest commitment to broadcast it (unilateral close).
    SignHolderCommitment {
        channel: ChannelRef,
        commitment_number: u64,
        commitment_tx: Vec<u8>,
    },
    /// Sign our second-stage HTLC transactions after a unilateral close.
    SignHtlcTransactions {
        channel: ChannelRef,
        commitment_number: u64,
        per_commitment_point: PublicKeyBytes,
        htlc_txs: Vec<HtlcTransaction>,
    },
    /// Sign the negotiated mutual close.
    SignMutualClose {
        channel: ChannelRef,
        tx: Vec<u8>,
        funding_amount_sat: u64,
        /// The peer's script for its output, as agreed in `shutdown`.
        counterparty_script: Vec<u8>,
        holder_script: Vec<u8>,
    },
}

/// A channel's public keys, answered to [`HsmRequest::NewChannel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelBasepoints {
    pub funding_pubkey: PublicKeyBytes,
    pub revocation_basepoint: PublicKeyBytes,
    pub payment_basepoint: PublicKeyBytes,
    pub delayed_payment_basepoint: PublicKeyBytes,
    pub htlc_basepoint: PublicKeyBytes,
}

/// The HSM's answer to a request it carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HsmResponse {
    NodeInfo {
        node_ids: Vec<PublicKeyBytes>,
    },
    Ecdh {
        shared_secret: [u8; 32],
    },
    /// One signature: node announcement, channel update, holder commitment, mutual close.
    Signature {
        signature: SignatureBytes,
    },
    /// Channel announcement and announcement_signatures.
    AnnouncementSignatures {
        node_signature: SignatureBytes,
        bitcoin_signature: SignatureBytes,
    },
    /// Invoice and signmessage.
    RecoverableSignature {
        signature: RecoverableSignatureBytes,
    },
    ChannelBasepoints {
        basepoints: ChannelBasepoints,
    },
    PerCommitmentPoint {
        point: PublicKeyBytes,
    },
    /// The secret for the commitment just revoked and the point for the one after the new one.
    Revoked {
        old_secret: [u8; 32],
        next_per_commitment_point: PublicKeyBytes,
    },
    CommitmentSignatures {
        commitment_signature: SignatureBytes,
        htlc_signatures: Vec<SignatureBytes>,
    },
    /// HTLC transactions, in request order.
    Signatures {
        signatures: Vec<SignatureBytes>,
    },
}

/// Why the HSM did not carry out a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum HsmError {
    /// A validating-signer rule refused it (VLS-style policy); never retried.
    #[error("refused by hsm policy rule {rule}")]
    PolicyReject { rule: String },
    /// The caller may not ask this (missing permission, stale request, ...).
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    /// Try again with the same request id (storage busy, replica shutting down, ...).
    #[error("transient hsm failure: {reason}")]
    Transient { reason: String },
    /// The HSM cannot do this and retrying will not help (unknown node or channel, bad input).
    #[error("hsm failure: {reason}")]
    Fatal { reason: String },
}

impl HsmError {
    /// Whether retrying the same request (same request id) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, HsmError::Transient { .. })
    }

    /// Bounded metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            HsmError::PolicyReject { .. } => "policy_reject",
            HsmError::Unauthorized { .. } => "unauthorized",
            HsmError::Transient { .. } => "transient",
            HsmError::Fatal { .. } => "fatal",
        }
    }
}

/// What the HSM writes back for one request: its answer or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HsmReply {
    pub request_id: [u8; 16],
    pub outcome: Result<HsmResponse, HsmError>,
}

impl Contract for HsmRequest {
    const NAME: &'static str = "hsm_request";
    const VERSION: u16 = 1;
}

impl Contract for HsmReply {
    const NAME: &'static str = "hsm_reply";
    const VERSION: u16 = 1;
}

/// What a client is allowed to ask, after Core Lightning hsmd's per-client capabilities: a
/// gossip service gets `GossipSigning` but never `ChannelSigning`, an edge gets `Ecdh` for its
/// peers' handshakes, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    NodeInfo,
    Ecdh,
    /// node_announcement, channel_update, channel_announcement, announcement_signatures.
    GossipSigning,
    InvoiceSigning,
    MessageSigning,
    /// Channel keys and commitment signing while a channel is open.
    ChannelSigning,
    /// Signing our own commitment and its HTLC transactions to close unilaterally.
    UnilateralClose,
    MutualClose,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::NodeInfo,
        Permission::Ecdh,
        Permission::GossipSigning,
        Permission::InvoiceSigning,
        Permission::MessageSigning,
        Permission::ChannelSigning,
        Permission::UnilateralClose,
        Permission::MutualClose,
    ];
}

impl HsmRequest {
    /// The permission a client needs to make this request.
    pub fn permission(&self) -> Permission {
        match self {
            HsmRequest::NodeInfo => Permission::NodeInfo,
            HsmRequest::Ecdh { .. } => Permission::Ecdh,
            HsmRequest::SignNodeAnnouncement { .. }
            | HsmRequest::SignChannelUpdate { .. }
            | HsmRequest::SignChannelAnnouncement { .. }
            | HsmRequest::SignAnnouncementSignatures { .. } => Permission::GossipSigning,
            HsmRequest::SignInvoice { .. } => Permission::InvoiceSigning,
            HsmRequest::SignMessage { .. } => Permission::MessageSigning,
            HsmRequest::NewChannel { .. }
            | HsmRequest::GetPerCommitmentPoint { .. }
            | HsmRequest::ValidateCommitmentAndRevoke { .. }
            | HsmRequest::SignCounterpartyCommitment { .. } => Permission::ChannelSigning,
            HsmRequest::SignHolderCommitment { .. } | HsmRequest::SignHtlcTransactions { .. } => {
                Permission::UnilateralClose
            }
            HsmRequest::SignMutualClose { .. } => Permission::MutualClose,
        }
    }

    /// Bounded metric label, one per variant.
    pub fn operation_name(&self) -> &'static str {
        match self {
            HsmRequest::NodeInfo => "node_info",
            HsmRequest::Ecdh { .. } => "ecdh",
            HsmRequest::SignNodeAnnouncement { .. } => "sign_node_announcement",
            HsmRequest::SignChannelUpdate { .. } => "sign_channel_update",
            HsmRequest::SignChannelAnnouncement { .. } => "sign_channel_announcement",
            HsmRequest::SignAnnouncementSignatures { .. } => "sign_announcement_signatures",
            HsmRequest::SignInvoice { .. } => "sign_invoice",
            HsmRequest::SignMessage { .. } => "sign_message",
            HsmRequest::NewChannel { .. } => "new_channel",
            HsmRequest::GetPerCommitmentPoint { .. } => "get_per_commitment_point",
            HsmRequest::ValidateCommitmentAndRevoke { .. } => "validate_commitment_and_revoke",
            HsmRequest::SignCounterpartyCommitment { .. } => "sign_counterparty_commitment",
            HsmRequest::SignHolderCommitment { .. } => "sign_holder_commitment",
            HsmRequest::SignHtlcTransactions { .. } => "sign_htlc_transactions",
            HsmRequest::SignMutualClose { .. } => "sign_mutual_close",
        }
    }
}

#[cfg(test)]
mod tests;
