//! The trusted path: what any validator replica published on `ln.gossip.valid`.
//!
//! Raw gossip is spread over the partitions of `ln.gossip.raw`, so a replica may get a
//! `channel_update` whose `channel_announcement` another replica accepted. Every replica
//! therefore follows `ln.gossip.valid` and records its records here without re-checking
//! signatures or the chain: only our own validators write that topic. Learning is idempotent
//! (a replica reads back its own output too): known channels stay as they are, updates and node
//! announcements only move forward in time.

use lnfleet_actors::contracts::ValidGossip;
use lnfleet_wire::codec::ShortChannelId;
use lnfleet_wire::message::{self, Message};
use secp256k1::PublicKey;

use super::{dedup, GossipKey, LastUpdate, Validator};
use crate::chain::ChainSource;

/// What [`Validator::learn`] or [`Validator::forget`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// A channel new to this replica: gossip parked for it or its nodes can be retried.
    Channel {
        scid: ShortChannelId,
        node_ids: [PublicKey; 2],
    },
    /// A newer update of one direction.
    Update { scid: ShortChannelId, direction: u8 },
    /// A newer node announcement.
    Node(PublicKey),
    /// A tombstone removed what it names.
    Forgotten(GossipKey),
    /// Already known, older than what is known, or for something unknown: nothing changed.
    Nothing,
}

/// A record of `ln.gossip.valid` that is not gossip (never written by a validator).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LearnError {
    #[error("valid gossip does not decode: {0}")]
    Malformed(lnfleet_wire::codec::DecodeError),
    #[error("message type {msg_type} on ln.gossip.valid is not gossip")]
    NotGossip { msg_type: u16 },
}

impl<C: ChainSource> Validator<C> {
    /// Records gossip another replica (or this one) accepted, without verifying it again.
    /// Its digest is remembered too, so the same bytes arriving raw cost no verification.
    pub fn learn(&mut self, gossip: &ValidGossip) -> Result<Learned, LearnError> {
        let message = message::decode(&gossip.message).map_err(LearnError::Malformed)?;
        self.recent.insert(dedup::digest(&gossip.message));
        let learned = match message {
            Message::ChannelAnnouncement(ann) => {
                let scid = ann.short_channel_id;
                if ann.chain_hash != self.config.chain_hash || self.channels.contains_key(&scid) {
                    return Ok(Learned::Nothing);
                }
                let node_ids = [ann.node_id_1, ann.node_id_2];
                self.insert_channel(scid, node_ids, gossip.accepted_at_ms / 1000, None);
                Learned::Channel { scid, node_ids }
            }
            Message::ChannelUpdate(update) => {
                let scid = update.short_channel_id;
                let direction = update.direction();
                let Some(channel) = self.channels.get_mut(&scid) else {
                    return Ok(Learned::Nothing);
                };
                let Some(slot) = channel.updates.get_mut(usize::from(direction)) else {
                    return Ok(Learned::Nothing);
                };
                if slot.is_some_and(|last| last.timestamp >= update.timestamp) {
                    return Ok(Learned::Nothing);
                }
                *slot = Some(LastUpdate {
                    timestamp: update.timestamp,
                    signed_hash: update.signed_hash(),
                });
                Learned::Update { scid, direction }
            }
            Message::NodeAnnouncement(ann) => {
                let Some(node) = self.nodes.get_mut(&ann.node_id) else {
                    return Ok(Learned::Nothing);
                };
                if node
                    .last_announcement
                    .is_some_and(|last| last >= ann.timestamp)
                {
                    return Ok(Learned::Nothing);
                }
                node.last_announcement = Some(ann.timestamp);
                Learned::Node(ann.node_id)
            }
            other => {
                return Err(LearnError::NotGossip {
                    msg_type: other.msg_type(),
                })
            }
        };
        Ok(learned)
    }

    /// Applies a tombstone of `ln.gossip.valid`: the key was pruned by some replica.
    /// Forgetting a channel releases its nodes (a node left without channels is dropped, as in
    /// [`Validator::prune`], without emitting tombstones of its own).
    pub fn forget(&mut self, key: GossipKey) -> Learned {
        match key {
            GossipKey::Channel(scid) => {
                let Some(channel) = self.channels.remove(&scid) else {
                    return Learned::Nothing;
                };
                let mut ignored = Vec::new();
                for node_id in channel.node_ids {
                    self.release_node(node_id, &mut ignored);
                }
            }
            GossipKey::Update(scid, direction) => {
                let slot = self
                    .channels
                    .get_mut(&scid)
                    .and_then(|channel| channel.updates.get_mut(usize::from(direction)));
                match slot {
                    Some(slot @ Some(_)) => *slot = None,
                    _ => return Learned::Nothing,
                }
            }
            GossipKey::Node(node_id) => match self.nodes.get_mut(&node_id) {
                Some(node) if node.last_announcement.is_some() => node.last_announcement = None,
                _ => return Learned::Nothing,
            },
        }
        Learned::Forgotten(key)
    }
}

#[cfg(test)]
mod tests;
