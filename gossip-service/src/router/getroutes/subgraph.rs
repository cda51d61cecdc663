//! The nodes worth considering: those on cheap paths from source to destination.
//!
//! One Dijkstra forward from the source and one backward from the destination, with a rough
//! per-channel cost (hop, fee share, amount over capacity), score every node by the cheapest
//! source → node → destination walk through it. The best [`MAX_NODES`] nodes (or [`WIDE_NODES`]
//! when those cannot carry the payment) and the usable
//! channels among them form the subgraph the flow is solved on: a few hundred nodes instead of
//! the whole network, so the flow solver's repeated shortest paths stay cheap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{usable, CostWeights, GetRoutesRequest};
use crate::graph::{EdgeIndex, EdgeRef, Graph, NodeIndex};
use crate::liquidity::LiquidityView;

/// Nodes kept in the subgraph.
pub(super) const MAX_NODES: usize = 400;
/// Nodes kept when the small subgraph could not carry the payment.
pub(super) const WIDE_NODES: usize = 1_200;
/// `-ln` of the chance that a random channel forwards at all (Core Lightning uses 0.98).
pub(super) const HOP_NATS: f64 = 0.0202;

/// A local view: nodes and channels renumbered densely for the solver.
#[derive(Debug, Clone)]
pub(super) struct Subgraph {
    /// Local node → graph node.
    pub(super) nodes: Vec<NodeIndex>,
    /// Local edge → graph edge; both ends are local nodes.
    pub(super) edges: Vec<EdgeIndex>,
    /// Local edge → (local source, local target).
    pub(super) ends: Vec<(u32, u32)>,
    pub(super) source: u32,
    pub(super) sink: u32,
}

/// The largest amount a channel direction is known to be able to hold.
pub(super) fn liquidity_max_msat(edge: &EdgeRef<'_>, liquidity: &impl LiquidityView) -> u64 {
    let capacity = edge.capacity_sat().saturating_mul(1000);
    match liquidity.bounds(edge.scid(), edge.direction()) {
        Some(b) => b.max_msat.min(capacity),
        None => capacity,
    }
}

/// Rough cost of sending the whole amount over `edge`, in nats.
fn rough_cost(
    edge: &EdgeRef<'_>,
    liquidity: &impl LiquidityView,
    amount_msat: u64,
    source: NodeIndex,
    weights: CostWeights,
) -> Option<f64> {
    if !usable(edge, amount_msat) {
        return None;
    }
    let max = liquidity_max_msat(edge, liquidity);
    if max == 0 {
        return None;
    }
    // Amount over capacity stands in for -ln P; small channels are dearer but still allowed,
    // since several of them together may carry the payment.
    let fill = (amount_msat as f64 / max as f64).min(4.0);
    if edge.source() == source {
        return Some(HOP_NATS + fill);
    }
    let amount = amount_msat as f64;
    let fee_share = (f64::from(edge.fee_base_msat())
        + amount * f64::from(edge.fee_proportional_millionths()) / 1e6)
        / amount;
    Some(
        HOP_NATS
            + fill
            + weights.mu * fee_share
            + weights.delay * f64::from(edge.cltv_expiry_delta()),
    )
}

fn dijkstra(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    start: NodeIndex,
    forward: bool,
    request: &GetRoutesRequest,
    source: NodeIndex,
    weights: CostWeights,
) -> Vec<f64> {
    let mut dist = vec![f64::INFINITY; graph.node_count()];
    let mut heap = BinaryHeap::new();
    if let Some(d) = dist.get_mut(start as usize) {
        *d = 0.0;
        heap.push(Reverse((0f64.to_bits(), start)));
    }
    while let Some(Reverse((bits, u))) = heap.pop() {
        let du = f64::from_bits(bits);
        if dist.get(u as usize).is_none_or(|&d| du > d) {
            continue;
        }
        let mut relax = |edge: EdgeRef<'_>, next: NodeIndex| {
            let Some(w) = rough_cost(&edge, liquidity, request.amount_msat, source, weights) else {
                return;
            };
            let candidate = du + w;
            if let Some(d) = dist.get_mut(next as usize) {
                if candidate < *d {
                    *d = candidate;
                    heap.push(Reverse((candidate.to_bits(), next)));
                }
            }
        };
        if forward {
            for edge in graph.outgoing(u) {
                relax(edge, edge.target());
            }
        } else {
            for edge in graph.incoming(u) {
                relax(edge, edge.source());
            }
        }
    }
    dist
}

/// The subgraph of the `max_nodes` nodes on the cheapest source → destination walks.
pub(super) fn select(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    source: NodeIndex,
    destination: NodeIndex,
    request: &GetRoutesRequest,
    weights: CostWeights,
    max_nodes: usize,
) -> Subgraph {
    let from_source = dijkstra(graph, liquidity, source, true, request, source, weights);
    let to_destination = dijkstra(
        graph,
        liquidity,
        destination,
        false,
        request,
        source,
        weights,
    );
    let mut scored: Vec<(f64, NodeIndex)> = from_source
        .iter()
        .zip(&to_destination)
        .enumerate()
        .filter_map(|(n, (a, b))| {
            let score = a + b;
            (score.is_finite()).then_some((score, n as NodeIndex))
        })
        .collect();
    if scored.len() > max_nodes {
        scored.select_nth_unstable_by(max_nodes, |a, b| a.0.total_cmp(&b.0));
        scored.truncate(max_nodes);
    }
    let mut nodes: Vec<NodeIndex> = scored.into_iter().map(|(_, n)| n).collect();
    for must in [source, destination] {
        if !nodes.contains(&must) {
            nodes.push(must);
        }
    }
    nodes.sort_unstable();
    let local_of = |n: NodeIndex| nodes.binary_search(&n).ok().map(|i| i as u32);

    let mut edges = Vec::new();
    let mut ends = Vec::new();
    for &u in &nodes {
        if u == destination {
            continue;
        }
        for edge in graph.outgoing(u) {
            let v = edge.target();
            if v == source || !usable(&edge, request.amount_msat) {
                continue;
            }
            if let (Some(lu), Some(lv)) = (local_of(u), local_of(v)) {
                edges.push(edge.id());
                ends.push((lu, lv));
            }
        }
    }
    Subgraph {
        source: local_of(source).unwrap_or(0),
        sink: local_of(destination).unwrap_or(0),
        nodes,
        edges,
        ends,
    }
}
