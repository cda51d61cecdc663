//! The durable per-channel state: what was validated, signed and revoked so far.

use bitcoin::ScriptBuf;
use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

use super::secrets::CounterpartySecrets;
use super::types::{ChannelSetup, CommitmentInfo};
use crate::store::codec;

/// One channel as stored: its setup (none between `new_channel` and `setup_channel`) and state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub setup: Option<ChannelSetup>,
    pub state: ChannelState,
}

/// Our latest commitment with a validated counterparty signature (what we may broadcast).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderCommitment {
    pub number: u64,
    pub info: CommitmentInfo,
    #[serde(with = "codec::signature")]
    pub counterparty_signature: Signature,
    #[serde(with = "codec::signatures")]
    pub counterparty_htlc_signatures: Vec<Signature>,
}

/// A per-commitment point the counterparty gave for one of its commitments we signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterpartyPoint {
    pub number: u64,
    #[serde(with = "codec::pubkey")]
    pub point: PublicKey,
}

/// The scripts a mutual close may pay to, registered once at shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownScripts {
    #[serde(with = "codec::script")]
    pub holder: ScriptBuf,
    #[serde(with = "codec::script")]
    pub counterparty: ScriptBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelState {
    /// The latest holder commitment validated; the next one expected is its number + 1 (0 when
    /// none).
    pub latest_holder: Option<HolderCommitment>,
    /// The highest holder commitment number whose per-commitment secret was released.
    pub highest_revoked_holder: Option<u64>,
    /// The number of the next counterparty commitment we may sign.
    pub next_counterparty_commitment: u64,
    /// The points of the counterparty commitments we signed and that are not yet revoked.
    pub counterparty_points: Vec<CounterpartyPoint>,
    /// Every secret the counterparty released, in compact form.
    pub counterparty_secrets: CounterpartySecrets,
    pub shutdown_scripts: Option<ShutdownScripts>,
    pub mutual_close_signed: bool,
    /// We signed our own commitment for broadcast: no further updates.
    pub force_closed: bool,
}

impl ChannelState {
    /// The number of the next holder commitment we expect a signature for.
    pub fn next_holder_commitment(&self) -> u64 {
        self.latest_holder
            .as_ref()
            .map_or(0, |latest| latest.number.saturating_add(1))
    }

    /// The number of the next counterparty commitment to be revoked.
    pub fn next_counterparty_revocation(&self) -> u64 {
        self.counterparty_secrets.next_commitment_number()
    }
}
