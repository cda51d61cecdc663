use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::address::NetAddress;
use crate::codec::{ChainHash, ChannelId, DecodeError, WireMessage};
use crate::features::{Feature, Features};
use crate::tlv::TlvStream;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).unwrap()
}

// ---- BOLT 1 Appendix C: message extension, verbatim ----

#[test]
fn appendix_c_valid_init_messages() {
    let plain = Init::decode(&h("0x001000000000")).unwrap();
    assert!(plain.combined_features().is_empty());
    assert_eq!(plain.networks, None);
    assert!(plain.extra_tlvs.is_empty());
    assert_eq!(plain.encode(), h("0x001000000000"));

    let extended = Init::decode(&h("0x001000000000c9012acb0104")).unwrap();
    let types: Vec<u64> = extended
        .extra_tlvs
        .records()
        .iter()
        .map(|r| r.tlv_type)
        .collect();
    assert_eq!(types, vec![0xc9, 0xcb]);
    assert_eq!(extended.encode(), h("0x001000000000c9012acb0104"));
}

#[test]
fn appendix_c_invalid_init_messages() {
    assert!(matches!(
        Init::decode(&h("0x00100000000001")),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert_eq!(
        Init::decode(&h("0x001000000000ca012a")),
        Err(DecodeError::UnknownEvenTlv(0xca))
    );
    assert_eq!(
        Init::decode(&h("0x001000000000c90101c90102")),
        Err(DecodeError::TlvNotIncreasing {
            previous: 0xc9,
            next: 0xc9
        })
    );
}

// ---- init ----

fn our_features() -> Features {
    Features::new()
        .with_optional(Feature::VarOnionOptin)
        .with_required(Feature::PaymentSecret)
}

#[test]
fn init_encodes_field_by_field() {
    let init = Init::new(
        our_features(),
        vec![ChainHash::REGTEST],
        Some(NetAddress::Ipv4 {
            addr: Ipv4Addr::new(127, 0, 0, 1),
            port: 9735,
        }),
    );
    let mut expected = h("0010"); // type 16
    expected.extend(h("0000")); // gflen 0
    expected.extend(h("0002 4200".replace(' ', "").as_str())); // bits 9 and 14
    expected.extend(h("0120")); // networks: type 1, length 32
    expected.extend(ChainHash::REGTEST.0);
    expected.extend(h("0307017f0000012607")); // remote_addr: ipv4 127.0.0.1:9735
    assert_eq!(init.encode(), expected);
    assert_eq!(Init::decode(&expected), Ok(init));
}

#[test]
fn init_combines_global_and_local_features() {
    let init = Init::decode(&h("0010 0001 02 0002 4000".replace(' ', "").as_str())).unwrap();
    let combined = init.combined_features();
    assert!(combined.has_bit(1));
    assert!(combined.requires(Feature::PaymentSecret));
    assert_eq!(combined.to_wire_bytes(), vec![0x40, 0x02]);
}

#[test]
fn init_keeps_feature_padding_for_byte_exact_reencoding() {
    let bytes = h("001000020000000300000a");
    let init = Init::decode(&bytes).unwrap();
    assert_eq!(init.features, Features::from_wire_bytes(&[0x0a]));
    assert_eq!(init.encode(), bytes);
}

#[test]
fn init_networks_must_be_whole_chain_hashes() {
    let mut bytes = h("00100000000001");
    bytes.push(33);
    bytes.extend([0u8; 33]);
    assert_eq!(
        Init::decode(&bytes),
        Err(DecodeError::InvalidTlv {
            tlv_type: NETWORKS_TLV,
            reason: "length is not a multiple of 32"
        })
    );
}

#[test]
fn init_with_empty_networks_tlv_round_trips() {
    let bytes = h("0010000000000100");
    let init = Init::decode(&bytes).unwrap();
    assert_eq!(init.networks, Some(vec![]));
    assert!(!init.accepts_chain(&ChainHash::BITCOIN));
    assert_eq!(init.encode(), bytes);
}

#[test]
fn init_without_networks_accepts_any_chain() {
    let init = Init::new(Features::new(), vec![], None);
    assert_eq!(init.networks, None);
    assert!(init.accepts_chain(&ChainHash::BITCOIN));
    let regtest_only = Init::new(Features::new(), vec![ChainHash::REGTEST], None);
    assert!(!regtest_only.accepts_chain(&ChainHash::BITCOIN));
}

#[test]
fn init_remote_addr_of_unknown_type_is_kept_raw() {
    let bytes = h("001000000000 0303 09abcd".replace(' ', "").as_str());
    let init = Init::decode(&bytes).unwrap();
    assert_eq!(init.remote_addr, None);
    assert_eq!(
        init.extra_tlvs.get(REMOTE_ADDR_TLV),
        Some(&[0x09, 0xab, 0xcd][..])
    );
    assert_eq!(init.encode(), bytes);
}

#[test]
fn init_remote_addr_with_trailing_bytes_is_rejected() {
    let bytes = h("001000000000 0308 017f000001260700"
        .replace(' ', "")
        .as_str());
    assert!(matches!(
        Init::decode(&bytes),
        Err(DecodeError::InvalidTlv {
            tlv_type: REMOTE_ADDR_TLV,
            ..
        })
    ));
    let truncated = h("001000000000 0304 017f0000".replace(' ', "").as_str());
    assert!(Init::decode(&truncated).is_err());
}

// ---- error / warning ----

#[test]
fn error_encodes_field_by_field() {
    let err = ErrorMessage::new(ChannelId([0x11; 32]), "boom");
    let mut expected = h("0011");
    expected.extend([0x11; 32]);
    expected.extend(h("0004"));
    expected.extend(b"boom");
    assert_eq!(err.encode(), expected);
    assert_eq!(ErrorMessage::decode(&expected), Ok(err));
}

#[test]
fn warning_is_type_1_with_the_same_layout() {
    let warning = Warning::connection_wide("hi");
    let mut expected = h("0001");
    expected.extend([0; 32]);
    expected.extend(h("00026869"));
    assert_eq!(warning.encode(), expected);
    assert!(warning.is_connection_wide());
    assert_eq!(Warning::decode(&expected), Ok(warning));
    assert!(matches!(
        ErrorMessage::decode(&expected),
        Err(DecodeError::WrongMessageType {
            expected: 17,
            actual: 1
        })
    ));
}

#[test]
fn error_text_escapes_non_printable_bytes() {
    let err = ErrorMessage {
        channel_id: ChannelId([1; 32]),
        data: b"bad\n\x00sig~\x7f\xff".to_vec(),
        extra_tlvs: TlvStream::new(),
    };
    assert_eq!(err.text(), "bad\\x0a\\x00sig~\\x7f\\xff");
    assert!(!err.is_connection_wide());
    assert!(err.to_string().starts_with("channel 0101"));
}

#[test]
fn error_text_longer_than_a_message_is_cut_on_a_char_boundary() {
    let long = "é".repeat(MAX_DATA_LEN);
    let err = ErrorMessage::connection_wide(&long);
    assert!(err.data.len() <= MAX_DATA_LEN);
    assert!(std::str::from_utf8(&err.data).is_ok());
    assert!(err.encode().len() <= MAX_MESSAGE_LEN);
}

#[test]
fn error_and_warning_keep_unknown_odd_extension_records() {
    let mut bytes = h("0011");
    bytes.extend([0; 32]);
    bytes.extend(h("0000 0501ff".replace(' ', "").as_str()));
    let err = ErrorMessage::decode(&bytes).unwrap();
    assert_eq!(err.extra_tlvs.get(5), Some(&[0xff][..]));
    assert_eq!(err.encode(), bytes);
    let even = [&bytes[..36], &h("0401ff")].concat();
    assert_eq!(
        ErrorMessage::decode(&even),
        Err(DecodeError::UnknownEvenTlv(4))
    );
}

// ---- ping / pong ----

#[test]
fn ping_encodes_field_by_field() {
    let ping = Ping::new(4, 2);
    assert_eq!(ping.encode(), h("0012000400020000"));
    assert_eq!(Ping::decode(&h("0012000400020000")), Ok(ping));
    let pong = Pong::new(4);
    assert_eq!(pong.encode(), h("0013000400000000"));
    assert_eq!(Pong::decode(&h("0013000400000000")), Ok(pong));
}

#[test]
fn ping_asking_65532_bytes_or_more_gets_no_pong() {
    for n in [65532, 65533, 65535] {
        assert!(!pong_is_expected(n));
        assert_eq!(Ping::new(n, 0).response(), None);
    }
}

#[test]
fn ping_asking_fewer_than_65532_bytes_gets_that_many_zeros() {
    for n in [0u16, 1, 100, 65531] {
        assert!(pong_is_expected(n));
        let pong = Ping::new(n, 0).response().unwrap();
        assert_eq!(pong.ignored, vec![0; usize::from(n)]);
        assert!(pong.answers(n));
        assert!(pong.encode().len() <= MAX_MESSAGE_LEN);
    }
    // The largest pong exactly fills a message.
    assert_eq!(Pong::new(65531).encode().len(), MAX_MESSAGE_LEN);
}

#[test]
fn pong_of_the_wrong_length_does_not_answer() {
    assert!(!Pong::new(3).answers(4));
    assert!(!Pong::new(65531).answers(65532));
}

#[test]
fn padding_is_capped_to_fit_a_message() {
    assert_eq!(Ping::new(0, u16::MAX).encode().len(), MAX_MESSAGE_LEN);
    assert_eq!(Pong::new(u16::MAX).encode().len(), MAX_MESSAGE_LEN);
}

// ---- properties ----

fn arb_features() -> impl Strategy<Value = Features> {
    proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| Features::from_wire_bytes(&b))
}

/// Unknown odd records, avoiding the types `init` knows.
fn arb_extra_tlvs() -> impl Strategy<Value = TlvStream> {
    proptest::collection::btree_map(
        any::<u64>()
            .prop_map(|t| t | 1)
            .prop_filter("typed in init", |t| *t > 3),
        proptest::collection::vec(any::<u8>(), 0..16),
        0..3,
    )
    .prop_map(|records| {
        let mut s = TlvStream::new();
        for (t, v) in records {
            s.insert(t, v);
        }
        s
    })
}

fn arb_address() -> impl Strategy<Value = NetAddress> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, port)| NetAddress::Ipv4 {
            addr: a.into(),
            port
        }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, port)| NetAddress::Ipv6 {
            addr: a.into(),
            port
        }),
        (any::<[u8; 32]>(), any::<u16>()).prop_map(|(a, port)| {
            let mut addr = [0u8; 35];
            addr[..32].copy_from_slice(&a);
            NetAddress::TorV3 { addr, port }
        }),
        ("[a-z0-9.-]{1,30}", any::<u16>())
            .prop_map(|(host, port)| NetAddress::hostname(&host, port).unwrap()),
    ]
}

fn arb_init() -> impl Strategy<Value = Init> {
    (
        arb_features(),
        arb_features(),
        proptest::option::of(proptest::collection::vec(
            any::<[u8; 32]>().prop_map(ChainHash),
            0..3,
        )),
        proptest::option::of(arb_address()),
        arb_extra_tlvs(),
    )
        .prop_map(
            |(global_features, features, networks, remote_addr, extra_tlvs)| Init {
                global_features,
                features,
                networks,
                remote_addr,
                extra_tlvs,
            },
        )
}

fn arb_data() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..64)
}

fn arb_error() -> impl Strategy<Value = ErrorMessage> {
    (any::<[u8; 32]>(), arb_data(), arb_extra_tlvs()).prop_map(|(id, data, extra_tlvs)| {
        ErrorMessage {
            channel_id: ChannelId(id),
            data,
            extra_tlvs,
        }
    })
}

fn arb_warning() -> impl Strategy<Value = Warning> {
    arb_error().prop_map(|e| Warning {
        channel_id: e.channel_id,
        data: e.data,
        extra_tlvs: e.extra_tlvs,
    })
}

fn arb_ping() -> impl Strategy<Value = Ping> {
    (any::<u16>(), arb_data(), arb_extra_tlvs()).prop_map(
        |(num_pong_bytes, ignored, extra_tlvs)| Ping {
            num_pong_bytes,
            ignored,
            extra_tlvs,
        },
    )
}

fn arb_pong() -> impl Strategy<Value = Pong> {
    (arb_data(), arb_extra_tlvs()).prop_map(|(ignored, extra_tlvs)| Pong {
        ignored,
        extra_tlvs,
    })
}

/// decode(encode(m)) == m, and the bytes survive a second trip unchanged.
fn check_round_trip<M: WireMessage + PartialEq + std::fmt::Debug>(
    msg: &M,
) -> Result<(), TestCaseError> {
    let bytes = msg.encode();
    let decoded = M::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, msg);
    prop_assert_eq!(decoded.encode(), bytes);
    Ok(())
}

/// Cutting into the fixed fields must fail; cutting into the TLV extension either fails or
/// (at a record boundary) yields a message that encodes to exactly the shorter bytes.
fn check_truncation<M: WireMessage + std::fmt::Debug>(
    msg: &M,
    fixed_len: usize,
    cut: prop::sample::Index,
) -> Result<(), TestCaseError> {
    let bytes = msg.encode();
    let cut = cut.index(bytes.len());
    if let Ok(shorter) = M::decode(&bytes[..cut]) {
        prop_assert!(cut >= fixed_len, "prefix of {} bytes decoded", cut);
        prop_assert_eq!(shorter.encode(), bytes[..cut].to_vec());
    }
    Ok(())
}

proptest! {
    #[test]
    fn init_round_trips(msg in arb_init()) {
        check_round_trip(&msg)?;
    }

    #[test]
    fn error_round_trips(msg in arb_error()) {
        check_round_trip(&msg)?;
    }

    #[test]
    fn warning_round_trips(msg in arb_warning()) {
        check_round_trip(&msg)?;
    }

    #[test]
    fn ping_round_trips(msg in arb_ping()) {
        check_round_trip(&msg)?;
    }

    #[test]
    fn pong_round_trips(msg in arb_pong()) {
        check_round_trip(&msg)?;
    }

    #[test]
    fn truncated_init_is_an_error(msg in arb_init(), cut in any::<prop::sample::Index>()) {
        let fixed = 2 + 2 + msg.global_features.as_wire_bytes().len() + 2 + msg.features.as_wire_bytes().len();
        check_truncation(&msg, fixed, cut)?;
    }

    #[test]
    fn truncated_error_is_an_error(msg in arb_error(), cut in any::<prop::sample::Index>()) {
        check_truncation(&msg, 2 + 32 + 2 + msg.data.len(), cut)?;
    }

    #[test]
    fn truncated_warning_is_an_error(msg in arb_warning(), cut in any::<prop::sample::Index>()) {
        check_truncation(&msg, 2 + 32 + 2 + msg.data.len(), cut)?;
    }

    #[test]
    fn truncated_ping_is_an_error(msg in arb_ping(), cut in any::<prop::sample::Index>()) {
        check_truncation(&msg, 2 + 2 + 2 + msg.ignored.len(), cut)?;
    }

    #[test]
    fn truncated_pong_is_an_error(msg in arb_pong(), cut in any::<prop::sample::Index>()) {
        check_truncation(&msg, 2 + 2 + msg.ignored.len(), cut)?;
    }

    #[test]
    fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        for ty in [1u16, 16, 17, 18, 19] {
            let mut bytes = ty.to_be_bytes().to_vec();
            bytes.extend(&body);
            let _ = Init::decode(&bytes);
            let _ = ErrorMessage::decode(&bytes);
            let _ = Warning::decode(&bytes);
            let _ = Ping::decode(&bytes);
            let _ = Pong::decode(&bytes);
        }
    }

    #[test]
    fn init_with_tlv_like_garbage_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..80)) {
        // Valid fixed part, then arbitrary bytes where the extension goes.
        let mut bytes = h("001000000000");
        bytes.extend(&tail);
        if let Ok(init) = Init::decode(&bytes) {
            prop_assert_eq!(init.encode(), bytes);
        }
    }

    #[test]
    fn response_follows_the_num_pong_bytes_rule(n in any::<u16>()) {
        let response = Ping::new(n, 0).response();
        prop_assert_eq!(response.is_some(), n < 65532);
        if let Some(pong) = response {
            prop_assert_eq!(pong.ignored.len(), usize::from(n));
            prop_assert!(pong.ignored.iter().all(|b| *b == 0));
        }
    }
}

// ---- peer storage ----

#[test]
fn peer_storage_messages_encode_field_by_field() {
    let store = PeerStorage::new(vec![0xaa, 0xbb]).unwrap();
    assert_eq!(store.encode(), h("00070002aabb"));
    assert_eq!(PeerStorage::decode(&h("00070002aabb")), Ok(store));
    let back = PeerStorageRetrieval::new(vec![0xaa]).unwrap();
    assert_eq!(back.encode(), h("00090001aa"));
    assert_eq!(PeerStorageRetrieval::decode(&h("00090001aa")), Ok(back));
}

#[test]
fn peer_storage_blob_is_limited_to_65531_bytes() {
    let full = PeerStorage::new(vec![0; MAX_BLOB_LEN]).unwrap();
    assert_eq!(full.encode().len(), MAX_MESSAGE_LEN);
    assert_eq!(PeerStorage::new(vec![0; MAX_BLOB_LEN + 1]), None);
}

proptest! {
    #[test]
    fn peer_storage_round_trips(blob in arb_data(), extra_tlvs in arb_extra_tlvs()) {
        check_round_trip(&PeerStorage { blob: blob.clone(), extra_tlvs: extra_tlvs.clone() })?;
        check_round_trip(&PeerStorageRetrieval { blob, extra_tlvs })?;
    }

    #[test]
    fn truncated_peer_storage_is_an_error(blob in arb_data(), cut in any::<prop::sample::Index>()) {
        let msg = PeerStorage::new(blob).unwrap();
        check_truncation(&msg, 2 + 2 + msg.blob.len(), cut)?;
    }

    #[test]
    fn peer_storage_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..100)) {
        for ty in [7u16, 9] {
            let mut bytes = ty.to_be_bytes().to_vec();
            bytes.extend(&body);
            let _ = PeerStorage::decode(&bytes);
            let _ = PeerStorageRetrieval::decode(&bytes);
        }
    }
}
