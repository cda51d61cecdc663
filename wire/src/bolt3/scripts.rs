//! BOLT 3 scripts: funding, `to_local`, `to_remote`, anchors and HTLC outputs, and the
//! obscured commitment number.

use bitcoin::hashes::{hash160, ripemd160, Hash};
use bitcoin::key::CompressedPublicKey;
use bitcoin::opcodes::all::{
    OP_CHECKMULTISIG, OP_CHECKSIG, OP_CHECKSIGVERIFY, OP_CLTV, OP_CSV, OP_DROP, OP_DUP, OP_ELSE,
    OP_ENDIF, OP_EQUAL, OP_EQUALVERIFY, OP_HASH160, OP_IF, OP_IFDUP, OP_NOTIF, OP_PUSHNUM_16,
    OP_SIZE, OP_SWAP,
};
use bitcoin::script::Builder;
use bitcoin::{Amount, ScriptBuf, TxOut};
use secp256k1::PublicKey;
use sha2::{Digest, Sha256};

use super::shachain::{ShachainError, MAX_INDEX};

/// Which commitment format the channel uses. Both assume `option_static_remotekey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitmentFormat {
    /// `option_static_remotekey`: `to_remote` is P2WPKH, HTLC transactions pay their own fee.
    StaticRemoteKey,
    /// `option_anchors`: anchor outputs, CSV 1 on remote outputs, zero-fee HTLC transactions.
    Anchors,
}

impl CommitmentFormat {
    /// Whether `option_anchors` applies.
    pub fn has_anchors(self) -> bool {
        self == CommitmentFormat::Anchors
    }
}

/// `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys in lexicographic order of their encoding.
pub fn funding_witness_script(
    funding_pubkey_a: &PublicKey,
    funding_pubkey_b: &PublicKey,
) -> ScriptBuf {
    let (a, b) = (funding_pubkey_a.serialize(), funding_pubkey_b.serialize());
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    Builder::new()
        .push_int(2)
        .push_slice(first)
        .push_slice(second)
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The funding output: P2WSH of the 2-of-2 funding script.
pub fn funding_output(
    funding_pubkey_a: &PublicKey,
    funding_pubkey_b: &PublicKey,
    value: Amount,
) -> TxOut {
    TxOut {
        value,
        script_pubkey: funding_witness_script(funding_pubkey_a, funding_pubkey_b).to_p2wsh(),
    }
}

/// The `to_local` witness script; also the output script of HTLC-success/timeout transactions.
pub fn to_local_witness_script(
    revocation_pubkey: &PublicKey,
    to_self_delay: u16,
    local_delayed_pubkey: &PublicKey,
) -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_IF)
        .push_slice(revocation_pubkey.serialize())
        .push_opcode(OP_ELSE)
        .push_int(i64::from(to_self_delay))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(local_delayed_pubkey.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The anchors `to_remote` witness script: `<remotepubkey> OP_CHECKSIGVERIFY 1 OP_CHECKSEQUENCEVERIFY`.
pub fn to_remote_anchors_witness_script(remote_pubkey: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(remote_pubkey.serialize())
        .push_opcode(OP_CHECKSIGVERIFY)
        .push_int(1)
        .push_opcode(OP_CSV)
        .into_script()
}

/// The `to_remote` output script (scriptPubKey): P2WPKH, or P2WSH of the CSV-1 script with anchors.
pub fn to_remote_script_pubkey(remote_pubkey: &PublicKey, format: CommitmentFormat) -> ScriptBuf {
    match format {
        CommitmentFormat::StaticRemoteKey => {
            ScriptBuf::new_p2wpkh(&CompressedPublicKey(*remote_pubkey).wpubkey_hash())
        }
        CommitmentFormat::Anchors => to_remote_anchors_witness_script(remote_pubkey).to_p2wsh(),
    }
}

/// The anchor witness script locked to one party's funding key; anyone may sweep after 16 blocks.
pub fn anchor_witness_script(funding_pubkey: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(funding_pubkey.serialize())
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_IFDUP)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_PUSHNUM_16)
        .push_opcode(OP_CSV)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// The keys every HTLC script of one commitment transaction uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtlcScriptKeys {
    pub revocation_pubkey: PublicKey,
    pub local_htlc_pubkey: PublicKey,
    pub remote_htlc_pubkey: PublicKey,
}

/// The common revocation prefix: `OP_DUP OP_HASH160 <H(revocationpubkey)> OP_EQUAL OP_IF
/// OP_CHECKSIG OP_ELSE <remote_htlcpubkey> OP_SWAP OP_SIZE 32 OP_EQUAL`.
fn htlc_script_prefix(keys: &HtlcScriptKeys) -> Builder {
    let revocation_hash = hash160::Hash::hash(&keys.revocation_pubkey.serialize());
    Builder::new()
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(revocation_hash.to_byte_array())
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(keys.remote_htlc_pubkey.serialize())
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
}

/// Closes an HTLC script, adding `1 OP_CHECKSEQUENCEVERIFY OP_DROP` with anchors.
fn htlc_script_suffix(builder: Builder, format: CommitmentFormat) -> ScriptBuf {
    let builder = if format.has_anchors() {
        builder.push_int(1).push_opcode(OP_CSV).push_opcode(OP_DROP)
    } else {
        builder
    };
    builder.push_opcode(OP_ENDIF).into_script()
}

/// The offered HTLC witness script (HTLC offered by the commitment owner).
pub fn offered_htlc_witness_script(
    keys: &HtlcScriptKeys,
    payment_hash: &[u8; 32],
    format: CommitmentFormat,
) -> ScriptBuf {
    let builder = htlc_script_prefix(keys)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_DROP)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlc_pubkey.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_HASH160)
        .push_slice(ripemd160::Hash::hash(payment_hash).to_byte_array())
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF);
    htlc_script_suffix(builder, format)
}

/// The received HTLC witness script (HTLC received by the commitment owner).
pub fn received_htlc_witness_script(
    keys: &HtlcScriptKeys,
    payment_hash: &[u8; 32],
    cltv_expiry: u32,
    format: CommitmentFormat,
) -> ScriptBuf {
    let builder = htlc_script_prefix(keys)
        .push_opcode(OP_IF)
        .push_opcode(OP_HASH160)
        .push_slice(ripemd160::Hash::hash(payment_hash).to_byte_array())
        .push_opcode(OP_EQUALVERIFY)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlc_pubkey.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DROP)
        .push_int(i64::from(cltv_expiry))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF);
    htlc_script_suffix(builder, format)
}

/// The lower 48 bits of `SHA256(opener payment_basepoint || accepter payment_basepoint)`.
pub fn commitment_number_obscure_factor(
    opener_payment_basepoint: &PublicKey,
    accepter_payment_basepoint: &PublicKey,
) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(opener_payment_basepoint.serialize());
    hasher.update(accepter_payment_basepoint.serialize());
    let hash: [u8; 32] = hasher.finalize().into();
    let [.., b0, b1, b2, b3, b4, b5] = hash;
    u64::from_be_bytes([0, 0, b0, b1, b2, b3, b4, b5])
}

/// The 48-bit commitment number XOR the obscuring factor.
pub fn obscured_commitment_number(
    opener_payment_basepoint: &PublicKey,
    accepter_payment_basepoint: &PublicKey,
    commitment_number: u64,
) -> Result<u64, ShachainError> {
    if commitment_number > MAX_INDEX {
        return Err(ShachainError::IndexOutOfRange(commitment_number));
    }
    Ok(commitment_number
        ^ commitment_number_obscure_factor(opener_payment_basepoint, accepter_payment_basepoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(s: &str) -> PublicKey {
        PublicKey::from_slice(&hex::decode(s).unwrap()).unwrap()
    }

    // BOLT 3, Appendix C: keys and expected scripts (verbatim).
    const LOCAL_FUNDING_PUBKEY: &str =
        "023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb";
    const REMOTE_FUNDING_PUBKEY: &str =
        "030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1";
    const FUNDING_WSCRIPT: &str = "5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae";
    const LOCAL_HTLCPUBKEY: &str =
        "030d417a46946384f88d5f3337267c5e579765875dc4daca813e21734b140639e7";
    const REMOTE_HTLCPUBKEY: &str =
        "0394854aa6eab5b2a8122cc726e9dded053a2184d88256816826d6231c068d4a5b";
    const LOCAL_DELAYEDPUBKEY: &str =
        "03fd5960528dc152014952efdb702a88f71e3c1653b2314431701ec77e57fde83c";
    const LOCAL_REVOCATION_PUBKEY: &str =
        "0212a140cd0c6539d07cd08dfe09984dec3251ea808b892efeac3ede9402bf2b19";
    const TO_LOCAL_WSCRIPT: &str = "63210212a140cd0c6539d07cd08dfe09984dec3251ea808b892efeac3ede9402bf2b1967029000b2752103fd5960528dc152014952efdb702a88f71e3c1653b2314431701ec77e57fde83c68ac";
    const HTLC_2_OFFERED_WSCRIPT: &str = "76a91414011f7254d96b819c76986c277d115efce6f7b58763ac67210394854aa6eab5b2a8122cc726e9dded053a2184d88256816826d6231c068d4a5b7c820120876475527c21030d417a46946384f88d5f3337267c5e579765875dc4daca813e21734b140639e752ae67a914b43e1b38138a41b37f7cd9a1d274bc63e3a9b5d188ac6868";
    const HTLC_0_RECEIVED_WSCRIPT: &str = "76a91414011f7254d96b819c76986c277d115efce6f7b58763ac67210394854aa6eab5b2a8122cc726e9dded053a2184d88256816826d6231c068d4a5b7c8201208763a914b8bcb07f6344b42ab04250c86a6e8b75d3fdbbc688527c21030d417a46946384f88d5f3337267c5e579765875dc4daca813e21734b140639e752ae677502f401b175ac6868";
    const LOCAL_PAYMENT_BASEPOINT: &str =
        "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa";
    const REMOTE_PAYMENT_BASEPOINT: &str =
        "032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991";

    fn htlc_keys() -> HtlcScriptKeys {
        HtlcScriptKeys {
            revocation_pubkey: point(LOCAL_REVOCATION_PUBKEY),
            local_htlc_pubkey: point(LOCAL_HTLCPUBKEY),
            remote_htlc_pubkey: point(REMOTE_HTLCPUBKEY),
        }
    }

    fn sha256(preimage: [u8; 32]) -> [u8; 32] {
        Sha256::digest(preimage).into()
    }

    #[test]
    fn funding_script_matches_appendix_c_in_either_key_order() {
        let (local, remote) = (point(LOCAL_FUNDING_PUBKEY), point(REMOTE_FUNDING_PUBKEY));
        assert_eq!(
            hex::encode(funding_witness_script(&local, &remote).as_bytes()),
            FUNDING_WSCRIPT
        );
        assert_eq!(
            hex::encode(funding_witness_script(&remote, &local).as_bytes()),
            FUNDING_WSCRIPT
        );
    }

    #[test]
    fn to_local_script_matches_appendix_c() {
        let script = to_local_witness_script(
            &point(LOCAL_REVOCATION_PUBKEY),
            144,
            &point(LOCAL_DELAYEDPUBKEY),
        );
        assert_eq!(hex::encode(script.as_bytes()), TO_LOCAL_WSCRIPT);
    }

    #[test]
    fn htlc_scripts_match_appendix_c() {
        let offered = offered_htlc_witness_script(
            &htlc_keys(),
            &sha256([2; 32]),
            CommitmentFormat::StaticRemoteKey,
        );
        assert_eq!(hex::encode(offered.as_bytes()), HTLC_2_OFFERED_WSCRIPT);
        let received = received_htlc_witness_script(
            &htlc_keys(),
            &sha256([0; 32]),
            500,
            CommitmentFormat::StaticRemoteKey,
        );
        assert_eq!(hex::encode(received.as_bytes()), HTLC_0_RECEIVED_WSCRIPT);
    }

    #[test]
    fn anchors_htlc_scripts_append_csv_1_before_the_last_endif() {
        let plain = offered_htlc_witness_script(
            &htlc_keys(),
            &sha256([2; 32]),
            CommitmentFormat::StaticRemoteKey,
        );
        let anchors =
            offered_htlc_witness_script(&htlc_keys(), &sha256([2; 32]), CommitmentFormat::Anchors);
        let plain_hex = hex::encode(plain.as_bytes());
        let expected = format!("{}51b27568", &plain_hex[..plain_hex.len() - 2]);
        assert_eq!(hex::encode(anchors.as_bytes()), expected);
    }

    #[test]
    fn obscured_commitment_number_matches_appendix_c() {
        let (local, remote) = (
            point(LOCAL_PAYMENT_BASEPOINT),
            point(REMOTE_PAYMENT_BASEPOINT),
        );
        assert_eq!(
            commitment_number_obscure_factor(&local, &remote),
            0x2bb038521914
        );
        assert_eq!(
            obscured_commitment_number(&local, &remote, 42),
            Ok(0x2bb038521914 ^ 42)
        );
        assert!(obscured_commitment_number(&local, &remote, 1 << 48).is_err());
    }

    #[test]
    fn to_remote_is_p2wpkh_without_anchors() {
        let script = to_remote_script_pubkey(
            &point(REMOTE_PAYMENT_BASEPOINT),
            CommitmentFormat::StaticRemoteKey,
        );
        assert_eq!(
            hex::encode(script.as_bytes()),
            "0014cc1b07838e387deacd0e5232e1e8b49f4c29e484"
        );
    }
}
