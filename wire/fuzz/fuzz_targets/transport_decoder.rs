//! The BOLT 8 decoder never panics, whatever bytes arrive in whatever chunks: it yields messages,
//! waits for more, or reports a MAC failure and keeps reporting it. Messages the matching
//! encryptor produced always come back intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lnfleet_wire::noise::{
    Decryptor, Encryptor, InitiatorHandshake, LocalStaticKey, ResponderHandshake, StaticKeyEcdh,
    MAX_MESSAGE_LEN,
};
use secp256k1::SecretKey;

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).expect("constant secret key is valid")
}

/// A fixed connection (the BOLT 8 test-vector keys): the initiator's sender, the responder's
/// receiver. Rebuilt for every input (transports are not `Clone`, to rule out nonce reuse).
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
    (alice_done.transport.split().0, bob_done.transport.split().1)
}

/// Feeds `bytes` in chunks of `chunk` bytes, taking every message as soon as it is whole.
fn feed_in_chunks(decryptor: &mut Decryptor, bytes: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut received = Vec::new();
    for piece in bytes.chunks(chunk) {
        decryptor.feed(piece);
        while let Ok(Some(message)) = decryptor.next_message() {
            received.push(message);
        }
    }
    received
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control & 0x3f) + 1;
    let (mut encryptor, mut decryptor) = connected_halves();
    match control >> 6 {
        // Raw attacker bytes.
        0 | 1 => {
            feed_in_chunks(&mut decryptor, rest, chunk);
            if decryptor.next_message().is_err() {
                // Poisoned for good.
                decryptor.feed(rest);
                assert!(decryptor.next_message().is_err());
            }
        }
        // A genuine frame, then attacker bytes: the genuine message must still come out first.
        2 => {
            let mut stream = encryptor
                .encrypt_message(b"genuine")
                .expect("small message");
            stream.extend_from_slice(rest);
            let received = feed_in_chunks(&mut decryptor, &stream, chunk);
            assert_eq!(received.first().map(Vec::as_slice), Some(&b"genuine"[..]));
        }
        // Round trip: the input, cut into messages at 0xff bytes, encrypted and decoded.
        _ => {
            let messages: Vec<&[u8]> = rest
                .split(|&byte| byte == 0xff)
                .map(|message| &message[..message.len().min(MAX_MESSAGE_LEN)])
                .collect();
            let stream = encryptor.encrypt_batch(&messages).expect("messages fit");
            let received = feed_in_chunks(&mut decryptor, &stream, chunk);
            assert_eq!(received, messages);
            assert_eq!(decryptor.next_message(), Ok(None));
        }
    }
});
