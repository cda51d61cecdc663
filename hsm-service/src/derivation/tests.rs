//! Fixed vectors of scheme v1. They were computed from the scheme as written in the module doc
//! (an independent Python HKDF-SHA256, not this code), and are repeated in `hsm-service/KEYS.md`.
//! If one fails, derivation changed: every node id and channel key of every deployed HSM would
//! change with it.

use super::*;
use proptest::prelude::*;

const SEED_32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SEED_64: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
                       202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
/// BOLT 8's responder static key: any fixed peer id would do.
const PEER: &str = "028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7";

struct Vector {
    seed: &'static str,
    /// (index, secret, node id)
    nodes: [(u32, &'static str, &'static str); 3],
    /// Channel (node 0, PEER, db id 42): funding, revocation, payment, delayed, htlc, shachain.
    channel: [&'static str; 6],
}

const VECTORS: [Vector; 2] = [
    Vector {
        seed: SEED_32,
        nodes: [
            (
                0,
                "09cce1b1637848667dfc4d4fa0fa63ba1bbcc0d3d73044dde178391c5e5da67f",
                "022ab618971069d0438bb3c3f0c97173ea927e0d63949e406fc9217ad797069fa8",
            ),
            (
                1,
                "55cebae8ba2d8c838a5d90046bd111fe5767dd21e26caf2faae9a116c7f87947",
                "025502dc0d1c63b336f1083824dde55bdd57a59fd7de41a62711a6978de059da64",
            ),
            (
                7,
                "4ce2fe200db2754c34f1345155dbfd14a09fc8fe2b4fcaa1ff85efc761977ee0",
                "0271479a846af2c961282ebe7b7e1f1e96898928efe15e4ba1b3c7b833227ecac7",
            ),
        ],
        channel: [
            "c34e0964cb299050d560474f555e731dd6e8ecfd65491683e7b1e2784f033de2",
            "401f9e45343ccccf2b351ff7904b6cb5bbd797f9fef829005fd5f5c8fe804c73",
            "b81b5cc08060f4699a2e092aee66fc315a9f500e67084bb7877ea8253718a4ef",
            "60c9bf8776b62f3cd467a5091390710860fa6f711ce3a2ddcc36059caf8f6595",
            "303d99a39067b341d9502cb5bc7d8cdf081005d06e0a1f00996aa4bf6ae8f021",
            "bdcd388c02b32a69b6c3b9ff7d8327192465d0c4fc79b1e1a26f56f97b5e7f03",
        ],
    },
    Vector {
        seed: SEED_64,
        nodes: [
            (
                0,
                "b4e12ac8f355f007b04f95089368b898f9190038e355847492b682bcf8bcaae7",
                "0296f63cca6ee9ea01ae390bfd4dfec896f67ec28057bcb24b7339b50f980fc2ef",
            ),
            (
                1,
                "b16ec2f88f0230b9bb3e50b397b7e23e64175e9cefb6be5f77aa9201d8eff0ca",
                "02db5764a211c89a5523f1ab8d0d22c97a0dc2d53bb58de6eb1d267bf320caa203",
            ),
            (
                7,
                "8bc1025a5275bca50a172f927845984e4e931bf2eb9708beedc92215729d3b17",
                "0360bdd3318181adca2b57103184a5ae66d6df852cbafc44cfee94da7c375fac00",
            ),
        ],
        channel: [
            "407292d73e3318aa4c2b0228966f010bab951c475def3be85e0b3f70d90de02c",
            "eebf7135887265aa49017ca5877262cc719db6bb898bff912c4057884e853f07",
            "d6ac3dfe6135071d812a439969ccdcf7290dbb2dcedaa2dbfb50634a10dadb3b",
            "5f0a80a413b7c95adda1486faefeeaf2296a55dd62be82bb80fe4820b7f4db7a",
            "e29c059ef554333d464830ec954b975cc89181d8a9c1d9430dfb53924de4c814",
            "c824811a5f78d5f8575e122312361d4610fa9fe3bfbdc455c8e4b690693309ba",
        ],
    },
];

fn pubkey(hex_str: &str) -> PublicKey {
    PublicKey::from_slice(&hex::decode(hex_str).unwrap()).unwrap()
}

#[test]
fn node_keys_match_the_v1_vectors() {
    for vector in &VECTORS {
        let derivation = Derivation::new(&Seed::from_hex(vector.seed).unwrap());
        for (index, secret, node_id) in vector.nodes {
            let key = derivation.node_secret(index);
            assert_eq!(hex::encode(key.secret_bytes()), secret, "node {index}");
            assert_eq!(
                PublicKey::from_secret_key(SECP256K1, &key),
                pubkey(node_id),
                "node {index}"
            );
        }
    }
}

#[test]
fn channel_secrets_match_the_v1_vectors() {
    for vector in &VECTORS {
        let derivation = Derivation::new(&Seed::from_hex(vector.seed).unwrap());
        let id = ChannelKeyId {
            node_id: pubkey(vector.nodes[0].2),
            peer_id: pubkey(PEER),
            channel_db_id: 42,
        };
        let secrets = derivation.channel_secrets(&id);
        let got = [
            hex::encode(secrets.funding_key.secret_bytes()),
            hex::encode(secrets.revocation_base_secret.secret_bytes()),
            hex::encode(secrets.payment_base_secret.secret_bytes()),
            hex::encode(secrets.delayed_payment_base_secret.secret_bytes()),
            hex::encode(secrets.htlc_base_secret.secret_bytes()),
            hex::encode(secrets.shachain_seed),
        ];
        assert_eq!(got, vector.channel.map(str::to_owned));
    }
}

#[test]
fn channel_secrets_debug_is_redacted() {
    let derivation = Derivation::new(&Seed::from_hex(SEED_32).unwrap());
    let id = ChannelKeyId {
        node_id: pubkey(PEER),
        peer_id: pubkey(PEER),
        channel_db_id: 1,
    };
    let secrets = derivation.channel_secrets(&id);
    let shown = format!("{secrets:?} {derivation:?}");
    assert!(!shown.contains(&hex::encode(secrets.funding_key.secret_bytes())));
    assert!(!shown.contains(&hex::encode(secrets.shachain_seed)));
    assert!(shown.contains("redacted"));
}

proptest! {
    #[test]
    fn every_field_of_the_channel_id_changes_every_secret(
        db_id in any::<u64>(),
        other_db_id in any::<u64>(),
    ) {
        prop_assume!(db_id != other_db_id);
        let derivation = Derivation::new(&Seed::from_hex(SEED_32).unwrap());
        let node_id = PublicKey::from_secret_key(SECP256K1, &derivation.node_secret(0));
        let id = ChannelKeyId { node_id, peer_id: pubkey(PEER), channel_db_id: db_id };
        let a = derivation.channel_secrets(&id);
        let b = derivation.channel_secrets(&ChannelKeyId { channel_db_id: other_db_id, ..id });
        let c = derivation.channel_secrets(&ChannelKeyId { node_id: pubkey(PEER), peer_id: node_id, ..id });
        for other in [&b, &c] {
            prop_assert_ne!(a.funding_key, other.funding_key);
            prop_assert_ne!(a.htlc_base_secret, other.htlc_base_secret);
            prop_assert_ne!(a.shachain_seed, other.shachain_seed);
        }
        // The six secrets of one channel are all different.
        let keys = [a.funding_key, a.revocation_base_secret, a.payment_base_secret,
                    a.delayed_payment_base_secret, a.htlc_base_secret];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                prop_assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn any_seed_derives_without_panicking(seed in proptest::collection::vec(any::<u8>(), 32..=64), index in any::<u32>()) {
        let derivation = Derivation::new(&Seed::from_bytes(&seed).unwrap());
        let _ = derivation.node_secret(index);
    }
}
