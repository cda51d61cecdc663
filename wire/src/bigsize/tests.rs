//! BOLT 1 Appendix A: BigSize test vectors, kept verbatim (name, value, hex bytes).

use proptest::prelude::*;

use super::*;

fn decode_all(bytes: &[u8]) -> Result<u64, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = read(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// Appendix A, "BigSize Decoding Tests" and "BigSize Encoding Tests" (same list of successes).
const VALID: &[(&str, u64, &str)] = &[
    ("zero", 0, "00"),
    ("one byte high", 252, "fc"),
    ("two byte low", 253, "fd00fd"),
    ("two byte high", 65535, "fdffff"),
    ("four byte low", 65536, "fe00010000"),
    ("four byte high", 4294967295, "feffffffff"),
    ("eight byte low", 4294967296, "ff0000000100000000"),
    (
        "eight byte high",
        18446744073709551615,
        "ffffffffffffffffff",
    ),
];

#[test]
fn appendix_a_decoding_successes() {
    for (name, value, hex_bytes) in VALID {
        let bytes = hex::decode(hex_bytes).unwrap();
        assert_eq!(decode_all(&bytes), Ok(*value), "{name}");
    }
}

#[test]
fn appendix_a_encoding() {
    for (name, value, hex_bytes) in VALID {
        let mut out = Vec::new();
        write(&mut out, *value);
        assert_eq!(hex::encode(&out), *hex_bytes, "{name}");
        assert_eq!(len(*value), out.len(), "{name}");
    }
}

#[test]
fn appendix_a_non_canonical_encodings_are_rejected() {
    for (name, hex_bytes) in [
        ("two byte not canonical", "fd00fc"),
        ("four byte not canonical", "fe0000ffff"),
        ("eight byte not canonical", "ff00000000ffffffff"),
    ] {
        let bytes = hex::decode(hex_bytes).unwrap();
        assert_eq!(
            decode_all(&bytes),
            Err(DecodeError::NonCanonicalBigSize),
            "{name}"
        );
    }
}

#[test]
fn appendix_a_short_reads_are_eof() {
    for (name, hex_bytes) in [
        ("two byte short read", "fd00"),
        ("four byte short read", "feffff"),
        ("eight byte short read", "ffffffffff"),
        ("one byte no read", ""),
        ("two byte no read", "fd"),
        ("four byte no read", "fe"),
        ("eight byte no read", "ff"),
    ] {
        let bytes = hex::decode(hex_bytes).unwrap();
        assert!(
            matches!(decode_all(&bytes), Err(DecodeError::UnexpectedEof { .. })),
            "{name}"
        );
    }
}

#[test]
fn truncated_ints_are_minimal_and_bounded() {
    assert_eq!(encode_truncated(0), Vec::<u8>::new());
    assert_eq!(encode_truncated(0x0100), vec![0x01, 0x00]);
    assert_eq!(decode_tu64(&[]), Ok(0));
    assert_eq!(decode_tu16(&[0xff, 0xff]), Ok(0xffff));
    assert_eq!(
        decode_tu16(&[0x00, 0x01]),
        Err(DecodeError::NonMinimalTruncatedInt)
    );
    assert_eq!(
        decode_tu32(&[1, 0, 0, 0, 0]),
        Err(DecodeError::TruncatedIntTooLong { len: 5, max: 4 })
    );
}

proptest! {
    #[test]
    fn bigsize_round_trips(v in any::<u64>()) {
        let mut out = Vec::new();
        write(&mut out, v);
        prop_assert_eq!(out.len(), len(v));
        prop_assert_eq!(decode_all(&out), Ok(v));
    }

    #[test]
    fn truncated_int_round_trips(v in any::<u64>()) {
        prop_assert_eq!(decode_tu64(&encode_truncated(v)), Ok(v));
    }

    #[test]
    fn bigsize_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
        let _ = decode_all(&bytes);
    }
}
