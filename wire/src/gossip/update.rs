//! `channel_update` (258): one direction's relay policy for a channel.

use secp256k1::ecdsa::Signature;
use secp256k1::{PublicKey, SecretKey};

use crate::codec::{ChainHash, DecodeError, Reader, ShortChannelId, WireMessage, WriteExt};

use super::signing::{double_sha256, sign_hash, verify_hash, SignatureError};

/// `channel_update`.
///
/// `htlc_maximum_msat` is always present: `must_be_one` (bit 0 of `message_flags`) used to
/// announce it, and the current spec makes it mandatory and tells receivers to ignore the bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelUpdate {
    pub signature: Signature,
    pub chain_hash: ChainHash,
    pub short_channel_id: ShortChannelId,
    pub timestamp: u32,
    pub message_flags: u8,
    pub channel_flags: u8,
    pub cltv_expiry_delta: u16,
    pub htlc_minimum_msat: u64,
    pub fee_base_msat: u32,
    pub fee_proportional_millionths: u32,
    pub htlc_maximum_msat: u64,
    /// Future fields after `htlc_maximum_msat`, covered by the signature.
    pub excess_data: Vec<u8>,
}

impl ChannelUpdate {
    /// `message_flags` bit 0: always set by senders, ignored by receivers.
    pub const MESSAGE_FLAG_MUST_BE_ONE: u8 = 1 << 0;
    /// `message_flags` bit 1: a private update for the peer only, never relayed.
    pub const MESSAGE_FLAG_DONT_FORWARD: u8 = 1 << 1;
    /// `channel_flags` bit 0: 0 when sent by `node_id_1`, 1 when by `node_id_2`.
    pub const CHANNEL_FLAG_DIRECTION: u8 = 1 << 0;
    /// `channel_flags` bit 1: the channel is disabled.
    pub const CHANNEL_FLAG_DISABLE: u8 = 1 << 1;

    /// 0 if `node_id_1` sent this update, 1 if `node_id_2` did.
    pub fn direction(&self) -> u8 {
        self.channel_flags & Self::CHANNEL_FLAG_DIRECTION
    }

    pub fn is_disabled(&self) -> bool {
        self.channel_flags & Self::CHANNEL_FLAG_DISABLE != 0
    }

    pub fn dont_forward(&self) -> bool {
        self.message_flags & Self::MESSAGE_FLAG_DONT_FORWARD != 0
    }

    /// The bytes the signature commits to: everything after it.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(136 + self.excess_data.len());
        self.write_signed_part(&mut out);
        out
    }

    pub fn signed_hash(&self) -> [u8; 32] {
        double_sha256(&self.signed_bytes())
    }

    /// Checks the signature against the endpoint the direction bit names: `node_id_1` and
    /// `node_id_2` come from the channel's `channel_announcement`.
    pub fn verify(
        &self,
        node_id_1: &PublicKey,
        node_id_2: &PublicKey,
    ) -> Result<(), SignatureError> {
        let signer = if self.direction() == 0 {
            node_id_1
        } else {
            node_id_2
        };
        self.verify_with(signer)
    }

    /// Checks the signature against one given key (e.g. the peer's, for a private channel).
    pub fn verify_with(&self, node_id: &PublicKey) -> Result<(), SignatureError> {
        if verify_hash(&self.signed_hash(), &self.signature, node_id) {
            Ok(())
        } else {
            Err(SignatureError::ChannelUpdate {
                scid: self.short_channel_id,
                direction: self.direction(),
            })
        }
    }

    /// Signs with the sending node's secret key.
    pub fn sign(&mut self, node_secret: &SecretKey) {
        self.signature = sign_hash(&self.signed_hash(), node_secret);
    }

    fn write_signed_part(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        out.put_u64(self.short_channel_id.0);
        out.put_u32(self.timestamp);
        out.put_u8(self.message_flags);
        out.put_u8(self.channel_flags);
        out.put_u16(self.cltv_expiry_delta);
        out.put_u64(self.htlc_minimum_msat);
        out.put_u32(self.fee_base_msat);
        out.put_u32(self.fee_proportional_millionths);
        out.put_u64(self.htlc_maximum_msat);
        out.put_bytes(&self.excess_data);
    }
}

impl WireMessage for ChannelUpdate {
    const TYPE: u16 = 258;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_signature(&self.signature);
        self.write_signed_part(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChannelUpdate {
            signature: r.read_signature()?,
            chain_hash: r.read_chain_hash()?,
            short_channel_id: r.read_short_channel_id()?,
            timestamp: r.read_u32()?,
            message_flags: r.read_u8()?,
            channel_flags: r.read_u8()?,
            cltv_expiry_delta: r.read_u16()?,
            htlc_minimum_msat: r.read_u64()?,
            fee_base_msat: r.read_u32()?,
            fee_proportional_millionths: r.read_u32()?,
            htlc_maximum_msat: r.read_u64()?,
            excess_data: r.read_rest().to_vec(),
        })
    }
}
