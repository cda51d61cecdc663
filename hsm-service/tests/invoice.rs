//! BOLT 11 invoices signed by the HSM are checked by an independent implementation: the
//! `lightning-invoice` crate builds the unsigned invoice, the HSM signs its human-readable part
//! and 5-bit data through `HsmClient`, and the crate parses the printed invoice back, verifies
//! the signature and recovers the payee as the HSM's node id.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret, RawBolt11Invoice};
use lnfleet_actors::hsm::{HsmClient, HsmClientError, HsmError, RecoverableSignatureBytes};
use lnfleet_tests::harness::RedisServer;
use lnfleet_tests::hsm::{connect_client, HsmClientSpec, RunningHsm};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{PublicKey, Secp256k1, SecretKey};

/// An unsigned regtest invoice for 250 000 msat, as `lightning-invoice` builds it.
fn unsigned_invoice() -> RawBolt11Invoice {
    let preimage = [0x42u8; 32];
    InvoiceBuilder::new(Currency::Regtest)
        .description("lnfleet coffee".into())
        .payment_hash(sha256::Hash::hash(&preimage))
        .payment_secret(PaymentSecret([0x17; 32]))
        .amount_milli_satoshis(250_000)
        .duration_since_epoch(Duration::from_secs(1_764_000_000))
        .min_final_cltv_expiry_delta(18)
        .build_raw()
        .expect("a complete invoice")
}

/// The invoice as the HSM contract carries it: hrp and one 5-bit value per byte.
fn hrp_and_data(raw: &RawBolt11Invoice) -> (String, Vec<u8>) {
    let (hrp, data) = raw.to_raw();
    (hrp, data.iter().map(|fe| fe.to_u8()).collect())
}

fn to_recoverable(signature: &RecoverableSignatureBytes) -> RecoverableSignature {
    let recovery_id =
        RecoveryId::from_i32(i32::from(signature.recovery_id)).expect("recovery id 0..=3");
    RecoverableSignature::from_compact(&signature.signature.0, recovery_id)
        .expect("a well-formed compact signature")
}

async fn start() -> (RedisServer, RunningHsm, HsmClient) {
    let redis = RedisServer::start().unwrap();
    let spec = HsmClientSpec::new("invoices-1", &["invoice_signing"]);
    let hsm = RunningHsm::start(&redis.url(), "hsm-0", &[0x5e; 32], &[0], &[&spec])
        .await
        .unwrap();
    let client = connect_client(&redis.url(), &spec, Duration::from_secs(5))
        .await
        .unwrap();
    (redis, hsm, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hsm_signed_invoice_parses_with_lightning_invoice_and_names_the_hsm_node() {
    let (_redis, hsm, client) = start().await;
    let node_id = hsm.node_ids[0];
    let raw = unsigned_invoice();
    let (hrp, data_5bit) = hrp_and_data(&raw);
    assert!(hrp.starts_with("lnbcrt"), "{hrp}");

    let signature = client.sign_invoice(&node_id, hrp, data_5bit).await.unwrap();
    let signed = raw
        .sign::<_, ()>(|_hash| Ok(to_recoverable(&signature)))
        .unwrap();
    let invoice = Bolt11Invoice::from_signed(signed).expect("the HSM's signature verifies");
    let text = invoice.to_string();

    // Only the string crosses to the independent parser.
    let parsed = Bolt11Invoice::from_str(&text).expect("a valid BOLT 11 invoice");
    assert_eq!(parsed.check_signature(), Ok(()));
    assert_eq!(parsed.recover_payee_pub_key(), node_id);
    assert_eq!(parsed.currency(), Currency::Regtest);
    assert_eq!(parsed.amount_milli_satoshis(), Some(250_000));
    assert_eq!(parsed.payment_secret(), &PaymentSecret([0x17; 32]));
    assert_eq!(
        parsed.payment_hash(),
        &sha256::Hash::hash(&[0x42u8; 32]),
        "the payment hash survives the round trip"
    );
    assert_eq!(parsed.min_final_cltv_expiry_delta(), 18);
    assert_eq!(parsed, invoice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hsm_refuses_to_sign_an_invoice_for_a_node_it_does_not_serve() {
    let (_redis, _hsm, client) = start().await;
    let stranger = PublicKey::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[0x99; 32]).unwrap(),
    );
    let (hrp, data_5bit) = hrp_and_data(&unsigned_invoice());
    match client.sign_invoice(&stranger, hrp, data_5bit).await {
        Err(HsmClientError::Hsm(HsmError::PolicyReject { rule })) => {
            assert_eq!(rule, "node_not_served")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
