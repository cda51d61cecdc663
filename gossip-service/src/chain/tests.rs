use std::path::PathBuf;

use secp256k1::{SecretKey, SECP256K1};
use serde_json::json;

use super::scripted::RecordedCall;
use super::*;

fn key(byte: u8) -> PublicKey {
    let secret = SecretKey::from_slice(&[byte; 32]).expect("valid test secret");
    PublicKey::from_secret_key(SECP256K1, &secret)
}

fn scid(s: &str) -> ShortChannelId {
    s.parse().expect("valid scid")
}

pub(crate) fn recorded_bitcoind() -> BitcoindChainSource<ScriptedTransport> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bitcoind_recorded.json");
    BitcoindChainSource::new(ScriptedTransport::from_file(&path).expect("recorded responses load"))
}

#[test]
fn funding_script_is_p2wsh_of_sorted_keys_in_either_order() {
    let (a, b) = (key(0x13), key(0x14));
    let script = funding_script_pubkey(&a, &b);
    assert_eq!(script, funding_script_pubkey(&b, &a));
    assert_eq!(
        hex::encode(&script),
        "002058883f4a700099b4e04048d94c2d2a7df8262fdf91877d8ad5aa80879b3a229b"
    );
    let witness = funding_witness_script(&b, &a).into_bytes();
    assert_eq!(witness.len(), 71);
    assert_eq!(witness.first(), Some(&0x52)); // OP_2
    assert_eq!(witness.last(), Some(&0xae)); // OP_CHECKMULTISIG
}

#[test]
fn bolt3_funding_script_matches_spec_vector() {
    // BOLT 3 appendix B, funding witness script for local/remote funding pubkeys.
    let local: PublicKey = "023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb"
        .parse()
        .expect("pubkey");
    let remote: PublicKey = "030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1"
        .parse()
        .expect("pubkey");
    assert_eq!(
        hex::encode(funding_witness_script(&local, &remote).as_bytes()),
        "5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae"
    );
}

#[test]
fn recorded_bitcoind_finds_the_funding_output() {
    let chain = recorded_bitcoind();
    let check = chain
        .funding_output(scid("800000x1x1"))
        .expect("lookup works");
    assert_eq!(
        check,
        FundingCheck::Found(FundingOutput {
            script_pubkey: funding_script_pubkey(&key(0x13), &key(0x14)),
            value_sat: 5_000_000,
            confirmations: 120,
        })
    );
    let calls = chain.transport().calls();
    assert_eq!(calls.len(), 3);
    assert!(calls[0].starts_with("getblockhash [800000]"));
    assert!(calls[1].starts_with("getblock "));
    assert!(calls[2].starts_with("getrawtransaction "));
}

#[test]
fn recorded_bitcoind_reads_odd_amounts_exactly() {
    let chain = recorded_bitcoind();
    let Ok(FundingCheck::Found(out)) = chain.funding_output(scid("800001x2x0")) else {
        panic!("expected the output");
    };
    assert_eq!(out.value_sat, 16_777_215);
}

#[test]
fn recorded_bitcoind_reports_missing_height_tx_and_output_as_not_found() {
    let chain = recorded_bitcoind();
    for missing in ["900000x1x0", "800000x7x0", "800000x1x5"] {
        assert_eq!(
            chain.funding_output(scid(missing)),
            Ok(FundingCheck::NotFound),
            "{missing}"
        );
    }
}

#[test]
fn recorded_bitcoind_knows_spent_and_unspent_outputs() {
    let chain = recorded_bitcoind();
    assert_eq!(chain.is_spent(scid("800000x1x1")), Ok(false));
    assert_eq!(chain.is_spent(scid("800001x2x0")), Ok(true));
    assert_eq!(chain.is_spent(scid("900000x0x0")), Ok(true));
}

#[test]
fn unrecorded_call_is_a_chain_error_not_a_verdict() {
    let chain = recorded_bitcoind();
    let err = chain.funding_output(scid("800002x0x0")).unwrap_err();
    assert!(matches!(
        err,
        ChainError::Rpc {
            method: "getblockhash",
            source: RpcError::NotRecorded { .. }
        }
    ));
}

#[test]
fn server_errors_other_than_height_out_of_range_are_chain_errors() {
    let transport = ScriptedTransport::new(vec![RecordedCall {
        method: "getblockhash".into(),
        params: vec![json!(800000)],
        result: serde_json::Value::Null,
        error: Some(bitcoind::JsonRpcErrorObject {
            code: -28,
            message: "Loading block index...".into(),
        }),
    }]);
    let chain = BitcoindChainSource::new(transport);
    assert!(matches!(
        chain.funding_output(scid("800000x1x1")),
        Err(ChainError::Rpc {
            source: RpcError::Server { code: -28, .. },
            ..
        })
    ));
}

#[test]
fn malformed_block_response_is_unexpected_response() {
    let transport = ScriptedTransport::from_json(
        r#"[{"method":"getblockhash","params":[5],"result":"00ab"},
            {"method":"getblock","params":["00ab",1],"result":{"tx":"nope"}}]"#,
    )
    .expect("json");
    let chain = BitcoindChainSource::new(transport);
    assert!(matches!(
        chain.funding_output(scid("5x0x0")),
        Err(ChainError::UnexpectedResponse {
            method: "getblock",
            ..
        })
    ));
}

#[test]
fn json_rpc_response_maps_error_object_and_null_result() {
    let err = bitcoind::JsonRpcResponse::parse(
        br#"{"result":null,"error":{"code":-5,"message":"Block not found"},"id":1}"#,
    )
    .expect("parses")
    .into_result();
    assert_eq!(
        err,
        Err(RpcError::Server {
            code: -5,
            message: "Block not found".into()
        })
    );
    let null = bitcoind::JsonRpcResponse::parse(br#"{"result":null,"error":null,"id":1}"#)
        .expect("parses")
        .into_result();
    assert_eq!(null, Ok(serde_json::Value::Null));
    assert!(matches!(
        bitcoind::JsonRpcResponse::parse(b"<html>401</html>"),
        Err(RpcError::Malformed { .. })
    ));
}

#[test]
fn json_rpc_request_has_bitcoind_shape() {
    let params = [json!(800000)];
    let body = serde_json::to_value(bitcoind::JsonRpcRequest::new(7, "getblockhash", &params))
        .expect("serialises");
    assert_eq!(
        body,
        json!({"jsonrpc": "1.0", "id": 7, "method": "getblockhash", "params": [800000]})
    );
}

#[test]
fn credentials_never_print_the_password() {
    let creds = RpcCredentials::from_cookie("__cookie__:s3cr3t\n").expect("cookie parses");
    assert_eq!(creds.user, "__cookie__");
    assert_eq!(creds.password, "s3cr3t");
    assert!(!format!("{creds:?}").contains("s3cr3t"));
}

#[test]
fn no_chain_source_accepts_unchecked_and_never_spent() {
    assert_eq!(
        NoChainSource.funding_output(scid("1x2x3")),
        Ok(FundingCheck::Unchecked)
    );
    assert_eq!(NoChainSource.is_spent(scid("1x2x3")), Ok(false));
}
