use std::path::PathBuf;

use lnfleet_tests::gossip::SignedChannel;
use lnfleet_wire::address::NetAddress;
use lnfleet_wire::codec::WireMessage;
use lnfleet_wire::gossip::signing::sign_hash;
use proptest::prelude::*;
use secp256k1::SECP256K1;
use serde_json::json;

use super::*;
use crate::chain::scripted::RecordedCall;
use crate::chain::{BitcoindChainSource, NoChainSource, ScriptedTransport};

/// 2023-07-24, around block 800000.
const NOW: u64 = 1_690_200_000;
const DAY: u64 = 86_400;

fn scid(s: &str) -> ShortChannelId {
    s.parse().expect("valid scid")
}

fn channel_of(scid_str: &str, node_bytes: [u8; 2], bitcoin_bytes: [u8; 2]) -> SignedChannel {
    SignedChannel::new(scid(scid_str), node_bytes, bitcoin_bytes)
}

/// 800000x1x1: on the recorded chain with bitcoin keys [0x13;32]/[0x14;32].
fn funded_channel() -> SignedChannel {
    channel_of("800000x1x1", [0x11, 0x12], [0x13, 0x14])
}

fn recorded_chain() -> BitcoindChainSource<ScriptedTransport> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bitcoind_recorded.json");
    BitcoindChainSource::new(ScriptedTransport::from_file(&path).expect("recorded responses load"))
}

fn validator() -> Validator<BitcoindChainSource<ScriptedTransport>> {
    Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), recorded_chain())
}

fn unchecked_validator() -> Validator<NoChainSource> {
    Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource)
}

fn reason<T: std::fmt::Debug>(result: Result<T, Rejection>) -> &'static str {
    match result {
        Ok(accepted) => panic!("expected a rejection, got {accepted:?}"),
        Err(rejection) => rejection.reason(),
    }
}

/// A validator holding the funded channel.
fn with_funded_channel() -> (
    Validator<BitcoindChainSource<ScriptedTransport>>,
    SignedChannel,
) {
    let mut v = validator();
    let channel = funded_channel();
    v.validate(&channel.announcement().encode(), NOW)
        .expect("funded channel accepted");
    (v, channel)
}

// --- channel_announcement ---

#[test]
fn channel_announcement_with_matching_funding_output_is_accepted_under_channel_key() {
    let mut v = validator();
    let raw = funded_channel().announcement().encode();
    let accepted = v.validate(&raw, NOW).expect("accepted");
    assert_eq!(accepted.key.kafka_key(), "c/800000x1x1");
    assert_eq!(accepted.raw, raw);
    assert!(matches!(accepted.message, Message::ChannelAnnouncement(_)));
    assert!(v.knows_channel(scid("800000x1x1")));
    assert_eq!(v.node_count(), 2);
}

#[test]
fn channel_announcement_on_another_chain_is_wrong_chain() {
    let channel = funded_channel();
    let mut ann = channel.announcement();
    ann.chain_hash = ChainHash::REGTEST;
    channel.sign(&mut ann);
    assert_eq!(
        reason(validator().validate(&ann.encode(), NOW)),
        "wrong_chain"
    );
}

#[test]
fn bit_flip_in_any_channel_announcement_signature_is_bad_signature() {
    let raw = funded_channel().announcement().encode();
    for signature in 0..4 {
        let mut flipped = raw.clone();
        flipped[2 + signature * 64 + 40] ^= 0x01;
        assert_eq!(
            reason(validator().validate(&flipped, NOW)),
            "bad_signature",
            "signature {signature}"
        );
    }
}

#[test]
fn bit_flip_in_signed_features_is_bad_signature() {
    let channel = funded_channel();
    let mut ann = channel.announcement();
    ann.features = vec![0x02];
    channel.sign(&mut ann);
    let mut raw = ann.encode();
    let features_byte = 2 + 4 * 64 + 2;
    raw[features_byte] ^= 0x01;
    assert_eq!(reason(validator().validate(&raw, NOW)), "bad_signature");
}

#[test]
fn funding_output_that_is_not_the_p2wsh_of_the_keys_is_a_script_mismatch() {
    // 800000x1x0 is the P2WPKH change output of the funding transaction.
    let change = channel_of("800000x1x0", [0x11, 0x12], [0x13, 0x14]);
    assert_eq!(
        reason(validator().validate(&change.announcement().encode(), NOW)),
        "funding_script_mismatch"
    );
    // The right output, announced with other bitcoin keys.
    let wrong_keys = channel_of("800000x1x1", [0x11, 0x12], [0x13, 0x15]);
    assert_eq!(
        reason(validator().validate(&wrong_keys.announcement().encode(), NOW)),
        "funding_script_mismatch"
    );
}

#[test]
fn funding_output_order_of_bitcoin_keys_does_not_matter() {
    let swapped = channel_of("800000x1x1", [0x11, 0x12], [0x14, 0x13]);
    assert!(validator()
        .validate(&swapped.announcement().encode(), NOW)
        .is_ok());
}

#[test]
fn missing_block_tx_or_output_is_funding_not_found() {
    for missing in ["900000x1x0", "800000x7x0", "800000x1x5"] {
        let channel = channel_of(missing, [0x11, 0x12], [0x13, 0x14]);
        assert_eq!(
            reason(validator().validate(&channel.announcement().encode(), NOW)),
            "funding_not_found",
            "{missing}"
        );
    }
}

#[test]
fn spent_funding_output_is_funding_spent() {
    let closed = channel_of("800001x2x0", [0x21, 0x22], [0x23, 0x24]);
    assert_eq!(
        reason(validator().validate(&closed.announcement().encode(), NOW)),
        "funding_spent"
    );
}

#[test]
fn chain_failure_is_chain_unavailable_and_retrying_is_not_a_duplicate() {
    let mut v = validator();
    let unrecorded = channel_of("800002x0x0", [0x11, 0x12], [0x13, 0x14]);
    let raw = unrecorded.announcement().encode();
    assert_eq!(reason(v.validate(&raw, NOW)), "chain_unavailable");
    assert_eq!(reason(v.validate(&raw, NOW)), "chain_unavailable");
}

#[test]
fn second_announcement_of_a_known_channel_is_already_known_without_verification() {
    let (mut v, channel) = with_funded_channel();
    let mut again = channel.announcement();
    again.excess_data = vec![0xff];
    channel.sign(&mut again);
    let before = v.signature_verifications();
    assert_eq!(reason(v.validate(&again.encode(), NOW)), "already_known");
    assert_eq!(v.signature_verifications(), before);
}

#[test]
fn no_chain_source_accepts_any_funding() {
    let anywhere = channel_of("1x2x3", [0x11, 0x12], [0x31, 0x32]);
    let accepted = unchecked_validator()
        .validate(&anywhere.announcement().encode(), NOW)
        .expect("accepted unchecked");
    assert_eq!(accepted.key, GossipKey::Channel(scid("1x2x3")));
}

// --- duplicates ---

#[test]
fn exact_duplicates_are_dropped_before_any_signature_check() {
    let (mut v, channel) = with_funded_channel();
    let raw = channel.announcement().encode();
    let update = channel.update(0, NOW as u32, 1000).encode();
    v.validate(&update, NOW).expect("update accepted");
    let before = v.signature_verifications();
    for _ in 0..5 {
        assert_eq!(reason(v.validate(&raw, NOW)), "duplicate");
        assert_eq!(reason(v.validate(&update, NOW)), "duplicate");
    }
    assert_eq!(v.signature_verifications(), before);
}

#[test]
fn repeated_bad_signature_is_verified_once() {
    let (mut v, channel) = with_funded_channel();
    let mut raw = channel.update(0, NOW as u32, 1000).encode();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    let before = v.signature_verifications();
    assert_eq!(reason(v.validate(&raw, NOW)), "bad_signature");
    assert_eq!(reason(v.validate(&raw, NOW)), "duplicate");
    assert_eq!(v.signature_verifications(), before + 1);
}

#[test]
fn dedup_memory_is_bounded_and_forgets_oldest_first() {
    let mut recent = RecentDigests::new(2);
    for byte in 0..3u8 {
        recent.insert(dedup::digest(&[byte]));
    }
    assert_eq!(recent.len(), 2);
    assert!(!recent.contains(&dedup::digest(&[0])));
    assert!(recent.contains(&dedup::digest(&[2])));
}

// --- channel_update ---

#[test]
fn channel_updates_of_both_directions_get_direction_keys() {
    let (mut v, channel) = with_funded_channel();
    let zero = v.validate(&channel.update(0, NOW as u32, 1000).encode(), NOW);
    let one = v.validate(&channel.update(1, NOW as u32, 1000).encode(), NOW);
    assert_eq!(zero.expect("dir 0").key.kafka_key(), "u/800000x1x1/0");
    assert_eq!(one.expect("dir 1").key.kafka_key(), "u/800000x1x1/1");
}

#[test]
fn channel_update_for_unknown_channel_is_rejected_then_accepted_after_announcement() {
    let mut v = validator();
    let channel = funded_channel();
    let update = channel.update(0, NOW as u32, 1000).encode();
    assert_eq!(reason(v.validate(&update, NOW)), "unknown_channel");
    v.validate(&channel.announcement().encode(), NOW)
        .expect("announcement");
    assert!(v.validate(&update, NOW).is_ok());
}

#[test]
fn channel_update_signed_by_the_other_endpoint_is_bad_signature() {
    let (mut v, channel) = with_funded_channel();
    let mut update = channel.update(1, NOW as u32, 1000);
    update.sign(&channel.nodes[0]);
    assert_eq!(reason(v.validate(&update.encode(), NOW)), "bad_signature");
}

#[test]
fn bit_flip_in_channel_update_fee_is_bad_signature() {
    let (mut v, channel) = with_funded_channel();
    let mut raw = channel.update(0, NOW as u32, 1000).encode();
    // type(2) sig(64) chain(32) scid(8) ts(4) flags(2) cltv(2) htlc_min(8) → fee_base.
    raw[2 + 64 + 32 + 8 + 4 + 2 + 2 + 8 + 3] ^= 0x01;
    assert_eq!(reason(v.validate(&raw, NOW)), "bad_signature");
}

#[test]
fn channel_update_on_another_chain_is_wrong_chain() {
    let (mut v, channel) = with_funded_channel();
    let mut update = channel.update(0, NOW as u32, 1000);
    update.chain_hash = ChainHash::REGTEST;
    update.sign(&channel.nodes[0]);
    assert_eq!(reason(v.validate(&update.encode(), NOW)), "wrong_chain");
}

#[test]
fn out_of_order_updates_keep_the_newest_per_direction() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    assert!(v
        .validate(&channel.update(0, t - 300, 1).encode(), NOW)
        .is_ok());
    assert!(v
        .validate(&channel.update(0, t - 100, 3).encode(), NOW)
        .is_ok());
    let older = v.validate(&channel.update(0, t - 200, 2).encode(), NOW);
    assert_eq!(
        older,
        Err(Rejection::StaleTimestamp {
            timestamp: t - 200,
            last: t - 100
        })
    );
    // The other direction has its own clock.
    assert!(v
        .validate(&channel.update(1, t - 200, 2).encode(), NOW)
        .is_ok());
}

#[test]
fn stale_updates_are_rejected_without_signature_check() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    v.validate(&channel.update(0, t, 1).encode(), NOW)
        .expect("newest");
    let before = v.signature_verifications();
    let mut unsigned = channel.update(0, t - 1, 1);
    unsigned.signature = sign_hash(&[9; 32], &channel.nodes[1]);
    assert_eq!(
        reason(v.validate(&unsigned.encode(), NOW)),
        "stale_timestamp"
    );
    assert_eq!(v.signature_verifications(), before);
}

#[test]
fn equal_timestamp_with_different_fields_is_a_conflict() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    v.validate(&channel.update(0, t, 1000).encode(), NOW)
        .expect("first");
    let conflict = v.validate(&channel.update(0, t, 2000).encode(), NOW);
    assert_eq!(
        conflict,
        Err(Rejection::ConflictingUpdate {
            scid: channel.scid,
            direction: 0,
            timestamp: t
        })
    );
}

#[test]
fn equal_timestamp_conflict_needs_a_valid_signature() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    v.validate(&channel.update(0, t, 1000).encode(), NOW)
        .expect("first");
    let mut forged = channel.update(0, t, 2000);
    forged.sign(&channel.nodes[1]);
    assert_eq!(reason(v.validate(&forged.encode(), NOW)), "bad_signature");
}

#[test]
fn equal_timestamp_same_fields_other_signature_encoding_is_duplicate() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    let update = channel.update(0, t, 1000);
    v.validate(&update.encode(), NOW).expect("first");
    let mut resigned = update.clone();
    resigned.signature = SECP256K1.sign_ecdsa_with_noncedata(
        &secp256k1::Message::from_digest(update.signed_hash()),
        &channel.nodes[0],
        &[7; 32],
    );
    assert_ne!(resigned.encode(), update.encode());
    assert_eq!(reason(v.validate(&resigned.encode(), NOW)), "duplicate");
}

#[test]
fn update_too_far_in_the_future_is_rejected_until_its_time_comes() {
    let (mut v, channel) = with_funded_channel();
    let future = (NOW + 2 * DAY) as u32;
    let raw = channel.update(0, future, 1000).encode();
    assert_eq!(reason(v.validate(&raw, NOW)), "future_timestamp");
    assert!(v.validate(&raw, NOW + 2 * DAY).is_ok());
}

#[test]
fn update_within_future_tolerance_is_accepted() {
    let (mut v, channel) = with_funded_channel();
    let soon = (NOW + DAY / 2) as u32;
    assert!(v
        .validate(&channel.update(0, soon, 1000).encode(), NOW)
        .is_ok());
}

#[test]
fn update_older_than_two_weeks_is_expired() {
    let (mut v, channel) = with_funded_channel();
    let old = (NOW - TWO_WEEKS_SECS - 1) as u32;
    assert_eq!(
        reason(v.validate(&channel.update(0, old, 1000).encode(), NOW)),
        "expired_timestamp"
    );
}

// --- node_announcement ---

#[test]
fn node_announcement_without_a_channel_is_unknown_node_until_one_arrives() {
    let mut v = validator();
    let channel = funded_channel();
    let raw = channel.node_announcement(0, NOW as u32).encode();
    assert_eq!(reason(v.validate(&raw, NOW)), "unknown_node");
    v.validate(&channel.announcement().encode(), NOW)
        .expect("channel");
    let accepted = v.validate(&raw, NOW).expect("node accepted");
    assert_eq!(
        accepted.key.kafka_key(),
        format!("n/{}", hex::encode(channel.node_id(0).serialize()))
    );
}

#[test]
fn node_announcement_timestamp_must_strictly_increase() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    assert!(v
        .validate(&channel.node_announcement(1, t).encode(), NOW)
        .is_ok());
    let mut same_time = channel.node_announcement(1, t);
    same_time.rgb_color = [9, 9, 9];
    same_time.sign(&channel.nodes[1]);
    assert_eq!(
        reason(v.validate(&same_time.encode(), NOW)),
        "stale_timestamp"
    );
    assert_eq!(
        reason(v.validate(&channel.node_announcement(1, t - 1).encode(), NOW)),
        "stale_timestamp"
    );
    assert!(v
        .validate(&channel.node_announcement(1, t + 1).encode(), NOW)
        .is_ok());
}

#[test]
fn bit_flip_in_node_alias_is_bad_signature() {
    let (mut v, channel) = with_funded_channel();
    let mut raw = channel.node_announcement(0, NOW as u32).encode();
    // type(2) sig(64) flen(2) ts(4) node_id(33) rgb(3) → alias.
    raw[2 + 64 + 2 + 4 + 33 + 3 + 5] ^= 0x01;
    assert_eq!(reason(v.validate(&raw, NOW)), "bad_signature");
}

#[test]
fn node_announcement_with_two_hostnames_is_bad_address() {
    let (mut v, channel) = with_funded_channel();
    let mut ann = channel.node_announcement(0, NOW as u32);
    ann.addresses = ["a.example", "b.example"]
        .map(|host| NetAddress::Hostname {
            host: host.into(),
            port: 9735,
        })
        .to_vec();
    ann.sign(&channel.nodes[0]);
    assert_eq!(reason(v.validate(&ann.encode(), NOW)), "bad_address");
}

#[test]
fn node_announcement_far_in_the_future_is_rejected() {
    let (mut v, channel) = with_funded_channel();
    let raw = channel
        .node_announcement(0, (NOW + 3 * DAY) as u32)
        .encode();
    assert_eq!(reason(v.validate(&raw, NOW)), "future_timestamp");
}

// --- other messages ---

#[test]
fn truncated_gossip_is_malformed() {
    let raw = funded_channel().announcement().encode();
    assert_eq!(reason(validator().validate(&raw[..100], NOW)), "malformed");
    assert_eq!(reason(validator().validate(&[], NOW)), "malformed");
}

#[test]
fn non_gossip_message_is_not_gossip() {
    // ping: num_pong_bytes 4, no padding.
    let ping = [0x00, 0x12, 0x00, 0x04, 0x00, 0x00];
    assert_eq!(reason(validator().validate(&ping, NOW)), "not_gossip");
}

#[test]
fn every_reason_label_is_listed_and_distinct() {
    let mut labels = Rejection::REASONS.to_vec();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), Rejection::REASONS.len());
    let some = [
        Rejection::WrongChain,
        Rejection::Duplicate,
        Rejection::FundingSpent {
            scid: scid("1x1x1"),
        },
    ];
    for rejection in some {
        assert!(Rejection::REASONS.contains(&rejection.reason()));
    }
}

// --- pruning ---

#[test]
fn channel_without_updates_for_two_weeks_is_pruned_with_all_its_keys() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    v.validate(&channel.update(0, t, 1).encode(), NOW)
        .expect("dir 0");
    v.validate(&channel.update(1, t - 10, 1).encode(), NOW)
        .expect("dir 1");
    v.validate(&channel.node_announcement(0, t).encode(), NOW)
        .expect("node 0");

    assert!(v.prune(NOW + TWO_WEEKS_SECS).is_empty());
    let tombstones = v.prune(NOW + TWO_WEEKS_SECS + 1);
    let keys: Vec<String> = tombstones.iter().map(|t| t.key.kafka_key()).collect();
    assert_eq!(
        keys,
        [
            "c/800000x1x1".to_owned(),
            "u/800000x1x1/0".to_owned(),
            "u/800000x1x1/1".to_owned(),
            format!("n/{}", channel.node_id(0)),
        ]
    );
    assert_eq!(tombstones[0].reason, PruneReason::Stale);
    assert_eq!(tombstones[3].reason, PruneReason::NoChannels);
    assert_eq!(v.channel_count(), 0);
    assert_eq!(v.node_count(), 0);
}

#[test]
fn one_fresh_direction_keeps_the_channel() {
    let (mut v, channel) = with_funded_channel();
    let t = NOW as u32;
    v.validate(&channel.update(0, t, 1).encode(), NOW)
        .expect("dir 0");
    let later = NOW + 10 * DAY;
    v.validate(&channel.update(1, later as u32, 1).encode(), later)
        .expect("dir 1");
    assert!(v.prune(NOW + TWO_WEEKS_SECS + 1).is_empty());
    assert!(v.knows_channel(channel.scid));
}

#[test]
fn never_updated_channel_ages_from_its_announcement() {
    let mut v = unchecked_validator();
    let channel = channel_of("5x0x0", [0x11, 0x12], [0x13, 0x14]);
    v.validate(&channel.announcement().encode(), NOW)
        .expect("accepted");
    assert!(v.prune(NOW + DAY).is_empty());
    let keys: Vec<String> = v
        .prune(NOW + TWO_WEEKS_SECS + 1)
        .iter()
        .map(|t| t.key.kafka_key())
        .collect();
    assert_eq!(keys, ["c/5x0x0"]);
}

#[test]
fn channel_whose_funding_is_spent_is_pruned() {
    let (mut v, channel) = with_funded_channel();
    v.validate(&channel.update(1, NOW as u32, 1).encode(), NOW)
        .expect("update");
    assert!(v.prune(NOW).is_empty());

    let spent_at = recorded_chain_txid_of_funding(&v);
    v.chain_mut().transport_mut().record(RecordedCall {
        method: "gettxout".into(),
        params: vec![json!(spent_at), json!(1), json!(false)],
        result: serde_json::Value::Null,
        error: None,
    });
    let tombstones = v.prune(NOW);
    let keys: Vec<String> = tombstones.iter().map(|t| t.key.kafka_key()).collect();
    assert_eq!(keys, ["c/800000x1x1", "u/800000x1x1/1"]);
    assert!(tombstones
        .iter()
        .all(|t| t.reason == PruneReason::FundingSpent));
}

#[test]
fn chain_outage_during_prune_keeps_channels() {
    let (mut v, _channel) = with_funded_channel();
    let txid = recorded_chain_txid_of_funding(&v);
    v.chain_mut().transport_mut().record(RecordedCall {
        method: "gettxout".into(),
        params: vec![json!(txid), json!(1), json!(false)],
        result: serde_json::Value::Null,
        error: Some(crate::chain::bitcoind::JsonRpcErrorObject {
            code: -28,
            message: "Loading block index...".into(),
        }),
    });
    assert!(v.prune(NOW).is_empty());
    assert_eq!(v.channel_count(), 1);
}

/// The txid the recorded chain holds at 800000x1 (read back from the recording).
fn recorded_chain_txid_of_funding(v: &Validator<BitcoindChainSource<ScriptedTransport>>) -> String {
    let calls = v.chain().transport().calls();
    let getraw = calls
        .iter()
        .find(|c| c.starts_with("getrawtransaction"))
        .expect("funding was looked up");
    let params: Vec<serde_json::Value> =
        serde_json::from_str(getraw.trim_start_matches("getrawtransaction ")).expect("params");
    params[0].as_str().expect("txid").to_owned()
}

// --- robustness ---

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut v = unchecked_validator();
        let _ = v.validate(&raw, NOW);
    }

    #[test]
    fn arbitrary_gossip_payloads_never_panic(
        msg_type in 256u16..=258,
        payload in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let (mut v, _) = with_funded_channel();
        let mut raw = msg_type.to_be_bytes().to_vec();
        raw.extend_from_slice(&payload);
        let _ = v.validate(&raw, NOW);
        let _ = v.prune(NOW);
    }
}

#[test]
fn funding_with_too_few_confirmations_is_unconfirmed_and_retried_later() {
    let config = ValidatorConfig {
        min_funding_confirmations: 121,
        ..ValidatorConfig::new(ChainHash::BITCOIN)
    };
    let mut v = Validator::new(config, recorded_chain());
    let raw = funded_channel().announcement().encode();
    assert_eq!(
        v.validate(&raw, NOW),
        Err(Rejection::FundingUnconfirmed {
            scid: scid("800000x1x1"),
            confirmations: 120
        })
    );
    // Transient: not remembered as a duplicate.
    assert_eq!(reason(v.validate(&raw, NOW)), "funding_unconfirmed");
}

#[test]
fn private_dont_forward_update_is_never_published() {
    let (mut v, channel) = with_funded_channel();
    let mut update = channel.update(0, NOW as u32, 1000);
    update.message_flags |= ChannelUpdate::MESSAGE_FLAG_DONT_FORWARD;
    update.sign(&channel.nodes[0]);
    assert_eq!(reason(v.validate(&update.encode(), NOW)), "dont_forward");
}

// --- capacity and spent channels ---

#[test]
fn htlc_maximum_above_the_funding_value_is_rejected() {
    // 800000x1x1 holds 0.05 BTC = 5_000_000_000 msat.
    let (mut v, channel) = with_funded_channel();
    let mut update = channel.update(0, (NOW - 60) as u32, 1_000);
    update.htlc_maximum_msat = 5_000_000_001;
    update.sign(&lnfleet_tests::gossip::secret(0x11));
    assert_eq!(
        v.validate(&update.encode(), NOW),
        Err(Rejection::HtlcMaximumAboveCapacity {
            scid: channel.scid,
            htlc_maximum_msat: 5_000_000_001,
            capacity_msat: 5_000_000_000,
        })
    );
    update.htlc_maximum_msat = 5_000_000_000;
    update.sign(&lnfleet_tests::gossip::secret(0x11));
    assert!(v.validate(&update.encode(), NOW).is_ok());
}

#[test]
fn updates_of_a_channel_pruned_as_spent_are_funding_spent() {
    let (mut v, channel) = with_funded_channel();
    // The funding output disappears from the UTXO set.
    let calls = v.chain().transport().calls();
    let txout = calls
        .iter()
        .find(|c| c.starts_with("gettxout "))
        .expect("the announcement asked gettxout")
        .trim_start_matches("gettxout ")
        .to_owned();
    let params: Vec<serde_json::Value> = serde_json::from_str(&txout).expect("params");
    v.chain_mut().transport_mut().record(RecordedCall {
        method: "gettxout".into(),
        params,
        result: serde_json::Value::Null,
        error: None,
    });
    let tombstones = v.prune(NOW + 60);
    assert!(tombstones.iter().any(
        |t| t.key == GossipKey::Channel(channel.scid) && t.reason == PruneReason::FundingSpent
    ));
    assert_eq!(
        reason(v.validate(&channel.update(1, (NOW - 30) as u32, 7).encode(), NOW)),
        "funding_spent"
    );
}
