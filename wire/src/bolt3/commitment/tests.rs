use super::*;
use crate::bolt3::htlc_tx::{build_htlc_transaction, HtlcTxContext, HtlcTxError};
use bitcoin::hashes::Hash;
use bitcoin::Txid;
use proptest::prelude::*;
use secp256k1::{SecretKey, SECP256K1};

fn key(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, &SecretKey::from_slice(&[byte; 32]).unwrap())
}

fn keys() -> CommitmentKeys {
    CommitmentKeys {
        revocation_pubkey: key(1),
        local_delayed_pubkey: key(2),
        local_htlc_pubkey: key(3),
        remote_htlc_pubkey: key(4),
        remote_payment_pubkey: key(5),
        local_funding_pubkey: key(6),
        remote_funding_pubkey: key(7),
    }
}

fn htlc(direction: HtlcDirection, amount_msat: u64, cltv_expiry: u32) -> CommitmentHtlc {
    CommitmentHtlc {
        direction,
        amount_msat,
        payment_hash: [9; 32],
        cltv_expiry,
    }
}

fn params(htlcs: &[CommitmentHtlc], format: CommitmentFormat) -> CommitmentParams<'_> {
    let htlc_msat: u64 = htlcs.iter().map(|h| h.amount_msat).sum();
    CommitmentParams {
        format,
        funding_outpoint: OutPoint::null(),
        funding_amount: Amount::from_sat(1_000_000),
        obscured_commitment_number: 42,
        local_is_funder: true,
        to_self_delay: 144,
        dust_limit: Amount::from_sat(546),
        feerate_per_kw: 5000,
        to_local_msat: 600_000_000 - htlc_msat,
        to_remote_msat: 400_000_000,
        htlcs,
        keys: keys(),
    }
}

fn total_output_value(tx: &Transaction) -> u64 {
    tx.output.iter().map(|o| o.value.to_sat()).sum()
}

// BOLT 3, "Fees" > "Example": feerate 5000, dust limit 546, offered 5000/1000 sat, received 7000/800 sat.
#[test]
fn fee_example_from_the_spec() {
    let format = CommitmentFormat::StaticRemoteKey;
    assert_eq!(htlc_timeout_fee(format, 5000), Amount::from_sat(3315));
    assert_eq!(htlc_success_fee(format, 5000), Amount::from_sat(3515));
    let htlcs = [
        htlc(HtlcDirection::Offered, 5_000_000, 500),
        htlc(HtlcDirection::Offered, 1_000_000, 501),
        htlc(HtlcDirection::Received, 7_000_000, 502),
        htlc(HtlcDirection::Received, 800_000, 503),
    ];
    let trimmed: Vec<bool> = htlcs
        .iter()
        .map(|h| is_trimmed(h, format, 5000, Amount::from_sat(546)))
        .collect();
    assert_eq!(trimmed, [false, true, false, true]);
    let commitment = build_commitment_transaction(&params(&htlcs, format)).unwrap();
    assert_eq!(commitment.base_fee, Amount::from_sat(5340));
    assert_eq!(commitment.htlc_outputs().count(), 2);
    // The actual fee adds the two trimmed HTLCs.
    assert_eq!(1_000_000 - total_output_value(&commitment.tx), 7140);
}

#[test]
fn anchors_make_htlc_fees_zero_and_charge_the_funder_for_both_anchors() {
    let format = CommitmentFormat::Anchors;
    assert_eq!(htlc_timeout_fee(format, 5000), Amount::ZERO);
    assert_eq!(htlc_success_fee(format, 5000), Amount::ZERO);
    let commitment = build_commitment_transaction(&params(&[], format)).unwrap();
    assert_eq!(commitment.base_fee, Amount::from_sat(5000 * 1124 / 1000));
    assert_eq!(commitment.tx.output.len(), 4);
    assert_eq!(1_000_000 - total_output_value(&commitment.tx), 5620);
}

#[test]
fn non_funder_commitment_charges_the_remote_balance() {
    let mut p = params(&[], CommitmentFormat::StaticRemoteKey);
    p.local_is_funder = false;
    let commitment = build_commitment_transaction(&p).unwrap();
    let to_remote = commitment
        .outputs
        .iter()
        .position(|o| o.kind == CommitmentOutputKind::ToRemote)
        .unwrap();
    let to_local = commitment
        .outputs
        .iter()
        .position(|o| o.kind == CommitmentOutputKind::ToLocal)
        .unwrap();
    assert_eq!(
        commitment.tx.output[to_remote].value,
        Amount::from_sat(400_000 - 3620)
    );
    assert_eq!(
        commitment.tx.output[to_local].value,
        Amount::from_sat(600_000)
    );
}

#[test]
fn locktime_and_sequence_carry_the_obscured_number() {
    let mut p = params(&[], CommitmentFormat::StaticRemoteKey);
    p.obscured_commitment_number = 0xabcdef_123456;
    let tx = build_commitment_transaction(&p).unwrap().tx;
    assert_eq!(tx.lock_time.to_consensus_u32(), 0x20_123456);
    assert_eq!(tx.input[0].sequence.0, 0x80_abcdef);
}

#[test]
fn inconsistent_inputs_are_typed_errors() {
    let mut p = params(&[], CommitmentFormat::StaticRemoteKey);
    p.obscured_commitment_number = 1 << 48;
    assert_eq!(
        build_commitment_transaction(&p),
        Err(CommitmentError::CommitmentNumberOutOfRange(1 << 48))
    );

    let mut p = params(&[], CommitmentFormat::StaticRemoteKey);
    p.to_remote_msat += 1;
    assert_eq!(
        build_commitment_transaction(&p),
        Err(CommitmentError::BalancesExceedFunding {
            total_msat: 1_000_000_001,
            funding_msat: 1_000_000_000
        })
    );

    let huge = [htlc(HtlcDirection::Offered, u64::MAX, 1)];
    let p = params(&[], CommitmentFormat::StaticRemoteKey);
    let p = CommitmentParams { htlcs: &huge, ..p };
    assert_eq!(
        build_commitment_transaction(&p),
        Err(CommitmentError::AmountOverflow)
    );
}

#[test]
fn htlc_below_its_fee_is_an_error() {
    let context = HtlcTxContext {
        format: CommitmentFormat::StaticRemoteKey,
        feerate_per_kw: 5000,
        to_self_delay: 144,
        revocation_pubkey: key(1),
        local_delayed_pubkey: key(2),
    };
    let small = htlc(HtlcDirection::Offered, 1_000_000, 500);
    assert_eq!(
        build_htlc_transaction(Txid::all_zeros(), 0, &small, &context),
        Err(HtlcTxError::AmountBelowFee {
            amount: Amount::from_sat(1000),
            fee: Amount::from_sat(3315)
        })
    );
}

fn arb_htlc() -> impl Strategy<Value = CommitmentHtlc> {
    (
        any::<bool>(),
        0u64..20_000_000_000,
        any::<u32>(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(offered, amount_msat, cltv_expiry, payment_hash)| CommitmentHtlc {
                direction: if offered {
                    HtlcDirection::Offered
                } else {
                    HtlcDirection::Received
                },
                amount_msat,
                payment_hash,
                cltv_expiry,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any input gives a value or an error, never a panic; a built transaction never spends more
    /// than the funding output, its outputs are in BIP 69 order, and every untrimmed HTLC can pay
    /// for its second-stage transaction.
    #[test]
    fn commitment_building_never_panics_and_keeps_invariants(
        anchors in any::<bool>(),
        funder in any::<bool>(),
        feerate_per_kw in any::<u32>(),
        dust_limit in 0u64..100_000,
        funding_sat in 0u64..100_000_000,
        to_local_msat in any::<u64>(),
        to_remote_msat in 0u64..50_000_000_000,
        obscured in 0u64..(1 << 49),
        htlcs in proptest::collection::vec(arb_htlc(), 0..8),
        consistent in any::<bool>(),
    ) {
        // Half the cases balance exactly, so most of them build rather than error out.
        let to_local_msat = if consistent {
            let htlc_msat = htlcs.iter().fold(0u64, |sum, h| sum.saturating_add(h.amount_msat));
            (funding_sat * 1000).saturating_sub(to_remote_msat.saturating_add(htlc_msat))
        } else {
            to_local_msat
        };
        let format = if anchors { CommitmentFormat::Anchors } else { CommitmentFormat::StaticRemoteKey };
        let p = CommitmentParams {
            format,
            funding_outpoint: OutPoint::null(),
            funding_amount: Amount::from_sat(funding_sat),
            obscured_commitment_number: obscured,
            local_is_funder: funder,
            to_self_delay: 144,
            dust_limit: Amount::from_sat(dust_limit),
            feerate_per_kw,
            to_local_msat,
            to_remote_msat,
            htlcs: &htlcs,
            keys: keys(),
        };
        let Ok(commitment) = build_commitment_transaction(&p) else { return Ok(()) };
        prop_assert!(total_output_value(&commitment.tx) <= funding_sat);
        prop_assert_eq!(commitment.outputs.len(), commitment.tx.output.len());
        for pair in commitment.tx.output.windows(2) {
            let ordered = (pair[0].value, pair[0].script_pubkey.as_bytes()) <= (pair[1].value, pair[1].script_pubkey.as_bytes());
            prop_assert!(ordered);
        }
        let context = HtlcTxContext {
            format,
            feerate_per_kw,
            to_self_delay: 144,
            revocation_pubkey: key(1),
            local_delayed_pubkey: key(2),
        };
        let txid = commitment.tx.compute_txid();
        for output in commitment.htlc_outputs() {
            let htlc = &htlcs[output.htlc_index];
            prop_assert!(build_htlc_transaction(txid, output.output_index, htlc, &context).is_ok());
        }
    }
}
