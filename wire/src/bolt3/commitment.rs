//! BOLT 3 commitment transactions: fees, trimming, outputs and their BIP 69 + CLTV ordering.
//!
//! Everything is built from the owner's point of view ("local" is the side whose commitment this
//! is): offered HTLCs are those the owner sent, `to_local` is delayed and revocable.

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use secp256k1::PublicKey;

use super::keys::{
    derive_public_key, derive_revocation_public_key, Basepoints, KeyDerivationError,
};
use super::scripts::{
    anchor_witness_script, offered_htlc_witness_script, received_htlc_witness_script,
    to_local_witness_script, to_remote_anchors_witness_script, to_remote_script_pubkey,
    CommitmentFormat, HtlcScriptKeys,
};
use super::shachain::MAX_INDEX;

/// The value of each anchor output (the P2WSH dust limit).
pub const ANCHOR_OUTPUT_VALUE: Amount = Amount::from_sat(330);
/// Expected commitment weight without HTLC outputs, no `option_anchors`.
pub const COMMITMENT_BASE_WEIGHT: u64 = 724;
/// Expected commitment weight without HTLC outputs, with `option_anchors`.
pub const COMMITMENT_ANCHORS_BASE_WEIGHT: u64 = 1124;
/// Weight each untrimmed HTLC output adds to the commitment transaction.
pub const COMMITMENT_WEIGHT_PER_HTLC: u64 = 172;
/// Expected HTLC-timeout weight, no `option_anchors` (with anchors the fee is zero).
pub const HTLC_TIMEOUT_WEIGHT: u64 = 663;
/// Expected HTLC-success weight, no `option_anchors` (with anchors the fee is zero).
pub const HTLC_SUCCESS_WEIGHT: u64 = 703;

/// Errors building a commitment transaction from inconsistent inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    /// The commitment number (after obscuring) must fit in 48 bits.
    #[error("obscured commitment number {0:#x} does not fit in 48 bits")]
    CommitmentNumberOutOfRange(u64),
    /// Balances plus HTLCs add up to more than u64 millisatoshis.
    #[error("amounts overflow")]
    AmountOverflow,
    /// Balances plus HTLCs add up to more than the funding output holds.
    #[error("balances and htlcs total {total_msat} msat, more than the funding output's {funding_msat} msat")]
    BalancesExceedFunding { total_msat: u64, funding_msat: u64 },
}

/// Which way an HTLC goes, seen from the commitment owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HtlcDirection {
    /// Sent by the owner: an offered HTLC output, spent by an HTLC-timeout transaction.
    Offered,
    /// Sent to the owner: a received HTLC output, spent by an HTLC-success transaction.
    Received,
}

/// One HTLC committed to in the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommitmentHtlc {
    pub direction: HtlcDirection,
    pub amount_msat: u64,
    pub payment_hash: [u8; 32],
    pub cltv_expiry: u32,
}

impl CommitmentHtlc {
    /// The output amount: millisatoshis rounded down.
    pub fn amount(&self) -> Amount {
        Amount::from_sat(self.amount_msat / 1000)
    }

    /// The witness script of this HTLC's output.
    pub fn witness_script(&self, keys: &HtlcScriptKeys, format: CommitmentFormat) -> ScriptBuf {
        match self.direction {
            HtlcDirection::Offered => offered_htlc_witness_script(keys, &self.payment_hash, format),
            HtlcDirection::Received => {
                received_htlc_witness_script(keys, &self.payment_hash, self.cltv_expiry, format)
            }
        }
    }
}

/// `feerate_per_kw * weight / 1000`, rounded down, saturating instead of overflowing.
fn fee_for_weight(feerate_per_kw: u32, weight: u64) -> Amount {
    Amount::from_sat(u64::from(feerate_per_kw).saturating_mul(weight) / 1000)
}

/// The HTLC-timeout transaction fee (zero with anchors).
pub fn htlc_timeout_fee(format: CommitmentFormat, feerate_per_kw: u32) -> Amount {
    match format {
        CommitmentFormat::StaticRemoteKey => fee_for_weight(feerate_per_kw, HTLC_TIMEOUT_WEIGHT),
        CommitmentFormat::Anchors => Amount::ZERO,
    }
}

/// The HTLC-success transaction fee (zero with anchors).
pub fn htlc_success_fee(format: CommitmentFormat, feerate_per_kw: u32) -> Amount {
    match format {
        CommitmentFormat::StaticRemoteKey => fee_for_weight(feerate_per_kw, HTLC_SUCCESS_WEIGHT),
        CommitmentFormat::Anchors => Amount::ZERO,
    }
}

/// The fee of the second-stage transaction that spends this HTLC's output.
pub fn second_stage_fee(
    direction: HtlcDirection,
    format: CommitmentFormat,
    feerate_per_kw: u32,
) -> Amount {
    match direction {
        HtlcDirection::Offered => htlc_timeout_fee(format, feerate_per_kw),
        HtlcDirection::Received => htlc_success_fee(format, feerate_per_kw),
    }
}

/// Whether the HTLC is trimmed: its amount minus its second-stage fee is below the dust limit.
pub fn is_trimmed(
    htlc: &CommitmentHtlc,
    format: CommitmentFormat,
    feerate_per_kw: u32,
    dust_limit: Amount,
) -> bool {
    let threshold = dust_limit
        .to_sat()
        .saturating_add(second_stage_fee(htlc.direction, format, feerate_per_kw).to_sat());
    htlc.amount().to_sat() < threshold
}

/// The base commitment fee the funder pays, given the number of untrimmed HTLCs.
pub fn commitment_base_fee(
    format: CommitmentFormat,
    feerate_per_kw: u32,
    untrimmed_htlcs: usize,
) -> Amount {
    let base = match format {
        CommitmentFormat::StaticRemoteKey => COMMITMENT_BASE_WEIGHT,
        CommitmentFormat::Anchors => COMMITMENT_ANCHORS_BASE_WEIGHT,
    };
    let htlc_count = u64::try_from(untrimmed_htlcs).unwrap_or(u64::MAX);
    let weight = base.saturating_add(COMMITMENT_WEIGHT_PER_HTLC.saturating_mul(htlc_count));
    fee_for_weight(feerate_per_kw, weight)
}

/// The per-commitment keys of one commitment transaction (already derived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentKeys {
    /// Revocation key for this commitment (from the other side's revocation basepoint).
    pub revocation_pubkey: PublicKey,
    /// The owner's delayed payment key.
    pub local_delayed_pubkey: PublicKey,
    /// The owner's HTLC key.
    pub local_htlc_pubkey: PublicKey,
    /// The other side's HTLC key.
    pub remote_htlc_pubkey: PublicKey,
    /// `remotepubkey`: with static_remotekey, the other side's payment basepoint.
    pub remote_payment_pubkey: PublicKey,
    /// Funding keys, which the anchor outputs are locked to.
    pub local_funding_pubkey: PublicKey,
    pub remote_funding_pubkey: PublicKey,
}

impl CommitmentKeys {
    /// Derives the keys of the commitment owned by `owner`, at the owner's `per_commitment_point`
    /// (`option_static_remotekey`: `remotepubkey` is the counterparty's payment basepoint).
    pub fn derive(
        owner: &Basepoints,
        counterparty: &Basepoints,
        per_commitment_point: &PublicKey,
        owner_funding_pubkey: PublicKey,
        counterparty_funding_pubkey: PublicKey,
    ) -> Result<Self, KeyDerivationError> {
        Ok(CommitmentKeys {
            revocation_pubkey: derive_revocation_public_key(
                &counterparty.revocation_basepoint,
                per_commitment_point,
            )?,
            local_delayed_pubkey: derive_public_key(
                &owner.delayed_payment_basepoint,
                per_commitment_point,
            )?,
            local_htlc_pubkey: derive_public_key(&owner.htlc_basepoint, per_commitment_point)?,
            remote_htlc_pubkey: derive_public_key(
                &counterparty.htlc_basepoint,
                per_commitment_point,
            )?,
            remote_payment_pubkey: counterparty.payment_basepoint,
            local_funding_pubkey: owner_funding_pubkey,
            remote_funding_pubkey: counterparty_funding_pubkey,
        })
    }

    /// The keys the HTLC scripts use.
    pub fn htlc_script_keys(&self) -> HtlcScriptKeys {
        HtlcScriptKeys {
            revocation_pubkey: self.revocation_pubkey,
            local_htlc_pubkey: self.local_htlc_pubkey,
            remote_htlc_pubkey: self.remote_htlc_pubkey,
        }
    }
}

/// Everything that determines one side's commitment transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentParams<'a> {
    pub format: CommitmentFormat,
    pub funding_outpoint: OutPoint,
    pub funding_amount: Amount,
    /// The commitment number already XORed with the obscuring factor (48 bits).
    pub obscured_commitment_number: u64,
    /// Whether the owner opened the channel and so pays the fee and the anchors.
    pub local_is_funder: bool,
    /// The delay the owner's outputs wait (set by the other side).
    pub to_self_delay: u16,
    /// The owner's `dust_limit_satoshis`.
    pub dust_limit: Amount,
    pub feerate_per_kw: u32,
    /// The owner's balance, HTLCs already excluded.
    pub to_local_msat: u64,
    /// The other side's balance, HTLCs already excluded.
    pub to_remote_msat: u64,
    pub htlcs: &'a [CommitmentHtlc],
    pub keys: CommitmentKeys,
}

/// What an output of the commitment transaction pays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitmentOutputKind {
    ToLocal,
    ToRemote,
    LocalAnchor,
    RemoteAnchor,
    /// An HTLC output; the index is into [`CommitmentParams::htlcs`].
    Htlc {
        htlc_index: usize,
    },
}

/// One output with what it is and the script that spends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentOutput {
    pub kind: CommitmentOutputKind,
    /// The P2WSH witness script; `None` for a P2WPKH `to_remote`.
    pub witness_script: Option<ScriptBuf>,
}

/// A built (unsigned) commitment transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentTransaction {
    pub tx: Transaction,
    /// One entry per `tx.output`, in the same (sorted) order.
    pub outputs: Vec<CommitmentOutput>,
    /// The base fee the funder paid (trimmed outputs add to the actual fee).
    pub base_fee: Amount,
}

/// An untrimmed HTLC output of a commitment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtlcOutputRef<'a> {
    pub output_index: u32,
    pub htlc_index: usize,
    pub witness_script: &'a ScriptBuf,
}

impl CommitmentTransaction {
    /// The untrimmed HTLC outputs in output order, which is also the order of `htlc_signatures`.
    pub fn htlc_outputs(&self) -> impl Iterator<Item = HtlcOutputRef<'_>> {
        self.outputs
            .iter()
            .enumerate()
            .filter_map(|(output_index, output)| match output {
                CommitmentOutput {
                    kind: CommitmentOutputKind::Htlc { htlc_index },
                    witness_script: Some(script),
                } => Some(HtlcOutputRef {
                    output_index: u32::try_from(output_index).ok()?,
                    htlc_index: *htlc_index,
                    witness_script: script,
                }),
                _ => None,
            })
    }
}

/// An output before sorting, with the CLTV used as the final tie-break for HTLCs.
struct PendingOutput {
    txout: TxOut,
    cltv_expiry: u32,
    output: CommitmentOutput,
}

impl PendingOutput {
    fn p2wsh(
        value: Amount,
        witness_script: ScriptBuf,
        kind: CommitmentOutputKind,
        cltv_expiry: u32,
    ) -> Self {
        PendingOutput {
            txout: TxOut {
                value,
                script_pubkey: witness_script.to_p2wsh(),
            },
            cltv_expiry,
            output: CommitmentOutput {
                kind,
                witness_script: Some(witness_script),
            },
        }
    }
}

/// Checks that balances plus HTLCs fit in the funding output.
fn check_balances(params: &CommitmentParams<'_>) -> Result<(), CommitmentError> {
    let htlc_total = params
        .htlcs
        .iter()
        .try_fold(0u64, |total, htlc| total.checked_add(htlc.amount_msat))
        .ok_or(CommitmentError::AmountOverflow)?;
    let total_msat = params
        .to_local_msat
        .checked_add(params.to_remote_msat)
        .and_then(|sum| sum.checked_add(htlc_total))
        .ok_or(CommitmentError::AmountOverflow)?;
    let funding_msat = params
        .funding_amount
        .to_sat()
        .checked_mul(1000)
        .ok_or(CommitmentError::AmountOverflow)?;
    if total_msat > funding_msat {
        return Err(CommitmentError::BalancesExceedFunding {
            total_msat,
            funding_msat,
        });
    }
    Ok(())
}

/// Builds the commitment transaction following "Commitment Transaction Construction".
pub fn build_commitment_transaction(
    params: &CommitmentParams<'_>,
) -> Result<CommitmentTransaction, CommitmentError> {
    let obscured = params.obscured_commitment_number;
    if obscured > MAX_INDEX {
        return Err(CommitmentError::CommitmentNumberOutOfRange(obscured));
    }
    check_balances(params)?;
    let format = params.format;
    let keys = &params.keys;

    let untrimmed: Vec<(usize, &CommitmentHtlc)> = params
        .htlcs
        .iter()
        .enumerate()
        .filter(|(_, htlc)| !is_trimmed(htlc, format, params.feerate_per_kw, params.dust_limit))
        .collect();

    // The funder pays the base fee and, with anchors, both anchors; a balance never goes negative.
    let base_fee = commitment_base_fee(format, params.feerate_per_kw, untrimmed.len());
    let anchors_cost = if format.has_anchors() {
        ANCHOR_OUTPUT_VALUE.to_sat() * 2
    } else {
        0
    };
    let funder_cost = base_fee.to_sat().saturating_add(anchors_cost);
    let mut to_local = params.to_local_msat / 1000;
    let mut to_remote = params.to_remote_msat / 1000;
    if params.local_is_funder {
        to_local = to_local.saturating_sub(funder_cost);
    } else {
        to_remote = to_remote.saturating_sub(funder_cost);
    }

    let mut pending = Vec::with_capacity(untrimmed.len() + 4);
    let htlc_keys = keys.htlc_script_keys();
    for (htlc_index, htlc) in &untrimmed {
        pending.push(PendingOutput::p2wsh(
            htlc.amount(),
            htlc.witness_script(&htlc_keys, format),
            CommitmentOutputKind::Htlc {
                htlc_index: *htlc_index,
            },
            htlc.cltv_expiry,
        ));
    }
    let dust = params.dust_limit.to_sat();
    let has_to_local = to_local >= dust;
    let has_to_remote = to_remote >= dust;
    if has_to_local {
        let script = to_local_witness_script(
            &keys.revocation_pubkey,
            params.to_self_delay,
            &keys.local_delayed_pubkey,
        );
        pending.push(PendingOutput::p2wsh(
            Amount::from_sat(to_local),
            script,
            CommitmentOutputKind::ToLocal,
            0,
        ));
    }
    if has_to_remote {
        let value = Amount::from_sat(to_remote);
        pending.push(match format {
            CommitmentFormat::StaticRemoteKey => PendingOutput {
                txout: TxOut {
                    value,
                    script_pubkey: to_remote_script_pubkey(&keys.remote_payment_pubkey, format),
                },
                cltv_expiry: 0,
                output: CommitmentOutput {
                    kind: CommitmentOutputKind::ToRemote,
                    witness_script: None,
                },
            },
            CommitmentFormat::Anchors => PendingOutput::p2wsh(
                value,
                to_remote_anchors_witness_script(&keys.remote_payment_pubkey),
                CommitmentOutputKind::ToRemote,
                0,
            ),
        });
    }
    if format.has_anchors() {
        if has_to_local || !untrimmed.is_empty() {
            let script = anchor_witness_script(&keys.local_funding_pubkey);
            pending.push(PendingOutput::p2wsh(
                ANCHOR_OUTPUT_VALUE,
                script,
                CommitmentOutputKind::LocalAnchor,
                0,
            ));
        }
        if has_to_remote || !untrimmed.is_empty() {
            let script = anchor_witness_script(&keys.remote_funding_pubkey);
            pending.push(PendingOutput::p2wsh(
                ANCHOR_OUTPUT_VALUE,
                script,
                CommitmentOutputKind::RemoteAnchor,
                0,
            ));
        }
    }

    // BIP 69 by value then scriptPubKey (slice order is memcmp with shorter-first), then CLTV.
    pending.sort_by(|a, b| {
        a.txout
            .value
            .cmp(&b.txout.value)
            .then_with(|| {
                a.txout
                    .script_pubkey
                    .as_bytes()
                    .cmp(b.txout.script_pubkey.as_bytes())
            })
            .then_with(|| a.cltv_expiry.cmp(&b.cltv_expiry))
    });

    let (txouts, outputs): (Vec<TxOut>, Vec<CommitmentOutput>) =
        pending.into_iter().map(|p| (p.txout, p.output)).unzip();
    // obscured < 2^48: locktime carries its lower 24 bits, the sequence its upper 24 bits.
    let lock_time = LockTime::from_consensus(0x2000_0000 | (obscured & 0xff_ffff) as u32);
    let sequence = Sequence(0x8000_0000 | ((obscured >> 24) & 0xff_ffff) as u32);
    let tx = Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn {
            previous_output: params.funding_outpoint,
            script_sig: ScriptBuf::new(),
            sequence,
            witness: Witness::new(),
        }],
        output: txouts,
    };
    Ok(CommitmentTransaction {
        tx,
        outputs,
        base_fee,
    })
}

#[cfg(test)]
mod tests;
