//! Channel operations: two HSMs running a channel against each other (their signatures must
//! interoperate), every stateful policy rule, crash safety, idempotency and a BOLT 3 Appendix C
//! signature reproduced through the policy path.

use std::path::PathBuf;
use std::str::FromStr;

use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, ScriptBuf, Txid};
use lnfleet_wire::bolt3::keys::derive_public_key;
use lnfleet_wire::bolt3::scripts::CommitmentFormat;
use lnfleet_wire::bolt3::signing::verify_p2wsh;
use secp256k1::{PublicKey, SecretKey, SECP256K1};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::*;
use crate::derivation::ChannelSecrets;
use crate::key_source::{ExplicitKeys, KeySource};
use crate::seed::Seed;

const FUNDING_SAT: u64 = 1_000_000;

/// One side of a channel: its HSM, the channel as its HSM names it, and the store's file.
struct Party {
    hsm: ChannelSigner,
    id: ChannelKeyId,
    path: PathBuf,
    _dir: TempDir,
}

impl Party {
    /// Drops the HSM (as a crash would) and starts a new one on the same file and keys.
    fn restart(&mut self) {
        let placeholder = Store::open(self._dir.path().join("placeholder.redb")).unwrap();
        let hsm = std::mem::replace(
            &mut self.hsm,
            ChannelSigner::new(
                Signer::explicit(ExplicitKeys::new()),
                placeholder,
                Policy::default(),
            ),
        );
        let (signer, store, policy) = hsm.into_parts();
        drop(store);
        self.hsm = ChannelSigner::new(signer, Store::open(&self.path).unwrap(), policy);
    }
}

fn seeded_signer(seed_byte: u8) -> Signer {
    let seed = Seed::from_bytes(&[seed_byte; 32]).unwrap();
    Signer::new(KeySource::Derived(seed), [0]).unwrap()
}

fn hsm(signer: Signer, policy: Policy) -> (ChannelSigner, PathBuf, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hsm.redb");
    let store = Store::open(&path).unwrap();
    (ChannelSigner::new(signer, store, policy), path, dir)
}

fn script(byte: u8) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([byte; 20]))
}

fn setup_for(
    opener: bool,
    format: CommitmentFormat,
    counterparty_keys: ChannelPublicKeys,
) -> ChannelSetup {
    ChannelSetup {
        holder_is_opener: opener,
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array([0x42; 32]),
            vout: 1,
        },
        funding_amount_sat: FUNDING_SAT,
        commitment_format: format,
        // Alice (opener) imposes 144 on Bob, Bob imposes 100 on Alice.
        holder_selected_contest_delay: if opener { 144 } else { 100 },
        counterparty_selected_contest_delay: if opener { 100 } else { 144 },
        holder_dust_limit_sat: if opener { 546 } else { 600 },
        counterparty_dust_limit_sat: if opener { 600 } else { 546 },
        counterparty_keys,
        holder_upfront_shutdown_script: None,
        counterparty_upfront_shutdown_script: None,
    }
}

/// Alice (opener, seed 1) and Bob (seed 2) with the channel set up on both HSMs.
fn open_channel(format: CommitmentFormat) -> (Party, Party) {
    open_channel_with(format, Policy::default(), |_| {})
}

fn open_channel_with(
    format: CommitmentFormat,
    alice_policy: Policy,
    adjust_alice_setup: impl FnOnce(&mut ChannelSetup),
) -> (Party, Party) {
    let alice_signer = seeded_signer(1);
    let bob_signer = seeded_signer(2);
    let alice_node = alice_signer.node_ids()[0];
    let bob_node = bob_signer.node_ids()[0];
    let (mut alice_hsm, alice_path, alice_dir) = hsm(alice_signer, alice_policy);
    let (mut bob_hsm, bob_path, bob_dir) = hsm(bob_signer, Policy::default());
    let alice_id = ChannelKeyId {
        node_id: alice_node,
        peer_id: bob_node,
        channel_db_id: 7,
    };
    let bob_id = ChannelKeyId {
        node_id: bob_node,
        peer_id: alice_node,
        channel_db_id: 9,
    };
    let alice_keys = alice_hsm.new_channel(&alice_id).unwrap();
    let bob_keys = bob_hsm.new_channel(&bob_id).unwrap();
    let mut alice_setup = setup_for(true, format, bob_keys);
    adjust_alice_setup(&mut alice_setup);
    alice_hsm.setup_channel(&alice_id, alice_setup).unwrap();
    bob_hsm
        .setup_channel(&bob_id, setup_for(false, format, alice_keys))
        .unwrap();
    (
        Party {
            hsm: alice_hsm,
            id: alice_id,
            path: alice_path,
            _dir: alice_dir,
        },
        Party {
            hsm: bob_hsm,
            id: bob_id,
            path: bob_path,
            _dir: bob_dir,
        },
    )
}

/// The same commitment content seen from the other side.
fn mirrored(info: &CommitmentInfo) -> CommitmentInfo {
    CommitmentInfo {
        feerate_per_kw: info.feerate_per_kw,
        to_holder_msat: info.to_counterparty_msat,
        to_counterparty_msat: info.to_holder_msat,
        htlcs: info
            .htlcs
            .iter()
            .map(|htlc| HtlcInfo {
                offered_by_holder: !htlc.offered_by_holder,
                ..*htlc
            })
            .collect(),
    }
}

fn htlc(offered_by_holder: bool, amount_msat: u64, tag: u8) -> HtlcInfo {
    HtlcInfo {
        offered_by_holder,
        amount_msat,
        payment_hash: Sha256::digest([tag; 32]).into(),
        cltv_expiry: 500_000 + u32::from(tag),
    }
}

/// Commitment `n`'s content from Alice's point of view (funding 1_000_000 sat, in msat).
fn alice_view(n: u64) -> CommitmentInfo {
    match n {
        0 => CommitmentInfo {
            feerate_per_kw: 2500,
            to_holder_msat: 1_000_000_000,
            to_counterparty_msat: 0,
            htlcs: vec![],
        },
        1 => CommitmentInfo {
            feerate_per_kw: 2500,
            to_holder_msat: 950_000_000,
            to_counterparty_msat: 0,
            htlcs: vec![htlc(true, 50_000_000, 1)],
        },
        // The first HTLC settled; a new one each way, plus one below the dust limits (trimmed).
        _ => CommitmentInfo {
            feerate_per_kw: 3000,
            to_holder_msat: 929_900_000,
            to_counterparty_msat: 30_000_000,
            htlcs: vec![
                htlc(true, 20_000_000, 2),
                htlc(false, 20_000_000, 3),
                htlc(true, 100_000, 4),
            ],
        },
    }
}

/// `from` signs `to`'s commitment `n` (content given from `from`'s view); `to` validates it and
/// revokes `n - 1`; `from` checks and records that revocation.
fn sign_validate_revoke(from: &mut Party, to: &mut Party, n: u64, from_view: &CommitmentInfo) {
    let point = to.hsm.per_commitment_point(&to.id, n).unwrap();
    let signed = from
        .hsm
        .sign_counterparty_commitment(&from.id, n, from_view, &point)
        .unwrap();
    let revocation = to
        .hsm
        .validate_holder_commitment_and_revoke(
            &to.id,
            n,
            &mirrored(from_view),
            &signed.signature,
            &signed.htlc_signatures,
        )
        .unwrap();
    assert_eq!(revocation.revoked_number, n.checked_sub(1));
    assert_eq!(
        revocation.next_per_commitment_point,
        to.hsm.per_commitment_point(&to.id, n + 1).unwrap()
    );
    if let (Some(revoked), Some(secret)) =
        (revocation.revoked_number, revocation.per_commitment_secret)
    {
        from.hsm
            .validate_counterparty_revocation(&from.id, revoked, &secret)
            .unwrap();
    }
}

/// Commitment `n` both ways: Alice signs Bob's, Bob signs Alice's.
fn exchange(alice: &mut Party, bob: &mut Party, n: u64) {
    let view = alice_view(n);
    sign_validate_revoke(alice, bob, n, &view);
    sign_validate_revoke(bob, alice, n, &mirrored(&view));
}

fn rule(error: ChannelError) -> &'static str {
    error
        .rule()
        .unwrap_or_else(|| panic!("not a policy violation: {error}"))
}

// ---------------------------------------------------------------------------------------------
// Two HSMs against each other

fn full_flow_interoperates(format: CommitmentFormat) {
    let (mut alice, mut bob) = open_channel(format);
    for n in 0..=2 {
        exchange(&mut alice, &mut bob, n);
    }
    // Each can broadcast its latest commitment, and only that one.
    for party in [&mut alice, &mut bob] {
        let signed = party.hsm.sign_holder_commitment(&party.id, 2).unwrap();
        assert_eq!(signed.tx.input[0].witness.len(), 4);
        // Two HTLCs above the dust limits, each with both signatures valid.
        assert_eq!(signed.htlc_transactions.len(), 2);
        let keys = party.hsm.signer().channel_public_keys(&party.id).unwrap();
        let point = party.hsm.per_commitment_point(&party.id, 2).unwrap();
        let holder_htlc_key = derive_public_key(&keys.htlc_basepoint, &point).unwrap();
        for htlc in &signed.htlc_transactions {
            assert_eq!(
                htlc.tx.input[0].previous_output.txid,
                signed.tx.compute_txid()
            );
            // Mirroring keeps the HTLC order and amounts.
            let amount =
                bitcoin::Amount::from_sat(alice_view(2).htlcs[htlc.htlc_index].amount_msat / 1000);
            assert!(verify_p2wsh(
                &htlc.tx,
                0,
                &htlc.witness_script,
                amount,
                &htlc.holder_signature,
                &holder_htlc_key
            )
            .unwrap());
        }
    }
    let alice_state = alice.hsm.store().channel(&alice.id).unwrap().unwrap().state;
    assert_eq!(alice_state.highest_revoked_holder, Some(1));
    assert_eq!(alice_state.next_counterparty_commitment, 3);
    assert_eq!(alice_state.counterparty_secrets.count(), 2);
    assert!(alice_state.counterparty_secrets.get(1).is_some());
    assert!(alice_state.force_closed);
}

#[test]
fn two_hsms_exchange_and_revoke_commitments_0_to_2_static_remotekey() {
    full_flow_interoperates(CommitmentFormat::StaticRemoteKey);
}

#[test]
fn two_hsms_exchange_and_revoke_commitments_0_to_2_anchors() {
    full_flow_interoperates(CommitmentFormat::Anchors);
}

#[test]
fn the_signed_holder_commitment_carries_both_valid_funding_signatures() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    let signed = alice.hsm.sign_holder_commitment(&alice.id, 0).unwrap();
    let alice_keys = alice.hsm.signer().channel_public_keys(&alice.id).unwrap();
    let bob_keys = bob.hsm.signer().channel_public_keys(&bob.id).unwrap();
    let funding = lnfleet_wire::bolt3::scripts::funding_witness_script(
        &alice_keys.funding_pubkey,
        &bob_keys.funding_pubkey,
    );
    let mut unsigned = signed.tx.clone();
    unsigned.input[0].witness = bitcoin::Witness::new();
    let witness: Vec<&[u8]> = signed.tx.input[0].witness.iter().collect();
    assert!(witness[0].is_empty());
    assert_eq!(witness[3], funding.as_bytes());
    for (element, key) in witness[1..3].iter().zip(
        // Signatures in the order of the sorted funding pubkeys.
        {
            let mut keys = [alice_keys.funding_pubkey, bob_keys.funding_pubkey];
            keys.sort_by_key(|key| key.serialize());
            keys
        },
    ) {
        let signature = bitcoin::ecdsa::Signature::from_slice(element).unwrap();
        assert!(lnfleet_wire::bolt3::signing::verify_p2wsh(
            &unsigned,
            0,
            &funding,
            bitcoin::Amount::from_sat(FUNDING_SAT),
            &signature,
            &key,
        )
        .unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Rules with state

#[test]
fn an_unknown_channel_violates_unknown_channel() {
    let (alice, _bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let mut other = alice.id;
    other.channel_db_id = 99;
    let error = alice.hsm.per_commitment_point(&other, 0).unwrap_err();
    assert_eq!(rule(error), rules::UNKNOWN_CHANNEL);
}

#[test]
fn signing_before_setup_violates_channel_not_setup() {
    let (mut hsm, _path, _dir) = hsm(seeded_signer(1), Policy::default());
    let node = hsm.signer().node_ids()[0];
    let id = ChannelKeyId {
        node_id: node,
        peer_id: node,
        channel_db_id: 1,
    };
    hsm.new_channel(&id).unwrap();
    let point = hsm.per_commitment_point(&id, 0).unwrap();
    let error = hsm
        .sign_counterparty_commitment(&id, 0, &alice_view(0), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::CHANNEL_NOT_SETUP);
}

#[test]
fn a_second_setup_violates_channel_already_setup() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let bob_keys = bob.hsm.new_channel(&bob.id).unwrap();
    let error = alice
        .hsm
        .setup_channel(
            &alice.id,
            setup_for(true, CommitmentFormat::Anchors, bob_keys),
        )
        .unwrap_err();
    assert_eq!(rule(error), rules::CHANNEL_ALREADY_SETUP);
}

#[test]
fn a_long_imposed_delay_is_refused_at_setup() {
    let (mut hsm, _path, _dir) = hsm(seeded_signer(1), Policy::default());
    let node = hsm.signer().node_ids()[0];
    let id = ChannelKeyId {
        node_id: node,
        peer_id: node,
        channel_db_id: 1,
    };
    let keys = hsm.new_channel(&id).unwrap();
    let mut setup = setup_for(true, CommitmentFormat::StaticRemoteKey, keys);
    setup.counterparty_selected_contest_delay = 5000;
    let error = hsm.setup_channel(&id, setup).unwrap_err();
    assert_eq!(rule(error), rules::TO_SELF_DELAY_LIMIT);
}

#[test]
fn skipping_a_commitment_number_violates_commitment_number_sequence() {
    let (mut alice, bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let point = bob.hsm.per_commitment_point(&bob.id, 1).unwrap();
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &alice_view(1), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::COMMITMENT_NUMBER_SEQUENCE);

    // Bob signs Alice's commitment 1 as if 0 had happened: Alice expects 0.
    let signed = {
        let (mut alice2, mut bob2) = open_channel(CommitmentFormat::StaticRemoteKey);
        exchange(&mut alice2, &mut bob2, 0);
        let point = alice2.hsm.per_commitment_point(&alice2.id, 1).unwrap();
        bob2.hsm
            .sign_counterparty_commitment(&bob2.id, 1, &mirrored(&alice_view(1)), &point)
            .unwrap()
    };
    let error = alice
        .hsm
        .validate_holder_commitment_and_revoke(
            &alice.id,
            1,
            &alice_view(1),
            &signed.signature,
            &signed.htlc_signatures,
        )
        .unwrap_err();
    assert_eq!(rule(error), rules::COMMITMENT_NUMBER_SEQUENCE);
}

#[test]
fn signing_two_ahead_of_the_revocations_violates_counterparty_revocation_missing() {
    let (mut alice, bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    for n in 0..=1 {
        let point = bob.hsm.per_commitment_point(&bob.id, n).unwrap();
        alice
            .hsm
            .sign_counterparty_commitment(&alice.id, n, &alice_view(n), &point)
            .unwrap();
    }
    // Bob never revoked commitment 0.
    let point = bob.hsm.per_commitment_point(&bob.id, 2).unwrap();
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 2, &alice_view(2), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::COUNTERPARTY_REVOCATION_MISSING);
}

#[test]
fn a_wrong_counterparty_secret_violates_counterparty_secret_invalid() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    let point = bob.hsm.per_commitment_point(&bob.id, 1).unwrap();
    alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &alice_view(1), &point)
        .unwrap();
    let error = alice
        .hsm
        .validate_counterparty_revocation(&alice.id, 0, &[0x11; 32])
        .unwrap_err();
    assert_eq!(rule(error), rules::COUNTERPARTY_SECRET_INVALID);
}

#[test]
fn releasing_the_current_secret_violates_revoke_only_superseded() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let error = alice.hsm.release_holder_secret(&alice.id, 0).unwrap_err();
    assert_eq!(rule(error), rules::REVOKE_ONLY_SUPERSEDED);
    exchange(&mut alice, &mut bob, 0);
    exchange(&mut alice, &mut bob, 1);
    // 1 is the latest validated commitment: not superseded. 0 is, and may be sent again.
    let error = alice.hsm.release_holder_secret(&alice.id, 1).unwrap_err();
    assert_eq!(rule(error), rules::REVOKE_ONLY_SUPERSEDED);
    let secret = alice.hsm.release_holder_secret(&alice.id, 0).unwrap();
    assert_eq!(
        lnfleet_wire::bolt3::keys::per_commitment_point(&secret).unwrap(),
        alice.hsm.per_commitment_point(&alice.id, 0).unwrap()
    );
}

#[test]
fn a_bad_commitment_signature_releases_nothing() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    // Bob signs commitment 1 with other balances than those Alice validates.
    let point = alice.hsm.per_commitment_point(&alice.id, 1).unwrap();
    let signed = bob
        .hsm
        .sign_counterparty_commitment(&bob.id, 1, &mirrored(&alice_view(1)), &point)
        .unwrap();
    let mut other = alice_view(1);
    other.to_holder_msat += 10_000_000;
    other.htlcs[0].amount_msat -= 10_000_000;
    let error = alice
        .hsm
        .validate_holder_commitment_and_revoke(
            &alice.id,
            1,
            &other,
            &signed.signature,
            &signed.htlc_signatures,
        )
        .unwrap_err();
    assert_eq!(rule(error), rules::COUNTERPARTY_SIGNATURE_INVALID);
    // Nothing changed: commitment 0 is still ours to broadcast, 1 still expected.
    let error = alice.hsm.release_holder_secret(&alice.id, 0).unwrap_err();
    assert_eq!(rule(error), rules::REVOKE_ONLY_SUPERSEDED);
    alice
        .hsm
        .validate_holder_commitment_and_revoke(
            &alice.id,
            1,
            &alice_view(1),
            &signed.signature,
            &signed.htlc_signatures,
        )
        .unwrap();
}

#[test]
fn missing_or_wrong_htlc_signatures_violate_counterparty_htlc_signature_invalid() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::Anchors);
    exchange(&mut alice, &mut bob, 0);
    let point = alice.hsm.per_commitment_point(&alice.id, 1).unwrap();
    let signed = bob
        .hsm
        .sign_counterparty_commitment(&bob.id, 1, &mirrored(&alice_view(1)), &point)
        .unwrap();
    assert_eq!(signed.htlc_signatures.len(), 1);
    let mut validate = |htlc_signatures: &[Signature]| {
        alice.hsm.validate_holder_commitment_and_revoke(
            &alice.id,
            1,
            &alice_view(1),
            &signed.signature,
            htlc_signatures,
        )
    };
    assert_eq!(
        rule(validate(&[]).unwrap_err()),
        rules::COUNTERPARTY_HTLC_SIGNATURE_INVALID
    );
    // The commitment signature in place of the HTLC signature.
    assert_eq!(
        rule(validate(&[signed.signature]).unwrap_err()),
        rules::COUNTERPARTY_HTLC_SIGNATURE_INVALID
    );
    validate(&signed.htlc_signatures).unwrap();
}

#[test]
fn signing_a_revoked_holder_commitment_violates_no_sign_revoked_commitment() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    exchange(&mut alice, &mut bob, 1);
    let error = alice.hsm.sign_holder_commitment(&alice.id, 0).unwrap_err();
    assert_eq!(rule(error), rules::NO_SIGN_REVOKED_COMMITMENT);
    // A commitment not yet validated is not signable either.
    let error = alice.hsm.sign_holder_commitment(&alice.id, 2).unwrap_err();
    assert_eq!(rule(error), rules::COMMITMENT_NUMBER_SEQUENCE);
}

#[test]
fn commitment_limits_apply_to_counterparty_commitments() {
    let strict = Policy {
        max_htlc_count: 0,
        ..Policy::default()
    };
    let (mut alice, mut bob) = open_channel_with(CommitmentFormat::StaticRemoteKey, strict, |_| {});
    exchange(&mut alice, &mut bob, 0);
    let point = bob.hsm.per_commitment_point(&bob.id, 1).unwrap();
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &alice_view(1), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::HTLC_COUNT_LIMIT);

    let mut unbalanced = alice_view(1);
    unbalanced.to_counterparty_msat += 1;
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &unbalanced, &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::BALANCE_CONSERVATION);

    let mut hot = alice_view(1);
    hot.feerate_per_kw = 1_000_000;
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &hot, &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::FEERATE_BOUNDS);
}

#[test]
fn too_much_in_htlcs_violates_htlc_value_limit_on_validation() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    let (mut capped, _path, _dir) = hsm(
        seeded_signer(1),
        Policy {
            max_htlc_value_msat: 1_000_000,
            ..Policy::default()
        },
    );
    // The same keys and file contents are not needed: the policy runs before any signature check.
    let record = alice.hsm.store().channel(&alice.id).unwrap().unwrap();
    capped.store().put_channel(&alice.id, &record).unwrap();
    let placeholder = SecretKey::from_slice(&[3; 32]).unwrap();
    let signature = SECP256K1.sign_ecdsa(&secp256k1::Message::from_digest([1; 32]), &placeholder);
    let error = capped
        .validate_holder_commitment_and_revoke(&alice.id, 1, &alice_view(1), &signature, &[])
        .unwrap_err();
    assert_eq!(rule(error), rules::HTLC_VALUE_LIMIT);
}

#[test]
fn no_commitment_is_signed_after_our_own_was_signed_for_broadcast() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    alice.hsm.sign_holder_commitment(&alice.id, 0).unwrap();
    let point = bob.hsm.per_commitment_point(&bob.id, 1).unwrap();
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &alice_view(1), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::CHANNEL_CLOSED);
}

// ---------------------------------------------------------------------------------------------
// Mutual close

fn close_info(fee_sat: u64) -> MutualCloseInfo {
    // After commitment 0 Alice holds everything and, as opener, pays the fee.
    MutualCloseInfo {
        fee_sat,
        holder_value_sat: FUNDING_SAT - fee_sat,
        holder_script: script(0xa1),
        counterparty_value_sat: 0,
        counterparty_script: script(0xb0),
    }
}

#[test]
fn a_mutual_close_to_the_registered_scripts_is_signed_by_both() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    bob.hsm
        .set_shutdown_scripts(&bob.id, script(0xb0), script(0xa1))
        .unwrap();
    let info = close_info(500);
    let alice_close = alice.hsm.sign_mutual_close(&alice.id, &info).unwrap();
    let bob_info = MutualCloseInfo {
        fee_sat: info.fee_sat,
        holder_value_sat: info.counterparty_value_sat,
        holder_script: info.counterparty_script.clone(),
        counterparty_value_sat: info.holder_value_sat,
        counterparty_script: info.holder_script.clone(),
    };
    let bob_close = bob.hsm.sign_mutual_close(&bob.id, &bob_info).unwrap();
    assert_eq!(alice_close.tx, bob_close.tx);
    assert_eq!(alice_close.tx.output.len(), 1);
}

#[test]
fn a_mutual_close_elsewhere_violates_mutual_close_destination() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    // No scripts registered yet.
    let error = alice
        .hsm
        .sign_mutual_close(&alice.id, &close_info(500))
        .unwrap_err();
    assert_eq!(rule(error), rules::MUTUAL_CLOSE_DESTINATION);
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    let mut elsewhere = close_info(500);
    elsewhere.holder_script = script(0xee);
    let error = alice
        .hsm
        .sign_mutual_close(&alice.id, &elsewhere)
        .unwrap_err();
    assert_eq!(rule(error), rules::MUTUAL_CLOSE_DESTINATION);
}

#[test]
fn the_upfront_script_binds_the_mutual_close() {
    let (mut alice, mut bob) = open_channel_with(
        CommitmentFormat::StaticRemoteKey,
        Policy::default(),
        |setup| {
            setup.holder_upfront_shutdown_script = Some(script(0xa1));
        },
    );
    exchange(&mut alice, &mut bob, 0);
    // Signing works without registration: the upfront script is the destination.
    let mut info = close_info(500);
    info.holder_script = script(0xee);
    let error = alice.hsm.sign_mutual_close(&alice.id, &info).unwrap_err();
    assert_eq!(rule(error), rules::MUTUAL_CLOSE_DESTINATION);
    // Registration cannot override it.
    let error = alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xee), script(0xb0))
        .unwrap_err();
    assert_eq!(rule(error), rules::SHUTDOWN_SCRIPTS_IMMUTABLE);
    alice
        .hsm
        .sign_mutual_close(&alice.id, &close_info(500))
        .unwrap();
}

#[test]
fn registered_shutdown_scripts_cannot_change() {
    let (mut alice, _bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    // The same again is fine (a retried request).
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    let error = alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xee), script(0xb0))
        .unwrap_err();
    assert_eq!(rule(error), rules::SHUTDOWN_SCRIPTS_IMMUTABLE);
}

#[test]
fn a_mutual_close_shortchanging_us_violates_mutual_close_amounts() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    // 100_000 sat moved to the counterparty.
    let mut robbed = close_info(500);
    robbed.holder_value_sat -= 100_000;
    robbed.counterparty_value_sat += 100_000;
    // Outputs not adding up to the funding.
    let mut short = close_info(500);
    short.holder_value_sat += 1;
    // A fee over the limit.
    let greedy = close_info(Policy::default().max_mutual_close_fee_sat + 1);
    for info in [robbed, short, greedy] {
        let error = alice.hsm.sign_mutual_close(&alice.id, &info).unwrap_err();
        assert_eq!(rule(error), rules::MUTUAL_CLOSE_AMOUNTS);
    }
}

#[test]
fn a_mutual_close_with_htlcs_pending_is_refused() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    exchange(&mut alice, &mut bob, 1);
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    let error = alice
        .hsm
        .sign_mutual_close(&alice.id, &close_info(500))
        .unwrap_err();
    assert_eq!(rule(error), rules::MUTUAL_CLOSE_PENDING_HTLCS);
}

// ---------------------------------------------------------------------------------------------
// Crash safety and idempotency

#[test]
fn after_a_restart_a_revoked_commitment_is_still_refused_and_the_flow_continues() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::Anchors);
    exchange(&mut alice, &mut bob, 0);
    exchange(&mut alice, &mut bob, 1);
    alice.restart();
    bob.restart();
    let error = alice.hsm.sign_holder_commitment(&alice.id, 0).unwrap_err();
    assert_eq!(rule(error), rules::NO_SIGN_REVOKED_COMMITMENT);
    let error = bob.hsm.sign_holder_commitment(&bob.id, 0).unwrap_err();
    assert_eq!(rule(error), rules::NO_SIGN_REVOKED_COMMITMENT);
    // Re-signing an already signed counterparty commitment is a sequence error, not a second signature.
    let point = bob.hsm.per_commitment_point(&bob.id, 1).unwrap();
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &alice_view(1), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::COMMITMENT_NUMBER_SEQUENCE);
    // Mid-round crash: Alice signed Bob's commitment 2, then restarts before Bob answers.
    let view = alice_view(2);
    let point = bob.hsm.per_commitment_point(&bob.id, 2).unwrap();
    let signed = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 2, &view, &point)
        .unwrap();
    alice.restart();
    let revocation = bob
        .hsm
        .validate_holder_commitment_and_revoke(
            &bob.id,
            2,
            &mirrored(&view),
            &signed.signature,
            &signed.htlc_signatures,
        )
        .unwrap();
    alice
        .hsm
        .validate_counterparty_revocation(&alice.id, 1, &revocation.per_commitment_secret.unwrap())
        .unwrap();
    sign_validate_revoke(&mut bob, &mut alice, 2, &mirrored(&view));
    alice.restart();
    alice.hsm.sign_holder_commitment(&alice.id, 2).unwrap();
}

#[test]
fn a_retried_request_gets_the_stored_answer_without_running_again() {
    let (mut alice, bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let point = bob.hsm.per_commitment_point(&bob.id, 0).unwrap();
    let request = RequestKey::new("edge-a", [1; 16], b"sign bob 0");
    let sign = |hsm: &mut ChannelSigner| {
        hsm.sign_counterparty_commitment(&alice.id, 0, &alice_view(0), &point)
    };
    let first = alice.hsm.idempotent(&request, sign).unwrap();
    // Executing it again would be a sequence violation; the retry gets the stored answer.
    let again = alice.hsm.idempotent(&request, sign).unwrap();
    assert_eq!(first, again);
    assert_eq!(
        rule(sign(&mut alice.hsm).unwrap_err()),
        rules::COMMITMENT_NUMBER_SEQUENCE
    );
    let conflict = alice
        .hsm
        .idempotent(&RequestKey::new("edge-a", [1; 16], b"something else"), sign)
        .unwrap_err();
    assert!(matches!(
        conflict,
        ChannelError::Store(StoreError::IdempotencyConflict { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// BOLT 3 Appendix C through the policy path

/// BOLT 3, Appendix C: the keys of the *remote* side (our HSM here) and the *local* side's
/// public keys (the counterparty, the opener), verbatim.
mod appendix_c {
    pub const REMOTE_FUNDING_PRIVKEY: &str =
        "1552dfba4f6cf29a62a0af13c8d6981d36d0ef8d61ba10fb0fe90da7634d7e13";
    pub const REMOTE_REVOCATION_BASEPOINT_SECRET: &str =
        "2222222222222222222222222222222222222222222222222222222222222222";
    /// Also the remote HTLC basepoint secret ("the same values for the HTLC basepoints").
    pub const REMOTE_PAYMENT_BASEPOINT_SECRET: &str =
        "4444444444444444444444444444444444444444444444444444444444444444";
    pub const LOCAL_FUNDING_PUBKEY: &str =
        "023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb";
    pub const LOCAL_PAYMENT_BASEPOINT: &str =
        "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa";
    pub const LOCAL_DELAYED_PAYMENT_BASEPOINT: &str =
        "023c72addb4fdf09af94f0c94d7fe92a386a7e70cf8a1d85916386bb2535c7b1b1";
    pub const LOCAL_PER_COMMITMENT_POINT: &str =
        "025f7117a78150fe2ef97db7cfc83bd57b2e2c0d0dd25eaf467a4a1c2a45ce1486";
    pub const FUNDING_TX_ID: &str =
        "8984484a580b825b9972d7adb15050b3ab624ccd731946b3eeddb92f4e7ef6be";
    pub const FUNDING_AMOUNT_SATOSHI: u64 = 10000000;
    pub const COMMITMENT_NUMBER: u64 = 42;
    pub const LOCAL_DELAY: u16 = 144;
    pub const LOCAL_DUST_LIMIT_SATOSHI: u64 = 546;
    /// name: simple commitment tx with no HTLCs
    pub const SIMPLE_REMOTE_SIGNATURE: &str = "3045022100c3127b33dcc741dd6b05b1e63cbd1a9a7d816f37af9b6756fa2376b056f032370220408b96279808fe57eb7e463710804cdf4f108388bc5cf722d8c848d2c7f9f3b0";
    /// name: commitment tx with all five HTLCs untrimmed (minimum feerate)
    pub const FIVE_HTLCS_REMOTE_SIGNATURE: &str = "3044022009b048187705a8cbc9ad73adbe5af148c3d012e1f067961486c822c7af08158c022006d66f3704cfab3eb2dc49dae24e4aa22a6910fc9b424007583204e3621af2e5";
    pub const FIVE_HTLCS_REMOTE_HTLC_SIGNATURES: [&str; 5] = [
        "3045022100d9e29616b8f3959f1d3d7f7ce893ffedcdc407717d0de8e37d808c91d3a7c50d022078c3033f6d00095c8720a4bc943c1b45727818c082e4e3ddbc6d3116435b624b",
        "30440220649fe8b20e67e46cbb0d09b4acea87dbec001b39b08dee7bdd0b1f03922a8640022037c462dff79df501cecfdb12ea7f4de91f99230bb544726f6e04527b1f896004",
        "30440220770fc321e97a19f38985f2e7732dd9fe08d16a2efa4bcbc0429400a447faf49102204d40b417f3113e1b0944ae0986f517564ab4acd3d190503faf97a6e420d43352",
        "304402207bcbf4f60a9829b05d2dbab84ed593e0291836be715dc7db6b72a64caf646af802201e489a5a84f7c5cc130398b841d138d031a5137ac8f4c49c770a4959dc3c1363",
        "3044022076dca5cb81ba7e466e349b7128cdba216d4d01659e29b96025b9524aaf0d1899022060de85697b88b21c749702b7d2cfa7dfeaa1f472c8f1d7d9c23f2bf968464b87",
    ];
}

fn hex_secret(hex_str: &str) -> SecretKey {
    SecretKey::from_slice(&hex::decode(hex_str).unwrap()).unwrap()
}

fn hex_point(hex_str: &str) -> PublicKey {
    PublicKey::from_slice(&hex::decode(hex_str).unwrap()).unwrap()
}

/// Our HSM as Appendix C's remote side, restored at commitment 42 with the counterparty's 40
/// revoked (as if from a backup), with the policy's feerate floor lowered for the 0-feerate case.
fn appendix_c_hsm() -> (ChannelSigner, ChannelKeyId, TempDir) {
    use appendix_c::*;
    let payment = hex_secret(REMOTE_PAYMENT_BASEPOINT_SECRET);
    let secrets = ChannelSecrets {
        funding_key: hex_secret(REMOTE_FUNDING_PRIVKEY),
        revocation_base_secret: hex_secret(REMOTE_REVOCATION_BASEPOINT_SECRET),
        payment_base_secret: payment,
        // Not used by the local side's commitment.
        delayed_payment_base_secret: hex_secret(REMOTE_REVOCATION_BASEPOINT_SECRET),
        htlc_base_secret: payment,
        shachain_seed: [0x55; 32],
    };
    let node_secret = SecretKey::from_slice(&[0x01; 32]).unwrap();
    let signer = Signer::explicit(
        ExplicitKeys::new()
            .with_node(node_secret)
            .with_any_channel(secrets),
    );
    let node_id = signer.node_ids()[0];
    let policy = Policy {
        min_feerate_per_kw: 0,
        ..Policy::default()
    };
    let (mut hsm, _path, dir) = hsm(signer, policy);
    let id = ChannelKeyId {
        node_id,
        peer_id: hex_point(LOCAL_FUNDING_PUBKEY),
        channel_db_id: 0,
    };
    hsm.new_channel(&id).unwrap();
    let local_payment = hex_point(LOCAL_PAYMENT_BASEPOINT);
    hsm.setup_channel(
        &id,
        ChannelSetup {
            holder_is_opener: false,
            funding_outpoint: OutPoint {
                txid: Txid::from_str(FUNDING_TX_ID).unwrap(),
                vout: 0,
            },
            funding_amount_sat: FUNDING_AMOUNT_SATOSHI,
            commitment_format: CommitmentFormat::StaticRemoteKey,
            holder_selected_contest_delay: LOCAL_DELAY,
            counterparty_selected_contest_delay: LOCAL_DELAY,
            holder_dust_limit_sat: LOCAL_DUST_LIMIT_SATOSHI,
            counterparty_dust_limit_sat: LOCAL_DUST_LIMIT_SATOSHI,
            counterparty_keys: ChannelPublicKeys {
                funding_pubkey: hex_point(LOCAL_FUNDING_PUBKEY),
                // The local revocation basepoint is not used by the local commitment.
                revocation_basepoint: local_payment,
                payment_basepoint: local_payment,
                delayed_payment_basepoint: hex_point(LOCAL_DELAYED_PAYMENT_BASEPOINT),
                htlc_basepoint: local_payment,
            },
            holder_upfront_shutdown_script: None,
            counterparty_upfront_shutdown_script: None,
        },
    )
    .unwrap();
    let mut record = hsm.store().channel(&id).unwrap().unwrap();
    record.state.next_counterparty_commitment = COMMITMENT_NUMBER;
    for number in 0..=COMMITMENT_NUMBER - 2 {
        let secret = lnfleet_wire::bolt3::shachain::per_commitment_secret_for_commitment(
            &[0x66; 32],
            number,
        )
        .unwrap();
        record
            .state
            .counterparty_secrets
            .insert(number, secret)
            .unwrap();
    }
    hsm.store().put_channel(&id, &record).unwrap();
    (hsm, id, dir)
}

fn der(hex_str: &str) -> Signature {
    Signature::from_der(&hex::decode(hex_str).unwrap()).unwrap()
}

#[test]
fn appendix_c_simple_commitment_remote_signature_through_the_policy_path() {
    let (mut hsm, id, _dir) = appendix_c_hsm();
    // to_local (the counterparty's) 7000000000 msat, to_remote (ours) 3000000000 msat.
    let info = CommitmentInfo {
        feerate_per_kw: 15000,
        to_holder_msat: 3_000_000_000,
        to_counterparty_msat: 7_000_000_000,
        htlcs: vec![],
    };
    let signed = hsm
        .sign_counterparty_commitment(
            &id,
            appendix_c::COMMITMENT_NUMBER,
            &info,
            &hex_point(appendix_c::LOCAL_PER_COMMITMENT_POINT),
        )
        .unwrap();
    assert_eq!(signed.signature, der(appendix_c::SIMPLE_REMOTE_SIGNATURE));
    assert!(signed.htlc_signatures.is_empty());
}

#[test]
fn appendix_c_five_htlc_commitment_and_htlc_signatures_through_the_policy_path() {
    let (mut hsm, id, _dir) = appendix_c_hsm();
    // htlc n: (direction, amount_msat, expiry, preimage byte); "remote->local" is offered by us.
    let htlcs = [
        (true, 1_000_000, 500, 0u8),
        (true, 2_000_000, 501, 1),
        (false, 2_000_000, 502, 2),
        (false, 3_000_000, 503, 3),
        (true, 4_000_000, 504, 4),
    ]
    .into_iter()
    .map(
        |(offered_by_holder, amount_msat, cltv_expiry, preimage)| HtlcInfo {
            offered_by_holder,
            amount_msat,
            payment_hash: Sha256::digest([preimage; 32]).into(),
            cltv_expiry,
        },
    )
    .collect();
    let info = CommitmentInfo {
        feerate_per_kw: 0,
        to_holder_msat: 3_000_000_000,
        to_counterparty_msat: 6_988_000_000,
        htlcs,
    };
    let signed = hsm
        .sign_counterparty_commitment(
            &id,
            appendix_c::COMMITMENT_NUMBER,
            &info,
            &hex_point(appendix_c::LOCAL_PER_COMMITMENT_POINT),
        )
        .unwrap();
    assert_eq!(
        signed.signature,
        der(appendix_c::FIVE_HTLCS_REMOTE_SIGNATURE)
    );
    let expected: Vec<Signature> = appendix_c::FIVE_HTLCS_REMOTE_HTLC_SIGNATURES
        .iter()
        .map(|hex_str| der(hex_str))
        .collect();
    assert_eq!(signed.htlc_signatures, expected);
}

#[test]
fn a_failed_idempotent_request_commits_nothing_and_sees_its_own_changes() {
    let (mut alice, bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let point = bob.hsm.per_commitment_point(&bob.id, 0).unwrap();
    let id = alice.id;
    let request = RequestKey::new("edge-a", [2; 16], b"two signatures");
    let error = alice
        .hsm
        .idempotent(&request, |hsm| {
            hsm.sign_counterparty_commitment(&id, 0, &alice_view(0), &point)?;
            // The second operation sees the first one's queued state.
            hsm.sign_counterparty_commitment(&id, 0, &alice_view(0), &point)
        })
        .unwrap_err();
    assert_eq!(rule(error), rules::COMMITMENT_NUMBER_SEQUENCE);
    // Nothing reached the disk: neither the state nor a response.
    assert_eq!(alice.hsm.store().response(&request).unwrap(), None);
    alice
        .hsm
        .sign_counterparty_commitment(&id, 0, &alice_view(0), &point)
        .unwrap();
}

#[test]
fn a_stored_response_is_replayed_after_a_restart() {
    let (mut alice, bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    let point = bob.hsm.per_commitment_point(&bob.id, 0).unwrap();
    let id = alice.id;
    let request = RequestKey::new("edge-a", [3; 16], b"sign bob 0");
    let sign =
        |hsm: &mut ChannelSigner| hsm.sign_counterparty_commitment(&id, 0, &alice_view(0), &point);
    let first = alice.hsm.idempotent(&request, sign).unwrap();
    alice.restart();
    assert_eq!(alice.hsm.idempotent(&request, sign).unwrap(), first);
}

#[test]
fn no_commitment_is_signed_after_a_mutual_close_was_signed() {
    let (mut alice, mut bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    exchange(&mut alice, &mut bob, 0);
    alice
        .hsm
        .set_shutdown_scripts(&alice.id, script(0xa1), script(0xb0))
        .unwrap();
    alice
        .hsm
        .sign_mutual_close(&alice.id, &close_info(500))
        .unwrap();
    // Another fee round is still signed.
    alice
        .hsm
        .sign_mutual_close(&alice.id, &close_info(700))
        .unwrap();
    let point = bob.hsm.per_commitment_point(&bob.id, 1).unwrap();
    let error = alice
        .hsm
        .sign_counterparty_commitment(&alice.id, 1, &alice_view(1), &point)
        .unwrap_err();
    assert_eq!(rule(error), rules::CHANNEL_CLOSED);
}

#[test]
fn a_second_open_of_the_same_file_is_refused() {
    let (alice, _bob) = open_channel(CommitmentFormat::StaticRemoteKey);
    assert!(matches!(
        Store::open(&alice.path),
        Err(StoreError::Database(_))
    ));
}

mod interop {
    use proptest::prelude::*;

    use super::*;

    fn arbitrary_view() -> impl Strategy<Value = (CommitmentFormat, CommitmentInfo)> {
        let htlc = (
            any::<bool>(),
            1u64..60_000_000,
            any::<u8>(),
            0u32..1_000_000,
        )
            .prop_map(
                |(offered_by_holder, amount_msat, tag, cltv_expiry)| HtlcInfo {
                    offered_by_holder,
                    amount_msat,
                    payment_hash: Sha256::digest([tag; 32]).into(),
                    cltv_expiry,
                },
            );
        (
            any::<bool>(),
            proptest::collection::vec(htlc, 0..6),
            253u32..20_000,
            0u64..=100,
        )
            .prop_map(|(anchors, htlcs, feerate_per_kw, alice_percent)| {
                let in_htlcs: u64 = htlcs.iter().map(|htlc| htlc.amount_msat).sum();
                let rest = FUNDING_SAT * 1000 - in_htlcs;
                let to_alice = rest / 100 * alice_percent;
                let format = if anchors {
                    CommitmentFormat::Anchors
                } else {
                    CommitmentFormat::StaticRemoteKey
                };
                (
                    format,
                    CommitmentInfo {
                        feerate_per_kw,
                        to_holder_msat: to_alice,
                        to_counterparty_msat: rest - to_alice,
                        htlcs,
                    },
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the balances, HTLCs (trimmed or not) and format, what one HSM signs the other
        /// validates, both ways.
        #[test]
        fn what_one_hsm_signs_the_other_validates((format, view) in arbitrary_view()) {
            let (mut alice, mut bob) = open_channel(format);
            sign_validate_revoke(&mut alice, &mut bob, 0, &view);
            sign_validate_revoke(&mut bob, &mut alice, 0, &mirrored(&view));
        }
    }
}
