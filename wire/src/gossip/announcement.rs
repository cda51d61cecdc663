//! `channel_announcement` (256), `node_announcement` (257) and `announcement_signatures` (259).

use std::fmt;

use secp256k1::ecdsa::Signature;
use secp256k1::{PublicKey, SecretKey};

use crate::address::NetAddress;
use crate::codec::{
    ChainHash, ChannelId, DecodeError, Reader, ShortChannelId, WireMessage, WriteExt,
};

use super::signing::{double_sha256, sign_hash, verify_hash, SignatureError};

/// Which of the four `channel_announcement` signatures (or which key) is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelAnnouncementSigner {
    Node1,
    Node2,
    Bitcoin1,
    Bitcoin2,
}

impl fmt::Display for ChannelAnnouncementSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelAnnouncementSigner::Node1 => "node_signature_1",
            ChannelAnnouncementSigner::Node2 => "node_signature_2",
            ChannelAnnouncementSigner::Bitcoin1 => "bitcoin_signature_1",
            ChannelAnnouncementSigner::Bitcoin2 => "bitcoin_signature_2",
        })
    }
}

/// `channel_announcement`: ties two node ids to the two funding keys of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAnnouncement {
    pub node_signature_1: Signature,
    pub node_signature_2: Signature,
    pub bitcoin_signature_1: Signature,
    pub bitcoin_signature_2: Signature,
    /// BOLT 9 channel feature bits, big-endian bytes as on the wire.
    pub features: Vec<u8>,
    pub chain_hash: ChainHash,
    pub short_channel_id: ShortChannelId,
    /// The lexicographically lesser of the two compressed node ids.
    pub node_id_1: PublicKey,
    pub node_id_2: PublicKey,
    pub bitcoin_key_1: PublicKey,
    pub bitcoin_key_2: PublicKey,
    /// Future fields after `bitcoin_key_2`: kept because the signatures cover them.
    pub excess_data: Vec<u8>,
}

impl ChannelAnnouncement {
    /// The bytes the four signatures commit to: everything after them.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_signed_part(&mut out);
        out
    }

    pub fn signed_hash(&self) -> [u8; 32] {
        double_sha256(&self.signed_bytes())
    }

    /// Checks all four signatures; the error names the first that fails.
    pub fn verify(&self) -> Result<(), SignatureError> {
        let hash = self.signed_hash();
        let checks = [
            (
                ChannelAnnouncementSigner::Node1,
                &self.node_signature_1,
                &self.node_id_1,
            ),
            (
                ChannelAnnouncementSigner::Node2,
                &self.node_signature_2,
                &self.node_id_2,
            ),
            (
                ChannelAnnouncementSigner::Bitcoin1,
                &self.bitcoin_signature_1,
                &self.bitcoin_key_1,
            ),
            (
                ChannelAnnouncementSigner::Bitcoin2,
                &self.bitcoin_signature_2,
                &self.bitcoin_key_2,
            ),
        ];
        for (signer, sig, key) in checks {
            if !verify_hash(&hash, sig, key) {
                return Err(SignatureError::ChannelAnnouncement {
                    scid: self.short_channel_id,
                    signer,
                });
            }
        }
        Ok(())
    }

    /// Signs with all four secrets (tests, and a signer holding both sides).
    pub fn sign_all(
        &mut self,
        node_secret_1: &SecretKey,
        node_secret_2: &SecretKey,
        bitcoin_secret_1: &SecretKey,
        bitcoin_secret_2: &SecretKey,
    ) {
        let hash = self.signed_hash();
        self.node_signature_1 = sign_hash(&hash, node_secret_1);
        self.node_signature_2 = sign_hash(&hash, node_secret_2);
        self.bitcoin_signature_1 = sign_hash(&hash, bitcoin_secret_1);
        self.bitcoin_signature_2 = sign_hash(&hash, bitcoin_secret_2);
    }

    /// Fills in the two signatures of one side from its `announcement_signatures`.
    pub fn apply_signatures(&mut self, side: u8, sigs: &AnnouncementSignatures) {
        if side == 0 {
            self.node_signature_1 = sigs.node_signature;
            self.bitcoin_signature_1 = sigs.bitcoin_signature;
        } else {
            self.node_signature_2 = sigs.node_signature;
            self.bitcoin_signature_2 = sigs.bitcoin_signature;
        }
    }

    fn write_signed_part(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed(&self.features);
        out.put_bytes(&self.chain_hash.0);
        out.put_u64(self.short_channel_id.0);
        out.put_pubkey(&self.node_id_1);
        out.put_pubkey(&self.node_id_2);
        out.put_pubkey(&self.bitcoin_key_1);
        out.put_pubkey(&self.bitcoin_key_2);
        out.put_bytes(&self.excess_data);
    }
}

impl WireMessage for ChannelAnnouncement {
    const TYPE: u16 = 256;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_signature(&self.node_signature_1);
        out.put_signature(&self.node_signature_2);
        out.put_signature(&self.bitcoin_signature_1);
        out.put_signature(&self.bitcoin_signature_2);
        self.write_signed_part(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChannelAnnouncement {
            node_signature_1: r.read_signature()?,
            node_signature_2: r.read_signature()?,
            bitcoin_signature_1: r.read_signature()?,
            bitcoin_signature_2: r.read_signature()?,
            features: r.read_u16_prefixed()?.to_vec(),
            chain_hash: r.read_chain_hash()?,
            short_channel_id: r.read_short_channel_id()?,
            node_id_1: r.read_pubkey()?,
            node_id_2: r.read_pubkey()?,
            bitcoin_key_1: r.read_pubkey()?,
            bitcoin_key_2: r.read_pubkey()?,
            excess_data: r.read_rest().to_vec(),
        })
    }
}

/// `announcement_signatures`: one side's two signatures for the channel's announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementSignatures {
    pub channel_id: ChannelId,
    pub short_channel_id: ShortChannelId,
    pub node_signature: Signature,
    pub bitcoin_signature: Signature,
}

impl AnnouncementSignatures {
    /// Checks both signatures against the announcement they are for (its `signed_hash`).
    pub fn verify(
        &self,
        announcement_hash: &[u8; 32],
        node_id: &PublicKey,
        bitcoin_key: &PublicKey,
        side: u8,
    ) -> Result<(), SignatureError> {
        let (node_signer, bitcoin_signer) = if side == 0 {
            (
                ChannelAnnouncementSigner::Node1,
                ChannelAnnouncementSigner::Bitcoin1,
            )
        } else {
            (
                ChannelAnnouncementSigner::Node2,
                ChannelAnnouncementSigner::Bitcoin2,
            )
        };
        let fail = |signer| SignatureError::AnnouncementSignatures {
            scid: self.short_channel_id,
            signer,
        };
        if !verify_hash(announcement_hash, &self.node_signature, node_id) {
            return Err(fail(node_signer));
        }
        if !verify_hash(announcement_hash, &self.bitcoin_signature, bitcoin_key) {
            return Err(fail(bitcoin_signer));
        }
        Ok(())
    }
}

impl WireMessage for AnnouncementSignatures {
    const TYPE: u16 = 259;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.short_channel_id.0);
        out.put_signature(&self.node_signature);
        out.put_signature(&self.bitcoin_signature);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AnnouncementSignatures {
            channel_id: r.read_channel_id()?,
            short_channel_id: r.read_short_channel_id()?,
            node_signature: r.read_signature()?,
            bitcoin_signature: r.read_signature()?,
        })
    }
}

/// Why a (correctly signed) `node_announcement` breaks a receiver rule of BOLT 7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeAnnouncementError {
    /// `addrlen` cuts a descriptor of a known type short, or its body is invalid (a hostname
    /// that is not printable ASCII): the spec says SHOULD send a `warning`.
    #[error("address descriptor of known type {descriptor_type} is truncated or malformed")]
    MalformedAddress { descriptor_type: u8 },
    /// More than one type 5 descriptor: MUST NOT forward the announcement.
    #[error("more than one DNS hostname announced")]
    MultipleHostnames,
}

/// `node_announcement`: a node's alias, colour, features and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAnnouncement {
    pub signature: Signature,
    pub features: Vec<u8>,
    pub timestamp: u32,
    pub node_id: PublicKey,
    pub rgb_color: [u8; 3],
    pub alias: [u8; 32],
    /// Descriptors parsed in order, up to the first one of an unknown type or that fails to parse.
    pub addresses: Vec<NetAddress>,
    /// The rest of the `addresses` field from that point, unparsed, so re-encoding is exact.
    pub address_tail: Vec<u8>,
    /// Future fields after `addresses`, covered by the signature.
    pub excess_data: Vec<u8>,
}

impl NodeAnnouncement {
    /// The alias for display: trailing NULs dropped, invalid UTF-8 and control characters
    /// replaced by U+FFFD (aliases are attacker-chosen; callers still escape for their medium).
    pub fn alias_str(&self) -> String {
        let end = self
            .alias
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        String::from_utf8_lossy(&self.alias[..end])
            .chars()
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect()
    }

    /// Checks the receiver rules on the address list (BOLT 7 `node_announcement` requirements).
    pub fn validate(&self) -> Result<(), NodeAnnouncementError> {
        if let Some(&kind @ 1..=5) = self.address_tail.first() {
            return Err(NodeAnnouncementError::MalformedAddress {
                descriptor_type: kind,
            });
        }
        let hostnames = self
            .addresses
            .iter()
            .filter(|a| matches!(a, NetAddress::Hostname { .. }))
            .count();
        if hostnames > 1 {
            return Err(NodeAnnouncementError::MultipleHostnames);
        }
        Ok(())
    }

    /// Addresses worth connecting to: the spec says to ignore port 0 (for IP and DNS entries) and
    /// Tor v2 services.
    pub fn usable_addresses(&self) -> impl Iterator<Item = &NetAddress> {
        self.addresses.iter().filter(|a| match a {
            NetAddress::TorV2 { .. } => false,
            NetAddress::TorV3 { .. } => true,
            other => other.port() != 0,
        })
    }

    /// The bytes the signature commits to: everything after it.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_signed_part(&mut out);
        out
    }

    pub fn signed_hash(&self) -> [u8; 32] {
        double_sha256(&self.signed_bytes())
    }

    /// Checks the signature against `node_id`.
    pub fn verify(&self) -> Result<(), SignatureError> {
        if verify_hash(&self.signed_hash(), &self.signature, &self.node_id) {
            Ok(())
        } else {
            Err(SignatureError::NodeAnnouncement {
                node_id: self.node_id,
            })
        }
    }

    /// Signs with the node's secret key (which should match `node_id`).
    pub fn sign(&mut self, node_secret: &SecretKey) {
        self.signature = sign_hash(&self.signed_hash(), node_secret);
    }

    fn write_signed_part(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed(&self.features);
        out.put_u32(self.timestamp);
        out.put_pubkey(&self.node_id);
        out.put_bytes(&self.rgb_color);
        out.put_bytes(&self.alias);
        let mut addresses = Vec::new();
        for addr in &self.addresses {
            addr.write(&mut addresses);
        }
        addresses.put_bytes(&self.address_tail);
        out.put_u16_prefixed(&addresses);
        out.put_bytes(&self.excess_data);
    }
}

/// Parses descriptors until the first unknown or malformed one; returns the rest opaque.
fn read_addresses(raw: &[u8]) -> (Vec<NetAddress>, Vec<u8>) {
    let mut r = Reader::new(raw);
    let mut addresses = Vec::new();
    loop {
        let mut attempt = r.clone();
        match NetAddress::read(&mut attempt) {
            Ok(Some(addr)) => {
                addresses.push(addr);
                r = attempt;
            }
            Ok(None) | Err(_) => return (addresses, r.read_rest().to_vec()),
        }
        if r.is_empty() {
            return (addresses, Vec::new());
        }
    }
}

impl WireMessage for NodeAnnouncement {
    const TYPE: u16 = 257;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_signature(&self.signature);
        self.write_signed_part(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let signature = r.read_signature()?;
        let features = r.read_u16_prefixed()?.to_vec();
        let timestamp = r.read_u32()?;
        let node_id = r.read_pubkey()?;
        let rgb_color = r.read_array()?;
        let alias = r.read_array()?;
        let (addresses, address_tail) = read_addresses(r.read_u16_prefixed()?);
        Ok(NodeAnnouncement {
            signature,
            features,
            timestamp,
            node_id,
            rgb_color,
            alias,
            addresses,
            address_tail,
            excess_data: r.read_rest().to_vec(),
        })
    }
}
