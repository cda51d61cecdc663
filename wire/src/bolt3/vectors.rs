//! BOLT 3 Appendix C (static_remotekey) and Appendix F (anchors) commitment and HTLC
//! transaction vectors. The appendices are kept verbatim in `vectors/appendix_c.txt` and
//! `vectors/appendix_f.txt`; this module parses them and rebuilds and signs every case.

use std::str::FromStr;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::{Amount, OutPoint, Txid};
use secp256k1::{PublicKey, SecretKey, SECP256K1};
use sha2::{Digest, Sha256};

use super::commitment::{
    build_commitment_transaction, CommitmentHtlc, CommitmentKeys, CommitmentParams, HtlcDirection,
};
use super::htlc_tx::{build_htlc_transactions, HtlcTxContext};
use super::keys::{
    derive_private_key, derive_public_key, derive_revocation_public_key, per_commitment_point,
    Basepoints,
};
use super::scripts::{
    funding_output, funding_witness_script, obscured_commitment_number, CommitmentFormat,
};
use super::signing::{
    funding_witness, htlc_success_witness, htlc_timeout_witness, remote_htlc_sighash_type,
    sign_p2wsh, verify_p2wsh,
};

/// BOLT 3, Appendix B: Funding Transaction Test Vectors (verbatim copy).
const APPENDIX_B: &str = include_str!("vectors/appendix_b.txt");
/// BOLT 3, Appendix C: Commitment and HTLC Transaction Test Vectors (verbatim copy).
const APPENDIX_C: &str = include_str!("vectors/appendix_c.txt");
/// BOLT 3, Appendix F: Commitment and HTLC Transaction Test Vectors (anchors) (verbatim copy).
const APPENDIX_F: &str = include_str!("vectors/appendix_f.txt");

/// The value of the first `key: value` line (an `INTERNAL: ` prefix is ignored).
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("INTERNAL: ").unwrap_or(line);
            line.split_once(": ")
        })
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim())
        .unwrap_or_else(|| panic!("missing {key}"))
}

fn bytes32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

/// Private keys are shown with Bitcoin's trailing `01` "compressed" marker.
fn secret(text: &str, key: &str) -> SecretKey {
    let value = field(text, key);
    SecretKey::from_slice(&hex::decode(value.strip_suffix("01").unwrap()).unwrap()).unwrap()
}

fn pubkey(text: &str, key: &str) -> PublicKey {
    PublicKey::from_slice(&hex::decode(field(text, key)).unwrap()).unwrap()
}

struct TestHtlc {
    htlc: CommitmentHtlc,
    preimage: [u8; 32],
}

/// The common parameters of Appendix C, which Appendix F reuses.
struct Setup {
    funding_outpoint: OutPoint,
    funding_amount: Amount,
    obscured_commitment_number: u64,
    to_self_delay: u16,
    htlcs: Vec<TestHtlc>,
    local_funding_secret: SecretKey,
    remote_funding_secret: SecretKey,
    local_htlc_secret: SecretKey,
    remote_htlc_secret: SecretKey,
    keys: CommitmentKeys,
}

fn setup() -> Setup {
    let text = APPENDIX_C;
    let pcp_secret = bytes32(
        field(text, "x_local_per_commitment_secret")
            .strip_suffix("01")
            .unwrap(),
    );
    let pcp = per_commitment_point(&pcp_secret).unwrap();
    assert_eq!(pcp, pubkey(text, "local_per_commitment_point"));

    // HTLC basepoints equal the payment basepoints in these vectors.
    let local_htlc_secret =
        derive_private_key(&secret(text, "local_payment_basepoint_secret"), &pcp).unwrap();
    let remote_htlc_secret =
        derive_private_key(&secret(text, "remote_payment_basepoint_secret"), &pcp).unwrap();
    let local_htlc_pubkey = derive_public_key(&pubkey(text, "local_htlc_basepoint"), &pcp).unwrap();
    let remote_htlc_pubkey =
        derive_public_key(&pubkey(text, "remote_htlc_basepoint"), &pcp).unwrap();
    assert_eq!(local_htlc_pubkey, pubkey(text, "local_htlcpubkey"));
    assert_eq!(remote_htlc_pubkey, pubkey(text, "remote_htlcpubkey"));
    assert_eq!(
        PublicKey::from_secret_key(SECP256K1, &local_htlc_secret),
        local_htlc_pubkey
    );
    assert_eq!(
        PublicKey::from_secret_key(SECP256K1, &remote_htlc_secret),
        remote_htlc_pubkey
    );

    let local_delayed_pubkey =
        derive_public_key(&pubkey(text, "local_delayed_payment_basepoint"), &pcp).unwrap();
    assert_eq!(local_delayed_pubkey, pubkey(text, "local_delayedpubkey"));
    let revocation_pubkey =
        derive_revocation_public_key(&pubkey(text, "remote_revocation_basepoint"), &pcp).unwrap();
    assert_eq!(revocation_pubkey, pubkey(text, "local_revocation_pubkey"));

    let local_funding_secret = secret(text, "local_funding_privkey");
    let remote_funding_secret = secret(text, "remote_funding_privkey");
    let local_funding_pubkey = PublicKey::from_secret_key(SECP256K1, &local_funding_secret);
    let remote_funding_pubkey = PublicKey::from_secret_key(SECP256K1, &remote_funding_secret);
    assert_eq!(local_funding_pubkey, pubkey(text, "local_funding_pubkey"));
    assert_eq!(remote_funding_pubkey, pubkey(text, "remote_funding_pubkey"));

    let local_payment_basepoint = pubkey(text, "local_payment_basepoint");
    let remote_payment_basepoint = pubkey(text, "remote_payment_basepoint");
    let commitment_number: u64 = field(text, "commitment_number").parse().unwrap();
    let obscured = obscured_commitment_number(
        &local_payment_basepoint,
        &remote_payment_basepoint,
        commitment_number,
    )
    .unwrap();

    let htlcs = (0..=6)
        .map(|n| {
            let direction = match field(text, &format!("htlc {n} direction")) {
                "remote->local" => HtlcDirection::Received,
                "local->remote" => HtlcDirection::Offered,
                other => panic!("direction {other}"),
            };
            let preimage = bytes32(field(text, &format!("htlc {n} payment_preimage")));
            let htlc = CommitmentHtlc {
                direction,
                amount_msat: field(text, &format!("htlc {n} amount_msat"))
                    .parse()
                    .unwrap(),
                payment_hash: Sha256::digest(preimage).into(),
                cltv_expiry: field(text, &format!("htlc {n} expiry")).parse().unwrap(),
            };
            TestHtlc { htlc, preimage }
        })
        .collect();

    let keys = CommitmentKeys {
        revocation_pubkey,
        local_delayed_pubkey,
        local_htlc_pubkey,
        remote_htlc_pubkey,
        remote_payment_pubkey: remote_payment_basepoint,
        local_funding_pubkey,
        remote_funding_pubkey,
    };
    // The same keys through the basepoint-level API. Bases the owner's commitment does not use
    // (our revocation basepoint, their delayed basepoint) get a placeholder.
    let placeholder = local_payment_basepoint;
    let local_basepoints = Basepoints {
        revocation_basepoint: placeholder,
        payment_basepoint: local_payment_basepoint,
        delayed_payment_basepoint: pubkey(text, "local_delayed_payment_basepoint"),
        htlc_basepoint: pubkey(text, "local_htlc_basepoint"),
    };
    let remote_basepoints = Basepoints {
        revocation_basepoint: pubkey(text, "remote_revocation_basepoint"),
        payment_basepoint: remote_payment_basepoint,
        delayed_payment_basepoint: placeholder,
        htlc_basepoint: pubkey(text, "remote_htlc_basepoint"),
    };
    let derived = CommitmentKeys::derive(
        &local_basepoints,
        &remote_basepoints,
        &pcp,
        local_funding_pubkey,
        remote_funding_pubkey,
    )
    .unwrap();
    assert_eq!(derived, keys);

    Setup {
        funding_outpoint: OutPoint {
            txid: Txid::from_str(field(text, "funding_tx_id")).unwrap(),
            vout: field(text, "funding_output_index").parse().unwrap(),
        },
        funding_amount: Amount::from_sat(field(text, "funding_amount_satoshi").parse().unwrap()),
        obscured_commitment_number: obscured,
        to_self_delay: field(text, "local_delay").parse().unwrap(),
        htlcs,
        local_funding_secret,
        remote_funding_secret,
        local_htlc_secret,
        remote_htlc_secret,
        keys,
    }
}

/// One expected HTLC transaction: the remote signature and the fully signed transaction.
#[derive(Debug, Default)]
struct ExpectedHtlcTx {
    /// The HTLC number from the common parameters, when the vector names it.
    htlc_number: Option<usize>,
    remote_signature: String,
    tx_hex: String,
}

/// One commitment vector, from either appendix.
#[derive(Debug, Default)]
struct Case {
    name: String,
    to_local_msat: u64,
    to_remote_msat: u64,
    feerate_per_kw: u32,
    dust_limit: u64,
    use_htlcs: bool,
    remote_signature: String,
    commitment_tx_hex: String,
    htlc_txs: Vec<ExpectedHtlcTx>,
}

impl Case {
    /// Which of the common HTLCs the case commits to.
    fn htlc_numbers(&self) -> Vec<usize> {
        if !self.use_htlcs {
            vec![]
        } else if self.name.contains("same amount and preimage") {
            vec![1, 5, 6]
        } else {
            vec![0, 1, 2, 3, 4]
        }
    }
}

fn parse_appendix_c() -> Vec<Case> {
    let dust_limit: u64 = field(APPENDIX_C, "local_dust_limit_satoshi")
        .parse()
        .unwrap();
    let body = APPENDIX_C
        .split("here are the test vectors themselves:")
        .nth(1)
        .unwrap();
    let mut cases: Vec<Case> = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("name: ") {
            cases.push(Case {
                name: name.to_string(),
                dust_limit,
                ..Case::default()
            });
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        if let Some(v) = line.strip_prefix("to_local_msat: ") {
            case.to_local_msat = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("to_remote_msat: ") {
            case.to_remote_msat = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("local_feerate_per_kw: ") {
            case.feerate_per_kw = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("remote_signature = ") {
            case.remote_signature = v.to_string();
        } else if let Some(v) = line.strip_prefix("output commit_tx: ") {
            case.commitment_tx_hex = v.to_string();
        } else if let Some(v) = line.strip_prefix("remote_htlc_signature = ") {
            case.htlc_txs.push(ExpectedHtlcTx {
                remote_signature: v.to_string(),
                ..ExpectedHtlcTx::default()
            });
        } else if line.starts_with("htlc_success_tx (htlc #")
            || line.starts_with("htlc_timeout_tx (htlc #")
        {
            let (label, tx_hex) = line.split_once("): ").unwrap();
            let expected = case.htlc_txs.last_mut().unwrap();
            expected.htlc_number = Some(label.rsplit('#').next().unwrap().parse().unwrap());
            expected.tx_hex = tx_hex.to_string();
        }
    }
    for case in &mut cases {
        case.use_htlcs = !case.name.contains("no HTLCs");
    }
    cases
}

/// Appendix F is JSON-like; each value sits on its own `"Key": value,` line.
fn parse_appendix_f() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut in_htlc_descs = false;
    for line in APPENDIX_F.lines().map(str::trim) {
        if in_htlc_descs && line.starts_with(']') {
            in_htlc_descs = false;
            continue;
        }
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let key = key.trim_matches('"');
        let value = value.trim_end_matches(',').trim_matches('"');
        if key == "Name" {
            cases.push(Case {
                name: value.to_string(),
                ..Case::default()
            });
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        match key {
            "LocalBalance" => case.to_local_msat = value.parse().unwrap(),
            "RemoteBalance" => case.to_remote_msat = value.parse().unwrap(),
            "DustLimitSatoshis" => case.dust_limit = value.parse().unwrap(),
            "FeePerKw" => case.feerate_per_kw = value.parse().unwrap(),
            "UseTestHtlcs" => case.use_htlcs = value == "true",
            "HtlcDescs" => in_htlc_descs = value != "[]",
            "RemoteSigHex" if in_htlc_descs => case.htlc_txs.push(ExpectedHtlcTx {
                remote_signature: value.to_string(),
                ..ExpectedHtlcTx::default()
            }),
            "ResolutionTxHex" => case.htlc_txs.last_mut().unwrap().tx_hex = value.to_string(),
            "ExpectedCommitmentTxHex" => case.commitment_tx_hex = value.to_string(),
            "RemoteSigHex" => case.remote_signature = value.to_string(),
            other => panic!("unexpected key {other}"),
        }
    }
    cases
}

/// Builds, signs and serialises the commitment and HTLC transactions of `case`, comparing each
/// with the vector byte for byte.
fn check_case(setup: &Setup, format: CommitmentFormat, case: &Case) {
    let name = &case.name;
    let numbers = case.htlc_numbers();
    let htlcs: Vec<CommitmentHtlc> = numbers.iter().map(|n| setup.htlcs[*n].htlc).collect();
    let params = CommitmentParams {
        format,
        funding_outpoint: setup.funding_outpoint,
        funding_amount: setup.funding_amount,
        obscured_commitment_number: setup.obscured_commitment_number,
        local_is_funder: true,
        to_self_delay: setup.to_self_delay,
        dust_limit: Amount::from_sat(case.dust_limit),
        feerate_per_kw: case.feerate_per_kw,
        to_local_msat: case.to_local_msat,
        to_remote_msat: case.to_remote_msat,
        htlcs: &htlcs,
        keys: setup.keys,
    };
    let commitment = build_commitment_transaction(&params).unwrap();

    let funding_script = funding_witness_script(
        &setup.keys.local_funding_pubkey,
        &setup.keys.remote_funding_pubkey,
    );
    let sign_funding = |secret: &SecretKey| {
        sign_p2wsh(
            &commitment.tx,
            0,
            &funding_script,
            setup.funding_amount,
            EcdsaSighashType::All,
            secret,
        )
        .unwrap()
    };
    let local_signature = sign_funding(&setup.local_funding_secret);
    let remote_signature = sign_funding(&setup.remote_funding_secret);
    assert_eq!(
        hex::encode(remote_signature.signature.serialize_der()),
        case.remote_signature,
        "{name}: remote sig"
    );
    let mut signed = commitment.tx.clone();
    signed.input[0].witness = funding_witness(
        &funding_script,
        (&setup.keys.local_funding_pubkey, &local_signature),
        (&setup.keys.remote_funding_pubkey, &remote_signature),
    );
    assert_eq!(
        serialize_hex(&signed),
        case.commitment_tx_hex,
        "{name}: commitment tx"
    );

    let context = HtlcTxContext {
        format,
        feerate_per_kw: case.feerate_per_kw,
        to_self_delay: setup.to_self_delay,
        revocation_pubkey: setup.keys.revocation_pubkey,
        local_delayed_pubkey: setup.keys.local_delayed_pubkey,
    };
    let htlc_txs = build_htlc_transactions(&commitment, &htlcs, &context).unwrap();
    assert_eq!(
        htlc_txs.len(),
        case.htlc_txs.len(),
        "{name}: number of htlc txs"
    );
    for (htlc_tx, expected) in htlc_txs.into_iter().zip(&case.htlc_txs) {
        let test_htlc = &setup.htlcs[numbers[htlc_tx.htlc_index]];
        if let Some(number) = expected.htlc_number {
            assert_eq!(numbers[htlc_tx.htlc_index], number, "{name}: htlc order");
        }
        let script = &htlc_tx.spent_witness_script;
        let sign = |sighash_type, secret: &SecretKey| {
            sign_p2wsh(
                &htlc_tx.tx,
                0,
                script,
                htlc_tx.spent_amount,
                sighash_type,
                secret,
            )
            .unwrap()
        };
        let remote = sign(remote_htlc_sighash_type(format), &setup.remote_htlc_secret);
        let local = sign(EcdsaSighashType::All, &setup.local_htlc_secret);
        assert_eq!(
            hex::encode(remote.signature.serialize_der()),
            expected.remote_signature,
            "{name}: remote htlc sig"
        );
        let remote_htlc_pubkey = setup.keys.remote_htlc_pubkey;
        assert!(verify_p2wsh(
            &htlc_tx.tx,
            0,
            script,
            htlc_tx.spent_amount,
            &remote,
            &remote_htlc_pubkey
        )
        .unwrap());
        let mut signed = htlc_tx.tx.clone();
        signed.input[0].witness = match test_htlc.htlc.direction {
            HtlcDirection::Received => {
                htlc_success_witness(&remote, &local, &test_htlc.preimage, script)
            }
            HtlcDirection::Offered => htlc_timeout_witness(&remote, &local, script),
        };
        assert_eq!(serialize_hex(&signed), expected.tx_hex, "{name}: htlc tx");
    }
}

#[test]
fn appendix_c_static_remotekey_vectors_match_byte_for_byte() {
    let setup = setup();
    let cases = parse_appendix_c();
    assert_eq!(cases.len(), 16);
    for case in &cases {
        check_case(&setup, CommitmentFormat::StaticRemoteKey, case);
    }
}

#[test]
fn appendix_f_anchors_vectors_match_byte_for_byte() {
    let setup = setup();
    let cases = parse_appendix_f();
    assert_eq!(cases.len(), 9);
    for case in &cases {
        check_case(&setup, CommitmentFormat::Anchors, case);
    }
}

#[test]
fn appendix_b_funding_output_and_txid_match() {
    let text = APPENDIX_B;
    let funding_tx: bitcoin::Transaction =
        bitcoin::consensus::encode::deserialize(&hex::decode(field(text, "funding tx")).unwrap())
            .unwrap();
    let index: usize = field(text, "funding output").parse().unwrap();
    let value = Amount::from_sat(field(text, "funding satoshis").parse().unwrap());
    let expected = funding_output(
        &pubkey(text, "local_funding_pubkey"),
        &pubkey(text, "remote_funding_pubkey"),
        value,
    );
    assert_eq!(funding_tx.output[index], expected);
    assert_eq!(funding_tx.compute_txid().to_string(), field(text, "# txid"));
    assert_eq!(
        funding_tx.compute_txid().to_string(),
        field(APPENDIX_C, "funding_tx_id")
    );
}
