//! Min-cost flow by successive shortest paths with node potentials, over arcs whose cost is
//! piecewise linear and convex in the flow.
//!
//! Each channel direction is one arc with consecutive pieces of non-decreasing cost per unit.
//! Convexity means a cheaper piece always fills before a dearer one, so the residual network
//! needs only two arcs per channel: forward at the cost of the first piece not yet full, and
//! backward at minus the cost of the last piece holding flow. That is the residual network of
//! one parallel arc per piece with every dominated arc left out, so the shortest paths, and
//! the flow, are the same; a Dijkstra scans two arcs per channel instead of two per piece.
//!
//! All forward costs are non-negative, so potentials start at zero and every Dijkstra sees
//! non-negative reduced costs. Dijkstra stops once the sink is settled; potentials then move by
//! `min(dist, dist[sink])`, which keeps reduced costs non-negative for the tentative labels too.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// No arc reached this node (yet).
const NO_STEP: u32 = u32::MAX;

/// Arcs with convex piecewise-linear costs, built piece by piece.
#[derive(Debug, Clone, Default)]
pub(super) struct Arcs {
    nodes: usize,
    from: Vec<u32>,
    to: Vec<u32>,
    /// The local edge each arc prices.
    edge: Vec<u32>,
    /// Arc `i`'s pieces are `first_piece[i]..first_piece[i + 1]`; the last entry ends the last arc.
    first_piece: Vec<u32>,
    /// Per piece: where it ends, in units of flow from zero (pieces of an arc are contiguous).
    piece_end: Vec<i64>,
    /// Per piece: cost per unit, non-decreasing along an arc.
    piece_cost: Vec<i64>,
    /// Per arc: units sent.
    flow: Vec<i64>,
    /// Per arc: its first piece not yet full (`first_piece[i + 1]` when all are).
    cursor: Vec<u32>,
}

impl Arcs {
    pub(super) fn new(nodes: usize) -> Self {
        Arcs {
            nodes,
            first_piece: vec![0],
            ..Arcs::default()
        }
    }

    /// Adds the next piece of local edge `edge` (`from → to`): `capacity` more units at `cost`
    /// each. Consecutive calls for the same edge extend one arc; a cost below the previous
    /// piece's is raised to it, which keeps the arc convex.
    pub(super) fn add(&mut self, from: u32, to: u32, capacity: i64, cost: i64, edge: u32) {
        if capacity <= 0 || from as usize >= self.nodes || to as usize >= self.nodes {
            return;
        }
        let extends_last = self.edge.last() == Some(&edge)
            && self.from.last() == Some(&from)
            && self.to.last() == Some(&to);
        if extends_last {
            let start = self.piece_end.last().copied().unwrap_or(0);
            let floor = self.piece_cost.last().copied().unwrap_or(cost);
            self.piece_end.push(start + capacity);
            self.piece_cost.push(cost.max(floor));
        } else {
            // The old end marker becomes this arc's start; a new end marker follows.
            self.from.push(from);
            self.to.push(to);
            self.edge.push(edge);
            self.flow.push(0);
            self.cursor.push(self.piece_end.len() as u32);
            self.piece_end.push(capacity);
            self.piece_cost.push(cost);
            self.first_piece.push(0);
        }
        if let Some(end) = self.first_piece.last_mut() {
            *end = self.piece_end.len() as u32;
        }
    }

    /// Units sent over each local edge (`edges` entries).
    pub(super) fn edge_flows(&self, edges: usize) -> Vec<i64> {
        let mut flows = vec![0; edges];
        for (&edge, &sent) in self.edge.iter().zip(&self.flow) {
            if let Some(f) = flows.get_mut(edge as usize) {
                *f += sent;
            }
        }
        flows
    }

    fn piece_start(&self, piece: u32, arc: usize) -> i64 {
        if piece == self.first_piece[arc] {
            0
        } else {
            self.piece_end[piece as usize - 1]
        }
    }

    /// Forward residual of `arc`: (units left in its current piece, cost per unit).
    fn forward(&self, arc: usize) -> Option<(i64, i64)> {
        let piece = self.cursor[arc];
        if piece >= self.first_piece[arc + 1] {
            return None;
        }
        let p = piece as usize;
        Some((self.piece_end[p] - self.flow[arc], self.piece_cost[p]))
    }

    /// Backward residual of `arc`: (units in its last non-empty piece, minus its cost).
    fn backward(&self, arc: usize) -> Option<(i64, i64)> {
        let flow = self.flow[arc];
        if flow <= 0 {
            return None;
        }
        let mut piece = self.cursor[arc];
        if piece >= self.first_piece[arc + 1] || self.piece_start(piece, arc) == flow {
            piece -= 1;
        }
        let start = self.piece_start(piece, arc);
        Some((flow - start, -self.piece_cost[piece as usize]))
    }

    fn push(&mut self, arc: usize, units: i64) {
        self.flow[arc] += units;
        let flow = self.flow[arc];
        let end = self.first_piece[arc + 1];
        while self.cursor[arc] < end && self.piece_end[self.cursor[arc] as usize] <= flow {
            self.cursor[arc] += 1;
        }
        while self.cursor[arc] > self.first_piece[arc]
            && self.piece_end[self.cursor[arc] as usize - 1] > flow
        {
            self.cursor[arc] -= 1;
        }
    }

    /// Per node, its arcs as steps: `arc << 1` forward (leaving it), `arc << 1 | 1` backward.
    fn adjacency(&self) -> (Vec<u32>, Vec<u32>) {
        let mut start = vec![0u32; self.nodes + 1];
        for (&from, &to) in self.from.iter().zip(&self.to) {
            start[from as usize + 1] += 1;
            start[to as usize + 1] += 1;
        }
        for i in 0..self.nodes {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut steps = vec![0u32; 2 * self.from.len()];
        for (arc, (&from, &to)) in self.from.iter().zip(&self.to).enumerate() {
            let arc = arc as u32;
            steps[next[from as usize] as usize] = arc << 1;
            next[from as usize] += 1;
            steps[next[to as usize] as usize] = arc << 1 | 1;
            next[to as usize] += 1;
        }
        (start, steps)
    }

    /// The residual of one step: (head node, units, cost per unit).
    fn step(&self, step: u32) -> Option<(usize, i64, i64)> {
        let arc = (step >> 1) as usize;
        if step & 1 == 0 {
            let (units, cost) = self.forward(arc)?;
            Some((self.to[arc] as usize, units, cost))
        } else {
            let (units, cost) = self.backward(arc)?;
            Some((self.from[arc] as usize, units, cost))
        }
    }

    /// The node a step leaves.
    fn tail(&self, step: u32) -> usize {
        let arc = (step >> 1) as usize;
        if step & 1 == 0 {
            self.from[arc] as usize
        } else {
            self.to[arc] as usize
        }
    }
}

/// Sends up to `demand` units from `source` to `sink` at least cost; returns the units sent.
pub(super) fn min_cost_flow(arcs: &mut Arcs, source: u32, sink: u32, demand: i64) -> i64 {
    let n = arcs.nodes;
    let (source, sink) = (source as usize, sink as usize);
    if source >= n || sink >= n {
        return 0;
    }
    let (adjacency_start, steps) = arcs.adjacency();
    let mut potential = vec![0i64; n];
    let mut dist = vec![i64::MAX; n];
    let mut via = vec![NO_STEP; n];
    let mut done = vec![false; n];
    let mut sent = 0;
    let mut heap = BinaryHeap::new();
    while sent < demand {
        dist.fill(i64::MAX);
        via.fill(NO_STEP);
        done.fill(false);
        heap.clear();
        dist[source] = 0;
        heap.push(Reverse((0i64, source as u32)));
        while let Some(Reverse((du, u))) = heap.pop() {
            let ui = u as usize;
            if done[ui] || du > dist[ui] {
                continue;
            }
            done[ui] = true;
            if ui == sink {
                break;
            }
            let range = adjacency_start[ui] as usize..adjacency_start[ui + 1] as usize;
            for &step in &steps[range] {
                let Some((v, units, cost)) = arcs.step(step) else {
                    continue;
                };
                if units <= 0 {
                    continue;
                }
                // Exact integers: reduced costs are never negative; the max only keeps a
                // corrupted state from looping.
                let reduced = (cost + potential[ui] - potential[v]).max(0);
                let candidate = du.saturating_add(reduced);
                if candidate < dist[v] {
                    dist[v] = candidate;
                    via[v] = step;
                    heap.push(Reverse((candidate, v as u32)));
                }
            }
        }
        let sink_dist = dist[sink];
        if sink_dist == i64::MAX {
            return sent;
        }
        for (p, &d) in potential.iter_mut().zip(&dist) {
            *p += d.min(sink_dist);
        }
        // Bottleneck along the path, then push.
        let mut push = demand - sent;
        let mut v = sink;
        let mut hops = 0;
        while v != source {
            let step = via[v];
            let Some((_, units, _)) = arcs.step(step) else {
                return sent;
            };
            push = push.min(units);
            v = arcs.tail(step);
            hops += 1;
            if hops > n {
                return sent; // A cycle in `via` cannot happen with settled labels.
            }
        }
        let mut v = sink;
        while v != source {
            let step = via[v];
            let arc = (step >> 1) as usize;
            arcs.push(arc, if step & 1 == 0 { push } else { -push });
            v = arcs.tail(step);
        }
        sent += push;
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn convex_pieces_split_the_flow_between_parallel_channels() {
        // Edge 0: 4 units at 1, then 4 at 10. Edge 1 (parallel): 6 units at 5.
        let parallel = || {
            let mut arcs = Arcs::new(2);
            arcs.add(0, 1, 4, 1, 0);
            arcs.add(0, 1, 4, 10, 0);
            arcs.add(0, 1, 6, 5, 1);
            arcs
        };
        // 9 units: 4 at 1, then 5 at 5 (cheaper than edge 0's second piece).
        let mut arcs = parallel();
        assert_eq!(min_cost_flow(&mut arcs, 0, 1, 9), 9);
        assert_eq!(arcs.edge_flows(2), vec![4, 5]);
        // 12 units: edge 1 full, edge 0 into its dear piece.
        let mut arcs = parallel();
        assert_eq!(min_cost_flow(&mut arcs, 0, 1, 12), 12);
        assert_eq!(arcs.edge_flows(2), vec![6, 6]);
    }

    /// One arc per piece, solved by Bellman-Ford shortest paths one unit at a time: slow,
    /// obviously right, and independent of the convex arcs.
    fn reference_cost(nodes: usize, pieces: &[(u32, u32, i64, i64)], demand: i64) -> (i64, i64) {
        // (to, residual, cost) with the twin at index ^ 1.
        let mut arcs: Vec<(usize, i64, i64)> = Vec::new();
        let mut tail = Vec::new();
        for &(from, to, capacity, cost) in pieces {
            arcs.push((to as usize, capacity, cost));
            tail.push(from as usize);
            arcs.push((from as usize, 0, -cost));
            tail.push(to as usize);
        }
        let (mut sent, mut total) = (0, 0);
        while sent < demand {
            let mut dist = vec![i64::MAX; nodes];
            let mut via = vec![usize::MAX; nodes];
            dist[0] = 0;
            for _ in 0..nodes {
                for (a, &(to, residual, cost)) in arcs.iter().enumerate() {
                    let from = tail[a];
                    if residual > 0 && dist[from] != i64::MAX && dist[from] + cost < dist[to] {
                        dist[to] = dist[from] + cost;
                        via[to] = a;
                    }
                }
            }
            if dist[nodes - 1] == i64::MAX {
                break;
            }
            let mut v = nodes - 1;
            while v != 0 {
                let a = via[v];
                arcs[a].1 -= 1;
                arcs[a ^ 1].1 += 1;
                v = tail[a];
            }
            sent += 1;
            total += dist[nodes - 1];
        }
        (sent, total)
    }

    /// Total cost of a convex solution, from each arc's flow over its pieces.
    fn convex_cost(arcs: &Arcs) -> i64 {
        let mut total = 0;
        for arc in 0..arcs.from.len() {
            let mut left = arcs.flow[arc];
            let mut start = 0;
            for p in arcs.first_piece[arc] as usize..arcs.first_piece[arc + 1] as usize {
                let take = left.min(arcs.piece_end[p] - start);
                total += take * arcs.piece_cost[p];
                left -= take;
                start = arcs.piece_end[p];
            }
            assert_eq!(left, 0, "flow beyond the arc's pieces");
        }
        total
    }

    proptest! {
        #[test]
        fn same_cost_as_one_arc_per_piece(
            channels in prop::collection::vec(
                (0u32..6, 0u32..6, prop::collection::vec((1i64..5, 0i64..20), 1..4)),
                1..16,
            ),
            demand in 1i64..12,
        ) {
            let mut arcs = Arcs::new(6);
            let mut pieces = Vec::new();
            for (edge, (from, to, shape)) in channels.iter().enumerate() {
                if from == to {
                    continue;
                }
                // Convex: costs sorted along the arc.
                let mut shape = shape.clone();
                shape.sort_by_key(|&(_, cost)| cost);
                for &(capacity, cost) in &shape {
                    arcs.add(*from, *to, capacity, cost, edge as u32);
                    pieces.push((*from, *to, capacity, cost));
                }
            }
            let sent = min_cost_flow(&mut arcs, 0, 5, demand);
            let (expected_sent, expected_cost) = reference_cost(6, &pieces, demand);
            prop_assert_eq!(sent, expected_sent);
            prop_assert_eq!(convex_cost(&arcs), expected_cost);
        }
    }
}
