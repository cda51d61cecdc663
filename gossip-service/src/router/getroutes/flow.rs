//! Min-cost flow by successive shortest paths with node potentials.
//!
//! Arcs come in pairs: `2k` forward, `2k + 1` its residual twin with the negated cost. All
//! forward costs are non-negative, so potentials start at zero and every Dijkstra sees
//! non-negative reduced costs. Dijkstra stops once the sink is settled; potentials then move by
//! `min(dist, dist[sink])`, which keeps reduced costs non-negative for the tentative labels too.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

const NO_ARC: u32 = u32::MAX;

/// A residual network.
#[derive(Debug, Clone, Default)]
pub(super) struct Arcs {
    to: Vec<u32>,
    residual: Vec<i64>,
    cost: Vec<i64>,
    /// Per arc pair: the local edge it prices.
    edge: Vec<u32>,
    out: Vec<Vec<u32>>,
}

impl Arcs {
    pub(super) fn new(nodes: usize) -> Self {
        Arcs {
            out: vec![Vec::new(); nodes],
            ..Arcs::default()
        }
    }

    /// Adds `from → to` carrying up to `capacity` units at `cost` each, for local edge `edge`.
    pub(super) fn add(&mut self, from: u32, to: u32, capacity: i64, cost: i64, edge: u32) {
        let id = self.to.len() as u32;
        let (Some(_), Some(_)) = (self.out.get(from as usize), self.out.get(to as usize)) else {
            return;
        };
        self.to.extend([to, from]);
        self.residual.extend([capacity, 0]);
        self.cost.extend([cost, -cost]);
        self.edge.push(edge);
        if let Some(list) = self.out.get_mut(from as usize) {
            list.push(id);
        }
        if let Some(list) = self.out.get_mut(to as usize) {
            list.push(id + 1);
        }
    }

    /// Units sent over each local edge (`edges` entries), summed over its arcs.
    pub(super) fn edge_flows(&self, edges: usize) -> Vec<i64> {
        let mut flows = vec![0; edges];
        for (pair, &edge) in self.edge.iter().enumerate() {
            let sent = self.residual.get(2 * pair + 1).copied().unwrap_or(0);
            if let Some(f) = flows.get_mut(edge as usize) {
                *f += sent;
            }
        }
        flows
    }
}

/// Sends up to `demand` units from `source` to `sink` at least cost; returns the units sent.
pub(super) fn min_cost_flow(arcs: &mut Arcs, source: u32, sink: u32, demand: i64) -> i64 {
    let n = arcs.out.len();
    let mut potential = vec![0i64; n];
    let mut dist = vec![i64::MAX; n];
    let mut via = vec![NO_ARC; n];
    let mut done = vec![false; n];
    let mut sent = 0;
    let mut heap = BinaryHeap::new();
    while sent < demand {
        dist.fill(i64::MAX);
        via.fill(NO_ARC);
        done.fill(false);
        heap.clear();
        let Some(d) = dist.get_mut(source as usize) else {
            return sent;
        };
        *d = 0;
        heap.push(Reverse((0i64, source)));
        while let Some(Reverse((du, u))) = heap.pop() {
            let ui = u as usize;
            if done[ui] || du > dist[ui] {
                continue;
            }
            done[ui] = true;
            if u == sink {
                break;
            }
            for &a in &arcs.out[ui] {
                let a = a as usize;
                if arcs.residual[a] <= 0 {
                    continue;
                }
                let v = arcs.to[a] as usize;
                // Exact integers: reduced costs are never negative; the max guards rounding
                // in nothing but keeps a corrupted state from looping.
                let reduced = (arcs.cost[a] + potential[ui] - potential[v]).max(0);
                let candidate = du.saturating_add(reduced);
                if candidate < dist[v] {
                    dist[v] = candidate;
                    via[v] = a as u32;
                    heap.push(Reverse((candidate, v as u32)));
                }
            }
        }
        let sink_dist = dist[sink as usize];
        if sink_dist == i64::MAX {
            return sent;
        }
        for (p, &d) in potential.iter_mut().zip(&dist) {
            *p += d.min(sink_dist);
        }
        // Bottleneck along the path, then push.
        let mut push = demand - sent;
        let mut v = sink as usize;
        let mut steps = 0;
        while v != source as usize {
            let a = via[v] as usize;
            push = push.min(arcs.residual[a]);
            v = arcs.to[a ^ 1] as usize;
            steps += 1;
            if steps > n {
                return sent; // A cycle in `via` cannot happen with settled labels.
            }
        }
        let mut v = sink as usize;
        while v != source as usize {
            let a = via[v] as usize;
            arcs.residual[a] -= push;
            arcs.residual[a ^ 1] += push;
            v = arcs.to[a ^ 1] as usize;
        }
        sent += push;
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_arc_fills_first_then_the_dear_one() {
        // 0 → 1 → 3 costs 2 per unit, cap 5; 0 → 2 → 3 costs 10 per unit, cap 100.
        let mut arcs = Arcs::new(4);
        arcs.add(0, 1, 5, 1, 0);
        arcs.add(1, 3, 5, 1, 1);
        arcs.add(0, 2, 100, 5, 2);
        arcs.add(2, 3, 100, 5, 3);
        assert_eq!(min_cost_flow(&mut arcs, 0, 3, 8), 8);
        assert_eq!(arcs.edge_flows(4), vec![5, 5, 3, 3]);
    }

    #[test]
    fn residual_arcs_reroute_flow() {
        // The classic case where the first shortest path must be partly undone.
        let mut arcs = Arcs::new(4);
        arcs.add(0, 1, 1, 1, 0);
        arcs.add(0, 2, 1, 2, 1);
        arcs.add(1, 2, 1, 0, 2);
        arcs.add(1, 3, 1, 2, 3);
        arcs.add(2, 3, 1, 1, 4);
        assert_eq!(min_cost_flow(&mut arcs, 0, 3, 2), 2);
        assert_eq!(arcs.edge_flows(5), vec![1, 1, 0, 1, 1]);
    }

    #[test]
    fn short_of_capacity_sends_what_fits() {
        let mut arcs = Arcs::new(2);
        arcs.add(0, 1, 3, 1, 0);
        assert_eq!(min_cost_flow(&mut arcs, 0, 1, 10), 3);
    }
}
