//! BOLT 3 second-stage HTLC transactions: HTLC-timeout (offered) and HTLC-success (received).

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use secp256k1::PublicKey;

use super::commitment::{second_stage_fee, CommitmentHtlc, CommitmentTransaction, HtlcDirection};
use super::scripts::{to_local_witness_script, CommitmentFormat};

/// Errors building an HTLC transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HtlcTxError {
    /// The HTLC cannot pay its own fee: it should have been trimmed.
    #[error("htlc of {amount} cannot pay the second-stage fee of {fee}")]
    AmountBelowFee { amount: Amount, fee: Amount },
    /// The commitment refers to an HTLC index the given HTLC list does not have.
    #[error("the commitment refers to htlc {htlc_index}, but only {count} htlcs were given")]
    UnknownHtlc { htlc_index: usize, count: usize },
}

/// An unsigned HTLC transaction with what is needed to sign its single input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtlcTransaction {
    pub tx: Transaction,
    /// Index into the commitment's HTLC list.
    pub htlc_index: usize,
    /// The witness script of the commitment output being spent (the script to sign).
    pub spent_witness_script: ScriptBuf,
    /// The value of the commitment output being spent.
    pub spent_amount: Amount,
}

/// What every HTLC transaction of one commitment shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtlcTxContext {
    pub format: CommitmentFormat,
    pub feerate_per_kw: u32,
    /// The delay on the output (the commitment owner's `to_self_delay`).
    pub to_self_delay: u16,
    pub revocation_pubkey: PublicKey,
    pub local_delayed_pubkey: PublicKey,
}

impl HtlcTxContext {
    /// The witness script of the HTLC transaction's single output (same shape as `to_local`).
    pub fn output_witness_script(&self) -> ScriptBuf {
        to_local_witness_script(
            &self.revocation_pubkey,
            self.to_self_delay,
            &self.local_delayed_pubkey,
        )
    }
}

/// Builds the unsigned HTLC-timeout (offered HTLC) or HTLC-success (received HTLC) transaction
/// spending output `output_index` of the commitment transaction `commitment_txid`.
pub fn build_htlc_transaction(
    commitment_txid: Txid,
    output_index: u32,
    htlc: &CommitmentHtlc,
    context: &HtlcTxContext,
) -> Result<Transaction, HtlcTxError> {
    let amount = htlc.amount();
    let fee = second_stage_fee(htlc.direction, context.format, context.feerate_per_kw);
    let value = amount
        .checked_sub(fee)
        .ok_or(HtlcTxError::AmountBelowFee { amount, fee })?;
    let lock_time = match htlc.direction {
        HtlcDirection::Offered => LockTime::from_consensus(htlc.cltv_expiry),
        HtlcDirection::Received => LockTime::ZERO,
    };
    // With anchors the HTLC outputs carry `1 OP_CHECKSEQUENCEVERIFY`.
    let sequence = if context.format.has_anchors() {
        Sequence(1)
    } else {
        Sequence(0)
    };
    Ok(Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: commitment_txid,
                vout: output_index,
            },
            script_sig: ScriptBuf::new(),
            sequence,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value,
            script_pubkey: context.output_witness_script().to_p2wsh(),
        }],
    })
}

/// Builds the HTLC transaction for every untrimmed HTLC output of `commitment`, in output order:
/// the order in which `commitment_signed` carries `htlc_signatures`. `htlcs` must be the list the
/// commitment was built from.
pub fn build_htlc_transactions(
    commitment: &CommitmentTransaction,
    htlcs: &[CommitmentHtlc],
    context: &HtlcTxContext,
) -> Result<Vec<HtlcTransaction>, HtlcTxError> {
    let txid = commitment.tx.compute_txid();
    commitment
        .htlc_outputs()
        .map(|output| {
            let htlc = htlcs
                .get(output.htlc_index)
                .ok_or(HtlcTxError::UnknownHtlc {
                    htlc_index: output.htlc_index,
                    count: htlcs.len(),
                })?;
            Ok(HtlcTransaction {
                tx: build_htlc_transaction(txid, output.output_index, htlc, context)?,
                htlc_index: output.htlc_index,
                spent_witness_script: output.witness_script.clone(),
                spent_amount: htlc.amount(),
            })
        })
        .collect()
}
