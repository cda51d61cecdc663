//! Signer: node set, ECDH (BOLT 8 vectors), channel keys, gossip signatures checked with the wire
//! crate's own verification, and every refusal.

use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate, NodeAnnouncement};
use lnfleet_wire::{ChainHash, ChannelId, ShortChannelId};
use proptest::prelude::*;
use secp256k1::ecdsa::Signature;
use secp256k1::{PublicKey, SecretKey, SECP256K1};

use super::*;
use crate::key_source::ExplicitKeys;
use crate::seed::Seed;

fn pubkey(hex_str: &str) -> PublicKey {
    PublicKey::from_slice(&hex::decode(hex_str).unwrap()).unwrap()
}

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn public(secret: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, secret)
}

fn derived_signer(indices: &[u32]) -> Signer {
    let seed =
        Seed::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap();
    Signer::new(KeySource::Derived(seed), indices.iter().copied()).unwrap()
}

fn placeholder_signature() -> Signature {
    Signature::from_compact(&[1; 64]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Node set

#[test]
fn a_derived_signer_serves_the_v1_node_ids_of_its_indices() {
    let signer = derived_signer(&[0, 1, 7]);
    let mut expected = vec![
        pubkey("022ab618971069d0438bb3c3f0c97173ea927e0d63949e406fc9217ad797069fa8"),
        pubkey("025502dc0d1c63b336f1083824dde55bdd57a59fd7de41a62711a6978de059da64"),
        pubkey("0271479a846af2c961282ebe7b7e1f1e96898928efe15e4ba1b3c7b833227ecac7"),
    ];
    expected.sort();
    assert_eq!(signer.node_ids(), expected);
    assert!(signer.serves(&expected[0]));
}

#[test]
fn an_explicit_index_out_of_range_is_refused() {
    let source = KeySource::Explicit(ExplicitKeys::new().with_node(secret(1)));
    assert_eq!(
        Signer::new(source, [0, 1]).unwrap_err(),
        SignerError::Key(KeyError::UnknownNodeIndex { index: 1 })
    );
}

#[test]
fn signer_debug_shows_node_ids_only() {
    let signer = Signer::explicit(ExplicitKeys::new().with_node(secret(0x21)));
    let shown = format!("{signer:?}");
    assert!(shown.contains("028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7"));
    assert!(!shown.contains(&"21".repeat(32)));
}

// ---------------------------------------------------------------------------------------------
// ECDH

#[test]
fn ecdh_matches_bolt8_handshake_vectors() {
    // BOLT 8, Appendix A, transport-initiator successful handshake.
    // Act One as the responder (ls.priv = 0x21..21) sees it: ECDH(ls.priv, re = initiator e.pub).
    let responder = Signer::explicit(ExplicitKeys::new().with_node(secret(0x21)));
    let responder_id = pubkey("028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7");
    let initiator_ephemeral =
        pubkey("036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f7");
    assert_eq!(
        hex::encode(responder.ecdh(&responder_id, &initiator_ephemeral).unwrap()),
        "1e2fb3c8fe8fb9f262f649f64d26ecf0f2c0a805a767cf02dc2d77a6ef1fdcc3"
    );
    // Act Three as the initiator (ls.priv = 0x11..11) computes it: ECDH(s.priv, re).
    let initiator = Signer::explicit(ExplicitKeys::new().with_node(secret(0x11)));
    let initiator_id = pubkey("034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa");
    let responder_ephemeral =
        hex::decode("02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27").unwrap();
    assert_eq!(
        hex::encode(
            initiator
                .ecdh_bytes(&initiator_id, &responder_ephemeral)
                .unwrap()
        ),
        "b36b6d195982c5be874d6d542dc268234379e1ae4ff1709402135b7de5cf0766"
    );
}

#[test]
fn ecdh_both_sides_agree() {
    let signer = derived_signer(&[0, 1]);
    let [a, b] = [signer.node_ids()[0], signer.node_ids()[1]];
    assert_eq!(signer.ecdh(&a, &b).unwrap(), signer.ecdh(&b, &a).unwrap());
}

#[test]
fn ecdh_refuses_unknown_nodes_and_bad_points() {
    let signer = derived_signer(&[0]);
    let node_id = signer.node_ids()[0];
    let stranger = public(&secret(5));
    assert_eq!(
        signer.ecdh(&stranger, &node_id),
        Err(SignerError::UnknownNode { node_id: stranger })
    );
    // x = 0 is not on secp256k1 (7 is not a square mod p); 0x04 needs 65 bytes.
    let mut off_curve = [0u8; 33];
    off_curve[0] = 2;
    for bad in [&off_curve[..], &[4; 33][..]] {
        assert!(matches!(
            signer.ecdh_bytes(&node_id, bad),
            Err(SignerError::InvalidInput { .. })
        ));
    }
    assert!(matches!(
        signer.ecdh_bytes(&node_id, &[]),
        Err(SignerError::InvalidInput { .. })
    ));
}

proptest! {
    #[test]
    fn ecdh_on_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..70)) {
        let signer = derived_signer(&[0]);
        let node_id = signer.node_ids()[0];
        let _ = signer.ecdh_bytes(&node_id, &bytes);
    }

    #[test]
    fn ecdh_agrees_with_the_peer_for_any_peer_key(peer_secret in any::<[u8; 32]>()) {
        let Ok(peer_secret) = SecretKey::from_slice(&peer_secret) else { return Ok(()); };
        let signer = derived_signer(&[3]);
        let node_id = signer.node_ids()[0];
        let ours = signer.ecdh(&node_id, &public(&peer_secret)).unwrap();
        let theirs = secp256k1::ecdh::SharedSecret::new(&node_id, &peer_secret).secret_bytes();
        prop_assert_eq!(ours, theirs);
    }
}

// ---------------------------------------------------------------------------------------------
// Channel keys

#[test]
fn channel_keys_are_only_given_for_our_nodes() {
    let signer = derived_signer(&[0]);
    let node_id = signer.node_ids()[0];
    let peer_id = public(&secret(9));
    let id = ChannelKeyId {
        node_id,
        peer_id,
        channel_db_id: 42,
    };
    let keys = signer.channel_public_keys(&id).unwrap();
    let secrets = signer.channel_secrets(&id).unwrap();
    assert_eq!(keys.funding_pubkey, public(&secrets.funding_key));
    assert_eq!(signer.shachain_seed(&id).unwrap(), secrets.shachain_seed);
    let foreign = ChannelKeyId {
        node_id: peer_id,
        peer_id: node_id,
        channel_db_id: 42,
    };
    assert_eq!(
        signer.channel_public_keys(&foreign),
        Err(SignerError::UnknownNode { node_id: peer_id })
    );
}

#[test]
fn explicit_channel_secrets_are_used_as_given() {
    let fixed = ChannelSecrets {
        funding_key: secret(0x30),
        revocation_base_secret: secret(0x31),
        payment_base_secret: secret(0x32),
        delayed_payment_base_secret: secret(0x33),
        htlc_base_secret: secret(0x34),
        shachain_seed: [0x35; 32],
    };
    let node_id = public(&secret(0x01));
    let id = ChannelKeyId {
        node_id,
        peer_id: public(&secret(0x02)),
        channel_db_id: 1,
    };
    let other = ChannelKeyId {
        channel_db_id: 2,
        ..id
    };
    let signer = Signer::explicit(
        ExplicitKeys::new()
            .with_node(secret(0x01))
            .with_channel(id, fixed.clone()),
    );
    assert_eq!(signer.channel_secrets(&id).unwrap(), fixed);
    assert_eq!(
        signer.channel_secrets(&other),
        Err(SignerError::Key(KeyError::UnknownChannel(Box::new(other))))
    );
    let any = Signer::explicit(
        ExplicitKeys::new()
            .with_node(secret(0x01))
            .with_any_channel(fixed.clone()),
    );
    assert_eq!(any.channel_secrets(&other).unwrap(), fixed);
}

// ---------------------------------------------------------------------------------------------
// Gossip

fn node_announcement(node_id: PublicKey) -> NodeAnnouncement {
    let mut alias = [0u8; 32];
    alias[..7].copy_from_slice(b"lnfleet");
    NodeAnnouncement {
        signature: placeholder_signature(),
        features: vec![0x08, 0x00],
        timestamp: 1_700_000_000,
        node_id,
        rgb_color: [1, 2, 3],
        alias,
        addresses: Vec::new(),
        address_tail: Vec::new(),
        excess_data: vec![0xff, 0x00],
    }
}

fn channel_update(direction: u8) -> ChannelUpdate {
    ChannelUpdate {
        signature: placeholder_signature(),
        chain_hash: ChainHash([6; 32]),
        short_channel_id: ShortChannelId(0x0001_0002_0003),
        timestamp: 1_700_000_000,
        message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
        channel_flags: direction,
        cltv_expiry_delta: 144,
        htlc_minimum_msat: 1,
        fee_base_msat: 1000,
        fee_proportional_millionths: 1,
        htlc_maximum_msat: 1_000_000_000,
        excess_data: Vec::new(),
    }
}

/// Our node and a peer, and their ids in `channel_announcement` order.
struct TwoNodes {
    signer: Signer,
    ours: PublicKey,
    peer_secret: SecretKey,
    peer: PublicKey,
}

fn two_nodes() -> TwoNodes {
    let signer = derived_signer(&[0]);
    let ours = signer.node_ids()[0];
    let peer_secret = secret(0x44);
    TwoNodes {
        signer,
        ours,
        peer_secret,
        peer: public(&peer_secret),
    }
}

fn channel_announcement(
    ours: PublicKey,
    our_bitcoin_key: PublicKey,
    peer: PublicKey,
    peer_bitcoin_key: PublicKey,
) -> ChannelAnnouncement {
    let ((node_id_1, bitcoin_key_1), (node_id_2, bitcoin_key_2)) =
        if ours.serialize() < peer.serialize() {
            ((ours, our_bitcoin_key), (peer, peer_bitcoin_key))
        } else {
            ((peer, peer_bitcoin_key), (ours, our_bitcoin_key))
        };
    ChannelAnnouncement {
        node_signature_1: placeholder_signature(),
        node_signature_2: placeholder_signature(),
        bitcoin_signature_1: placeholder_signature(),
        bitcoin_signature_2: placeholder_signature(),
        features: Vec::new(),
        chain_hash: ChainHash([6; 32]),
        short_channel_id: ShortChannelId(0x0001_0002_0003),
        node_id_1,
        node_id_2,
        bitcoin_key_1,
        bitcoin_key_2,
        excess_data: Vec::new(),
    }
}

#[test]
fn node_announcement_signature_verifies() {
    let signer = derived_signer(&[0, 1]);
    for node_id in signer.node_ids() {
        let mut announcement = node_announcement(node_id);
        announcement.signature = signer.sign_node_announcement(&announcement).unwrap();
        assert_eq!(announcement.verify(), Ok(()));
    }
}

#[test]
fn node_announcement_for_another_node_is_refused() {
    let signer = derived_signer(&[0]);
    let stranger = public(&secret(5));
    assert_eq!(
        signer.sign_node_announcement(&node_announcement(stranger)),
        Err(SignerError::UnknownNode { node_id: stranger })
    );
}

#[test]
fn channel_update_for_our_direction_verifies_and_the_other_is_refused() {
    let TwoNodes {
        signer, ours, peer, ..
    } = two_nodes();
    let our_direction = u8::from(ours.serialize() > peer.serialize());
    let mut update = channel_update(our_direction);
    update.signature = signer.sign_channel_update(&ours, &peer, &update).unwrap();
    let (node_1, node_2) = if our_direction == 0 {
        (ours, peer)
    } else {
        (peer, ours)
    };
    assert_eq!(update.verify(&node_1, &node_2), Ok(()));

    let theirs = channel_update(1 - our_direction);
    assert_eq!(
        signer.sign_channel_update(&ours, &peer, &theirs),
        Err(SignerError::WrongDirection {
            direction: 1 - our_direction
        })
    );
    assert!(matches!(
        signer.sign_channel_update(&ours, &ours, &update),
        Err(SignerError::InvalidInput { .. })
    ));
    assert_eq!(
        signer.sign_channel_update(&peer, &ours, &update),
        Err(SignerError::UnknownNode { node_id: peer })
    );
}

#[test]
fn channel_announcement_signed_by_both_sides_verifies() {
    let TwoNodes {
        signer,
        ours,
        peer_secret,
        peer,
    } = two_nodes();
    let channel = ChannelKeyId {
        node_id: ours,
        peer_id: peer,
        channel_db_id: 7,
    };
    let our_funding = signer.channel_public_keys(&channel).unwrap().funding_pubkey;
    let peer_funding_secret = secret(0x45);
    let mut announcement =
        channel_announcement(ours, our_funding, peer, public(&peer_funding_secret));

    let sigs = signer
        .sign_channel_announcement(&channel, &announcement)
        .unwrap();
    let message = signer
        .announcement_signatures(&channel, ChannelId([9; 32]), &announcement)
        .unwrap();
    assert_eq!(message.node_signature, sigs.node_signature);
    assert_eq!(message.short_channel_id, announcement.short_channel_id);
    let hash = announcement.signed_hash();
    assert_eq!(
        message.verify(&hash, &ours, &our_funding, sigs.side),
        Ok(())
    );

    // The peer's half, signed the way the peer would.
    let peer_sigs = lnfleet_wire::gossip::AnnouncementSignatures {
        channel_id: ChannelId([9; 32]),
        short_channel_id: announcement.short_channel_id,
        node_signature: lnfleet_wire::gossip::signing::sign_hash(&hash, &peer_secret),
        bitcoin_signature: lnfleet_wire::gossip::signing::sign_hash(&hash, &peer_funding_secret),
    };
    announcement.apply_signatures(sigs.side, &message);
    announcement.apply_signatures(1 - sigs.side, &peer_sigs);
    assert_eq!(announcement.verify(), Ok(()));
}

#[test]
fn channel_announcement_refusals() {
    let TwoNodes {
        signer, ours, peer, ..
    } = two_nodes();
    let channel = ChannelKeyId {
        node_id: ours,
        peer_id: peer,
        channel_db_id: 7,
    };
    let our_funding = signer.channel_public_keys(&channel).unwrap().funding_pubkey;
    let peer_funding = public(&secret(0x45));

    // Someone else's funding key on our side.
    let wrong_key = channel_announcement(ours, peer_funding, peer, peer_funding);
    assert_eq!(
        signer.sign_channel_announcement(&channel, &wrong_key),
        Err(SignerError::FundingKeyMismatch)
    );
    // The funding key of another channel of ours.
    let other_channel = ChannelKeyId {
        channel_db_id: 8,
        ..channel
    };
    let good = channel_announcement(ours, our_funding, peer, peer_funding);
    assert_eq!(
        signer.sign_channel_announcement(&other_channel, &good),
        Err(SignerError::FundingKeyMismatch)
    );
    // A channel between other nodes, or with another peer.
    let stranger = public(&secret(0x46));
    let elsewhere = channel_announcement(stranger, our_funding, peer, peer_funding);
    assert!(matches!(
        signer.sign_channel_announcement(&channel, &elsewhere),
        Err(SignerError::NotOurChannel { .. })
    ));
    let other_peer = channel_announcement(ours, our_funding, stranger, peer_funding);
    assert!(matches!(
        signer.sign_channel_announcement(&channel, &other_peer),
        Err(SignerError::NotOurChannel { .. })
    ));
    // Node ids out of order.
    let mut swapped = good.clone();
    std::mem::swap(&mut swapped.node_id_1, &mut swapped.node_id_2);
    std::mem::swap(&mut swapped.bitcoin_key_1, &mut swapped.bitcoin_key_2);
    assert!(matches!(
        signer.sign_channel_announcement(&channel, &swapped),
        Err(SignerError::InvalidInput { .. })
    ));
    // A node we do not serve.
    let theirs = ChannelKeyId {
        node_id: peer,
        peer_id: ours,
        channel_db_id: 7,
    };
    assert_eq!(
        signer.sign_channel_announcement(&theirs, &good),
        Err(SignerError::UnknownNode { node_id: peer })
    );
}

fn arb_pubkey() -> impl Strategy<Value = PublicKey> {
    // [0xff; 32] is above the group order.
    (1u8..=254).prop_map(|b| public(&secret(b)))
}

proptest! {
    /// Whatever keys an announcement names, signing either succeeds with signatures that verify
    /// or is a typed refusal; it never panics.
    #[test]
    fn channel_announcement_with_any_keys_is_signed_or_refused(
        node_1 in arb_pubkey(), node_2 in arb_pubkey(),
        key_1 in arb_pubkey(), key_2 in arb_pubkey(),
        include_ours in any::<bool>(),
        db_id in 0u64..3,
    ) {
        let TwoNodes { signer, ours, peer, .. } = two_nodes();
        let channel = ChannelKeyId { node_id: ours, peer_id: peer, channel_db_id: db_id };
        let mut announcement = channel_announcement(node_1, key_1, node_2, key_2);
        if include_ours {
            let funding = signer.channel_public_keys(&ChannelKeyId { channel_db_id: 0, ..channel }).unwrap().funding_pubkey;
            announcement = channel_announcement(ours, funding, peer, key_2);
        }
        match signer.sign_channel_announcement(&channel, &announcement) {
            Ok(sigs) => {
                let message = lnfleet_wire::gossip::AnnouncementSignatures {
                    channel_id: ChannelId([0; 32]),
                    short_channel_id: announcement.short_channel_id,
                    node_signature: sigs.node_signature,
                    bitcoin_signature: sigs.bitcoin_signature,
                };
                let funding = signer.channel_public_keys(&channel).unwrap().funding_pubkey;
                prop_assert_eq!(message.verify(&announcement.signed_hash(), &ours, &funding, sigs.side), Ok(()));
            }
            Err(SignerError::NotOurChannel { .. })
            | Err(SignerError::FundingKeyMismatch)
            | Err(SignerError::InvalidInput { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected refusal {other}"),
        }
    }
}
