//! BOLT 1 Appendix B: TLV test vectors, with the spec's `n1` and `n2` namespaces decoded on top
//! of [`TlvStream`]. Streams are kept verbatim from the spec (spaces included).

use proptest::prelude::*;
use secp256k1::PublicKey;

use super::*;
use crate::bigsize::{decode_tu32, decode_tu64};
use crate::codec::ShortChannelId;

/// Hex from the spec's "0x01 02 0100" notation.
fn h(stream: &str) -> Vec<u8> {
    let digits: String = stream.trim_start_matches("0x").split_whitespace().collect();
    hex::decode(digits).unwrap()
}

/// Reads a fixed-layout value that must fill the record exactly.
fn exact<T>(
    value: &[u8],
    read: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(value);
    let v = read(&mut r)?;
    r.finish()?;
    Ok(v)
}

#[derive(Debug, Default, PartialEq)]
struct N1 {
    tlv1_amount_msat: Option<u64>,
    tlv2_scid: Option<ShortChannelId>,
    tlv3: Option<(PublicKey, u64, u64)>,
    tlv4_cltv_delta: Option<u16>,
    ignored: Vec<u64>,
}

fn decode_n1(bytes: &[u8]) -> Result<N1, DecodeError> {
    let mut stream = TlvStream::decode(bytes, &[1, 2, 3, 254])?;
    let tlv1_amount_msat = stream.take(1).map(|v| decode_tu64(&v)).transpose()?;
    let tlv2_scid = stream
        .take(2)
        .map(|v| exact(&v, |r| r.read_short_channel_id()))
        .transpose()?;
    let tlv3 = stream
        .take(3)
        .map(|v| exact(&v, |r| Ok((r.read_pubkey()?, r.read_u64()?, r.read_u64()?))))
        .transpose()?;
    let tlv4_cltv_delta = stream
        .take(254)
        .map(|v| exact(&v, |r| r.read_u16()))
        .transpose()?;
    Ok(N1 {
        tlv1_amount_msat,
        tlv2_scid,
        tlv3,
        tlv4_cltv_delta,
        ignored: stream.records().iter().map(|r| r.tlv_type).collect(),
    })
}

#[derive(Debug, Default, PartialEq)]
struct N2 {
    tlv1_amount_msat: Option<u64>,
    tlv2_cltv_expiry: Option<u32>,
    ignored: Vec<u64>,
}

fn decode_n2(bytes: &[u8]) -> Result<N2, DecodeError> {
    let mut stream = TlvStream::decode(bytes, &[0, 11])?;
    Ok(N2 {
        tlv1_amount_msat: stream.take(0).map(|v| decode_tu64(&v)).transpose()?,
        tlv2_cltv_expiry: stream.take(11).map(|v| decode_tu32(&v)).transpose()?,
        ignored: stream.records().iter().map(|r| r.tlv_type).collect(),
    })
}

/// "TLV Decoding Failures": in any namespace.
const FAIL_ANY_NAMESPACE: &[&str] = &[
    "0xfd",
    "0xfd01",
    "0xfd0001 00",
    "0xfd0101",
    "0x0f fd",
    "0x0f fd26",
    "0x0f fd2602",
    "0x0f fd0001 00",
    "0x0f fd0201 000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
];

/// "TLV Decoding Failures": unknown even types, in either namespace.
const FAIL_UNKNOWN_EVEN: &[&str] = &[
    "0x12 00",
    "0xfd0102 00",
    "0xfe01000002 00",
    "0xff0100000000000002 00",
];

/// "TLV Decoding Failures": in namespace n1.
const FAIL_N1: &[&str] = &[
    "0x01 09 ffffffffffffffffff",
    "0x01 01 00",
    "0x01 02 0001",
    "0x01 03 000100",
    "0x01 04 00010000",
    "0x01 05 0001000000",
    "0x01 06 000100000000",
    "0x01 07 00010000000000",
    "0x01 08 0001000000000000",
    "0x02 07 01010101010101",
    "0x02 09 010101010101010101",
    "0x03 21 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb",
    "0x03 29 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb0000000000000001",
    "0x03 30 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb000000000000000100000000000001",
    "0x03 31 043da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb00000000000000010000000000000002",
    "0x03 32 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb0000000000000001000000000000000001",
    "0xfd00fe 00",
    "0xfd00fe 01 01",
    "0xfd00fe 03 010101",
    "0x00 00",
];

/// "TLV Decoding Successes": in either namespace, ignored.
const OK_IGNORED: &[&str] = &[
    "0x",
    "0x21 00",
    "0xfd0201 00",
    "0xfd00fd 00",
    "0xfd00ff 00",
    "0xfe02000001 00",
    "0xff0200000000000001 00",
];

const NODE_ID: &str = "023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb";

/// "TLV Decoding Successes": in namespace n1, with their values.
fn ok_n1() -> Vec<(&'static str, N1)> {
    let amount = |v| N1 {
        tlv1_amount_msat: Some(v),
        ..N1::default()
    };
    vec![
        ("0x01 00", amount(0)),
        ("0x01 01 01", amount(1)),
        ("0x01 02 0100", amount(256)),
        ("0x01 03 010000", amount(65536)),
        ("0x01 04 01000000", amount(16777216)),
        ("0x01 05 0100000000", amount(4294967296)),
        ("0x01 06 010000000000", amount(1099511627776)),
        ("0x01 07 01000000000000", amount(281474976710656)),
        ("0x01 08 0100000000000000", amount(72057594037927936)),
        (
            "0x02 08 0000000000000226",
            N1 {
                tlv2_scid: ShortChannelId::new(0, 0, 550),
                ..N1::default()
            },
        ),
        (
            "0x03 31 023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb00000000000000010000000000000002",
            N1 {
                tlv3: Some((PublicKey::from_slice(&h(NODE_ID)).unwrap(), 1, 2)),
                ..N1::default()
            },
        ),
        (
            "0xfd00fe 02 0226",
            N1 {
                tlv4_cltv_delta: Some(550),
                ..N1::default()
            },
        ),
    ]
}

/// "TLV Stream Decoding Failure": in namespace n1.
const FAIL_STREAM_N1: &[&str] = &[
    "0x02 08 0000000000000226 01 01 2a",
    "0x02 08 0000000000000231 02 08 0000000000000451",
    "0x1f 00 0f 01 2a",
    "0x1f 00 1f 01 2a",
];

/// "TLV Stream Decoding Failure": in namespace n2.
const FAIL_STREAM_N2: &[&str] = &["0xffffffffffffffffff 00 00 00"];

#[test]
fn value_truncated_vector_is_kept_verbatim() {
    // 0x0201 = 513 bytes announced, far fewer present.
    let bytes = h(FAIL_ANY_NAMESPACE[8]);
    assert_eq!(&bytes[..4], &[0x0f, 0xfd, 0x02, 0x01]);
    assert!(bytes.len() - 4 < 513);
}

#[test]
fn appendix_b_failures_in_any_namespace() {
    for stream in FAIL_ANY_NAMESPACE.iter().chain(FAIL_UNKNOWN_EVEN) {
        assert!(decode_n1(&h(stream)).is_err(), "n1 accepted {stream}");
        assert!(decode_n2(&h(stream)).is_err(), "n2 accepted {stream}");
    }
}

#[test]
fn appendix_b_failures_name_the_cause() {
    assert_eq!(
        decode_n1(&h("0xfd0001 00")),
        Err(DecodeError::NonCanonicalBigSize)
    );
    assert_eq!(
        decode_n1(&h("0x0f fd0001 00")),
        Err(DecodeError::NonCanonicalBigSize)
    );
    assert!(matches!(
        decode_n1(&h(FAIL_ANY_NAMESPACE[8])),
        Err(DecodeError::TlvLengthOverflow {
            tlv_type: 0x0f,
            length: 513,
            ..
        })
    ));
    for stream in FAIL_UNKNOWN_EVEN {
        assert!(
            matches!(decode_n1(&h(stream)), Err(DecodeError::UnknownEvenTlv(_))),
            "{stream}"
        );
    }
    assert_eq!(
        decode_n1(&h("0x01 09 ffffffffffffffffff")),
        Err(DecodeError::TruncatedIntTooLong { len: 9, max: 8 })
    );
    assert_eq!(
        decode_n1(&h("0x01 01 00")),
        Err(DecodeError::NonMinimalTruncatedInt)
    );
    assert_eq!(
        decode_n1(&h(FAIL_N1[14])),
        Err(DecodeError::InvalidPublicKey)
    );
    assert_eq!(
        decode_n1(&h("0x00 00")),
        Err(DecodeError::UnknownEvenTlv(0))
    );
}

#[test]
fn appendix_b_failures_in_n1() {
    for stream in FAIL_N1 {
        assert!(decode_n1(&h(stream)).is_err(), "n1 accepted {stream}");
    }
}

#[test]
fn appendix_b_ignored_successes_in_either_namespace() {
    for stream in OK_IGNORED {
        let bytes = h(stream);
        let n1 = decode_n1(&bytes).unwrap_or_else(|e| panic!("n1 {stream}: {e}"));
        let n2 = decode_n2(&bytes).unwrap_or_else(|e| panic!("n2 {stream}: {e}"));
        assert_eq!(n1.ignored.len(), usize::from(!bytes.is_empty()), "{stream}");
        assert_eq!(n1.tlv1_amount_msat, None);
        assert_eq!(n2.tlv1_amount_msat, None);
        assert_eq!(n2.tlv2_cltv_expiry, None);
        // Ignored records are kept, so the stream re-encodes byte for byte.
        assert_eq!(TlvStream::decode(&bytes, &[]).unwrap().encode(), bytes);
    }
}

#[test]
fn appendix_b_successes_in_n1() {
    for (stream, expected) in ok_n1() {
        let bytes = h(stream);
        assert_eq!(decode_n1(&bytes).as_ref(), Ok(&expected), "{stream}");
        assert_eq!(
            TlvStream::decode(&bytes, &[1, 2, 3, 254]).unwrap().encode(),
            bytes
        );
    }
}

#[test]
fn appendix_b_stream_failures() {
    for stream in FAIL_STREAM_N1 {
        assert!(decode_n1(&h(stream)).is_err(), "n1 accepted {stream}");
    }
    assert_eq!(
        decode_n1(&h(FAIL_STREAM_N1[1])),
        Err(DecodeError::TlvNotIncreasing {
            previous: 2,
            next: 2
        })
    );
    for stream in FAIL_STREAM_N2 {
        assert!(decode_n2(&h(stream)).is_err(), "n2 accepted {stream}");
    }
}

/// Every valid n1 stream: the typed successes and the ignored ones.
fn valid_n1_streams() -> Vec<Vec<u8>> {
    OK_IGNORED
        .iter()
        .copied()
        .chain(ok_n1().into_iter().map(|(s, _)| s))
        .map(h)
        .collect()
}

fn first_type(bytes: &[u8]) -> Option<u64> {
    TlvStream::decode(bytes, &[1, 2, 3, 254])
        .ok()?
        .records()
        .first()
        .map(|r| r.tlv_type)
}

#[test]
fn appendix_b_invalid_appended_to_valid_fails() {
    let invalid: Vec<&str> = FAIL_ANY_NAMESPACE
        .iter()
        .chain(FAIL_UNKNOWN_EVEN)
        .chain(FAIL_N1)
        .chain(FAIL_STREAM_N1)
        .copied()
        .collect();
    for valid in valid_n1_streams() {
        for bad in &invalid {
            let mut joined = valid.clone();
            joined.extend(h(bad));
            assert!(
                decode_n1(&joined).is_err(),
                "{} + {bad}",
                hex::encode(&valid)
            );
        }
    }
}

#[test]
fn appendix_b_higher_valid_appended_to_lower_valid_succeeds() {
    let streams = valid_n1_streams();
    let mut pairs = 0;
    for low in &streams {
        for high in &streams {
            let (Some(a), Some(b)) = (first_type(low), first_type(high)) else {
                continue;
            };
            if a >= b {
                continue;
            }
            let mut joined = low.clone();
            joined.extend(high);
            let decoded = decode_n1(&joined);
            assert!(decoded.is_ok(), "{}", hex::encode(&joined));
            pairs += 1;
        }
    }
    assert!(pairs > 50);
}

#[test]
fn records_can_be_taken_and_inserted_in_order() {
    let mut s = TlvStream::decode(&h("0x01 01 01 21 00 fd00fe 02 0226"), &[1, 254]).unwrap();
    assert_eq!(s.get(254), Some(&[0x02, 0x26][..]));
    assert_eq!(s.take(1), Some(vec![1]));
    s.insert(3, vec![7]);
    assert_eq!(s.encode(), h("0x03 01 07 21 00 fd00fe 02 0226"));
    assert_eq!(s.encoded_len(), s.encode().len());
}

fn arb_stream() -> impl Strategy<Value = TlvStream> {
    proptest::collection::btree_map(
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        0..6,
    )
    .prop_map(|records| {
        let mut s = TlvStream::new();
        for (t, v) in records {
            s.insert(t, v);
        }
        s
    })
}

proptest! {
    #[test]
    fn tlv_stream_round_trips(stream in arb_stream()) {
        let bytes = stream.encode();
        prop_assert_eq!(bytes.len(), stream.encoded_len());
        let known: Vec<u64> = stream.records().iter().map(|r| r.tlv_type).collect();
        prop_assert_eq!(TlvStream::decode(&bytes, &known), Ok(stream));
    }

    #[test]
    fn truncated_streams_fail(stream in arb_stream(), cut in any::<prop::sample::Index>()) {
        let bytes = stream.encode();
        prop_assume!(!bytes.is_empty());
        let known: Vec<u64> = stream.records().iter().map(|r| r.tlv_type).collect();
        let cut = cut.index(bytes.len());
        // Cutting inside a record (not at a record boundary) must fail.
        let boundaries: Vec<usize> = stream
            .records()
            .iter()
            .scan(0, |end, r| {
                *end += bigsize::len(r.tlv_type) + bigsize::len(r.value.len() as u64) + r.value.len();
                Some(*end)
            })
            .collect();
        if cut != 0 && !boundaries.contains(&cut) {
            prop_assert!(TlvStream::decode(&bytes[..cut], &known).is_err());
        }
    }

    #[test]
    fn tlv_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_n1(&bytes);
        let _ = decode_n2(&bytes);
    }
}
