//! Segwit v0 P2WSH signature hashes, deterministic ECDSA signatures and the witnesses that
//! spend the funding output and HTLC outputs.
//!
//! Signatures are plain RFC 6979 (`sign_ecdsa`, no low-R grinding), which is what the BOLT 3
//! test vectors use.

use bitcoin::ecdsa;
use bitcoin::hashes::Hash;
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, Script, Transaction, Witness};
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

use super::scripts::CommitmentFormat;

/// Errors computing a signature hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The input index does not exist in the transaction.
    #[error("input {index} does not exist in a transaction with {inputs} inputs")]
    InputIndexOutOfRange { index: usize, inputs: usize },
}

/// The BIP 143 signature hash of a P2WSH input, as a message to sign.
pub fn p2wsh_sighash(
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value: Amount,
    sighash_type: EcdsaSighashType,
) -> Result<Message, SigningError> {
    let sighash = SighashCache::new(tx)
        .p2wsh_signature_hash(input_index, witness_script, value, sighash_type)
        .map_err(|_| SigningError::InputIndexOutOfRange {
            index: input_index,
            inputs: tx.input.len(),
        })?;
    Ok(Message::from_digest(sighash.to_byte_array()))
}

/// Signs a P2WSH input with deterministic (RFC 6979) ECDSA.
pub fn sign_p2wsh(
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value: Amount,
    sighash_type: EcdsaSighashType,
    secret: &SecretKey,
) -> Result<ecdsa::Signature, SigningError> {
    let message = p2wsh_sighash(tx, input_index, witness_script, value, sighash_type)?;
    Ok(ecdsa::Signature {
        signature: SECP256K1.sign_ecdsa(&message, secret),
        sighash_type,
    })
}

/// Checks a signature on a P2WSH input (e.g. a peer's `commitment_signed`).
pub fn verify_p2wsh(
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value: Amount,
    signature: &ecdsa::Signature,
    pubkey: &PublicKey,
) -> Result<bool, SigningError> {
    let message = p2wsh_sighash(
        tx,
        input_index,
        witness_script,
        value,
        signature.sighash_type,
    )?;
    Ok(SECP256K1
        .verify_ecdsa(&message, &signature.signature, pubkey)
        .is_ok())
}

/// The sighash type the remote side signs HTLC transactions with: `SINGLE|ANYONECANPAY` with
/// anchors (so the owner can add fee inputs and outputs), `ALL` otherwise.
pub fn remote_htlc_sighash_type(format: CommitmentFormat) -> EcdsaSighashType {
    match format {
        CommitmentFormat::StaticRemoteKey => EcdsaSighashType::All,
        CommitmentFormat::Anchors => EcdsaSighashType::SinglePlusAnyoneCanPay,
    }
}

/// `0 <sig_for_pubkey1> <sig_for_pubkey2> <funding script>`, signatures in funding key order.
pub fn funding_witness(
    funding_witness_script: &Script,
    (pubkey_a, signature_a): (&PublicKey, &ecdsa::Signature),
    (pubkey_b, signature_b): (&PublicKey, &ecdsa::Signature),
) -> Witness {
    let (first, second) = if pubkey_a.serialize() <= pubkey_b.serialize() {
        (signature_a, signature_b)
    } else {
        (signature_b, signature_a)
    };
    Witness::from_slice(&[
        Vec::new(),
        first.to_vec(),
        second.to_vec(),
        funding_witness_script.to_bytes(),
    ])
}

/// `0 <remotehtlcsig> <localhtlcsig> <payment_preimage> <htlc script>` for HTLC-success.
pub fn htlc_success_witness(
    remote_signature: &ecdsa::Signature,
    local_signature: &ecdsa::Signature,
    payment_preimage: &[u8; 32],
    htlc_witness_script: &Script,
) -> Witness {
    Witness::from_slice(&[
        Vec::new(),
        remote_signature.to_vec(),
        local_signature.to_vec(),
        payment_preimage.to_vec(),
        htlc_witness_script.to_bytes(),
    ])
}

/// `0 <remotehtlcsig> <localhtlcsig> <> <htlc script>` for HTLC-timeout.
pub fn htlc_timeout_witness(
    remote_signature: &ecdsa::Signature,
    local_signature: &ecdsa::Signature,
    htlc_witness_script: &Script,
) -> Witness {
    Witness::from_slice(&[
        Vec::new(),
        remote_signature.to_vec(),
        local_signature.to_vec(),
        Vec::new(),
        htlc_witness_script.to_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::ScriptBuf;

    #[test]
    fn missing_input_is_an_error_not_a_panic() {
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![],
            output: vec![],
        };
        let secret = SecretKey::from_slice(&[1; 32]).unwrap();
        let result = sign_p2wsh(
            &tx,
            0,
            &ScriptBuf::new(),
            Amount::ZERO,
            EcdsaSighashType::All,
            &secret,
        );
        assert_eq!(
            result,
            Err(SigningError::InputIndexOutOfRange {
                index: 0,
                inputs: 0
            })
        );
    }
}
