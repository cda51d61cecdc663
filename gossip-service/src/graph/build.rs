//! Building the CSR layout: from a snapshot, and again from all edges after additions.

use std::collections::HashMap;

use lnfleet_wire::ShortChannelId;
use tracing::{info, warn};

use super::{ChannelParams, EdgeArrays, EdgeIndex, Graph, NodeIndex};
use crate::snapshot::Snapshot;

/// One edge before it has a place in the arrays.
struct EdgeSpec {
    source: NodeIndex,
    target: NodeIndex,
    scid: ShortChannelId,
    direction: u8,
    capacity_sat: u64,
    enabled: bool,
    params: ChannelParams,
}

pub(super) fn from_snapshot(snapshot: &Snapshot) -> Graph {
    let node_ids: Vec<[u8; 33]> = snapshot.nodes.iter().map(|n| n.pubkey).collect();
    let node_index = node_ids
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as NodeIndex))
        .collect();
    let node_count = node_ids.len();
    let mut specs = Vec::with_capacity(snapshot.channels.len() * 2);
    for channel in &snapshot.channels {
        let [n1, n2] = channel.nodes;
        // Snapshot::from_bytes guarantees this; a hand-built snapshot might not.
        if n1 as usize >= node_count || n2 as usize >= node_count {
            warn!(scid = %channel.scid, "channel endpoint has no node, skipped");
            continue;
        }
        for (direction, half) in channel.halves.iter().enumerate() {
            let (source, target) = if direction == 0 { (n1, n2) } else { (n2, n1) };
            specs.push(EdgeSpec {
                source,
                target,
                scid: channel.scid,
                direction: direction as u8,
                capacity_sat: channel.capacity_sat,
                enabled: half.is_usable(),
                params: ChannelParams {
                    fee_base_msat: half.fee_base_msat,
                    fee_proportional_millionths: half.fee_proportional_millionths,
                    cltv_expiry_delta: half.cltv_expiry_delta,
                    htlc_minimum_msat: half.htlc_minimum_msat,
                    htlc_maximum_msat: half.htlc_maximum_msat,
                },
            });
        }
    }
    let mut graph = Graph {
        node_ids,
        node_index,
        ..Graph::default()
    };
    assemble(&mut graph, specs);
    info!(
        nodes = graph.node_count(),
        edges = graph.edge_count(),
        "graph built"
    );
    graph
}

pub(super) fn rebuild(graph: &mut Graph) {
    let e = &graph.edges;
    let specs = (0..e.len())
        .map(|i| EdgeSpec {
            source: e.source[i],
            target: e.target[i],
            scid: e.scid[i],
            direction: e.direction[i],
            capacity_sat: e.capacity_sat[i],
            enabled: e.enabled[i],
            params: ChannelParams {
                fee_base_msat: e.fee_base_msat[i],
                fee_proportional_millionths: e.fee_proportional_millionths[i],
                cltv_expiry_delta: e.cltv_expiry_delta[i],
                htlc_minimum_msat: e.htlc_minimum_msat[i],
                htlc_maximum_msat: e.htlc_maximum_msat[i],
            },
        })
        .collect();
    assemble(graph, specs);
}

/// Lays `specs` out grouped by source (counting sort, stable) and builds both CSR indices and
/// the scid index. Every `source`/`target` is below `graph.node_count()`.
fn assemble(graph: &mut Graph, specs: Vec<EdgeSpec>) {
    let node_count = graph.node_ids.len();
    let out_offsets = offsets(node_count, specs.iter().map(|s| s.source));
    let mut cursor = out_offsets.clone();
    let mut order = vec![0u32; specs.len()];
    for (i, s) in specs.iter().enumerate() {
        let slot = &mut cursor[s.source as usize];
        order[*slot as usize] = i as u32;
        *slot += 1;
    }

    let mut edges = EdgeArrays::with_capacity(specs.len());
    let mut by_scid: HashMap<ShortChannelId, [EdgeIndex; 2]> =
        HashMap::with_capacity(specs.len() / 2);
    for (new_id, &i) in order.iter().enumerate() {
        let s = &specs[i as usize];
        edges.push(
            s.source,
            s.target,
            s.scid,
            s.direction,
            s.capacity_sat,
            s.enabled,
            s.params,
        );
        by_scid.entry(s.scid).or_insert([0, 0])[usize::from(s.direction & 1)] = new_id as u32;
    }

    let in_offsets = offsets(node_count, edges.target.iter().copied());
    let mut cursor = in_offsets.clone();
    let mut in_edges = vec![0u32; edges.len()];
    for (id, &target) in edges.target.iter().enumerate() {
        let slot = &mut cursor[target as usize];
        in_edges[*slot as usize] = id as EdgeIndex;
        *slot += 1;
    }

    graph.csr_edges = edges.len();
    graph.edges = edges;
    graph.out_offsets = out_offsets;
    graph.in_offsets = in_offsets;
    graph.in_edges = in_edges;
    graph.by_scid = by_scid;
    graph.out_overflow.clear();
    graph.in_overflow.clear();
}

/// `node_count + 1` prefix sums of how many keys fall on each node.
fn offsets(node_count: usize, keys: impl Iterator<Item = NodeIndex>) -> Vec<u32> {
    let mut offsets = vec![0u32; node_count + 1];
    for k in keys {
        offsets[k as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    offsets
}
