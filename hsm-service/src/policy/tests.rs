//! Stateless rules: each violation names its rule.

use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, Txid};
use lnfleet_wire::bolt3::scripts::CommitmentFormat;
use secp256k1::{PublicKey, SecretKey, SECP256K1};

use super::*;
use crate::channels::HtlcInfo;
use crate::derivation::ChannelPublicKeys;

fn key(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, &SecretKey::from_slice(&[byte; 32]).unwrap())
}

fn setup() -> ChannelSetup {
    ChannelSetup {
        holder_is_opener: true,
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array([7; 32]),
            vout: 1,
        },
        funding_amount_sat: 1_000_000,
        commitment_format: CommitmentFormat::StaticRemoteKey,
        holder_selected_contest_delay: 144,
        counterparty_selected_contest_delay: 144,
        holder_dust_limit_sat: 546,
        counterparty_dust_limit_sat: 546,
        counterparty_keys: ChannelPublicKeys {
            funding_pubkey: key(1),
            revocation_basepoint: key(2),
            payment_basepoint: key(3),
            delayed_payment_basepoint: key(4),
            htlc_basepoint: key(5),
        },
        holder_upfront_shutdown_script: None,
        counterparty_upfront_shutdown_script: None,
    }
}

fn htlc(amount_msat: u64) -> HtlcInfo {
    HtlcInfo {
        offered_by_holder: true,
        amount_msat,
        payment_hash: [9; 32],
        cltv_expiry: 500_000,
    }
}

fn info(htlcs: Vec<HtlcInfo>) -> CommitmentInfo {
    let htlc_total: u64 = htlcs.iter().map(|h| h.amount_msat).sum();
    CommitmentInfo {
        feerate_per_kw: 1000,
        to_holder_msat: 600_000_000 - htlc_total,
        to_counterparty_msat: 400_000_000,
        htlcs,
    }
}

fn rule_of(result: Result<(), PolicyViolation>) -> &'static str {
    result.unwrap_err().rule
}

#[test]
fn a_balanced_commitment_within_limits_passes() {
    let policy = Policy::default();
    assert_eq!(
        policy.check_commitment(&setup(), &info(vec![htlc(5_000_000)])),
        Ok(())
    );
    assert_eq!(policy.check_setup(&setup()), Ok(()));
}

#[test]
fn too_many_htlcs_violate_htlc_count_limit() {
    let policy = Policy {
        max_htlc_count: 2,
        ..Policy::default()
    };
    let result = policy.check_commitment(&setup(), &info(vec![htlc(1_000_000); 3]));
    assert_eq!(rule_of(result), rules::HTLC_COUNT_LIMIT);
}

#[test]
fn too_much_in_htlcs_violates_htlc_value_limit() {
    let policy = Policy {
        max_htlc_value_msat: 1_000_000,
        ..Policy::default()
    };
    let result = policy.check_commitment(&setup(), &info(vec![htlc(600_000), htlc(600_000)]));
    assert_eq!(rule_of(result), rules::HTLC_VALUE_LIMIT);
}

#[test]
fn feerates_outside_the_bounds_violate_feerate_bounds() {
    let policy = Policy::default();
    for feerate in [0, 252, 100_001, u32::MAX] {
        let mut commitment = info(vec![]);
        commitment.feerate_per_kw = feerate;
        let result = policy.check_commitment(&setup(), &commitment);
        assert_eq!(rule_of(result), rules::FEERATE_BOUNDS, "feerate {feerate}");
    }
}

#[test]
fn balances_not_summing_to_the_funding_violate_balance_conservation() {
    let policy = Policy::default();
    for delta in [-1i64, 1] {
        let mut commitment = info(vec![htlc(1_000_000)]);
        commitment.to_counterparty_msat =
            commitment.to_counterparty_msat.saturating_add_signed(delta);
        let result = policy.check_commitment(&setup(), &commitment);
        assert_eq!(rule_of(result), rules::BALANCE_CONSERVATION);
    }
    let mut overflowing = info(vec![]);
    overflowing.to_counterparty_msat = u64::MAX;
    assert_eq!(
        rule_of(policy.check_commitment(&setup(), &overflowing)),
        rules::BALANCE_CONSERVATION
    );
}

#[test]
fn a_long_delay_on_our_outputs_violates_to_self_delay_limit() {
    let mut long = setup();
    long.counterparty_selected_contest_delay = 2017;
    assert_eq!(
        rule_of(Policy::default().check_setup(&long)),
        rules::TO_SELF_DELAY_LIMIT
    );
}

#[test]
fn dust_limits_outside_the_bounds_violate_dust_limit_bounds() {
    for (holder, counterparty) in [(353, 546), (546, 353), (546, 10_001), (0, 0)] {
        let mut odd = setup();
        odd.holder_dust_limit_sat = holder;
        odd.counterparty_dust_limit_sat = counterparty;
        assert_eq!(
            rule_of(Policy::default().check_setup(&odd)),
            rules::DUST_LIMIT_BOUNDS,
            "{holder} / {counterparty}"
        );
    }
}

/// The allowed neighbour of every limit: exactly at the bound passes.
#[test]
fn every_limit_admits_its_boundary() {
    let policy = Policy {
        max_htlc_count: 3,
        max_htlc_value_msat: 3_000_000,
        ..Policy::default()
    };
    assert_eq!(
        policy.check_commitment(&setup(), &info(vec![htlc(1_000_000); 3])),
        Ok(()),
        "htlc count and value at their limits"
    );
    for feerate in [253, 100_000] {
        let mut commitment = info(vec![]);
        commitment.feerate_per_kw = feerate;
        assert_eq!(
            Policy::default().check_commitment(&setup(), &commitment),
            Ok(()),
            "feerate {feerate}"
        );
    }
    let mut delay = setup();
    delay.counterparty_selected_contest_delay = 2016;
    assert_eq!(Policy::default().check_setup(&delay), Ok(()));
    for dust in [354, 10_000] {
        let mut bounds = setup();
        bounds.holder_dust_limit_sat = dust;
        bounds.counterparty_dust_limit_sat = dust;
        assert_eq!(
            Policy::default().check_setup(&bounds),
            Ok(()),
            "dust {dust}"
        );
    }
}
