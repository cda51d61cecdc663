//! BOLT 8 transport throughput, with raw ChaCha20-Poly1305 doing the same cryptographic work in
//! the same group as the anchor: the figure that matters is the ratio, not the absolute.
//!
//! Run: `cargo bench -p lnfleet-wire --bench transport -- --warm-up-time 1 --measurement-time 3`

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lnfleet_wire::noise::{
    Decryptor, Encryptor, InitiatorHandshake, LocalStaticKey, ResponderHandshake, StaticKeyEcdh,
    MAX_MESSAGE_LEN,
};
use secp256k1::SecretKey;

/// 1 KiB, and the largest Lightning message whose framing still fits a 64 KiB buffer.
const PAYLOAD_SIZES: [usize; 2] = [1024, MAX_MESSAGE_LEN - 2];

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).expect("constant secret key is valid")
}

/// The sender's encrypting half and the receiver's decrypting half of one connection.
fn connected_halves() -> (Encryptor, Decryptor) {
    let alice = LocalStaticKey::new(secret(0x11));
    let bob = LocalStaticKey::new(secret(0x21));
    let mut initiator =
        InitiatorHandshake::with_ephemeral(alice.node_id(), bob.node_id(), secret(0x12));
    let mut responder = ResponderHandshake::with_ephemeral(bob.node_id(), secret(0x22));
    let act_one = initiator.act_one().expect("act one");
    let act_two = responder
        .process_act_one_with(&act_one, &bob)
        .expect("act two");
    let (act_three, alice_done) = initiator
        .process_act_two_with(&act_two, &alice)
        .expect("act three");
    let bob_done = responder.process_act_three(&act_three).expect("handshake");
    let (encryptor, _) = alice_done.transport.split();
    let (_, decryptor) = bob_done.transport.split();
    (encryptor, decryptor)
}

/// The raw AEAD doing what one BOLT 8 message costs: seal and open a 2-byte length and the body,
/// each with its own nonce, in place on the same buffers.
struct RawChaCha {
    aead: ChaCha20Poly1305,
    nonce: u64,
}

impl RawChaCha {
    fn next_nonce(&mut self) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.nonce.to_le_bytes());
        self.nonce += 1;
        Nonce::from(nonce)
    }

    fn seal_and_open(&mut self, length: &mut [u8; 2], body: &mut [u8]) {
        let length_nonce = self.next_nonce();
        let body_nonce = self.next_nonce();
        let length_tag = self
            .aead
            .encrypt_in_place_detached(&length_nonce, &[], length)
            .expect("seal length");
        let body_tag = self
            .aead
            .encrypt_in_place_detached(&body_nonce, &[], body)
            .expect("seal body");
        self.aead
            .decrypt_in_place_detached(&length_nonce, &[], length, &length_tag)
            .expect("open length");
        self.aead
            .decrypt_in_place_detached(&body_nonce, &[], body, &body_tag)
            .expect("open body");
    }
}

fn encrypt_then_decrypt(c: &mut Criterion) {
    let mut group = c.benchmark_group("bolt8_encrypt_decrypt");
    for size in PAYLOAD_SIZES {
        let payload = vec![0x5a_u8; size];
        group.throughput(Throughput::Bytes(size as u64));

        let (mut encryptor, mut decryptor) = connected_halves();
        let mut wire = Vec::with_capacity(size + 34);
        group.bench_with_input(
            BenchmarkId::new("lnfleet_transport", size),
            &payload,
            |b, payload| {
                b.iter(|| {
                    wire.clear();
                    encryptor.encrypt_into(&mut wire, payload).expect("encrypt");
                    decryptor.feed(&wire);
                    black_box(
                        decryptor
                            .next_message()
                            .expect("decrypt")
                            .expect("whole message"),
                    )
                })
            },
        );

        let mut raw = RawChaCha {
            aead: ChaCha20Poly1305::new(Key::from_slice(&[0x42; 32])),
            nonce: 0,
        };
        let mut length = (size as u16).to_be_bytes();
        let mut body = payload.clone();
        group.bench_function(BenchmarkId::new("raw_chacha20poly1305", size), |b| {
            b.iter(|| {
                raw.seal_and_open(&mut length, &mut body);
                black_box(&body);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encrypt_then_decrypt);
criterion_main!(benches);
