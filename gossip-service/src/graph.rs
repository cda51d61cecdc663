//! The compact in-memory channel graph the router searches.
//!
//! Nodes are dense `u32` indices; edges are directed half-channels stored struct-of-arrays (one
//! `Vec` per field, no allocation per edge). Edge `e` forwards from `source[e]` to `target[e]`.
//! Outgoing adjacency is CSR: the edges of node `n` are ids `out_offsets[n]..out_offsets[n+1]`
//! (edges are laid out grouped by source). Incoming adjacency is a second CSR of edge ids, so the
//! router can search backwards from the destination without copying edge data.
//!
//! # Updates
//!
//! Policy changes (`update_half_channel`, `disable`) rewrite an edge in place. New channels
//! (`add_channel`) are appended to the edge arrays and listed in small per-node overflow tables,
//! which iteration chains after the CSR range. Once the overflow holds more than
//! [`REBUILD_FRACTION`] of the edges (or [`Graph::rebuild`] is called) the CSR is rebuilt from all
//! edges, in O(edges). Rebuilding on every addition would cost milliseconds per channel on
//! mainnet; never rebuilding would make hot nodes' adjacency scattered. A channel is never
//! removed from the arrays: closing one is `disable` on both halves (removal can be a rebuild
//! that skips them, later).

mod build;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use lnfleet_wire::ShortChannelId;

use crate::snapshot::Snapshot;

/// Dense node index (position in [`Graph::node_id`]).
pub type NodeIndex = u32;
/// Dense edge index into the edge arrays.
pub type EdgeIndex = u32;

/// Overflow edges may grow to this fraction of all edges before the CSR is rebuilt.
pub const REBUILD_FRACTION: usize = 8;

/// What a `channel_update` sets for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelParams {
    pub fee_base_msat: u32,
    pub fee_proportional_millionths: u32,
    pub cltv_expiry_delta: u16,
    pub htlc_minimum_msat: u64,
    pub htlc_maximum_msat: u64,
}

/// Why a graph update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("unknown channel {0}")]
    UnknownChannel(ShortChannelId),
    #[error("direction must be 0 or 1, got {0}")]
    BadDirection(u8),
    #[error("channel {0} is already in the graph")]
    DuplicateChannel(ShortChannelId),
    #[error("channel {0} has the same node at both ends")]
    SelfChannel(ShortChannelId),
    #[error("graph is full: more than u32::MAX nodes or edges")]
    Full,
}

/// Edge fields, one `Vec` each, indexed by [`EdgeIndex`].
#[derive(Debug, Clone, Default)]
struct EdgeArrays {
    source: Vec<NodeIndex>,
    target: Vec<NodeIndex>,
    scid: Vec<ShortChannelId>,
    fee_base_msat: Vec<u32>,
    fee_proportional_millionths: Vec<u32>,
    cltv_expiry_delta: Vec<u16>,
    htlc_minimum_msat: Vec<u64>,
    htlc_maximum_msat: Vec<u64>,
    capacity_sat: Vec<u64>,
    enabled: Vec<bool>,
    /// BOLT 7 direction bit: 0 when `source` is `node_id_1` (the lower pubkey).
    direction: Vec<u8>,
}

impl EdgeArrays {
    fn len(&self) -> usize {
        self.source.len()
    }

    fn with_capacity(n: usize) -> Self {
        EdgeArrays {
            source: Vec::with_capacity(n),
            target: Vec::with_capacity(n),
            scid: Vec::with_capacity(n),
            fee_base_msat: Vec::with_capacity(n),
            fee_proportional_millionths: Vec::with_capacity(n),
            cltv_expiry_delta: Vec::with_capacity(n),
            htlc_minimum_msat: Vec::with_capacity(n),
            htlc_maximum_msat: Vec::with_capacity(n),
            capacity_sat: Vec::with_capacity(n),
            enabled: Vec::with_capacity(n),
            direction: Vec::with_capacity(n),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        source: NodeIndex,
        target: NodeIndex,
        scid: ShortChannelId,
        direction: u8,
        capacity_sat: u64,
        enabled: bool,
        params: ChannelParams,
    ) {
        self.source.push(source);
        self.target.push(target);
        self.scid.push(scid);
        self.direction.push(direction);
        self.capacity_sat.push(capacity_sat);
        self.enabled.push(enabled);
        self.fee_base_msat.push(params.fee_base_msat);
        self.fee_proportional_millionths
            .push(params.fee_proportional_millionths);
        self.cltv_expiry_delta.push(params.cltv_expiry_delta);
        self.htlc_minimum_msat.push(params.htlc_minimum_msat);
        self.htlc_maximum_msat.push(params.htlc_maximum_msat);
    }

    fn set_params(&mut self, e: usize, p: ChannelParams) {
        // `e` comes from our own index; an out-of-range id is ignored rather than panicking.
        if e >= self.len() {
            return;
        }
        self.fee_base_msat[e] = p.fee_base_msat;
        self.fee_proportional_millionths[e] = p.fee_proportional_millionths;
        self.cltv_expiry_delta[e] = p.cltv_expiry_delta;
        self.htlc_minimum_msat[e] = p.htlc_minimum_msat;
        self.htlc_maximum_msat[e] = p.htlc_maximum_msat;
    }
}

/// The directed channel graph. Build it with [`Graph::from_snapshot`].
#[derive(Debug, Clone, Default)]
pub struct Graph {
    node_ids: Vec<[u8; 33]>,
    node_index: HashMap<[u8; 33], NodeIndex>,
    edges: EdgeArrays,
    /// Edge ids `0..csr_edges` are grouped by source; later ones are overflow.
    csr_edges: usize,
    /// `node_count + 1` entries over the grouped edges (nodes added later have empty ranges).
    out_offsets: Vec<u32>,
    /// `node_count + 1` entries into `in_edges`.
    in_offsets: Vec<u32>,
    in_edges: Vec<EdgeIndex>,
    out_overflow: HashMap<NodeIndex, Vec<EdgeIndex>>,
    in_overflow: HashMap<NodeIndex, Vec<EdgeIndex>>,
    /// Both directions of each channel: `[direction 0, direction 1]`.
    by_scid: HashMap<ShortChannelId, [EdgeIndex; 2]>,
}

/// A read-only view of one directed edge.
#[derive(Debug, Clone, Copy)]
pub struct EdgeRef<'g> {
    graph: &'g Graph,
    id: EdgeIndex,
}

macro_rules! edge_field {
    ($name:ident: $ty:ty) => {
        pub fn $name(&self) -> $ty {
            self.graph
                .edges
                .$name
                .get(self.id as usize)
                .copied()
                .unwrap_or_default()
        }
    };
}

impl EdgeRef<'_> {
    pub fn id(&self) -> EdgeIndex {
        self.id
    }
    edge_field!(source: NodeIndex);
    edge_field!(target: NodeIndex);
    edge_field!(fee_base_msat: u32);
    edge_field!(fee_proportional_millionths: u32);
    edge_field!(cltv_expiry_delta: u16);
    edge_field!(htlc_minimum_msat: u64);
    edge_field!(htlc_maximum_msat: u64);
    edge_field!(capacity_sat: u64);
    edge_field!(enabled: bool);
    edge_field!(direction: u8);
    pub fn scid(&self) -> ShortChannelId {
        self.graph
            .edges
            .scid
            .get(self.id as usize)
            .copied()
            .unwrap_or(ShortChannelId(0))
    }
    pub fn params(&self) -> ChannelParams {
        ChannelParams {
            fee_base_msat: self.fee_base_msat(),
            fee_proportional_millionths: self.fee_proportional_millionths(),
            cltv_expiry_delta: self.cltv_expiry_delta(),
            htlc_minimum_msat: self.htlc_minimum_msat(),
            htlc_maximum_msat: self.htlc_maximum_msat(),
        }
    }
}

impl Graph {
    /// Builds the graph from a snapshot: both halves of every channel become edges; a half is
    /// enabled when [`crate::snapshot::HalfChannel::is_usable`].
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        build::from_snapshot(snapshot)
    }

    pub fn node_count(&self) -> usize {
        self.node_ids.len()
    }

    /// Number of directed edges (two per channel, enabled or not).
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    pub fn channel_count(&self) -> usize {
        self.by_scid.len()
    }

    /// Edges a router may use.
    pub fn enabled_edge_count(&self) -> usize {
        self.edges.enabled.iter().filter(|&&e| e).count()
    }

    pub fn node_id(&self, node: NodeIndex) -> Option<&[u8; 33]> {
        self.node_ids.get(node as usize)
    }

    pub fn node_index(&self, pubkey: &[u8; 33]) -> Option<NodeIndex> {
        self.node_index.get(pubkey).copied()
    }

    pub fn edge(&self, id: EdgeIndex) -> Option<EdgeRef<'_>> {
        ((id as usize) < self.edges.len()).then_some(EdgeRef { graph: self, id })
    }

    /// The half of `scid` announced by direction `direction` (0: by `node_id_1`).
    pub fn half_channel(&self, scid: ShortChannelId, direction: u8) -> Option<EdgeRef<'_>> {
        let ids = self.by_scid.get(&scid)?;
        let id = *ids.get(direction as usize)?;
        self.edge(id)
    }

    /// Edges leaving `node` (enabled or not: callers filter on [`EdgeRef::enabled`]).
    pub fn outgoing(&self, node: NodeIndex) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        let range = csr_range(&self.out_offsets, node);
        let overflow = self.out_overflow.get(&node).into_iter().flatten().copied();
        range
            .chain(overflow)
            .map(move |id| EdgeRef { graph: self, id })
    }

    /// Edges arriving at `node`, for searching backwards from a destination.
    pub fn incoming(&self, node: NodeIndex) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        let range = csr_range(&self.in_offsets, node);
        let grouped = self
            .in_edges
            .get(range.start as usize..range.end as usize)
            .unwrap_or(&[])
            .iter()
            .copied();
        let overflow = self.in_overflow.get(&node).into_iter().flatten().copied();
        grouped
            .chain(overflow)
            .map(move |id| EdgeRef { graph: self, id })
    }

    /// Applies a `channel_update` (already validated) to one half and enables it.
    pub fn update_half_channel(
        &mut self,
        scid: ShortChannelId,
        direction: u8,
        params: ChannelParams,
    ) -> Result<(), GraphError> {
        let e = self.edge_id(scid, direction)?;
        self.edges.set_params(e, params);
        if let Some(flag) = self.edges.enabled.get_mut(e) {
            *flag = true;
        }
        Ok(())
    }

    /// Marks one half unusable (a `channel_update` with the disable bit, or a close).
    pub fn disable(&mut self, scid: ShortChannelId, direction: u8) -> Result<(), GraphError> {
        let e = self.edge_id(scid, direction)?;
        if let Some(flag) = self.edges.enabled.get_mut(e) {
            *flag = false;
        }
        Ok(())
    }

    /// Adds an announced channel between two node ids (new nodes are added too). Both halves
    /// start disabled: BOLT 7 routes only over halves that have a `channel_update`.
    pub fn add_channel(
        &mut self,
        scid: ShortChannelId,
        node_a: [u8; 33],
        node_b: [u8; 33],
        capacity_sat: u64,
    ) -> Result<(), GraphError> {
        if self.by_scid.contains_key(&scid) {
            return Err(GraphError::DuplicateChannel(scid));
        }
        if node_a == node_b {
            return Err(GraphError::SelfChannel(scid));
        }
        if self.edges.len() + 2 > u32::MAX as usize {
            return Err(GraphError::Full);
        }
        let (node_1, node_2) = if node_a < node_b {
            (node_a, node_b)
        } else {
            (node_b, node_a)
        };
        let n1 = self.intern_node(node_1)?;
        let n2 = self.intern_node(node_2)?;
        let first = self.edges.len() as EdgeIndex;
        for (direction, (source, target)) in [(n1, n2), (n2, n1)].into_iter().enumerate() {
            let id = first + direction as EdgeIndex;
            let params = ChannelParams::default();
            self.edges.push(
                source,
                target,
                scid,
                direction as u8,
                capacity_sat,
                false,
                params,
            );
            self.out_overflow.entry(source).or_default().push(id);
            self.in_overflow.entry(target).or_default().push(id);
        }
        self.by_scid.insert(scid, [first, first + 1]);
        if self.overflow_edges() * REBUILD_FRACTION > self.edges.len().max(1024) {
            self.rebuild();
        }
        Ok(())
    }

    /// An estimate of the heap bytes the graph holds: every `Vec` and `HashMap` counted by
    /// capacity (not length), hash tables as their buckets plus one control byte each (the
    /// std table layout), overflow lists included. Allocator overhead and padding are not
    /// counted, so the process RSS is somewhat higher.
    pub fn memory_bytes(&self) -> usize {
        let e = &self.edges;
        let edge_bytes = vec_bytes(&e.source)
            + vec_bytes(&e.target)
            + vec_bytes(&e.scid)
            + vec_bytes(&e.fee_base_msat)
            + vec_bytes(&e.fee_proportional_millionths)
            + vec_bytes(&e.cltv_expiry_delta)
            + vec_bytes(&e.htlc_minimum_msat)
            + vec_bytes(&e.htlc_maximum_msat)
            + vec_bytes(&e.capacity_sat)
            + vec_bytes(&e.enabled)
            + vec_bytes(&e.direction);
        let overflow_lists: usize = self
            .out_overflow
            .values()
            .chain(self.in_overflow.values())
            .map(vec_bytes)
            .sum();
        edge_bytes
            + vec_bytes(&self.node_ids)
            + map_bytes(&self.node_index)
            + vec_bytes(&self.out_offsets)
            + vec_bytes(&self.in_offsets)
            + vec_bytes(&self.in_edges)
            + map_bytes(&self.out_overflow)
            + map_bytes(&self.in_overflow)
            + overflow_lists
            + map_bytes(&self.by_scid)
    }

    /// Edges added since the last (re)build, not yet in the CSR.
    pub fn overflow_edges(&self) -> usize {
        self.edges.len() - self.csr_edges
    }

    /// Regroups every edge by source and rebuilds both CSR indices; edge ids change.
    pub fn rebuild(&mut self) {
        build::rebuild(self);
    }

    fn edge_id(&self, scid: ShortChannelId, direction: u8) -> Result<usize, GraphError> {
        let ids = self
            .by_scid
            .get(&scid)
            .ok_or(GraphError::UnknownChannel(scid))?;
        ids.get(direction as usize)
            .map(|&id| id as usize)
            .ok_or(GraphError::BadDirection(direction))
    }

    fn intern_node(&mut self, pubkey: [u8; 33]) -> Result<NodeIndex, GraphError> {
        if let Some(&n) = self.node_index.get(&pubkey) {
            return Ok(n);
        }
        let n = NodeIndex::try_from(self.node_ids.len()).map_err(|_| GraphError::Full)?;
        self.node_ids.push(pubkey);
        self.node_index.insert(pubkey, n);
        // A new node has an empty CSR range: repeat the last offset.
        let last_out = self.out_offsets.last().copied().unwrap_or(0);
        let last_in = self.in_offsets.last().copied().unwrap_or(0);
        if self.out_offsets.is_empty() {
            self.out_offsets.push(0);
            self.in_offsets.push(0);
        }
        self.out_offsets.push(last_out);
        self.in_offsets.push(last_in);
        Ok(n)
    }
}

/// `offsets[node]..offsets[node + 1]`, empty for an unknown node.
fn csr_range(offsets: &[u32], node: NodeIndex) -> std::ops::Range<u32> {
    let n = node as usize;
    match (offsets.get(n), offsets.get(n + 1)) {
        (Some(&start), Some(&end)) => start..end,
        _ => 0..0,
    }
}

fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

/// A std (hashbrown) table of `capacity` items has `capacity * 8 / 7` buckets rounded up to a
/// power of two (capacity itself below 8 buckets), each an entry plus a control byte.
fn map_bytes<K, V>(map: &HashMap<K, V>) -> usize {
    let capacity = map.capacity();
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    buckets * (std::mem::size_of::<(K, V)>() + 1)
}
