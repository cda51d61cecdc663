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

/// An HTLC on a commitment, seen from the HSM's side ("holder") whichever commitment is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtlcInfo {
    /// Offered by the holder (it pays on success); otherwise offered to it.
    pub offered_by_holder: bool,
    pub amount_msat: u64,
    pub payment_hash: [u8; 32],
    pub cltv_expiry: u32,
}

/// What a commitment transaction says. The HSM builds the transaction from this itself (BOLT 3),
/// so it can never be asked to sign an output it cannot account for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentInfo {
    pub feerate_per_kw: u32,
    /// The holder's balance, HTLCs excluded, before fees.
    pub to_holder_msat: u64,
    /// The counterparty's balance, HTLCs excluded, before fees.
    pub to_counterparty_msat: u64,
    pub htlcs: Vec<HtlcInfo>,
}

/// What is fixed once a channel is funded; registered once, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSetupInfo {
    /// Whether the holder sent `open_channel` (and pays the commitment fees).
    pub holder_is_opener: bool,
    /// Funding txid in internal byte order, as in `funding_created`.
    pub funding_txid: [u8; 32],
    pub funding_output_index: u16,
    pub funding_amount_sat: u64,
    /// `option_anchors`; otherwise `option_static_remotekey`.
    pub anchors: bool,
    /// The CSV delay the holder imposes on the counterparty's `to_local`.
    pub holder_selected_contest_delay: u16,
    /// The CSV delay the counterparty imposes on the holder's `to_local`.
    pub counterparty_selected_contest_delay: u16,
    pub holder_dust_limit_sat: u64,
    pub counterparty_dust_limit_sat: u64,
    /// The counterparty's funding key and basepoints, from `open_channel`/`accept_channel`.
    pub counterparty_keys: ChannelBasepoints,
    pub holder_upfront_shutdown_script: Option<Vec<u8>>,
    pub counterparty_upfront_shutdown_script: Option<Vec<u8>>,
}

/// A second-stage HTLC transaction of our commitment with both signatures. The caller builds the
/// witness (adding the preimage for HTLC-success) with the wire crate's BOLT 3 helpers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHtlcTx {
    /// Consensus-encoded, without witness.
    pub tx: Vec<u8>,
    /// Position of the HTLC in the commitment's `htlcs`.
    pub htlc_index: u32,
    /// The witness script of the commitment output it spends.
    pub witness_script: Vec<u8>,
    /// DER signature followed by its sighash byte (`SIGHASH_ALL`).
    pub holder_signature: Vec<u8>,
    /// DER signature followed by its sighash byte (`SINGLE|ANYONECANPAY` with anchors).
    pub counterparty_signature: Vec<u8>,
}

/// What a mutual close transaction pays. A zero value omits that output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutualCloseInfo {
    pub fee_sat: u64,
    pub holder_value_sat: u64,
    pub holder_script: Vec<u8>,
    pub counterparty_value_sat: u64,
    pub counterparty_script: Vec<u8>,
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
    /// Register the channel's fixed parameters once it is funded (allowed once).
    SetupChannel {
        channel: ChannelRef,
        setup: ChannelSetupInfo,
    },
    /// Our per-commitment point for `commitment_number`.
    GetPerCommitmentPoint {
        channel: ChannelRef,
        commitment_number: u64,
    },
    /// Check the peer's signatures on our new commitment `commitment_number` (built by the HSM
    /// from `info`) and release the secret of the one it supersedes (`revoke_and_ack`).
    ValidateCommitmentAndRevoke {
        channel: ChannelRef,
        commitment_number: u64,
        info: CommitmentInfo,
        counterparty_signature: SignatureBytes,
        htlc_signatures: Vec<SignatureBytes>,
    },
    /// Sign the peer's commitment `commitment_number` and its HTLC transactions
    /// (`commitment_signed`).
    SignCounterpartyCommitment {
        channel: ChannelRef,
        commitment_number: u64,
        per_commitment_point: PublicKeyBytes,
        info: CommitmentInfo,
    },
    /// The peer revoked its commitment `commitment_number` with `secret` (`revoke_and_ack`).
    ValidateCounterpartyRevocation {
        channel: ChannelRef,
        commitment_number: u64,
        secret: [u8; 32],
    },
    /// Our latest validated commitment, fully signed, and its HTLC transactions, to broadcast
    /// (unilateral close). No new commitment is signed for the channel afterwards.
    SignHolderCommitment {
        channel: ChannelRef,
        commitment_number: u64,
    },
    /// The scripts both sides sent in `shutdown`, when no upfront script fixed them; once only.
    SetShutdownScripts {
        channel: ChannelRef,
        holder_script: Vec<u8>,
        counterparty_script: Vec<u8>,
    },
    /// Sign the negotiated mutual close (built by the HSM from `info`).
    SignMutualClose {
        channel: ChannelRef,
        info: MutualCloseInfo,
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
    /// The secret of the commitment just revoked (none when commitment 0 was validated) and
    /// the point of the one after the new one.
    Revoked {
        revoked_number: Option<u64>,
        old_secret: Option<[u8; 32]>,
        next_per_commitment_point: PublicKeyBytes,
    },
    CommitmentSignatures {
        commitment_signature: SignatureBytes,
        htlc_signatures: Vec<SignatureBytes>,
    },
    /// Our commitment with its complete funding witness (consensus-encoded, ready to
    /// broadcast), and its HTLC-success/timeout transactions with both signatures.
    HolderCommitment {
        commitment_tx: Vec<u8>,
        htlc_txs: Vec<SignedHtlcTx>,
    },
    /// The mutual close transaction (consensus-encoded, unsigned) and our signature on it.
    MutualClose {
        tx: Vec<u8>,
        signature: SignatureBytes,
    },
    /// Done; nothing to answer (setup, shutdown scripts, counterparty revocation).
    Done,
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
            | HsmRequest::SetupChannel { .. }
            | HsmRequest::GetPerCommitmentPoint { .. }
            | HsmRequest::ValidateCommitmentAndRevoke { .. }
            | HsmRequest::SignCounterpartyCommitment { .. }
            | HsmRequest::ValidateCounterpartyRevocation { .. }
            | HsmRequest::SetShutdownScripts { .. } => Permission::ChannelSigning,
            HsmRequest::SignHolderCommitment { .. } => Permission::UnilateralClose,
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
            HsmRequest::SetupChannel { .. } => "setup_channel",
            HsmRequest::GetPerCommitmentPoint { .. } => "get_per_commitment_point",
            HsmRequest::ValidateCommitmentAndRevoke { .. } => "validate_commitment_and_revoke",
            HsmRequest::SignCounterpartyCommitment { .. } => "sign_counterparty_commitment",
            HsmRequest::ValidateCounterpartyRevocation { .. } => "validate_counterparty_revocation",
            HsmRequest::SignHolderCommitment { .. } => "sign_holder_commitment",
            HsmRequest::SetShutdownScripts { .. } => "set_shutdown_scripts",
            HsmRequest::SignMutualClose { .. } => "sign_mutual_close",
        }
    }
}

#[cfg(test)]
mod tests;
