//! Signed BOLT 7 gossip over generated keys, for the tests of everything that validates, stores
//! or replays gossip.

use lnfleet_wire::address::NetAddress;
use lnfleet_wire::gossip::signing::sign_hash;
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate, NodeAnnouncement};
use lnfleet_wire::{ChainHash, ShortChannelId};
use secp256k1::{PublicKey, SecretKey, SECP256K1};

pub fn secret(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).expect("a repeated non-zero byte is a valid secret")
}

pub fn public(secret: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(SECP256K1, secret)
}

/// A channel's four secrets; the node secrets are ordered so `nodes[0]` is `node_id_1`.
pub struct SignedChannel {
    pub scid: ShortChannelId,
    pub nodes: [SecretKey; 2],
    pub bitcoin: [SecretKey; 2],
}

impl SignedChannel {
    /// Node secrets `[b; 32]` for each byte of `node_bytes`, bitcoin secrets likewise.
    pub fn new(scid: ShortChannelId, node_bytes: [u8; 2], bitcoin_bytes: [u8; 2]) -> Self {
        let mut nodes = [secret(node_bytes[0]), secret(node_bytes[1])];
        if public(&nodes[0]).serialize() > public(&nodes[1]).serialize() {
            nodes.swap(0, 1);
        }
        SignedChannel {
            scid,
            nodes,
            bitcoin: [secret(bitcoin_bytes[0]), secret(bitcoin_bytes[1])],
        }
    }

    /// Four secrets from `seed`, `seed + 1`, `seed + 2`, `seed + 3`.
    pub fn from_seed(scid: ShortChannelId, seed: u8) -> Self {
        Self::new(scid, [seed, seed + 1], [seed + 2, seed + 3])
    }

    pub fn node_id(&self, side: usize) -> PublicKey {
        public(&self.nodes[side])
    }

    /// The signed `channel_announcement` (bitcoin chain).
    pub fn announcement(&self) -> ChannelAnnouncement {
        let placeholder = sign_hash(&[1; 32], &self.nodes[0]);
        let mut ann = ChannelAnnouncement {
            node_signature_1: placeholder,
            node_signature_2: placeholder,
            bitcoin_signature_1: placeholder,
            bitcoin_signature_2: placeholder,
            features: Vec::new(),
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: self.scid,
            node_id_1: self.node_id(0),
            node_id_2: self.node_id(1),
            bitcoin_key_1: public(&self.bitcoin[0]),
            bitcoin_key_2: public(&self.bitcoin[1]),
            excess_data: Vec::new(),
        };
        self.sign(&mut ann);
        ann
    }

    /// (Re)signs `ann` with all four secrets.
    pub fn sign(&self, ann: &mut ChannelAnnouncement) {
        ann.sign_all(
            &self.nodes[0],
            &self.nodes[1],
            &self.bitcoin[0],
            &self.bitcoin[1],
        );
    }

    /// A `channel_update` for `direction`, signed by the node that direction names.
    pub fn update(&self, direction: u8, timestamp: u32, fee_base_msat: u32) -> ChannelUpdate {
        let mut update = ChannelUpdate {
            signature: sign_hash(&[1; 32], &self.nodes[0]),
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: self.scid,
            timestamp,
            message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
            channel_flags: direction,
            cltv_expiry_delta: 144,
            htlc_minimum_msat: 1_000,
            fee_base_msat,
            fee_proportional_millionths: 100 + u32::from(direction),
            htlc_maximum_msat: 4_000_000_000,
            excess_data: Vec::new(),
        };
        update.sign(&self.nodes[usize::from(direction)]);
        update
    }

    /// A signed `node_announcement` of one side, with one IPv4 address.
    pub fn node_announcement(&self, side: usize, timestamp: u32) -> NodeAnnouncement {
        let mut ann = NodeAnnouncement {
            signature: sign_hash(&[1; 32], &self.nodes[side]),
            features: Vec::new(),
            timestamp,
            node_id: self.node_id(side),
            rgb_color: [1, 2, 3],
            alias: [b'a'; 32],
            addresses: vec![NetAddress::Ipv4 {
                addr: [203, 0, 113, 7].into(),
                port: 9735,
            }],
            address_tail: Vec::new(),
            excess_data: Vec::new(),
        };
        ann.sign(&self.nodes[side]);
        ann
    }
}
