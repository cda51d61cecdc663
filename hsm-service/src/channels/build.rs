//! Builds the transactions the HSM signs from the channel setup and a request's semantic
//! content, with the wire crate's BOLT 3 code. Our commitments and theirs are the same
//! construction with the roles swapped.

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use lnfleet_wire::bolt3::commitment::{
    build_commitment_transaction, CommitmentError, CommitmentHtlc, CommitmentKeys,
    CommitmentParams, CommitmentTransaction, HtlcDirection,
};
use lnfleet_wire::bolt3::htlc_tx::{
    build_htlc_transactions, HtlcTransaction, HtlcTxContext, HtlcTxError,
};
use lnfleet_wire::bolt3::keys::{Basepoints, KeyDerivationError};
use lnfleet_wire::bolt3::scripts::{funding_witness_script, obscured_commitment_number};
use lnfleet_wire::bolt3::shachain::ShachainError;
use lnfleet_wire::bolt3::signing::SigningError;
use secp256k1::PublicKey;

use super::types::{ChannelSetup, CommitmentInfo, MutualCloseInfo};
use crate::derivation::ChannelPublicKeys;

/// A transaction could not be built or signed (bad numbers or degenerate keys).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Keys(#[from] KeyDerivationError),
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
    #[error(transparent)]
    HtlcTx(#[from] HtlcTxError),
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error(transparent)]
    Shachain(#[from] ShachainError),
}

/// Whose commitment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Holder,
    Counterparty,
}

/// A commitment and its HTLC transactions, in commitment output order.
pub(crate) struct BuiltCommitment {
    pub commitment: CommitmentTransaction,
    pub htlc_txs: Vec<HtlcTransaction>,
    pub keys: CommitmentKeys,
}

pub(crate) fn basepoints(keys: &ChannelPublicKeys) -> Basepoints {
    Basepoints {
        revocation_basepoint: keys.revocation_basepoint,
        payment_basepoint: keys.payment_basepoint,
        delayed_payment_basepoint: keys.delayed_payment_basepoint,
        htlc_basepoint: keys.htlc_basepoint,
    }
}

/// The 2-of-2 funding witness script.
pub(crate) fn funding_script(setup: &ChannelSetup, holder: &ChannelPublicKeys) -> ScriptBuf {
    funding_witness_script(
        &holder.funding_pubkey,
        &setup.counterparty_keys.funding_pubkey,
    )
}

pub(crate) fn build_commitment(
    setup: &ChannelSetup,
    holder: &ChannelPublicKeys,
    owner: Owner,
    number: u64,
    info: &CommitmentInfo,
    per_commitment_point: &PublicKey,
) -> Result<BuiltCommitment, BuildError> {
    let counterparty = &setup.counterparty_keys;
    let (owner_keys, other_keys) = match owner {
        Owner::Holder => (holder, counterparty),
        Owner::Counterparty => (counterparty, holder),
    };
    let keys = CommitmentKeys::derive(
        &basepoints(owner_keys),
        &basepoints(other_keys),
        per_commitment_point,
        owner_keys.funding_pubkey,
        other_keys.funding_pubkey,
    )?;
    let (opener, accepter) = if setup.holder_is_opener {
        (holder, counterparty)
    } else {
        (counterparty, holder)
    };
    let obscured = obscured_commitment_number(
        &opener.payment_basepoint,
        &accepter.payment_basepoint,
        number,
    )?;
    let htlcs: Vec<CommitmentHtlc> = info
        .htlcs
        .iter()
        .map(|htlc| CommitmentHtlc {
            // "Offered" is from the owner's point of view.
            direction: if htlc.offered_by_holder == (owner == Owner::Holder) {
                HtlcDirection::Offered
            } else {
                HtlcDirection::Received
            },
            amount_msat: htlc.amount_msat,
            payment_hash: htlc.payment_hash,
            cltv_expiry: htlc.cltv_expiry,
        })
        .collect();
    let (to_local_msat, to_remote_msat, local_is_funder, to_self_delay, dust_limit_sat) =
        match owner {
            Owner::Holder => (
                info.to_holder_msat,
                info.to_counterparty_msat,
                setup.holder_is_opener,
                setup.counterparty_selected_contest_delay,
                setup.holder_dust_limit_sat,
            ),
            Owner::Counterparty => (
                info.to_counterparty_msat,
                info.to_holder_msat,
                !setup.holder_is_opener,
                setup.holder_selected_contest_delay,
                setup.counterparty_dust_limit_sat,
            ),
        };
    let commitment = build_commitment_transaction(&CommitmentParams {
        format: setup.commitment_format,
        funding_outpoint: setup.funding_outpoint,
        funding_amount: Amount::from_sat(setup.funding_amount_sat),
        obscured_commitment_number: obscured,
        local_is_funder,
        to_self_delay,
        dust_limit: Amount::from_sat(dust_limit_sat),
        feerate_per_kw: info.feerate_per_kw,
        to_local_msat,
        to_remote_msat,
        htlcs: &htlcs,
        keys,
    })?;
    let htlc_txs = build_htlc_transactions(
        &commitment,
        &htlcs,
        &HtlcTxContext {
            format: setup.commitment_format,
            feerate_per_kw: info.feerate_per_kw,
            to_self_delay,
            revocation_pubkey: keys.revocation_pubkey,
            local_delayed_pubkey: keys.local_delayed_pubkey,
        },
    )?;
    Ok(BuiltCommitment {
        commitment,
        htlc_txs,
        keys,
    })
}

/// The BOLT 3 closing transaction: version 2, locktime 0, final sequence, outputs in BIP 69
/// order (value, then script), zero-value outputs omitted.
pub(crate) fn build_mutual_close(setup: &ChannelSetup, info: &MutualCloseInfo) -> Transaction {
    let mut outputs: Vec<TxOut> = [
        (info.holder_value_sat, &info.holder_script),
        (info.counterparty_value_sat, &info.counterparty_script),
    ]
    .into_iter()
    .filter(|(value, _)| *value > 0)
    .map(|(value, script)| TxOut {
        value: Amount::from_sat(value),
        script_pubkey: script.clone(),
    })
    .collect();
    outputs.sort_by(|a, b| {
        a.value
            .cmp(&b.value)
            .then_with(|| a.script_pubkey.as_bytes().cmp(b.script_pubkey.as_bytes()))
    });
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: setup.funding_outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs,
    }
}
