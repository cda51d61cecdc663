//! Round trips, hostile input, and signatures for the BOLT 7 messages.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use secp256k1::ecdsa::Signature;
use secp256k1::{PublicKey, SecretKey, SECP256K1};

use super::signing::verify_hash;
use super::*;
use crate::address::NetAddress;
use crate::codec::{ChainHash, ChannelId, DecodeError, ShortChannelId, WireMessage};
use crate::tlv::TlvStream;

// ---------- strategies ----------

fn arb_secret() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("not a valid secret key", |b| SecretKey::from_slice(&b).ok())
}

fn arb_pubkey() -> impl Strategy<Value = PublicKey> {
    arb_secret().prop_map(|sk| PublicKey::from_secret_key(SECP256K1, &sk))
}

/// Any compact signature with `r` and `s` below the curve order (top bit clear is enough).
fn arb_signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(mut r, mut s)| {
        r[0] &= 0x7f;
        s[0] &= 0x7f;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r);
        bytes[32..].copy_from_slice(&s);
        Signature::from_compact(&bytes).expect("r and s are below the order")
    })
}

fn arb_chain_hash() -> impl Strategy<Value = ChainHash> {
    prop_oneof![
        Just(ChainHash::BITCOIN),
        Just(ChainHash::REGTEST),
        any::<[u8; 32]>().prop_map(ChainHash)
    ]
}

fn arb_scid() -> impl Strategy<Value = ShortChannelId> {
    any::<u64>().prop_map(ShortChannelId)
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_address() -> impl Strategy<Value = NetAddress> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, port)| NetAddress::Ipv4 {
            addr: Ipv4Addr::from(a),
            port
        }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, port)| NetAddress::Ipv6 {
            addr: Ipv6Addr::from(a),
            port
        }),
        (any::<[u8; 10]>(), any::<u16>()).prop_map(|(addr, port)| NetAddress::TorV2 { addr, port }),
        (proptest::collection::vec(any::<u8>(), 35), any::<u16>()).prop_map(|(a, port)| {
            let mut addr = [0u8; 35];
            addr.copy_from_slice(&a);
            NetAddress::TorV3 { addr, port }
        }),
        ("[a-z0-9.-]{1,64}", any::<u16>())
            .prop_map(|(host, port)| NetAddress::Hostname { host, port }),
    ]
}

/// Opaque address bytes that start with an unknown descriptor type (0 or 6..), or nothing.
fn arb_address_tail() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        (prop_oneof![Just(0u8), 6u8..=255], arb_bytes(20)).prop_map(|(kind, rest)| {
            let mut tail = vec![kind];
            tail.extend(rest);
            tail
        })
    ]
}

/// Unknown odd TLV records with types above the known ones (`min_type` and up).
fn arb_extra_tlvs(min_type: u64) -> impl Strategy<Value = TlvStream> {
    proptest::collection::btree_map(min_type..1000u64, arb_bytes(8), 0..3).prop_map(|records| {
        let mut stream = TlvStream::new();
        for (t, v) in records {
            stream.insert(t | 1, v);
        }
        stream
    })
}

prop_compose! {
    fn arb_channel_announcement()(
        sigs in proptest::array::uniform4(arb_signature()),
        features in arb_bytes(8),
        chain_hash in arb_chain_hash(),
        short_channel_id in arb_scid(),
        keys in proptest::array::uniform4(arb_pubkey()),
        excess_data in arb_bytes(16),
    ) -> ChannelAnnouncement {
        ChannelAnnouncement {
            node_signature_1: sigs[0],
            node_signature_2: sigs[1],
            bitcoin_signature_1: sigs[2],
            bitcoin_signature_2: sigs[3],
            features,
            chain_hash,
            short_channel_id,
            node_id_1: keys[0],
            node_id_2: keys[1],
            bitcoin_key_1: keys[2],
            bitcoin_key_2: keys[3],
            excess_data,
        }
    }
}

prop_compose! {
    fn arb_node_announcement()(
        signature in arb_signature(),
        features in arb_bytes(8),
        timestamp in any::<u32>(),
        node_id in arb_pubkey(),
        rgb_color in any::<[u8; 3]>(),
        alias in any::<[u8; 32]>(),
        addresses in proptest::collection::vec(arb_address(), 0..4),
        address_tail in arb_address_tail(),
        excess_data in arb_bytes(16),
    ) -> NodeAnnouncement {
        NodeAnnouncement {
            signature, features, timestamp, node_id, rgb_color, alias, addresses, address_tail,
            excess_data,
        }
    }
}

prop_compose! {
    fn arb_channel_update()(
        signature in arb_signature(),
        chain_hash in arb_chain_hash(),
        short_channel_id in arb_scid(),
        timestamp in any::<u32>(),
        message_flags in any::<u8>(),
        channel_flags in any::<u8>(),
        cltv_expiry_delta in any::<u16>(),
        htlc_minimum_msat in any::<u64>(),
        fee_base_msat in any::<u32>(),
        fee_proportional_millionths in any::<u32>(),
        htlc_maximum_msat in any::<u64>(),
        excess_data in arb_bytes(16),
    ) -> ChannelUpdate {
        ChannelUpdate {
            signature, chain_hash, short_channel_id, timestamp, message_flags, channel_flags,
            cltv_expiry_delta, htlc_minimum_msat, fee_base_msat, fee_proportional_millionths,
            htlc_maximum_msat, excess_data,
        }
    }
}

prop_compose! {
    fn arb_announcement_signatures()(
        channel_id in any::<[u8; 32]>(),
        short_channel_id in arb_scid(),
        node_signature in arb_signature(),
        bitcoin_signature in arb_signature(),
    ) -> AnnouncementSignatures {
        AnnouncementSignatures {
            channel_id: ChannelId(channel_id), short_channel_id, node_signature, bitcoin_signature,
        }
    }
}

fn arb_short_ids() -> impl Strategy<Value = EncodedShortIds> {
    proptest::collection::vec(arb_scid(), 0..20).prop_map(EncodedShortIds)
}

fn arb_query_short_channel_ids() -> impl Strategy<Value = QueryShortChannelIds> {
    (
        arb_chain_hash(),
        arb_short_ids(),
        any::<bool>(),
        arb_extra_tlvs(2),
    )
        .prop_flat_map(|(chain_hash, short_ids, with_flags, extra_tlvs)| {
            let n = short_ids.len();
            let flags = if with_flags {
                proptest::option::of(proptest::collection::vec(any::<u64>(), n)).boxed()
            } else {
                Just(None).boxed()
            };
            flags.prop_map(move |query_flags| QueryShortChannelIds {
                chain_hash,
                short_ids: short_ids.clone(),
                query_flags,
                extra_tlvs: extra_tlvs.clone(),
            })
        })
}

prop_compose! {
    fn arb_query_channel_range()(
        chain_hash in arb_chain_hash(),
        first_blocknum in any::<u32>(),
        number_of_blocks in any::<u32>(),
        query_option in proptest::option::of(any::<u64>()),
        extra_tlvs in arb_extra_tlvs(2),
    ) -> QueryChannelRange {
        QueryChannelRange { chain_hash, first_blocknum, number_of_blocks, query_option, extra_tlvs }
    }
}

fn arb_reply_channel_range() -> impl Strategy<Value = ReplyChannelRange> {
    (
        arb_chain_hash(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        arb_short_ids(),
        arb_extra_tlvs(4),
    )
        .prop_flat_map(
            |(chain_hash, first, count, sync_complete, short_ids, extra_tlvs)| {
                let n = short_ids.len();
                let pairs =
                    || proptest::option::of(proptest::collection::vec(any::<(u32, u32)>(), n));
                (pairs(), pairs()).prop_map(move |(timestamps, checksums)| ReplyChannelRange {
                    chain_hash,
                    first_blocknum: first,
                    number_of_blocks: count,
                    sync_complete,
                    short_ids: short_ids.clone(),
                    timestamps: timestamps.map(|v| {
                        v.into_iter()
                            .map(|(node_1, node_2)| ChannelUpdateTimestamps { node_1, node_2 })
                            .collect()
                    }),
                    checksums: checksums.map(|v| {
                        v.into_iter()
                            .map(|(node_1, node_2)| ChannelUpdateChecksums { node_1, node_2 })
                            .collect()
                    }),
                    extra_tlvs: extra_tlvs.clone(),
                })
            },
        )
}

// ---------- fixtures ----------

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn public(sk: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, sk)
}

fn zero_sig() -> Signature {
    Signature::from_compact(&[0; 64]).unwrap()
}

struct AnnouncementKeys {
    node_1: SecretKey,
    node_2: SecretKey,
    bitcoin_1: SecretKey,
    bitcoin_2: SecretKey,
}

/// A signed announcement with node ids in the order the spec asks (lesser first).
fn signed_channel_announcement() -> (ChannelAnnouncement, AnnouncementKeys) {
    let (mut a, mut b) = (secret(1), secret(2));
    if public(&a).serialize() > public(&b).serialize() {
        std::mem::swap(&mut a, &mut b);
    }
    let keys = AnnouncementKeys {
        node_1: a,
        node_2: b,
        bitcoin_1: secret(3),
        bitcoin_2: secret(4),
    };
    let mut ann = ChannelAnnouncement {
        node_signature_1: zero_sig(),
        node_signature_2: zero_sig(),
        bitcoin_signature_1: zero_sig(),
        bitcoin_signature_2: zero_sig(),
        features: vec![],
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: ShortChannelId::new(539268, 845, 1).unwrap(),
        node_id_1: public(&keys.node_1),
        node_id_2: public(&keys.node_2),
        bitcoin_key_1: public(&keys.bitcoin_1),
        bitcoin_key_2: public(&keys.bitcoin_2),
        excess_data: vec![],
    };
    ann.sign_all(&keys.node_1, &keys.node_2, &keys.bitcoin_1, &keys.bitcoin_2);
    (ann, keys)
}

fn sample_channel_update(channel_flags: u8) -> ChannelUpdate {
    ChannelUpdate {
        signature: zero_sig(),
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: ShortChannelId::new(539268, 845, 1).unwrap(),
        timestamp: 1_700_000_000,
        message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
        channel_flags,
        cltv_expiry_delta: 144,
        htlc_minimum_msat: 1_000,
        fee_base_msat: 1_000,
        fee_proportional_millionths: 100,
        htlc_maximum_msat: 990_000_000,
        excess_data: vec![],
    }
}

fn sample_node_announcement(addresses: Vec<NetAddress>, address_tail: Vec<u8>) -> NodeAnnouncement {
    let mut alias = [0u8; 32];
    alias[..8].copy_from_slice(b"IRATEMON");
    NodeAnnouncement {
        signature: zero_sig(),
        features: vec![0x08, 0xa0],
        timestamp: 1_700_000_000,
        node_id: public(&secret(7)),
        rgb_color: [0x11, 0x22, 0x33],
        alias,
        addresses,
        address_tail,
        excess_data: vec![],
    }
}

fn ipv4(port: u16) -> NetAddress {
    NetAddress::Ipv4 {
        addr: Ipv4Addr::new(203, 0, 113, 7),
        port,
    }
}

// ---------- layout ----------

#[test]
fn channel_update_has_the_spec_layout_and_size() {
    let update = sample_channel_update(1);
    let bytes = update.encode();
    // type 2 + signature 64 + chain_hash 32 + scid 8 + timestamp 4 + flags 2 + cltv 2
    // + htlc_min 8 + fee_base 4 + fee_prop 4 + htlc_max 8
    assert_eq!(bytes.len(), 2 + 64 + 32 + 8 + 4 + 2 + 2 + 8 + 4 + 4 + 8);
    assert_eq!(&bytes[..2], &[0x01, 0x02]);
    assert_eq!(update.signed_bytes(), bytes[2 + 64..].to_vec());
}

#[test]
fn channel_announcement_signs_everything_after_the_four_signatures() {
    let (mut ann, _) = signed_channel_announcement();
    ann.excess_data = vec![0xde, 0xad];
    let bytes = ann.encode();
    assert_eq!(ann.signed_bytes(), bytes[2 + 256..].to_vec());
    assert_eq!(ann.signed_hash(), double_sha256(&bytes[258..]));
    assert_eq!(ChannelAnnouncement::decode(&bytes).unwrap(), ann);
}

#[test]
fn node_announcement_signs_everything_after_its_signature() {
    let na = sample_node_announcement(vec![ipv4(9735)], vec![]);
    let bytes = na.encode();
    assert_eq!(na.signed_bytes(), bytes[2 + 64..].to_vec());
}

#[test]
fn double_sha256_matches_the_known_digest_of_the_empty_string() {
    assert_eq!(
        hex::encode(double_sha256(b"")),
        "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
    );
}

// ---------- signatures ----------

#[test]
fn channel_announcement_signed_with_generated_keys_verifies() {
    let (ann, _) = signed_channel_announcement();
    assert_eq!(ann.verify(), Ok(()));
    let decoded = ChannelAnnouncement::decode(&ann.encode()).unwrap();
    assert_eq!(decoded.verify(), Ok(()));
}

#[test]
fn channel_announcement_error_names_the_failing_signature() {
    let (ann, keys) = signed_channel_announcement();
    let other = sign_hash_for_test(&[9; 32], &keys.node_1);
    for (signer, tamper) in [
        (
            ChannelAnnouncementSigner::Node1,
            (|a: &mut ChannelAnnouncement, s| a.node_signature_1 = s) as fn(&mut _, _),
        ),
        (ChannelAnnouncementSigner::Node2, |a, s| {
            a.node_signature_2 = s
        }),
        (ChannelAnnouncementSigner::Bitcoin1, |a, s| {
            a.bitcoin_signature_1 = s
        }),
        (ChannelAnnouncementSigner::Bitcoin2, |a, s| {
            a.bitcoin_signature_2 = s
        }),
    ] {
        let mut bad = ann.clone();
        tamper(&mut bad, other);
        assert_eq!(
            bad.verify(),
            Err(SignatureError::ChannelAnnouncement {
                scid: ann.short_channel_id,
                signer
            })
        );
    }
}

fn sign_hash_for_test(hash: &[u8; 32], sk: &SecretKey) -> Signature {
    signing::sign_hash(hash, sk)
}

#[test]
fn announcement_signatures_from_each_side_complete_the_announcement() {
    let (signed, keys) = signed_channel_announcement();
    let mut ann = signed.clone();
    ann.node_signature_1 = zero_sig();
    ann.node_signature_2 = zero_sig();
    ann.bitcoin_signature_1 = zero_sig();
    ann.bitcoin_signature_2 = zero_sig();
    let hash = ann.signed_hash();
    let side = |node: &SecretKey, bitcoin: &SecretKey| AnnouncementSignatures {
        channel_id: ChannelId([5; 32]),
        short_channel_id: ann.short_channel_id,
        node_signature: sign_hash_for_test(&hash, node),
        bitcoin_signature: sign_hash_for_test(&hash, bitcoin),
    };
    let sigs_1 = side(&keys.node_1, &keys.bitcoin_1);
    let sigs_2 = side(&keys.node_2, &keys.bitcoin_2);
    assert_eq!(
        sigs_1.verify(&hash, &ann.node_id_1, &ann.bitcoin_key_1, 0),
        Ok(())
    );
    assert_eq!(
        sigs_2.verify(&hash, &ann.node_id_1, &ann.bitcoin_key_2, 1),
        Err(SignatureError::AnnouncementSignatures {
            scid: ann.short_channel_id,
            signer: ChannelAnnouncementSigner::Node2
        })
    );
    ann.apply_signatures(0, &sigs_1);
    ann.apply_signatures(1, &sigs_2);
    assert_eq!(ann.verify(), Ok(()));
    assert_eq!(ann, signed, "RFC 6979 signing is deterministic");
}

#[test]
fn channel_update_verifies_against_the_key_its_direction_names() {
    let (ann, keys) = signed_channel_announcement();
    let mut from_node_2 = sample_channel_update(ChannelUpdate::CHANNEL_FLAG_DIRECTION);
    from_node_2.sign(&keys.node_2);
    assert_eq!(from_node_2.direction(), 1);
    assert_eq!(from_node_2.verify(&ann.node_id_1, &ann.node_id_2), Ok(()));
    assert_eq!(from_node_2.verify_with(&ann.node_id_2), Ok(()));

    // The same update claiming direction 0 is checked against node 1, and fails.
    let mut wrong_direction = from_node_2.clone();
    wrong_direction.channel_flags = 0;
    wrong_direction.signature = from_node_2.signature;
    assert_eq!(
        wrong_direction.verify(&ann.node_id_1, &ann.node_id_2),
        Err(SignatureError::ChannelUpdate {
            scid: ann.short_channel_id,
            direction: 0
        })
    );
    // Signed by node 1 but flagged as node 2's.
    let mut mislabelled = sample_channel_update(ChannelUpdate::CHANNEL_FLAG_DIRECTION);
    mislabelled.sign(&keys.node_1);
    assert!(mislabelled.verify(&ann.node_id_1, &ann.node_id_2).is_err());
}

#[test]
fn channel_update_flags_accessors() {
    let u = sample_channel_update(ChannelUpdate::CHANNEL_FLAG_DISABLE);
    assert_eq!(u.direction(), 0);
    assert!(u.is_disabled());
    assert!(!u.dont_forward());
    let mut u = sample_channel_update(1);
    u.message_flags |= ChannelUpdate::MESSAGE_FLAG_DONT_FORWARD;
    assert_eq!(u.direction(), 1);
    assert!(!u.is_disabled());
    assert!(u.dont_forward());
}

#[test]
fn node_announcement_signed_with_generated_key_verifies_and_tampering_fails() {
    let mut na = sample_node_announcement(vec![ipv4(9735)], vec![42, 1, 2, 3]);
    na.excess_data = vec![1, 2, 3];
    na.sign(&secret(7));
    let decoded = NodeAnnouncement::decode(&na.encode()).unwrap();
    assert_eq!(decoded, na);
    assert_eq!(decoded.verify(), Ok(()));
    let mut tampered = decoded.clone();
    tampered.address_tail.push(0);
    assert_eq!(
        tampered.verify(),
        Err(SignatureError::NodeAnnouncement {
            node_id: na.node_id
        })
    );
}

#[test]
fn high_s_signature_is_rejected_like_libsecp256k1_does() {
    let mut update = sample_channel_update(0);
    update.sign(&secret(1));
    let node_id = public(&secret(1));
    assert!(update.verify_with(&node_id).is_ok());
    // Negate s: n - s. Compact form is r || s; compute with big-endian subtraction.
    let mut bytes = update.signature.serialize_compact();
    let order: [u8; 32] = secp256k1::constants::CURVE_ORDER;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let v = order[i] as i16 - bytes[32 + i] as i16 - borrow;
        bytes[32 + i] = v.rem_euclid(256) as u8;
        borrow = (v < 0) as i16;
    }
    let high_s = Signature::from_compact(&bytes).unwrap();
    let mut normalized = high_s;
    normalized.normalize_s();
    assert_eq!(normalized, update.signature);
    update.signature = high_s;
    assert!(update.verify_with(&node_id).is_err());
    // Re-encoding keeps the high-S bytes exactly.
    assert_eq!(ChannelUpdate::decode(&update.encode()).unwrap(), update);
}

// ---------- node_announcement details ----------

#[test]
fn alias_str_drops_trailing_nuls_and_masks_control_characters() {
    let mut na = sample_node_announcement(vec![], vec![]);
    assert_eq!(na.alias_str(), "IRATEMON");
    na.alias = [0; 32];
    na.alias[..5].copy_from_slice(b"a\x1b[2J");
    na.alias[5] = 0xff;
    assert_eq!(na.alias_str(), "a\u{FFFD}[2J\u{FFFD}");
}

#[test]
fn unknown_address_type_stops_parsing_and_is_kept_opaque() {
    let na = sample_node_announcement(vec![ipv4(9735)], vec![]);
    let mut bytes = na.encode();
    // Append an unknown descriptor (type 42) then an ipv4 one: addrlen grows by 4 + 7.
    let extra = [42u8, 9, 9, 9, 1, 127, 0, 0, 1, 0x26, 0x07];
    let addrlen_at = bytes.len() - 2 - 7;
    let addrlen =
        u16::from_be_bytes([bytes[addrlen_at], bytes[addrlen_at + 1]]) + extra.len() as u16;
    bytes[addrlen_at..addrlen_at + 2].copy_from_slice(&addrlen.to_be_bytes());
    bytes.extend_from_slice(&extra);
    let decoded = NodeAnnouncement::decode(&bytes).unwrap();
    assert_eq!(decoded.addresses, vec![ipv4(9735)]);
    assert_eq!(decoded.address_tail, extra.to_vec());
    assert_eq!(decoded.encode(), bytes);
    assert_eq!(decoded.validate(), Ok(()));
}

#[test]
fn truncated_known_address_is_kept_but_fails_validation() {
    // An ipv4 descriptor cut after two address bytes.
    let na = sample_node_announcement(vec![], vec![1, 10, 0]);
    let decoded = NodeAnnouncement::decode(&na.encode()).unwrap();
    assert_eq!(decoded, na);
    assert_eq!(
        decoded.validate(),
        Err(NodeAnnouncementError::MalformedAddress { descriptor_type: 1 })
    );
}

#[test]
fn invalid_hostname_bytes_are_kept_opaque_and_fail_validation() {
    let na = sample_node_announcement(vec![ipv4(1)], vec![5, 2, 0xff, 0xfe, 0, 1]);
    let decoded = NodeAnnouncement::decode(&na.encode()).unwrap();
    assert_eq!(decoded, na);
    assert_eq!(
        decoded.validate(),
        Err(NodeAnnouncementError::MalformedAddress { descriptor_type: 5 })
    );
}

#[test]
fn more_than_one_dns_hostname_fails_validation() {
    let host = |h: &str| NetAddress::hostname(h, 9735).unwrap();
    let one = sample_node_announcement(vec![ipv4(9735), host("a.example")], vec![]);
    assert_eq!(one.validate(), Ok(()));
    let two = sample_node_announcement(vec![host("a.example"), host("b.example")], vec![]);
    assert_eq!(
        two.validate(),
        Err(NodeAnnouncementError::MultipleHostnames)
    );
}

#[test]
fn usable_addresses_skip_port_zero_and_tor_v2() {
    let torv3 = NetAddress::TorV3 {
        addr: [3; 35],
        port: 0,
    };
    let na = sample_node_announcement(
        vec![
            ipv4(0),
            ipv4(9735),
            NetAddress::TorV2 {
                addr: [2; 10],
                port: 9735,
            },
            torv3.clone(),
            NetAddress::hostname("a.example", 0).unwrap(),
        ],
        vec![],
    );
    let usable: Vec<_> = na.usable_addresses().cloned().collect();
    assert_eq!(usable, vec![ipv4(9735), torv3]);
}

// ---------- queries ----------

#[test]
fn zlib_encoded_short_ids_are_rejected_as_unsupported() {
    let query = QueryShortChannelIds {
        chain_hash: ChainHash::BITCOIN,
        short_ids: EncodedShortIds(vec![ShortChannelId(1)]),
        query_flags: None,
        extra_tlvs: TlvStream::new(),
    };
    let mut bytes = query.encode();
    let encoding_at = 2 + 32 + 2;
    assert_eq!(bytes[encoding_at], query::ENCODING_UNCOMPRESSED);
    bytes[encoding_at] = query::ENCODING_ZLIB_DEPRECATED;
    assert_eq!(
        QueryShortChannelIds::decode(&bytes),
        Err(DecodeError::InvalidValue {
            field: "encoded_short_ids",
            reason: "unsupported encoding (zlib is deprecated)"
        })
    );
    bytes[encoding_at] = 7;
    assert!(matches!(
        QueryShortChannelIds::decode(&bytes),
        Err(DecodeError::InvalidValue {
            reason: "unsupported encoding",
            ..
        })
    ));
}

#[test]
fn short_ids_must_be_whole() {
    assert!(EncodedShortIds::decode_field(&[0, 1, 2, 3]).is_err());
    assert_eq!(
        EncodedShortIds::decode_field(&[]).unwrap(),
        EncodedShortIds(vec![])
    );
    assert_eq!(
        EncodedShortIds::decode_field(&[0, 0, 0, 0, 0, 0, 0, 1, 2]).unwrap(),
        EncodedShortIds(vec![ShortChannelId(0x0102)])
    );
}

#[test]
fn query_flags_must_match_the_number_of_ids() {
    let query = QueryShortChannelIds {
        chain_hash: ChainHash::BITCOIN,
        short_ids: EncodedShortIds(vec![ShortChannelId(1), ShortChannelId(2)]),
        query_flags: Some(vec![QueryShortChannelIds::QUERY_FLAG_CHANNEL_ANNOUNCEMENT]),
        extra_tlvs: TlvStream::new(),
    };
    assert_eq!(
        QueryShortChannelIds::decode(&query.encode()),
        Err(DecodeError::InvalidTlv {
            tlv_type: 1,
            reason: "not one query flag per short_channel_id"
        })
    );
}

#[test]
fn query_channel_range_with_query_option_has_the_spec_layout() {
    let q = QueryChannelRange {
        chain_hash: ChainHash::REGTEST,
        first_blocknum: 100,
        number_of_blocks: 50,
        query_option: Some(
            QueryChannelRange::QUERY_OPTION_TIMESTAMPS | QueryChannelRange::QUERY_OPTION_CHECKSUMS,
        ),
        extra_tlvs: TlvStream::new(),
    };
    let bytes = q.encode();
    assert_eq!(&bytes[..2], &[0x01, 0x07]);
    assert_eq!(&bytes[2 + 32..], &[0, 0, 0, 100, 0, 0, 0, 50, 1, 1, 3]);
    assert_eq!(q.end_blocknum(), 150);
}

#[test]
fn unknown_even_tlv_in_a_query_is_rejected() {
    let q = QueryChannelRange {
        chain_hash: ChainHash::REGTEST,
        first_blocknum: 0,
        number_of_blocks: 1,
        query_option: None,
        extra_tlvs: TlvStream::new(),
    };
    let mut bytes = q.encode();
    bytes.extend_from_slice(&[2, 0]);
    assert_eq!(
        QueryChannelRange::decode(&bytes),
        Err(DecodeError::UnknownEvenTlv(2))
    );
}

#[test]
fn reply_channel_range_tlv_layout() {
    let reply = ReplyChannelRange {
        chain_hash: ChainHash::REGTEST,
        first_blocknum: 1,
        number_of_blocks: 2,
        sync_complete: true,
        short_ids: EncodedShortIds(vec![ShortChannelId(5)]),
        timestamps: Some(vec![ChannelUpdateTimestamps {
            node_1: 7,
            node_2: 0,
        }]),
        checksums: Some(vec![ChannelUpdateChecksums {
            node_1: 0,
            node_2: 9,
        }]),
        extra_tlvs: TlvStream::new(),
    };
    let bytes = reply.encode();
    let tlvs = &bytes[2 + 32 + 4 + 4 + 1 + 2 + 9..];
    assert_eq!(
        tlvs,
        &[1, 9, 0, 0, 0, 0, 7, 0, 0, 0, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 9]
    );
    assert_eq!(ReplyChannelRange::decode(&bytes).unwrap(), reply);
}

#[test]
fn non_boolean_sync_complete_is_rejected() {
    let end = ReplyShortChannelIdsEnd {
        chain_hash: ChainHash::BITCOIN,
        full_information: true,
    };
    let mut bytes = end.encode();
    assert_eq!(bytes.len(), 2 + 32 + 1);
    bytes[34] = 2;
    assert!(ReplyShortChannelIdsEnd::decode(&bytes).is_err());
}

#[test]
fn timestamp_filter_admits_a_half_open_range_without_wrapping() {
    let f = GossipTimestampFilter {
        chain_hash: ChainHash::BITCOIN,
        first_timestamp: u32::MAX - 1,
        timestamp_range: 10,
    };
    assert!(!f.admits(u32::MAX - 2));
    assert!(f.admits(u32::MAX - 1));
    assert!(f.admits(u32::MAX));
    let none = GossipTimestampFilter {
        first_timestamp: u32::MAX,
        timestamp_range: 0,
        ..f
    };
    assert!(!none.admits(u32::MAX));
}

// ---------- properties ----------

/// decode(encode(x)) == x, and every strict prefix of the encoding fails to decode.
fn check_round_trip_and_truncation<M: WireMessage + PartialEq + std::fmt::Debug>(
    msg: &M,
    prefixes_fail: bool,
) -> Result<(), TestCaseError> {
    let bytes = msg.encode();
    prop_assert_eq!(&M::decode(&bytes).unwrap(), msg);
    if prefixes_fail {
        for cut in 0..bytes.len() {
            prop_assert!(
                M::decode(&bytes[..cut]).is_err(),
                "prefix of {} bytes decoded",
                cut
            );
        }
    }
    Ok(())
}

/// Decoding arbitrary bytes never panics, and what decodes re-encodes to the same bytes.
fn check_garbage<M: WireMessage + std::fmt::Debug>(
    payload: &[u8],
    exact: bool,
) -> Result<(), TestCaseError> {
    let mut bytes = M::TYPE.to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    if let Ok(msg) = M::decode(&bytes) {
        if exact {
            prop_assert_eq!(msg.encode(), bytes);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // Messages ending in `excess_data` accept any prefix past their fixed fields, so only the
    // prefixes that cut a fixed field are required to fail.
    #[test]
    fn channel_announcement_round_trips(msg in arb_channel_announcement()) {
        check_round_trip_and_truncation(&msg, false)?;
        let fixed = msg.encode().len() - msg.excess_data.len();
        for cut in 0..fixed {
            prop_assert!(ChannelAnnouncement::decode(&msg.encode()[..cut]).is_err());
        }
    }

    #[test]
    fn node_announcement_round_trips(msg in arb_node_announcement()) {
        check_round_trip_and_truncation(&msg, false)?;
        let fixed = msg.encode().len() - msg.excess_data.len();
        for cut in 0..fixed {
            prop_assert!(NodeAnnouncement::decode(&msg.encode()[..cut]).is_err());
        }
    }

    #[test]
    fn channel_update_round_trips(msg in arb_channel_update()) {
        check_round_trip_and_truncation(&msg, false)?;
        let fixed = msg.encode().len() - msg.excess_data.len();
        for cut in 0..fixed {
            prop_assert!(ChannelUpdate::decode(&msg.encode()[..cut]).is_err());
        }
    }

    #[test]
    fn announcement_signatures_round_trips(msg in arb_announcement_signatures()) {
        check_round_trip_and_truncation(&msg, true)?;
    }

    // TLV streams end the query messages: a prefix that cuts between records is a valid,
    // shorter message, so truncation is checked on the fixed part only.
    #[test]
    fn query_short_channel_ids_round_trips(msg in arb_query_short_channel_ids()) {
        check_round_trip_and_truncation(&msg, false)?;
        let fixed = 2 + 32 + 2 + msg.short_ids.encode_field().len();
        for cut in 0..fixed {
            prop_assert!(QueryShortChannelIds::decode(&msg.encode()[..cut]).is_err());
        }
    }

    #[test]
    fn reply_short_channel_ids_end_round_trips(chain_hash in arb_chain_hash(), full_information in any::<bool>()) {
        check_round_trip_and_truncation(&ReplyShortChannelIdsEnd { chain_hash, full_information }, true)?;
    }

    #[test]
    fn query_channel_range_round_trips(msg in arb_query_channel_range()) {
        check_round_trip_and_truncation(&msg, false)?;
        for cut in 0..2 + 32 + 8 {
            prop_assert!(QueryChannelRange::decode(&msg.encode()[..cut]).is_err());
        }
    }

    #[test]
    fn reply_channel_range_round_trips(msg in arb_reply_channel_range()) {
        check_round_trip_and_truncation(&msg, false)?;
        let fixed = 2 + 32 + 9 + 2 + msg.short_ids.encode_field().len();
        for cut in 0..fixed {
            prop_assert!(ReplyChannelRange::decode(&msg.encode()[..cut]).is_err());
        }
    }

    #[test]
    fn gossip_timestamp_filter_round_trips(
        chain_hash in arb_chain_hash(), first_timestamp in any::<u32>(), timestamp_range in any::<u32>()
    ) {
        check_round_trip_and_truncation(
            &GossipTimestampFilter { chain_hash, first_timestamp, timestamp_range }, true)?;
    }

    #[test]
    fn garbage_never_panics(payload in arb_bytes(400)) {
        check_garbage::<ChannelAnnouncement>(&payload, true)?;
        check_garbage::<NodeAnnouncement>(&payload, true)?;
        check_garbage::<ChannelUpdate>(&payload, true)?;
        check_garbage::<AnnouncementSignatures>(&payload, true)?;
        // Query messages normalise an empty id array (no encoding byte), so no exactness there.
        check_garbage::<QueryShortChannelIds>(&payload, false)?;
        check_garbage::<ReplyShortChannelIdsEnd>(&payload, true)?;
        check_garbage::<QueryChannelRange>(&payload, false)?;
        check_garbage::<ReplyChannelRange>(&payload, false)?;
        check_garbage::<GossipTimestampFilter>(&payload, true)?;
    }

    /// Garbage after a valid fixed part exercises the address and TLV parsers too.
    #[test]
    fn garbage_tails_never_panic(na in arb_node_announcement(), tail in arb_bytes(64), q in arb_reply_channel_range()) {
        let mut bytes = na.encode();
        let cut = bytes.len() - na.excess_data.len() - 2 - na.addresses.iter().map(|a| a.encode().len()).sum::<usize>() - na.address_tail.len();
        bytes.truncate(cut);
        bytes.extend_from_slice(&(tail.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&tail);
        let decoded = NodeAnnouncement::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.encode(), bytes);
        let _ = decoded.validate();

        let mut bytes = q.encode();
        bytes.extend_from_slice(&tail);
        let _ = ReplyChannelRange::decode(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn flipping_any_signed_bit_of_a_channel_update_breaks_its_signature(
        update in arb_channel_update(), sk in arb_secret(), bit in any::<prop::sample::Index>()
    ) {
        let mut update = update;
        update.sign(&sk);
        let node_id = public(&sk);
        prop_assert!(update.verify_with(&node_id).is_ok());
        let mut bytes = update.encode();
        let signed_start = 2 + 64;
        let flip = signed_start * 8 + bit.index((bytes.len() - signed_start) * 8);
        bytes[flip / 8] ^= 1 << (flip % 8);
        let tampered = ChannelUpdate::decode(&bytes).unwrap();
        prop_assert!(tampered.verify_with(&node_id).is_err());
    }

    #[test]
    fn flipping_any_signed_bit_of_a_channel_announcement_breaks_a_signature(
        bit in any::<prop::sample::Index>(), excess in arb_bytes(8)
    ) {
        let (mut ann, keys) = signed_channel_announcement();
        ann.excess_data = excess;
        ann.sign_all(&keys.node_1, &keys.node_2, &keys.bitcoin_1, &keys.bitcoin_2);
        prop_assert!(ann.verify().is_ok());
        let mut bytes = ann.encode();
        let signed_start = 2 + 256;
        let flip = signed_start * 8 + bit.index((bytes.len() - signed_start) * 8);
        bytes[flip / 8] ^= 1 << (flip % 8);
        // A flipped key byte may no longer be a curve point: then decoding already fails.
        if let Ok(tampered) = ChannelAnnouncement::decode(&bytes) {
            prop_assert!(tampered.verify().is_err());
        }
    }

    #[test]
    fn flipping_any_signed_bit_of_a_node_announcement_breaks_its_signature(
        na in arb_node_announcement(), sk in arb_secret(), bit in any::<prop::sample::Index>()
    ) {
        let mut na = na;
        na.node_id = public(&sk);
        na.sign(&sk);
        prop_assert!(na.verify().is_ok());
        prop_assert!(verify_hash(&na.signed_hash(), &na.signature, &na.node_id));
        let mut bytes = na.encode();
        let signed_start = 2 + 64;
        let flip = signed_start * 8 + bit.index((bytes.len() - signed_start) * 8);
        bytes[flip / 8] ^= 1 << (flip % 8);
        if let Ok(tampered) = NodeAnnouncement::decode(&bytes) {
            prop_assert!(tampered.verify().is_err());
        }
    }
}
