//! Gossip decode throughput and signature checks, each beside its anchor: raw libsecp256k1
//! `verify_ecdsa` of the same hash, signature and key, so the figures read as ratios.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate};
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

fn key(byte: u8) -> (SecretKey, PublicKey) {
    let sk = SecretKey::from_slice(&[byte; 32]).expect("valid secret");
    (sk, PublicKey::from_secret_key(SECP256K1, &sk))
}

fn placeholder_sig() -> Signature {
    Signature::from_compact(&[0; 64]).expect("zero r and s parse")
}

fn signed_update(node_1: &SecretKey) -> ChannelUpdate {
    let mut update = ChannelUpdate {
        signature: placeholder_sig(),
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: ShortChannelId::new(840_000, 1234, 1).expect("fits"),
        timestamp: 1_770_000_000,
        message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
        channel_flags: 0,
        cltv_expiry_delta: 80,
        htlc_minimum_msat: 1_000,
        fee_base_msat: 1_000,
        fee_proportional_millionths: 200,
        htlc_maximum_msat: 4_950_000_000,
        excess_data: vec![],
    };
    update.sign(node_1);
    update
}

fn signed_announcement() -> ChannelAnnouncement {
    let (n1, n2, b1, b2) = (key(1), key(2), key(3), key(4));
    let mut ann = ChannelAnnouncement {
        node_signature_1: placeholder_sig(),
        node_signature_2: placeholder_sig(),
        bitcoin_signature_1: placeholder_sig(),
        bitcoin_signature_2: placeholder_sig(),
        features: vec![],
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: ShortChannelId::new(840_000, 1234, 1).expect("fits"),
        node_id_1: n1.1,
        node_id_2: n2.1,
        bitcoin_key_1: b1.1,
        bitcoin_key_2: b2.1,
        excess_data: vec![],
    };
    ann.sign_all(&n1.0, &n2.0, &b1.0, &b2.0);
    ann
}

fn decode(c: &mut Criterion) {
    let update = signed_update(&key(1).0).encode();
    let announcement = signed_announcement().encode();
    let mut group = c.benchmark_group("gossip/decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("channel_update", |b| {
        b.iter(|| ChannelUpdate::decode(black_box(&update)).expect("valid"))
    });
    group.bench_function("channel_announcement", |b| {
        b.iter(|| ChannelAnnouncement::decode(black_box(&announcement)).expect("valid"))
    });
    // Anchor: a channel_announcement carries four compressed points, and parsing one means a
    // field square root; this is the floor for its decode.
    let points: Vec<[u8; 33]> = (1..=4).map(|i| key(i).1.serialize()).collect();
    group.bench_function("raw_4_pubkey_parses", |b| {
        b.iter(|| {
            for p in black_box(&points) {
                black_box(PublicKey::from_slice(p).expect("valid"));
            }
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let (sk_1, node_id_1) = key(1);
    let (_, node_id_2) = key(2);
    let update = signed_update(&sk_1);
    let hash = Message::from_digest(update.signed_hash());
    let announcement = signed_announcement();

    let mut group = c.benchmark_group("gossip/verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("channel_update_verify", |b| {
        b.iter(|| {
            black_box(&update)
                .verify(&node_id_1, &node_id_2)
                .expect("valid")
        })
    });
    group.bench_function("raw_secp256k1_verify_ecdsa", |b| {
        b.iter(|| {
            SECP256K1
                .verify_ecdsa(black_box(&hash), &update.signature, &node_id_1)
                .expect("valid")
        })
    });
    // Four raw verifies are the anchor for this one.
    group.bench_function("channel_announcement_verify_4_sigs", |b| {
        b.iter(|| black_box(&announcement).verify().expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, decode, verify);
criterion_main!(benches);
