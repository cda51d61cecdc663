use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_wire::codec::{ChainHash, WireMessage};

use super::*;
use crate::chain::NoChainSource;
use crate::validate::ValidatorConfig;

const NOW_MS: u64 = 1_690_200_000_000;

fn envelope(message: Vec<u8>) -> Vec<u8> {
    contracts::encode(&RawGossip {
        edge_id: "edge-7".into(),
        peer_id: vec![3; 33],
        received_at_ms: NOW_MS - 5,
        message,
    })
}

fn validator() -> Validator<NoChainSource> {
    Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource)
}

fn rejected(reason: &'static str) -> Outcome {
    Outcome::Rejected { reason }
}

#[test]
fn undecodable_or_missing_envelope_is_malformed_envelope() {
    let mut v = validator();
    assert_eq!(
        process_record(&mut v, Some(b"not bincode"), NOW_MS),
        rejected(MALFORMED_ENVELOPE)
    );
    assert_eq!(
        process_record(&mut v, Some(&[]), NOW_MS),
        rejected(MALFORMED_ENVELOPE)
    );
    assert_eq!(
        process_record(&mut v, None, NOW_MS),
        rejected(MALFORMED_ENVELOPE)
    );
}

#[test]
fn garbage_message_in_a_good_envelope_is_the_validator_reason() {
    let mut v = validator();
    assert_eq!(
        process_record(&mut v, Some(&envelope(vec![1, 0, 0xff])), NOW_MS),
        rejected("malformed")
    );
}

#[test]
fn accepted_messages_carry_key_raw_bytes_timestamp_and_origin() {
    let mut v = validator();
    let channel = SignedChannel::from_seed("700000x2x0".parse().expect("scid"), 0x21);
    let ann = channel.announcement().encode();
    match process_record(&mut v, Some(&envelope(ann.clone())), NOW_MS) {
        Outcome::Accepted { key, kind, value } => {
            assert_eq!(key, "c/700000x2x0");
            assert_eq!(kind, "channel_announcement");
            assert_eq!(value.message, ann);
            assert_eq!(value.timestamp, 0);
            assert_eq!(value.accepted_at_ms, NOW_MS);
            assert_eq!(value.origin_edge, "edge-7");
            assert_eq!(value.origin_peer, vec![3; 33]);
        }
        other => panic!("expected acceptance, got {other:?}"),
    }
    let timestamp = u32::try_from(NOW_MS / 1000 - 60).expect("fits");
    let upd = channel.update(1, timestamp, 1_000).encode();
    match process_record(&mut v, Some(&envelope(upd.clone())), NOW_MS) {
        Outcome::Accepted { key, kind, value } => {
            assert_eq!(key, "u/700000x2x0/1");
            assert_eq!(kind, "channel_update");
            assert_eq!(value.message, upd);
            assert_eq!(value.timestamp, timestamp);
        }
        other => panic!("expected acceptance, got {other:?}"),
    }
    assert_eq!(
        process_record(&mut v, Some(&envelope(upd)), NOW_MS),
        rejected("duplicate")
    );
}
