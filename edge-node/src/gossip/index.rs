//! A light index of the validated gossip (`ln.gossip.valid`), enough to answer peers' queries:
//! per scid the `channel_announcement` bytes and the latest `channel_update` per direction, per
//! node the latest `node_announcement`. It is not a graph: nothing here is routed over.
//!
//! The broker may or may not compact the topic, so latest-wins is applied here: an update or
//! node announcement replaces the stored one only with a strictly newer `timestamp`; the first
//! `channel_announcement` of a scid is kept. An empty record value (a tombstone) removes its key.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use lnfleet_actors::contracts::{self, ValidGossip};
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::ShortChannelId;

/// The index shared between the feed (writer) and the peer sessions (readers).
pub type SharedIndex = Arc<RwLock<GossipIndex>>;

/// A compressed node id.
pub type NodeId = [u8; 33];

/// One stored signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Exact bytes (u16 type + payload): the signatures cover them.
    pub bytes: Arc<Vec<u8>>,
    /// The message's timestamp (0 for a channel announcement).
    pub timestamp: u32,
    /// The peer it first came from (compressed key), so it is never relayed back there.
    pub origin_peer: Vec<u8>,
}

/// What the index holds for one scid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelEntry {
    pub announcement: Option<StoredMessage>,
    /// `node_id_1`, `node_id_2` of the announcement.
    pub nodes: Option<(NodeId, NodeId)>,
    /// Latest `channel_update` for direction 0 and 1.
    pub updates: [Option<StoredMessage>; 2],
}

impl ChannelEntry {
    /// The newest update timestamp, which BOLT 7 lets stand for the announcement's.
    pub fn latest_update_timestamp(&self) -> Option<u32> {
        self.updates.iter().flatten().map(|u| u.timestamp).max()
    }

    /// Per direction the timestamp of the latest update, 0 when there is none.
    pub fn update_timestamps(&self) -> (u32, u32) {
        let ts = |d: &Option<StoredMessage>| d.as_ref().map_or(0, |u| u.timestamp);
        (ts(&self.updates[0]), ts(&self.updates[1]))
    }
}

/// Why a record of `ln.gossip.valid` was not applied (the feed counts and skips it).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("record has no key")]
    MissingKey,
    #[error("key {0:?} is not c/<scid>, u/<scid>/<dir> or n/<node id>")]
    BadKey(String),
    #[error("record payload is not a ValidGossip: {0}")]
    Contract(#[from] contracts::ContractError),
    #[error("gossip message does not decode: {0}")]
    Message(#[from] lnfleet_wire::DecodeError),
    #[error("{0} is not an announcement or update")]
    NotBroadcastGossip(&'static str),
}

/// What a newly applied record means for peers following live gossip: the messages to send, in
/// order. A channel announcement is only released with (before) its first update (BOLT 7: never
/// send an announcement without an update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGossip {
    pub messages: Vec<StoredMessage>,
}

/// The index itself; plain data, driven by [`GossipIndex::apply_record`].
#[derive(Debug, Default)]
pub struct GossipIndex {
    channels: BTreeMap<ShortChannelId, ChannelEntry>,
    nodes: HashMap<NodeId, StoredMessage>,
}

/// A parsed `ln.gossip.valid` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidKey {
    Channel(ShortChannelId),
    Update(ShortChannelId, u8),
    Node(NodeId),
}

impl ValidKey {
    pub fn parse(key: &[u8]) -> Result<Self, IndexError> {
        let text = std::str::from_utf8(key)
            .map_err(|_| IndexError::BadKey(String::from_utf8_lossy(key).into_owned()))?;
        let bad = || IndexError::BadKey(text.to_owned());
        let mut parts = text.split('/');
        let parsed = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("c"), Some(scid), None, None) => {
                ValidKey::Channel(scid.parse().map_err(|_| bad())?)
            }
            (Some("u"), Some(scid), Some(dir), None) => {
                let direction = match dir {
                    "0" => 0,
                    "1" => 1,
                    _ => return Err(bad()),
                };
                ValidKey::Update(scid.parse().map_err(|_| bad())?, direction)
            }
            (Some("n"), Some(node), None, None) => {
                let bytes = hex::decode(node).map_err(|_| bad())?;
                ValidKey::Node(NodeId::try_from(bytes.as_slice()).map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        };
        Ok(parsed)
    }
}

impl GossipIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one record (`key`, `value`; an empty or missing value is a tombstone). Returns
    /// what live followers should now receive, if anything.
    pub fn apply_record(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Option<LiveGossip>, IndexError> {
        let value = value.unwrap_or_default();
        if value.is_empty() {
            let key = ValidKey::parse(key.ok_or(IndexError::MissingKey)?)?;
            self.remove(key);
            return Ok(None);
        }
        let gossip: ValidGossip = contracts::decode(value)?;
        self.apply(gossip)
    }

    /// Removes what a tombstone names.
    pub fn remove(&mut self, key: ValidKey) {
        match key {
            ValidKey::Channel(scid) => {
                self.channels.remove(&scid);
            }
            ValidKey::Update(scid, direction) => {
                if let Some(entry) = self.channels.get_mut(&scid) {
                    if let Some(slot) = entry.updates.get_mut(usize::from(direction)) {
                        *slot = None;
                    }
                }
            }
            ValidKey::Node(node) => {
                self.nodes.remove(&node);
            }
        }
    }

    /// Applies one accepted message with latest-wins.
    pub fn apply(&mut self, gossip: ValidGossip) -> Result<Option<LiveGossip>, IndexError> {
        let decoded = message::decode(&gossip.message)?;
        let stored = |timestamp| StoredMessage {
            bytes: Arc::new(gossip.message.clone()),
            timestamp,
            origin_peer: gossip.origin_peer.clone(),
        };
        match decoded {
            Message::ChannelAnnouncement(ann) => {
                let entry = self.channels.entry(ann.short_channel_id).or_default();
                if entry.announcement.is_some() {
                    return Ok(None);
                }
                entry.announcement = Some(stored(0));
                entry.nodes = Some((ann.node_id_1.serialize(), ann.node_id_2.serialize()));
                // Updates that came first (another partition order) release it now.
                let mut messages: Vec<StoredMessage> = entry.announcement.iter().cloned().collect();
                messages.extend(entry.updates.iter().flatten().cloned());
                Ok((messages.len() > 1).then_some(LiveGossip { messages }))
            }
            Message::ChannelUpdate(update) => {
                let entry = self.channels.entry(update.short_channel_id).or_default();
                let first_update = entry.updates.iter().all(Option::is_none);
                let Some(slot) = entry.updates.get_mut(usize::from(update.direction())) else {
                    return Ok(None);
                };
                if slot
                    .as_ref()
                    .is_some_and(|old| old.timestamp >= update.timestamp)
                {
                    return Ok(None);
                }
                let new = stored(update.timestamp);
                *slot = Some(new.clone());
                let mut messages = Vec::with_capacity(2);
                if first_update {
                    messages.extend(entry.announcement.iter().cloned());
                }
                messages.push(new);
                Ok(Some(LiveGossip { messages }))
            }
            Message::NodeAnnouncement(ann) => {
                let node = ann.node_id.serialize();
                if self
                    .nodes
                    .get(&node)
                    .is_some_and(|old| old.timestamp >= ann.timestamp)
                {
                    return Ok(None);
                }
                let new = stored(ann.timestamp);
                self.nodes.insert(node, new.clone());
                Ok(Some(LiveGossip {
                    messages: vec![new],
                }))
            }
            other => Err(IndexError::NotBroadcastGossip(other.name())),
        }
    }

    pub fn channel(&self, scid: ShortChannelId) -> Option<&ChannelEntry> {
        self.channels.get(&scid)
    }

    pub fn node(&self, node: &NodeId) -> Option<&StoredMessage> {
        self.nodes.get(node)
    }

    /// Whether the index holds the channel's announcement.
    pub fn has_channel(&self, scid: ShortChannelId) -> bool {
        self.channels
            .get(&scid)
            .is_some_and(|entry| entry.announcement.is_some())
    }

    /// Announced channels whose block is in `[first_block, end_block)`, in scid order.
    pub fn channels_in_blocks(
        &self,
        first_block: u64,
        end_block: u64,
    ) -> impl Iterator<Item = (ShortChannelId, &ChannelEntry)> + '_ {
        // Scids put the block in the top 24 bits; u128 keeps the shifts from overflowing.
        let low = u128::from(first_block) << 40;
        let high = (u128::from(end_block) << 40).min(u128::from(u64::MAX) + 1);
        let range = match (u64::try_from(low), u64::try_from(high.saturating_sub(1))) {
            (Ok(low), Ok(last)) if u128::from(low) < high => Some(
                self.channels
                    .range(ShortChannelId(low)..=ShortChannelId(last)),
            ),
            _ => None,
        };
        range
            .into_iter()
            .flatten()
            .filter(|(_, entry)| entry.announcement.is_some())
            .map(|(scid, entry)| (*scid, entry))
    }

    /// Every channel entry in scid order (announced or not).
    pub fn channels(&self) -> impl Iterator<Item = (ShortChannelId, &ChannelEntry)> + '_ {
        self.channels.iter().map(|(scid, entry)| (*scid, entry))
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&NodeId, &StoredMessage)> + '_ {
        self.nodes.iter()
    }

    pub fn channel_count(&self) -> usize {
        self.channels
            .values()
            .filter(|e| e.announcement.is_some())
            .count()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests;
