use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_wire::codec::{ChainHash, WireMessage};
use lnfleet_wire::gossip::signing::sign_hash;
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate};
use secp256k1::{PublicKey, SecretKey, SECP256K1};

use super::*;
use crate::chain::NoChainSource;
use crate::validate::ValidatorConfig;

const NOW_MS: u64 = 1_690_200_000_000;

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).expect("valid test secret")
}

fn public(secret: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, secret)
}

/// Node secrets ordered so the first is `node_id_1`.
fn node_secrets() -> [SecretKey; 2] {
    let mut nodes = [secret(0x21), secret(0x22)];
    if public(&nodes[0]).serialize() > public(&nodes[1]).serialize() {
        nodes.swap(0, 1);
    }
    nodes
}

fn announcement(nodes: &[SecretKey; 2]) -> ChannelAnnouncement {
    let placeholder = sign_hash(&[1; 32], &nodes[0]);
    let bitcoin = [secret(0x23), secret(0x24)];
    let mut ann = ChannelAnnouncement {
        node_signature_1: placeholder,
        node_signature_2: placeholder,
        bitcoin_signature_1: placeholder,
        bitcoin_signature_2: placeholder,
        features: Vec::new(),
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: "700000x2x0".parse().expect("scid"),
        node_id_1: public(&nodes[0]),
        node_id_2: public(&nodes[1]),
        bitcoin_key_1: public(&bitcoin[0]),
        bitcoin_key_2: public(&bitcoin[1]),
        excess_data: Vec::new(),
    };
    ann.sign_all(&nodes[0], &nodes[1], &bitcoin[0], &bitcoin[1]);
    ann
}

fn update(nodes: &[SecretKey; 2], direction: u8, timestamp: u32) -> ChannelUpdate {
    let mut update = ChannelUpdate {
        signature: sign_hash(&[1; 32], &nodes[0]),
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: "700000x2x0".parse().expect("scid"),
        timestamp,
        message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
        channel_flags: direction,
        cltv_expiry_delta: 40,
        htlc_minimum_msat: 1,
        fee_base_msat: 1_000,
        fee_proportional_millionths: 1,
        htlc_maximum_msat: 1_000_000_000,
        excess_data: Vec::new(),
    };
    update.sign(&nodes[usize::from(direction)]);
    update
}

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
    let nodes = node_secrets();
    let ann = announcement(&nodes).encode();
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
    let upd = update(&nodes, 1, timestamp).encode();
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
