use std::io::Write;
use std::path::PathBuf;

use lnfleet_wire::{bigsize, ShortChannelId};
use proptest::prelude::*;

use super::*;

fn data_path(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/lngraph")).join(file)
}

pub(crate) fn load_real() -> Snapshot {
    Snapshot::load(
        &data_path("gossip-store-2026-02-03.compressed"),
        &data_path("gossip-store-2026-02-03-node-map.xz"),
    )
    .expect("the real snapshot loads")
}

fn real_decompressed() -> Vec<u8> {
    gunzip(&std::fs::read(data_path("gossip-store-2026-02-03.compressed")).unwrap()).unwrap()
}

/// Writes a channel file: endpoints, disabled halves, then tables with one value per entry.
struct Builder {
    channels: Vec<(u64, u64)>,
    disabled: Vec<u64>,
    capacity: Vec<u64>,
    /// Per half: [htlc_min, htlc_max, fee_base, fee_ppm, cltv].
    halves: Vec<[u64; 5]>,
}

impl Builder {
    fn decompressed(&self) -> Vec<u8> {
        let mut out = HEADER.to_vec();
        let n = self.channels.len() as u64;
        bigsize::write(&mut out, n);
        for &(a, _) in &self.channels {
            bigsize::write(&mut out, a);
        }
        for &(_, b) in &self.channels {
            bigsize::write(&mut out, b);
        }
        for &d in &self.disabled {
            bigsize::write(&mut out, d);
        }
        bigsize::write(&mut out, 2 * n);
        let table = |out: &mut Vec<u8>, vals: Vec<u64>| {
            bigsize::write(out, vals.len() as u64);
            for &v in &vals {
                bigsize::write(out, v);
            }
            for i in 0..vals.len() {
                bigsize::write(out, i as u64);
            }
        };
        table(&mut out, self.capacity.clone());
        for field in 0..5 {
            table(&mut out, self.halves.iter().map(|h| h[field]).collect());
        }
        out
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut std::io::BufReader::new(bytes), &mut out).unwrap();
    out
}

const HIGH_KEY: &str = "03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const LOW_KEY: &str = "020000000000000000000000000000000000000000000000000000000000000001";
const MID_KEY: &str = "027777777777777777777777777777777777777777777777777777777777777777";

fn small_node_map() -> Vec<u8> {
    let mut map = format!("0:{HIGH_KEY}:big:node\n1:{LOW_KEY}:\n2:{MID_KEY}:mid").into_bytes();
    map.extend_from_slice(b"\xff\n");
    map
}

/// Channel 0: start node 0 (high key) → end node 1 (low key); channel 1: node 1 → node 2.
fn small_builder() -> Builder {
    Builder {
        channels: vec![(0, 1), (1, 2)],
        disabled: vec![3],
        capacity: vec![100_000, 2_000],
        halves: vec![
            [1, 0, 1000, 1, 40],
            [2, 1, 0, 100, 144],
            [1000, 5_000, 7, 7, 18],
            [0, 0, 0, 0, 0],
        ],
    }
}

fn small_snapshot() -> Snapshot {
    Snapshot::from_bytes(
        &gzip(&small_builder().decompressed()),
        &xz(&small_node_map()),
    )
    .unwrap()
}

#[test]
fn real_snapshot_has_the_readme_figures() {
    let snap = load_real();
    assert_eq!(snap.nodes.len(), 17_324);
    assert_eq!(snap.channels.len(), 50_808);
    assert_eq!(snap.usable_half_channels(), 65_809);
    let enabled = snap
        .channels
        .iter()
        .flat_map(|c| c.halves.iter())
        .filter(|h| h.enabled)
        .count();
    assert_eq!(
        enabled, 65_810,
        "one enabled half is an all-zero placeholder"
    );
}

#[test]
fn real_snapshot_endpoints_have_pubkeys_in_bolt7_order() {
    let snap = load_real();
    for (i, c) in snap.channels.iter().enumerate() {
        let a = &snap.nodes[c.nodes[0] as usize].pubkey;
        let b = &snap.nodes[c.nodes[1] as usize].pubkey;
        assert!(a < b, "channel {i}: node_id_1 must sort lower");
        assert_eq!(c.scid, ShortChannelId::new(i as u32, 0, 0).unwrap());
    }
    assert_eq!(snap.channels[7].scid.to_string(), "7x0x0");
}

#[test]
fn real_snapshot_disabled_halves_are_all_zero() {
    let snap = load_real();
    let mut disabled = 0;
    for h in snap.channels.iter().flat_map(|c| c.halves.iter()) {
        if !h.enabled {
            disabled += 1;
            assert_eq!(*h, HalfChannel::default());
        } else if h.is_usable() {
            assert!(h.htlc_maximum_msat > 0);
            assert!(h.htlc_minimum_msat <= h.htlc_maximum_msat);
        }
    }
    assert_eq!(disabled, 2 * 50_808 - 65_810);
}

#[test]
fn real_node_map_first_node_is_acinq() {
    let snap = load_real();
    assert_eq!(
        hex::encode(snap.nodes[0].pubkey),
        "03864ef025fde8fb587d989186ce6a4a186895ee44a926bfc370e2c366597a3f8f"
    );
    assert_eq!(snap.nodes[0].alias, "ACINQ");
}

#[test]
fn halves_follow_pubkey_order_not_file_order() {
    let snap = small_snapshot();
    // Channel 0 is written high → low: node 1 (low key) is node_id_1.
    assert_eq!(snap.channels[0].nodes, [1, 0]);
    assert_eq!(snap.channels[1].nodes, [1, 2]);
    // Direction values stay where the file put them: they are already BOLT 7 directions.
    assert_eq!(snap.channels[0].halves[0].fee_base_msat, 1000);
    assert_eq!(snap.channels[0].halves[1].cltv_expiry_delta, 144);
}

#[test]
fn htlc_maximum_shorthands_resolve_against_capacity() {
    let snap = small_snapshot();
    let c0 = &snap.channels[0];
    assert_eq!(c0.halves[0].htlc_maximum_msat, 100_000_000);
    assert_eq!(c0.halves[1].htlc_maximum_msat, 99_000_000);
    assert_eq!(snap.channels[1].halves[0].htlc_maximum_msat, 5_000);
    assert!(!snap.channels[1].halves[1].enabled);
    assert_eq!(snap.channels[1].halves[1].htlc_maximum_msat, 0);
}

#[test]
fn aliases_keep_colons_and_survive_non_utf8() {
    let snap = small_snapshot();
    assert_eq!(snap.nodes[0].alias, "big:node");
    assert_eq!(snap.nodes[1].alias, "");
    assert_eq!(snap.nodes[2].alias, "mid\u{fffd}");
}

#[test]
fn every_truncation_of_a_channel_file_is_an_error() {
    let bytes = small_builder().decompressed();
    for len in 0..bytes.len() {
        assert!(parse_compressed(&bytes[..len], 3).is_err(), "prefix {len}");
    }
    assert!(parse_compressed(&bytes, 3).is_ok());
}

#[test]
fn truncating_the_real_channel_file_is_an_error() {
    let bytes = real_decompressed();
    let step = bytes.len() / 97;
    for len in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
        assert!(
            parse_compressed(&bytes[..len], 17_324).is_err(),
            "prefix {len}"
        );
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = small_builder().decompressed();
    bytes.push(0);
    assert!(matches!(
        parse_compressed(&bytes, 3),
        Err(SnapshotError::TrailingBytes(1))
    ));
}

#[test]
fn bad_header_is_an_error() {
    let mut bytes = small_builder().decompressed();
    bytes[17] = b'2';
    assert!(matches!(
        parse_compressed(&bytes, 3),
        Err(SnapshotError::BadHeader)
    ));
}

#[test]
fn endpoint_beyond_the_node_map_is_an_error() {
    let bytes = small_builder().decompressed();
    assert!(matches!(
        parse_compressed(&bytes, 2),
        Err(SnapshotError::IndexOutOfRange { index: 2, .. })
    ));
}

#[test]
fn value_index_beyond_its_table_is_an_error() {
    let mut b = small_builder().decompressed();
    // The last byte is the cltv index of channel 1 direction 1 (table of 4 values).
    *b.last_mut().unwrap() = 4;
    assert!(matches!(
        parse_compressed(&b, 3),
        Err(SnapshotError::IndexOutOfRange {
            section: "cltv_delta",
            ..
        })
    ));
}

#[test]
fn oversized_fields_are_errors() {
    let mut b = small_builder();
    b.halves[0][4] = 70_000;
    let err = Snapshot::from_bytes(&gzip(&b.decompressed()), &xz(&small_node_map()));
    assert!(matches!(
        err,
        Err(SnapshotError::ValueTooLarge {
            field: "cltv_delta",
            ..
        })
    ));
}

#[test]
fn self_channel_is_an_error() {
    let mut b = small_builder();
    b.channels[1] = (2, 2);
    let err = Snapshot::from_bytes(&gzip(&b.decompressed()), &xz(&small_node_map()));
    assert!(matches!(err, Err(SnapshotError::SelfChannel { .. })));
}

#[test]
fn huge_channel_count_is_refused_before_allocating() {
    let mut bytes = HEADER.to_vec();
    bigsize::write(&mut bytes, (1 << 24) - 1);
    assert!(matches!(
        parse_compressed(&bytes, 3),
        Err(SnapshotError::Truncated { .. })
    ));
}

#[test]
fn corrupt_compression_is_an_error() {
    let gz = gzip(&small_builder().decompressed());
    let map = xz(&small_node_map());
    assert!(matches!(
        Snapshot::from_bytes(b"not gzip", &map),
        Err(SnapshotError::BadGzip(_))
    ));
    assert!(matches!(
        Snapshot::from_bytes(&gz, b"not xz"),
        Err(SnapshotError::BadXz(_))
    ));
    assert!(matches!(
        Snapshot::from_bytes(&gz[..gz.len() / 2], &map),
        Err(SnapshotError::BadGzip(_))
    ));
}

#[test]
fn missing_file_is_an_io_error() {
    let err = Snapshot::load(&data_path("nope"), &data_path("nope.xz"));
    assert!(matches!(err, Err(SnapshotError::Io { .. })));
}

#[test]
fn bad_node_map_lines_are_errors() {
    let out_of_order = format!("1:{LOW_KEY}:a\n");
    let duplicate = format!("0:{LOW_KEY}:a\n1:{LOW_KEY}:b\n");
    type IsExpected = fn(&SnapshotError) -> bool;
    let cases: [(&[u8], IsExpected); 5] = [
        (b"0:02aa\n", |e| {
            matches!(e, SnapshotError::BadNodeMapLine { .. })
        }),
        (b"x:02:a\n", |e| {
            matches!(e, SnapshotError::BadNodeMapLine { .. })
        }),
        (b"0:zz:a\n", |e| {
            matches!(e, SnapshotError::BadPubkeyHex { line: 1 })
        }),
        (out_of_order.as_bytes(), |e| {
            matches!(e, SnapshotError::BadNodeMapLine { .. })
        }),
        (duplicate.as_bytes(), |e| {
            matches!(e, SnapshotError::DuplicatePubkey { node: 1 })
        }),
    ];
    for (text, expected) in cases {
        let err = parse_node_map(text).unwrap_err();
        assert!(expected(&err), "{err:?}");
    }
}

proptest! {
    #[test]
    fn garbage_channel_file_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_compressed(&bytes, 3);
        let mut with_header = HEADER.to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = parse_compressed(&with_header, 3);
    }

    #[test]
    fn mutated_channel_file_never_panics(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = small_builder().decompressed();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = Snapshot::from_bytes(&gzip(&bytes), &xz(&small_node_map()));
    }

    #[test]
    fn garbage_node_map_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_node_map(&bytes);
        let _ = Snapshot::from_bytes(&bytes, &bytes);
    }
}
