//! Latest-wins bookkeeping for `ln.gossip.valid`, kept apart from Kafka so tests drive it
//! directly: records go in one at a time, the graph comes out.
//!
//! The broker may or may not compact the topic, so the replica decides itself which record
//! wins: per half-channel the highest `timestamp`; an update with a timestamp older than or
//! equal to the stored one is ignored. A `channel_announcement` has no timestamp; the first one
//! for a scid is kept.
//!
//! # Capacity
//!
//! The funding amount is not in the gossip (it is in the funding output, which the validator
//! looked up but does not publish), and [`Graph::add_channel`] fixes the capacity once. So a
//! channel enters the graph when it has its announcement AND its first `channel_update`, with
//! capacity = the largest `htlc_maximum_msat` known then (rounded up to sats): a half without an
//! update is unusable anyway, and `htlc_maximum_msat` is bounded by the capacity in BOLT 7, so
//! this is a lower bound the router can rely on. A later update raising `htlc_maximum_msat`
//! does not raise it (the graph has no capacity setter yet).

use std::collections::HashMap;

use lnfleet_actors::contracts::{self, ValidGossip};
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate};
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::ShortChannelId;

use crate::graph::{ChannelParams, Graph, GraphError};

/// What applying one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A channel announcement (added to the graph now or once an update comes).
    Announcement(ShortChannelId),
    /// A channel update newer than what was known.
    Update { scid: ShortChannelId, direction: u8 },
    /// A channel update not newer than the stored one: ignored.
    Stale { scid: ShortChannelId, direction: u8 },
    /// A tombstone for `c/<scid>`: both halves disabled for good.
    ChannelClosed(ShortChannelId),
    /// A tombstone for `u/<scid>/<dir>`: that half disabled until a newer update.
    HalfRemoved { scid: ShortChannelId, direction: u8 },
    /// Node announcements and tombstones of keys the graph does not hold.
    Ignored,
}

/// Why a record could not be applied (the replay logs and counts it, then goes on).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("record has no key")]
    MissingKey,
    #[error("tombstone key {0:?} is not c/<scid> or u/<scid>/<dir>")]
    BadTombstoneKey(String),
    #[error("record payload is not a ValidGossip: {0}")]
    Contract(String),
    #[error("gossip message does not decode: {0}")]
    Message(String),
    #[error("graph refused the record: {0}")]
    Graph(#[from] GraphError),
}

/// The newest `channel_update` of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HalfState {
    timestamp: u32,
    params: ChannelParams,
    disabled: bool,
}

#[derive(Debug, Clone, Default)]
struct ChannelState {
    /// `node_id_1`, `node_id_2` from the announcement.
    nodes: Option<([u8; 33], [u8; 33])>,
    halves: [Option<HalfState>; 2],
    closed: bool,
    in_graph: bool,
}

/// Per-scid latest-wins state of the replay.
#[derive(Debug, Default)]
pub struct ReplayState {
    channels: HashMap<ShortChannelId, ChannelState>,
}

impl ReplayState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one record of `ln.gossip.valid` (key, payload; an empty or missing payload is a
    /// tombstone) to `graph`.
    pub fn apply_record(
        &mut self,
        graph: &mut Graph,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
    ) -> Result<Applied, ApplyError> {
        match payload {
            Some(bytes) if !bytes.is_empty() => {
                let gossip = contracts::decode::<ValidGossip>(bytes)
                    .map_err(|e| ApplyError::Contract(e.to_string()))?;
                self.apply_gossip(graph, &gossip)
            }
            _ => self.apply_tombstone(graph, key.ok_or(ApplyError::MissingKey)?),
        }
    }

    /// Applies one accepted gossip message. Its own fields decide the key (scid, direction),
    /// not the Kafka key.
    pub fn apply_gossip(
        &mut self,
        graph: &mut Graph,
        gossip: &ValidGossip,
    ) -> Result<Applied, ApplyError> {
        match message::decode(&gossip.message).map_err(|e| ApplyError::Message(e.to_string()))? {
            Message::ChannelAnnouncement(ann) => self.apply_announcement(graph, &ann),
            Message::ChannelUpdate(update) => self.apply_update(graph, &update),
            _ => Ok(Applied::Ignored),
        }
    }

    fn apply_announcement(
        &mut self,
        graph: &mut Graph,
        ann: &ChannelAnnouncement,
    ) -> Result<Applied, ApplyError> {
        let scid = ann.short_channel_id;
        let channel = self.channels.entry(scid).or_default();
        channel
            .nodes
            .get_or_insert((ann.node_id_1.serialize(), ann.node_id_2.serialize()));
        self.sync(graph, scid)?;
        Ok(Applied::Announcement(scid))
    }

    fn apply_update(
        &mut self,
        graph: &mut Graph,
        update: &ChannelUpdate,
    ) -> Result<Applied, ApplyError> {
        let scid = update.short_channel_id;
        let direction = update.direction();
        let channel = self.channels.entry(scid).or_default();
        let Some(half) = channel.halves.get_mut(usize::from(direction)) else {
            return Err(GraphError::BadDirection(direction).into());
        };
        if half.is_some_and(|known| update.timestamp <= known.timestamp) {
            return Ok(Applied::Stale { scid, direction });
        }
        *half = Some(HalfState {
            timestamp: update.timestamp,
            params: ChannelParams {
                fee_base_msat: update.fee_base_msat,
                fee_proportional_millionths: update.fee_proportional_millionths,
                cltv_expiry_delta: update.cltv_expiry_delta,
                htlc_minimum_msat: update.htlc_minimum_msat,
                htlc_maximum_msat: update.htlc_maximum_msat,
            },
            disabled: update.is_disabled(),
        });
        self.sync(graph, scid)?;
        Ok(Applied::Update { scid, direction })
    }

    fn apply_tombstone(&mut self, graph: &mut Graph, key: &[u8]) -> Result<Applied, ApplyError> {
        let bad_key = || ApplyError::BadTombstoneKey(String::from_utf8_lossy(key).into_owned());
        let key_str = std::str::from_utf8(key).map_err(|_| bad_key())?;
        let mut parts = key_str.split('/');
        let kind = parts.next();
        let scid = parts.next().and_then(|s| s.parse::<ShortChannelId>().ok());
        let direction = parts.next();
        match (kind, scid, direction) {
            (Some("c"), Some(scid), None) => {
                self.channels.entry(scid).or_default().closed = true;
                self.sync(graph, scid)?;
                Ok(Applied::ChannelClosed(scid))
            }
            (Some("u"), Some(scid), Some(dir @ ("0" | "1"))) => {
                let direction = u8::from(dir == "1");
                let channel = self.channels.entry(scid).or_default();
                if let Some(Some(half)) = channel.halves.get_mut(usize::from(direction)) {
                    // Keep the timestamp: an older update replayed later must still lose.
                    half.disabled = true;
                }
                self.sync(graph, scid)?;
                Ok(Applied::HalfRemoved { scid, direction })
            }
            (Some("n"), _, _) => Ok(Applied::Ignored),
            _ => Err(bad_key()),
        }
    }

    /// Brings the graph's copy of `scid` in line with the state.
    fn sync(&mut self, graph: &mut Graph, scid: ShortChannelId) -> Result<(), GraphError> {
        let Some(channel) = self.channels.get_mut(&scid) else {
            return Ok(());
        };
        if channel.closed {
            if channel.in_graph {
                graph.disable(scid, 0)?;
                graph.disable(scid, 1)?;
            }
            return Ok(());
        }
        if !channel.in_graph {
            let Some((node_1, node_2)) = channel.nodes else {
                return Ok(());
            };
            let Some(max_htlc_msat) = channel
                .halves
                .iter()
                .flatten()
                .map(|h| h.params.htlc_maximum_msat)
                .max()
            else {
                return Ok(());
            };
            graph.add_channel(scid, node_1, node_2, max_htlc_msat.div_ceil(1000))?;
            channel.in_graph = true;
        }
        for (direction, half) in (0u8..).zip(channel.halves.iter()) {
            let Some(half) = half else { continue };
            // Params are kept even on a disabled half, for whoever inspects the graph.
            graph.update_half_channel(scid, direction, half.params)?;
            if half.disabled {
                graph.disable(scid, direction)?;
            }
        }
        Ok(())
    }
}
