//! `start_batch` end to end through the sans-IO pieces: the sender encrypts a batch into one
//! buffer (one write), the receiver decodes it from arbitrary chunks and the batch rule accepts it.

use lnfleet_wire::channel::{BatchAssembler, BatchStep, CommitmentSigned, StartBatch};
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::noise::{
    InitiatorHandshake, LocalStaticKey, ResponderHandshake, StaticKeyEcdh, Transport,
};
use lnfleet_wire::tlv::TlvStream;
use lnfleet_wire::{ChannelId, WireMessage};
use secp256k1::{Message as Digest, SecretKey, SECP256K1};

fn transport_pair() -> (Transport, Transport) {
    let alice = LocalStaticKey::new(SecretKey::from_slice(&[1; 32]).unwrap());
    let bob = LocalStaticKey::new(SecretKey::from_slice(&[2; 32]).unwrap());
    let mut initiator = InitiatorHandshake::new(alice.node_id(), bob.node_id());
    let mut responder = ResponderHandshake::new(bob.node_id());
    let act_one = initiator.act_one().unwrap();
    let act_two = responder.process_act_one_with(&act_one, &bob).unwrap();
    let (act_three, alice_done) = initiator.process_act_two_with(&act_two, &alice).unwrap();
    let bob_done = responder.process_act_three(&act_three).unwrap();
    assert_eq!(bob_done.remote_node_id, alice.node_id());
    (alice_done.transport, bob_done.transport)
}

fn commitment_signed(channel_id: ChannelId, n: u8) -> CommitmentSigned {
    let key = SecretKey::from_slice(&[3; 32]).unwrap();
    let digest = Digest::from_digest([n; 32]);
    CommitmentSigned {
        channel_id,
        signature: SECP256K1.sign_ecdsa(&digest, &key),
        htlc_signatures: vec![],
        funding_txid: Some([n; 32]),
        extra_tlvs: TlvStream::new(),
    }
}

#[test]
fn a_batch_leaves_in_one_buffer_and_is_accepted_by_the_receiver_in_any_chunking() {
    let (mut alice, mut bob) = transport_pair();
    let channel_id = ChannelId([9; 32]);
    let start = StartBatch::commitment_signed(channel_id, 2).encode();
    let first = commitment_signed(channel_id, 1).encode();
    let second = commitment_signed(channel_id, 2).encode();
    let wire_bytes = alice
        .encrypt_batch(&[&start, &first, &second])
        .expect("batch encrypts");

    for chunk in [1, 7, 100, wire_bytes.len()] {
        let (mut alice_again, mut bob_again) = transport_pair();
        let bytes = alice_again
            .encrypt_batch(&[&start, &first, &second])
            .unwrap();
        let mut assembler = BatchAssembler::new();
        let mut steps = Vec::new();
        for piece in bytes.chunks(chunk) {
            bob_again.feed(piece);
            while let Some(raw) = bob_again.next_message().unwrap() {
                let step = match message::decode(&raw).unwrap() {
                    Message::StartBatch(start) => assembler.on_start_batch(&start),
                    other => assembler.on_message(other.msg_type(), other.channel_id()),
                };
                steps.push(step.expect("batch rule holds"));
            }
        }
        assert_eq!(steps.len(), 3, "chunk size {chunk}");
        assert!(matches!(steps[0], BatchStep::Started { batch_size: 2, .. }));
        assert!(matches!(steps[2], BatchStep::Completed { .. }));
        assert_eq!(assembler.in_progress(), None);
    }

    // The first pair decodes the very bytes we built, in order.
    bob.feed(&wire_bytes);
    let received: Vec<Vec<u8>> = std::iter::from_fn(|| bob.next_message().unwrap()).collect();
    assert_eq!(received, vec![start, first, second]);
}

#[test]
fn a_message_of_another_channel_inside_a_batch_breaks_it() {
    let mut assembler = BatchAssembler::new();
    let ours = ChannelId([1; 32]);
    assembler
        .on_start_batch(&StartBatch::commitment_signed(ours, 2))
        .unwrap();
    assembler
        .on_message(CommitmentSigned::TYPE, Some(ours))
        .unwrap();
    let other = ChannelId([2; 32]);
    assert!(assembler
        .on_message(CommitmentSigned::TYPE, Some(other))
        .is_err());
}
