use proptest::prelude::*;
use secp256k1::{PublicKey, SecretKey};

use super::*;

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn bytes(hex_str: &str) -> Vec<u8> {
    hex::decode(hex_str.trim_start_matches("0x")).unwrap()
}

fn public_key(hex_str: &str) -> PublicKey {
    PublicKey::from_slice(&bytes(hex_str)).unwrap()
}

// Keys and acts from BOLT 8 Appendix A, "Initiator Tests" and "Responder Tests".
const RESPONDER_STATIC_PUB: &str =
    "0x028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7";
const INITIATOR_STATIC_PUB: &str =
    "0x034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa";
const INITIATOR_EPHEMERAL_PUB: &str =
    "0x036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f7";
const RESPONDER_EPHEMERAL_PUB: &str =
    "0x02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27";
const ACT_ONE: &str = "0x00036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6a";
const ACT_TWO: &str = "0x0002466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730ae";
const ACT_THREE: &str = "0x00b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139ba";
const FINAL_CK: &str = "0x919219dbb2920afa8db80f9a51787a840bcf111ed8d588caf9ab4be716e42b01";
const INITIATOR_SK: &str = "0x969ab31b4d288cedf6218839b27a3e2140827047f2c0f01bf5c04435d43511a9";
const INITIATOR_RK: &str = "0xbb9020b8965f4df047e07f955f3c4b88418984aadc5cdb35096b9ea8fa5c3442";

fn initiator_static() -> LocalStaticKey {
    LocalStaticKey::new(secret(0x11))
}

fn responder_static() -> LocalStaticKey {
    LocalStaticKey::new(secret(0x21))
}

fn vector_initiator() -> InitiatorHandshake {
    InitiatorHandshake::with_ephemeral(
        initiator_static().node_id(),
        public_key(RESPONDER_STATIC_PUB),
        secret(0x12),
    )
}

fn vector_responder() -> ResponderHandshake {
    ResponderHandshake::with_ephemeral(responder_static().node_id(), secret(0x22))
}

/// Both sides of the spec's handshake, completed.
fn vector_transports() -> (Transport, Transport) {
    let mut initiator = vector_initiator();
    let mut responder = vector_responder();
    let act_one = initiator.act_one().unwrap();
    let act_two = responder
        .process_act_one_with(&act_one, &responder_static())
        .unwrap();
    let (act_three, initiator_done) = initiator
        .process_act_two_with(&act_two, &initiator_static())
        .unwrap();
    let responder_done = responder.process_act_three(&act_three).unwrap();
    (initiator_done.transport, responder_done.transport)
}

fn hex_of(key: [u8; 32]) -> String {
    format!("0x{}", hex::encode(key))
}

// ---- BOLT 8 Appendix A: Initiator Tests ----

#[test]
fn initiator_successful_handshake_matches_spec_vector() {
    assert_eq!(
        initiator_static().node_id(),
        public_key(INITIATOR_STATIC_PUB)
    );
    let mut initiator = vector_initiator();
    assert_eq!(initiator.act_one().unwrap().to_vec(), bytes(ACT_ONE));
    let (act_three, done) = initiator
        .process_act_two_with(&bytes(ACT_TWO), &initiator_static())
        .unwrap();
    assert_eq!(act_three.to_vec(), bytes(ACT_THREE));
    assert_eq!(done.remote_node_id, public_key(RESPONDER_STATIC_PUB));
    let (mut encryptor, mut decryptor) = done.transport.split();
    assert_eq!(hex_of(encryptor.cipher().chaining_key()), FINAL_CK);
    assert_eq!(hex_of(encryptor.cipher().key()), INITIATOR_SK);
    assert_eq!(hex_of(decryptor.cipher().key()), INITIATOR_RK);
    // Exercised so the halves are known to work after a split.
    let frame = encryptor.encrypt_message(b"x").unwrap();
    decryptor.feed(&frame[..1]);
    assert_eq!(decryptor.next_message(), Ok(None));
}

fn initiator_act_two_error(act_two_hex: &str) -> HandshakeError {
    let mut initiator = vector_initiator();
    assert_eq!(initiator.act_one().unwrap().to_vec(), bytes(ACT_ONE));
    initiator
        .process_act_two_with(&bytes(act_two_hex), &initiator_static())
        .unwrap_err()
}

#[test]
fn initiator_act2_short_read_is_rejected() {
    assert_eq!(
        initiator_act_two_error("0x0002466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730"),
        HandshakeError::BadActLength {
            act: 2,
            expected: 50,
            actual: 49
        }
    );
}

#[test]
fn initiator_act2_bad_version_is_rejected() {
    assert_eq!(
        initiator_act_two_error("0x0102466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730ae"),
        HandshakeError::BadVersion { act: 2, version: 1 }
    );
}

#[test]
fn initiator_act2_bad_key_serialization_is_rejected() {
    assert_eq!(
        initiator_act_two_error("0x0004466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730ae"),
        HandshakeError::InvalidPublicKey { act: 2 }
    );
}

#[test]
fn initiator_act2_bad_mac_is_rejected() {
    assert_eq!(
        initiator_act_two_error("0x0002466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730af"),
        HandshakeError::MacFailure { act: 2 }
    );
}

// ---- BOLT 8 Appendix A: Responder Tests ----

#[test]
fn responder_successful_handshake_matches_spec_vector() {
    assert_eq!(
        responder_static().node_id(),
        public_key(RESPONDER_STATIC_PUB)
    );
    let mut responder = vector_responder();
    let act_two = responder
        .process_act_one_with(&bytes(ACT_ONE), &responder_static())
        .unwrap();
    assert_eq!(act_two.to_vec(), bytes(ACT_TWO));
    let done = responder.process_act_three(&bytes(ACT_THREE)).unwrap();
    assert_eq!(done.remote_node_id, public_key(INITIATOR_STATIC_PUB));
    let (encryptor, decryptor) = done.transport.split();
    assert_eq!(hex_of(encryptor.cipher().chaining_key()), FINAL_CK);
    // The responder's rk is the initiator's sk and vice versa.
    assert_eq!(hex_of(decryptor.cipher().key()), INITIATOR_SK);
    assert_eq!(hex_of(encryptor.cipher().key()), INITIATOR_RK);
}

fn responder_act_one_error(act_one_hex: &str) -> HandshakeError {
    vector_responder()
        .process_act_one_with(&bytes(act_one_hex), &responder_static())
        .unwrap_err()
}

#[test]
fn responder_act1_short_read_is_rejected() {
    assert_eq!(
        responder_act_one_error("0x00036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c"),
        HandshakeError::BadActLength {
            act: 1,
            expected: 50,
            actual: 49
        }
    );
}

#[test]
fn responder_act1_bad_version_is_rejected() {
    assert_eq!(
        responder_act_one_error("0x01036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6a"),
        HandshakeError::BadVersion { act: 1, version: 1 }
    );
}

#[test]
fn responder_act1_bad_key_serialization_is_rejected() {
    assert_eq!(
        responder_act_one_error("0x00046360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6a"),
        HandshakeError::InvalidPublicKey { act: 1 }
    );
}

#[test]
fn responder_act1_bad_mac_is_rejected() {
    assert_eq!(
        responder_act_one_error("0x00036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6b"),
        HandshakeError::MacFailure { act: 1 }
    );
}

fn responder_act_three_error(act_three_hex: &str) -> HandshakeError {
    let mut responder = vector_responder();
    let act_two = responder
        .process_act_one_with(&bytes(ACT_ONE), &responder_static())
        .unwrap();
    assert_eq!(act_two.to_vec(), bytes(ACT_TWO));
    responder
        .process_act_three(&bytes(act_three_hex))
        .unwrap_err()
}

#[test]
fn responder_act3_bad_version_is_rejected() {
    assert_eq!(
        responder_act_three_error("0x01b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139ba"),
        HandshakeError::BadVersion { act: 3, version: 1 }
    );
}

#[test]
fn responder_act3_short_read_is_rejected() {
    assert_eq!(
        responder_act_three_error("0x00b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139"),
        HandshakeError::BadActLength {
            act: 3,
            expected: 66,
            actual: 65
        }
    );
}

#[test]
fn responder_act3_bad_mac_for_ciphertext_is_rejected() {
    assert_eq!(
        responder_act_three_error("0x00c9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139ba"),
        HandshakeError::StaticKeyMacFailure
    );
}

#[test]
fn responder_act3_bad_rs_is_rejected() {
    assert_eq!(
        responder_act_three_error("0x00bfe3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa2235536ad09a8ee351870c2bb7f78b754a26c6cef79a98d25139c856d7efd252c2ae73c"),
        HandshakeError::InvalidPublicKey { act: 3 }
    );
}

#[test]
fn responder_act3_bad_mac_is_rejected() {
    assert_eq!(
        responder_act_three_error("0x00b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139bb"),
        HandshakeError::MacFailure { act: 3 }
    );
}

// ---- The explicit ECDH steps (remote HSM) ----

#[test]
fn explicit_ecdh_steps_produce_the_spec_acts() {
    let mut responder = vector_responder();
    let needs = responder.process_act_one(&bytes(ACT_ONE)).unwrap();
    assert_eq!(needs.point, public_key(INITIATOR_EPHEMERAL_PUB));
    let shared_secret = responder_static().ecdh(&needs.point).unwrap();
    assert_eq!(
        responder.complete_act_one(shared_secret).unwrap().to_vec(),
        bytes(ACT_TWO)
    );

    let mut initiator = vector_initiator();
    initiator.act_one().unwrap();
    let needs = initiator.process_act_two(&bytes(ACT_TWO)).unwrap();
    assert_eq!(needs.point, public_key(RESPONDER_EPHEMERAL_PUB));
    let shared_secret = initiator_static().ecdh(&needs.point).unwrap();
    let (act_three, _) = initiator.complete_act_two(shared_secret).unwrap();
    assert_eq!(act_three.to_vec(), bytes(ACT_THREE));

    let done = responder.process_act_three(&act_three).unwrap();
    assert_eq!(done.remote_node_id, public_key(INITIATOR_STATIC_PUB));
}

#[test]
fn responder_with_wrong_static_secret_fails_act_one_mac() {
    let wrong = LocalStaticKey::new(secret(0x33));
    let mut responder = vector_responder();
    assert_eq!(
        responder.process_act_one_with(&bytes(ACT_ONE), &wrong),
        Err(HandshakeError::MacFailure { act: 1 })
    );
}

struct UnreachableHsm(PublicKey);

impl StaticKeyEcdh for UnreachableHsm {
    fn node_id(&self) -> PublicKey {
        self.0
    }
    fn ecdh(&self, _point: &PublicKey) -> Result<[u8; 32], EcdhError> {
        Err(EcdhError::SignerUnavailable {
            reason: "timeout".into(),
        })
    }
}

#[test]
fn ecdh_failure_is_reported_and_ends_the_handshake() {
    let hsm = UnreachableHsm(responder_static().node_id());
    let mut responder = vector_responder();
    let expected = EcdhError::SignerUnavailable {
        reason: "timeout".into(),
    };
    assert_eq!(
        responder.process_act_one_with(&bytes(ACT_ONE), &hsm),
        Err(HandshakeError::Ecdh(expected.clone()))
    );
    assert!(matches!(
        responder.complete_act_one([0; 32]),
        Err(HandshakeError::WrongState { .. })
    ));

    let mut initiator = vector_initiator();
    initiator.act_one().unwrap();
    let hsm = UnreachableHsm(initiator_static().node_id());
    assert_eq!(
        initiator
            .process_act_two_with(&bytes(ACT_TWO), &hsm)
            .map(|_| ()),
        Err(HandshakeError::Ecdh(expected))
    );
}

#[test]
fn steps_out_of_order_are_wrong_state_errors() {
    let mut initiator = vector_initiator();
    assert!(matches!(
        initiator.process_act_two(&bytes(ACT_TWO)),
        Err(HandshakeError::WrongState {
            step: "process_act_two",
            ..
        })
    ));
    // A misused handshake is dead.
    assert!(matches!(
        initiator.act_one(),
        Err(HandshakeError::WrongState { .. })
    ));

    let mut initiator = vector_initiator();
    initiator.act_one().unwrap();
    assert!(matches!(
        initiator.act_one(),
        Err(HandshakeError::WrongState { .. })
    ));

    let mut responder = vector_responder();
    assert!(matches!(
        responder.process_act_three(&bytes(ACT_THREE)),
        Err(HandshakeError::WrongState { .. })
    ));
    let mut responder = vector_responder();
    assert!(matches!(
        responder.complete_act_one([0; 32]),
        Err(HandshakeError::WrongState { .. })
    ));
}

#[test]
fn failed_handshake_refuses_further_steps() {
    let mut responder = vector_responder();
    let mut bad_act_one = bytes(ACT_ONE);
    bad_act_one[0] = 1;
    assert!(responder.process_act_one(&bad_act_one).is_err());
    assert!(matches!(
        responder.process_act_one(&bytes(ACT_ONE)),
        Err(HandshakeError::WrongState {
            state: "failed",
            ..
        })
    ));
}

#[test]
fn random_ephemerals_complete_a_handshake() {
    let alice = LocalStaticKey::new(SecretKey::new(&mut secp256k1::rand::thread_rng()));
    let bob = LocalStaticKey::new(SecretKey::new(&mut secp256k1::rand::thread_rng()));
    let mut initiator = InitiatorHandshake::new(alice.node_id(), bob.node_id());
    let mut responder = ResponderHandshake::new(bob.node_id());
    let act_two = responder
        .process_act_one_with(&initiator.act_one().unwrap(), &bob)
        .unwrap();
    let (act_three, alice_done) = initiator.process_act_two_with(&act_two, &alice).unwrap();
    let bob_done = responder.process_act_three(&act_three).unwrap();
    assert_eq!(bob_done.remote_node_id, alice.node_id());
    assert_eq!(alice_done.remote_node_id, bob.node_id());
    let (mut alice_tx, mut alice_rx) = alice_done.transport.split();
    let (mut bob_tx, mut bob_rx) = bob_done.transport.split();
    bob_rx.feed(&alice_tx.encrypt_message(b"ping").unwrap());
    alice_rx.feed(&bob_tx.encrypt_message(b"pong").unwrap());
    assert_eq!(bob_rx.next_message().unwrap().unwrap(), b"ping");
    assert_eq!(alice_rx.next_message().unwrap().unwrap(), b"pong");
}

// ---- BOLT 8 Appendix A: Message Encryption Tests ----

/// The spec's six outputs of sending "hello" 1002 times, keyed by message index.
const HELLO_OUTPUTS: [(usize, &str); 6] = [
    (
        0,
        "0xcf2b30ddf0cf3f80e7c35a6e6730b59fe802473180f396d88a8fb0db8cbcf25d2f214cf9ea1d95",
    ),
    (
        1,
        "0x72887022101f0b6753e0c7de21657d35a4cb2a1f5cde2650528bbc8f837d0f0d7ad833b1a256a1",
    ),
    (
        500,
        "0x178cb9d7387190fa34db9c2d50027d21793c9bc2d40b1e14dcf30ebeeeb220f48364f7a4c68bf8",
    ),
    (
        501,
        "0x1b186c57d44eb6de4c057c49940d79bb838a145cb528d6e8fd26dbe50a60ca2c104b56b60e45bd",
    ),
    (
        1000,
        "0x4a2f3cc3b5e78ddb83dcb426d9863d9d9a723b0337c89dd0b005d89f8d3c05c52b76b29b740f09",
    ),
    (
        1001,
        "0x2ecd8c8a5629d0d02ab457a0fdd0f7b90a192cd46be5ecb6ca570bfc5e268338b1a16cf4ef2d36",
    ),
];

#[test]
fn message_encryption_matches_spec_vectors_across_key_rotations() {
    let (mut initiator, mut responder) = vector_transports();
    let frames: Vec<Vec<u8>> = (0..1002)
        .map(|_| initiator.encrypt_message(b"hello").unwrap())
        .collect();
    for (index, expected) in HELLO_OUTPUTS {
        assert_eq!(
            hex::encode(&frames[index]),
            expected.trim_start_matches("0x"),
            "output {index}"
        );
    }
    // The receiving side rotates in step.
    for frame in &frames {
        responder.feed(frame);
        assert_eq!(responder.next_message().unwrap().unwrap(), b"hello");
    }
    assert_eq!(responder.next_message(), Ok(None));
}

#[test]
fn encrypt_batch_equals_messages_encrypted_one_by_one() {
    let (mut a, _) = vector_transports();
    let (mut b, mut receiver) = vector_transports();
    let messages: [&[u8]; 3] = [b"start_batch", b"commitment_signed 1", b""];
    let batch = a.encrypt_batch(&messages).unwrap();
    let mut one_by_one = Vec::new();
    for message in messages {
        b.encrypt_into(&mut one_by_one, message).unwrap();
    }
    assert_eq!(batch, one_by_one);
    receiver.feed(&batch);
    for message in messages {
        assert_eq!(receiver.next_message().unwrap().unwrap(), message);
    }
}

#[test]
fn encrypt_batch_with_an_oversized_message_encrypts_nothing() {
    let (mut sender, mut receiver) = vector_transports();
    let too_big = vec![0u8; MAX_MESSAGE_LEN + 1];
    assert_eq!(
        sender.encrypt_batch(&[b"first", &too_big]),
        Err(TransportError::MessageTooLarge { len: 65536 })
    );
    // The nonce did not move: the next message is still spec output 0.
    assert_eq!(
        hex::encode(sender.encrypt_message(b"hello").unwrap()),
        HELLO_OUTPUTS[0].1.trim_start_matches("0x")
    );
    receiver.feed(&sender.encrypt_message(b"after").unwrap());
}

#[test]
fn messages_over_65535_bytes_are_refused_and_65535_is_carried() {
    let (mut sender, mut receiver) = vector_transports();
    assert_eq!(
        sender.encrypt_message(&vec![1u8; 65536]),
        Err(TransportError::MessageTooLarge { len: 65536 })
    );
    let mut out = vec![9u8];
    assert!(sender.encrypt_into(&mut out, &vec![1u8; 70000]).is_err());
    assert_eq!(out, vec![9u8], "a refused message leaves the buffer alone");
    let largest = vec![7u8; MAX_MESSAGE_LEN];
    let frame = sender.encrypt_message(&largest).unwrap();
    assert_eq!(frame.len(), encrypted_len(MAX_MESSAGE_LEN));
    assert_eq!(frame.len(), 65569);
    receiver.feed(&frame);
    assert_eq!(receiver.next_message().unwrap().unwrap(), largest);
}

#[test]
fn decoder_fed_one_byte_at_a_time_yields_each_message_once_complete() {
    let (mut sender, mut receiver) = vector_transports();
    let frame = sender.encrypt_message(b"hello").unwrap();
    for (index, byte) in frame.iter().enumerate() {
        assert_eq!(receiver.next_message(), Ok(None), "byte {index}");
        receiver.feed(std::slice::from_ref(byte));
    }
    assert_eq!(receiver.next_message().unwrap().unwrap(), b"hello");
    assert_eq!(receiver.next_message(), Ok(None));
    assert_eq!(receiver.decryptor().partial_frame_len(), 0);
}

#[test]
fn corrupted_body_poisons_the_decoder_after_earlier_messages() {
    let (mut sender, mut receiver) = vector_transports();
    let good = sender.encrypt_message(b"good").unwrap();
    let mut bad = sender.encrypt_message(b"tampered").unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let after = sender.encrypt_message(b"after").unwrap();
    receiver.feed(&good);
    receiver.feed(&bad);
    receiver.feed(&after);
    assert_eq!(receiver.next_message().unwrap().unwrap(), b"good");
    let failure = TransportError::MacFailure {
        part: FramePart::Body,
        message_index: 1,
    };
    for _ in 0..3 {
        assert_eq!(receiver.next_message(), Err(failure.clone()));
    }
    assert!(receiver.decryptor().is_poisoned());
}

#[test]
fn garbage_length_prefix_poisons_the_decoder() {
    let (_, mut receiver) = vector_transports();
    receiver.feed(&[0u8; LENGTH_HEADER_LEN]);
    let failure = TransportError::MacFailure {
        part: FramePart::LengthPrefix,
        message_index: 0,
    };
    assert_eq!(receiver.next_message(), Err(failure.clone()));
    receiver.feed(&[1, 2, 3]);
    assert_eq!(receiver.next_message(), Err(failure));
}

#[test]
fn split_halves_join_back_into_a_transport() {
    let (initiator, responder) = vector_transports();
    let (mut tx, rx) = initiator.split();
    let frame = tx.encrypt_message(b"hello").unwrap();
    let mut initiator = Transport::join(tx, rx);
    assert_eq!(
        hex::encode(&frame),
        HELLO_OUTPUTS[0].1.trim_start_matches("0x")
    );
    assert_eq!(
        hex::encode(initiator.encrypt_message(b"hello").unwrap()),
        HELLO_OUTPUTS[1].1.trim_start_matches("0x")
    );
    let (_, mut rx) = responder.split();
    rx.feed(&frame);
    assert_eq!(rx.next_message().unwrap().unwrap(), b"hello");
}

/// Feeds `stream` into `decoder` cut at the given chunk sizes (cycled), draining as it goes.
fn feed_in_chunks(
    decoder: &mut Decryptor,
    stream: &[u8],
    chunk_sizes: &[usize],
) -> Result<Vec<Vec<u8>>, TransportError> {
    let mut received = Vec::new();
    let mut rest = stream;
    let mut sizes = chunk_sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        decoder.feed(chunk);
        rest = tail;
        while let Some(message) = decoder.next_message()? {
            received.push(message);
        }
    }
    Ok(received)
}

fn messages_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::collection::vec(any::<u8>(), 0..300),
            1 => prop::collection::vec(any::<u8>(), 60_000..=MAX_MESSAGE_LEN),
        ],
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_messages_survive_random_chunking(
        messages in messages_strategy(),
        chunk_sizes in prop::collection::vec(1usize..3000, 1..20),
        batched in any::<bool>(),
    ) {
        let (sender, receiver) = vector_transports();
        let (mut encryptor, _) = sender.split();
        let (_, mut decryptor) = receiver.split();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let stream = if batched {
            encryptor.encrypt_batch(&refs).unwrap()
        } else {
            let mut stream = Vec::new();
            for message in &refs {
                encryptor.encrypt_into(&mut stream, message).unwrap();
            }
            stream
        };
        let received = feed_in_chunks(&mut decryptor, &stream, &chunk_sizes).unwrap();
        prop_assert_eq!(received, messages);
        prop_assert_eq!(decryptor.partial_frame_len(), 0);
    }

    #[test]
    fn truncated_stream_yields_whole_messages_then_waits(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut sender, mut receiver) = vector_transports();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let stream = sender.encrypt_batch(&refs).unwrap();
        let cut = cut.index(stream.len());
        receiver.feed(&stream[..cut]);
        let mut complete = 0;
        while let Some(message) = receiver.next_message().unwrap() {
            prop_assert_eq!(&message, &messages[complete]);
            complete += 1;
        }
        prop_assert!(complete < messages.len());
        let consumed: usize = messages[..complete].iter().map(|m| encrypted_len(m.len())).sum();
        prop_assert_eq!(receiver.decryptor().partial_frame_len(), cut - consumed);
    }

    #[test]
    fn garbage_never_panics_and_never_decrypts(
        garbage in prop::collection::vec(any::<u8>(), 0..2000),
        chunk_sizes in prop::collection::vec(1usize..100, 1..10),
    ) {
        let (_, receiver) = vector_transports();
        let (_, mut decryptor) = receiver.split();
        let result = feed_in_chunks(&mut decryptor, &garbage, &chunk_sizes);
        if garbage.len() >= LENGTH_HEADER_LEN {
            prop_assert!(result.is_err());
        } else {
            prop_assert_eq!(result, Ok(vec![]));
        }
    }

    #[test]
    fn flipped_bit_is_always_caught(
        message in prop::collection::vec(any::<u8>(), 0..500),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (mut sender, mut receiver) = vector_transports();
        let mut frame = sender.encrypt_message(&message).unwrap();
        let position = position.index(frame.len());
        frame[position] ^= 1 << bit;
        receiver.feed(&frame);
        // The length prefix has its own MAC, so a corrupted length never makes us wait.
        let outcome = receiver.next_message();
        prop_assert!(matches!(outcome, Err(TransportError::MacFailure { .. })), "{:?}", outcome);
    }

    #[test]
    fn arbitrary_handshake_acts_never_panic(
        act in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let _ = vector_responder().process_act_one_with(&act, &responder_static());

        let mut initiator = vector_initiator();
        initiator.act_one().unwrap();
        let _ = initiator.process_act_two_with(&act, &initiator_static());

        let mut responder = vector_responder();
        responder.process_act_one_with(&bytes(ACT_ONE), &responder_static()).unwrap();
        prop_assert!(responder.process_act_three(&act).is_err());
    }
}
