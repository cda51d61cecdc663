//! BOLT 7 gossip signatures. The signer checks that each message is one its node may sign (its
//! own node id, its own side of the channel, its own funding key) before signing the message's
//! `signed_hash()`; the caller puts the signature into the message.

use lnfleet_wire::gossip::signing::sign_hash;
use lnfleet_wire::gossip::{
    AnnouncementSignatures, ChannelAnnouncement, ChannelUpdate, NodeAnnouncement,
};
use lnfleet_wire::ChannelId;
use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;

use super::{Signer, SignerError};
use crate::derivation::ChannelKeyId;

/// Our two signatures for a `channel_announcement`, and which side (0: `node_id_1`) they fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelAnnouncementSignatures {
    pub side: u8,
    pub node_signature: Signature,
    pub bitcoin_signature: Signature,
}

/// BOLT 7: `node_id_1` is the node whose compressed key is lexicographically lesser; its
/// `channel_update`s carry direction 0.
fn direction_of(node_id: &PublicKey, peer_id: &PublicKey) -> u8 {
    if node_id.serialize() < peer_id.serialize() {
        0
    } else {
        1
    }
}

impl Signer {
    /// Signs a `node_announcement` for one of our nodes (the message's `node_id`).
    pub fn sign_node_announcement(
        &self,
        announcement: &NodeAnnouncement,
    ) -> Result<Signature, SignerError> {
        let secret = self.node_secret(&announcement.node_id)?;
        Ok(sign_hash(&announcement.signed_hash(), secret))
    }

    /// Signs `node_id`'s `channel_update` for its channel with `peer_id`: the update's direction
    /// bit must be `node_id`'s side.
    pub fn sign_channel_update(
        &self,
        node_id: &PublicKey,
        peer_id: &PublicKey,
        update: &ChannelUpdate,
    ) -> Result<Signature, SignerError> {
        let secret = self.node_secret(node_id)?;
        if node_id == peer_id {
            return Err(SignerError::InvalidInput {
                what: "a channel's peer cannot be the node itself",
            });
        }
        if update.direction() != direction_of(node_id, peer_id) {
            return Err(SignerError::WrongDirection {
                direction: update.direction(),
            });
        }
        Ok(sign_hash(&update.signed_hash(), secret))
    }

    /// Signs our side of a `channel_announcement` with the node key and the channel's funding
    /// key, after checking that the announcement joins exactly our node and the peer and that
    /// our bitcoin key is our funding key.
    pub fn sign_channel_announcement(
        &self,
        channel: &ChannelKeyId,
        announcement: &ChannelAnnouncement,
    ) -> Result<ChannelAnnouncementSignatures, SignerError> {
        let node_secret = *self.node_secret(&channel.node_id)?;
        if announcement.node_id_1.serialize() >= announcement.node_id_2.serialize() {
            return Err(SignerError::InvalidInput {
                what: "channel_announcement node ids are not in ascending order",
            });
        }
        let (side, our_bitcoin_key) = if announcement.node_id_1 == channel.node_id
            && announcement.node_id_2 == channel.peer_id
        {
            (0, announcement.bitcoin_key_1)
        } else if announcement.node_id_2 == channel.node_id
            && announcement.node_id_1 == channel.peer_id
        {
            (1, announcement.bitcoin_key_2)
        } else {
            return Err(SignerError::NotOurChannel {
                reason: "channel_announcement does not join our node and the channel's peer",
            });
        };
        let secrets = self.channel_secrets(channel)?;
        if secrets.public_keys().funding_pubkey != our_bitcoin_key {
            return Err(SignerError::FundingKeyMismatch);
        }
        let hash = announcement.signed_hash();
        Ok(ChannelAnnouncementSignatures {
            side,
            node_signature: sign_hash(&hash, &node_secret),
            bitcoin_signature: sign_hash(&hash, &secrets.funding_key),
        })
    }

    /// The `announcement_signatures` message our node sends its peer for `announcement`.
    pub fn announcement_signatures(
        &self,
        channel: &ChannelKeyId,
        channel_id: ChannelId,
        announcement: &ChannelAnnouncement,
    ) -> Result<AnnouncementSignatures, SignerError> {
        let sigs = self.sign_channel_announcement(channel, announcement)?;
        Ok(AnnouncementSignatures {
            channel_id,
            short_channel_id: announcement.short_channel_id,
            node_signature: sigs.node_signature,
            bitcoin_signature: sigs.bitcoin_signature,
        })
    }
}
