//! The plain backward Dijkstra the bidirectional search replaced, kept to check that both
//! give the same routes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{relax, PathHop, Query, Search};
use crate::graph::{EdgeIndex, Graph, NodeIndex};
use crate::liquidity::LiquidityView;

const NO_EDGE: EdgeIndex = EdgeIndex::MAX;

/// [`super::cheapest_path`] without the lower bound: settles every node cheaper than the source.
pub(in crate::router) fn cheapest_path(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    query: &Query,
) -> Search {
    let mut pruned = false;
    let mut settled = 0;
    let found = dijkstra(graph, liquidity, query, &mut pruned, &mut settled);
    let (path, cost) = match found {
        Some((path, cost)) => (Some(path), cost),
        None => (None, f64::INFINITY),
    };
    Search {
        path,
        pruned,
        cost,
        settled,
    }
}

/// Per-node labels: the best known way from a node to the destination.
struct Labels {
    cost: Vec<f64>,
    /// What the node must receive to forward along its path.
    amount_msat: Vec<u64>,
    /// The CLTV the node must receive.
    delay: Vec<u32>,
    hops: Vec<u32>,
    /// The first channel of the node's path.
    next_edge: Vec<EdgeIndex>,
    settled: Vec<bool>,
}

impl Labels {
    fn new(nodes: usize) -> Self {
        Labels {
            cost: vec![f64::INFINITY; nodes],
            amount_msat: vec![0; nodes],
            delay: vec![0; nodes],
            hops: vec![0; nodes],
            next_edge: vec![NO_EDGE; nodes],
            settled: vec![false; nodes],
        }
    }
}

fn dijkstra(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    query: &Query,
    pruned: &mut bool,
    settled: &mut usize,
) -> Option<(Vec<PathHop>, f64)> {
    let mut labels = Labels::new(graph.node_count());
    let mut frontier: BinaryHeap<Reverse<(u64, NodeIndex)>> = BinaryHeap::new();
    let dest = query.destination as usize;
    *labels.cost.get_mut(dest)? = 0.0;
    *labels.amount_msat.get_mut(dest)? = query.amount_msat;
    *labels.delay.get_mut(dest)? = query.cltv;
    frontier.push(Reverse((0f64.to_bits(), query.destination)));

    while let Some(Reverse((_, v))) = frontier.pop() {
        let vi = v as usize;
        if std::mem::replace(labels.settled.get_mut(vi)?, true) {
            continue;
        }
        *settled += 1;
        if v == query.source {
            break;
        }
        let (v_cost, v_amount, v_delay, v_hops) = (
            labels.cost[vi],
            labels.amount_msat[vi],
            labels.delay[vi],
            labels.hops[vi],
        );
        if v_hops >= query.maxhops {
            *pruned = true;
            continue;
        }
        for edge in graph.incoming(v) {
            let u = edge.source() as usize;
            if u == dest || labels.settled.get(u).copied().unwrap_or(true) {
                continue;
            }
            let Some((edge_cost, amount_in, delay_in)) =
                relax(query, liquidity, &edge, v_amount, v_delay)
            else {
                continue;
            };
            let cost = v_cost + edge_cost;
            if cost < labels.cost[u] {
                labels.cost[u] = cost;
                labels.amount_msat[u] = amount_in;
                labels.delay[u] = delay_in;
                labels.hops[u] = v_hops + 1;
                labels.next_edge[u] = edge.id();
                frontier.push(Reverse((cost.to_bits(), edge.source())));
            }
        }
    }

    let source = query.source as usize;
    if !labels.settled.get(source).copied().unwrap_or(false) {
        return None;
    }
    let mut path = Vec::new();
    let mut node = source;
    while node != dest {
        let edge = graph.edge(*labels.next_edge.get(node)?)?;
        node = edge.target() as usize;
        path.push(PathHop {
            edge: edge.id(),
            amount_msat: *labels.amount_msat.get(node)?,
            delay: *labels.delay.get(node)?,
        });
        if path.len() > query.maxhops as usize {
            return None; // Unreachable with consistent labels; guards against a cycle.
        }
    }
    Some((path, labels.cost[source]))
}
