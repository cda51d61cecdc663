//! What a channel is (its setup) and what a request describes (commitment and close semantics).
//!
//! "Holder" is always the side this HSM signs for, "counterparty" the peer, whichever
//! commitment transaction is meant; the builder maps them to BOLT 3's local/remote.

use bitcoin::{OutPoint, ScriptBuf};
use lnfleet_wire::bolt3::scripts::CommitmentFormat;
use secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

use crate::derivation::ChannelPublicKeys;
use crate::store::codec;

/// Everything fixed when the channel is funded. Immutable once set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSetup {
    /// Whether our side sent `open_channel` (and pays the commitment fees).
    pub holder_is_opener: bool,
    #[serde(with = "codec::outpoint")]
    pub funding_outpoint: OutPoint,
    pub funding_amount_sat: u64,
    #[serde(with = "codec::format")]
    pub commitment_format: CommitmentFormat,
    /// The CSV delay we impose on the counterparty's `to_local` (their commitments).
    pub holder_selected_contest_delay: u16,
    /// The CSV delay the counterparty imposes on our `to_local` (our commitments).
    pub counterparty_selected_contest_delay: u16,
    /// Our dust limit: applies to our commitments.
    pub holder_dust_limit_sat: u64,
    /// Their dust limit: applies to their commitments.
    pub counterparty_dust_limit_sat: u64,
    /// The counterparty's funding pubkey and basepoints.
    #[serde(with = "codec::channel_public_keys")]
    pub counterparty_keys: ChannelPublicKeys,
    #[serde(with = "codec::opt_script")]
    pub holder_upfront_shutdown_script: Option<ScriptBuf>,
    #[serde(with = "codec::opt_script")]
    pub counterparty_upfront_shutdown_script: Option<ScriptBuf>,
}

/// One HTLC of a commitment, seen from the holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HtlcInfo {
    /// We offered it (we pay on success); otherwise the counterparty offered it to us.
    pub offered_by_holder: bool,
    pub amount_msat: u64,
    pub payment_hash: [u8; 32],
    pub cltv_expiry: u32,
}

/// The semantic content of a commitment transaction: the HSM builds the transaction from this
/// itself, so no output it cannot account for can be slipped in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitmentInfo {
    pub feerate_per_kw: u32,
    /// Our balance before fees.
    pub to_holder_msat: u64,
    /// Their balance before fees.
    pub to_counterparty_msat: u64,
    pub htlcs: Vec<HtlcInfo>,
}

/// The semantic content of a mutual close transaction. A zero value omits the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutualCloseInfo {
    pub fee_sat: u64,
    pub holder_value_sat: u64,
    #[serde(with = "codec::script")]
    pub holder_script: ScriptBuf,
    pub counterparty_value_sat: u64,
    #[serde(with = "codec::script")]
    pub counterparty_script: ScriptBuf,
}

/// What `validate_holder_commitment_and_revoke` answers: the `revoke_and_ack` contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderRevocation {
    /// The commitment revoked (n - 1), none when commitment 0 was validated.
    pub revoked_number: Option<u64>,
    pub per_commitment_secret: Option<[u8; 32]>,
    /// The point of commitment n + 1.
    #[serde(with = "codec::pubkey")]
    pub next_per_commitment_point: PublicKey,
}

/// Our signatures on the counterparty's commitment (`commitment_signed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterpartyCommitmentSignatures {
    #[serde(with = "codec::signature")]
    pub signature: secp256k1::ecdsa::Signature,
    /// In the order of the HTLC outputs of the commitment transaction (BOLT 2).
    #[serde(with = "codec::signatures")]
    pub htlc_signatures: Vec<secp256k1::ecdsa::Signature>,
}
