//! The backward Dijkstra, sped up with a lower bound grown from the source.
//!
//! Plain Dijkstra from the destination settles every node cheaper to reach than the source: on
//! mainnet, most of the graph. Here a second search runs forwards from the source over *lower
//! bounds* of the channel costs: the cost of each channel at the requested amount (the least any
//! hop can carry, since amounts only grow towards the source; fee, risk and failure penalty all
//! grow with the amount, see [`super::edge_cost`]). The two searches alternate, the one that
//! has scanned fewer channels first (the backward one with a head start of the source's degree,
//! so a hub source is reached as cheaply as before), until they meet; then the forward one
//! stops at radius `R` (every node it has not settled is at least `R` away from the source) and
//! the backward one goes on as A* with `h(u) = forward cost of u if settled, else R`.
//!
//! That `h` is consistent (`h(v) ≤ cost(u → v) + h(u)` for every channel), so A* settles each
//! node with the same label plain Dijkstra gives it, and the route is the same (up to ties
//! between equal-cost routes). Nodes the forward search cannot reach at all (it ran out before
//! meeting) get `h = ∞`: no route from the source passes through them, so they are skipped.
//! The hop-limit bookkeeping is unchanged: when no route is found, every node a route could use
//! was settled, so `pruned` means what it means for plain Dijkstra.

use std::cmp::Reverse;

use super::super::scratch::Scratch;
use super::{edge_cost, relax_parts, EdgeCost, PathHop, Query, Search};
use crate::graph::{EdgeRef, Graph, NodeIndex};
use crate::liquidity::LiquidityView;

/// What one backward step did.
enum Step {
    Settled(NodeIndex),
    SourceSettled,
    Exhausted,
}

struct Searcher<'a, L> {
    graph: &'a Graph,
    liquidity: &'a L,
    query: &'a Query,
    scratch: &'a mut Scratch,
    /// `None` while the searches alternate; then the forward radius `R`.
    radius: Option<f64>,
    pruned: bool,
    settled: usize,
    /// Channels each search has scanned, to keep their work even: a hub settled on one side
    /// costs thousands of channels.
    backward_work: usize,
    forward_work: usize,
}

pub(super) fn search(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    query: &Query,
    scratch: &mut Scratch,
) -> Search {
    scratch.begin(graph.node_count());
    let mut searcher = Searcher {
        graph,
        liquidity,
        query,
        scratch,
        radius: None,
        pruned: false,
        settled: 0,
        backward_work: 0,
        // The forward search's first step scans every channel of the source. Charging it up
        // front lets the backward search reach a well-connected source alone, as plain
        // Dijkstra would, before the forward search starts paying for itself.
        forward_work: graph.outgoing(query.source).count(),
    };
    let found = searcher.run();
    let (path, cost) = match found {
        Some(cost) => (searcher.path(), cost),
        None => (None, f64::INFINITY),
    };
    Search {
        cost: if path.is_some() { cost } else { f64::INFINITY },
        path,
        pruned: searcher.pruned,
        settled: searcher.settled,
    }
}

/// The channel's cost at the requested amount, whose [`EdgeCost::exact`] is a lower bound of
/// what `edge` costs on any route (`None` when no amount the route could carry over it fits).
/// The bound keeps the logarithm: `1 - P` would spare it but is loose for large payments,
/// whose searches then grow; it only serves to reject losing channels early.
fn lower_bound_cost(
    query: &Query,
    liquidity: &impl LiquidityView,
    edge: &EdgeRef<'_>,
) -> Option<EdgeCost> {
    // htlc_minimum_msat is ignored: a larger amount further from the destination may meet it.
    if !edge.enabled() {
        return None;
    }
    edge_cost(query, liquidity, edge, query.amount_msat)
}

impl<L: LiquidityView> Searcher<'_, L> {
    /// The route's cost once the source is settled, `None` when it cannot be reached.
    fn run(&mut self) -> Option<f64> {
        let (source, destination) = (self.query.source, self.query.destination);
        {
            let dest = self.scratch.backward_mut(destination)?;
            dest.cost = 0.0;
            dest.amount_msat = self.query.amount_msat;
            dest.delay = self.query.cltv;
        }
        self.scratch
            .backward_frontier
            .push(Reverse((0f64.to_bits(), destination)));
        self.scratch.forward_mut(source)?.cost = 0.0;
        self.scratch
            .forward_frontier
            .push(Reverse((0f64.to_bits(), source)));

        // Alternate, the side that did less work first, until some node is settled by both.
        loop {
            if self.backward_work <= self.forward_work {
                match self.backward_step() {
                    Step::SourceSettled => return Some(self.scratch.backward(source).cost),
                    Step::Exhausted => return None,
                    Step::Settled(v) if self.scratch.forward(v).settled => break,
                    Step::Settled(_) => {}
                }
            } else {
                match self.forward_step() {
                    Some(u) if !self.scratch.backward(u).settled => {}
                    _ => break,
                }
            }
        }

        // Every node the forward search has not settled is at least the smallest key left
        // (stale keys are no larger than the labels they were pushed for).
        let radius = match self.scratch.forward_frontier.peek() {
            Some(Reverse((key, _))) => f64::from_bits(*key),
            None => f64::INFINITY,
        };
        self.radius = Some(radius);
        self.rekey_backward_frontier();
        loop {
            match self.backward_step() {
                Step::SourceSettled => return Some(self.scratch.backward(source).cost),
                Step::Exhausted => return None,
                Step::Settled(_) => {}
            }
        }
    }

    /// A lower bound on the cost from the source to `node` (0 until the searches meet).
    #[inline]
    fn potential(&self, node: NodeIndex) -> f64 {
        match self.radius {
            None => 0.0,
            Some(radius) => {
                let forward = self.scratch.forward(node);
                if forward.settled {
                    forward.cost
                } else {
                    radius
                }
            }
        }
    }

    /// Re-keys the backward frontier from cost to cost + potential.
    fn rekey_backward_frontier(&mut self) {
        let entries = std::mem::take(&mut self.scratch.backward_frontier).into_vec();
        let mut rekeyed = Vec::with_capacity(entries.len());
        for Reverse((_, node)) in entries {
            let label = self.scratch.backward(node);
            let potential = self.potential(node);
            if label.settled || potential == f64::INFINITY {
                continue;
            }
            rekeyed.push(Reverse(((label.cost + potential).to_bits(), node)));
        }
        self.scratch.backward_frontier = rekeyed.into();
    }

    /// Settles the next node of the backward search and relaxes its incoming channels.
    fn backward_step(&mut self) -> Step {
        let query = self.query;
        let (v, label) = loop {
            let Some(Reverse((_, v))) = self.scratch.backward_frontier.pop() else {
                return Step::Exhausted;
            };
            let Some(label) = self.scratch.backward_mut(v) else {
                continue;
            };
            if !std::mem::replace(&mut label.settled, true) {
                break (v, *label);
            }
        };
        self.settled += 1;
        if v == query.source {
            return Step::SourceSettled;
        }
        if label.hops >= query.maxhops {
            self.pruned = true;
            return Step::Settled(v);
        }
        for edge in self.graph.incoming(v) {
            self.backward_work += 1;
            let u = edge.source();
            if u == query.destination {
                continue;
            }
            let current = self.scratch.backward(u);
            if current.settled {
                continue;
            }
            let potential = self.potential(u);
            if potential == f64::INFINITY {
                continue;
            }
            let Some((edge_cost, delay_in)) =
                relax_parts(query, self.liquidity, &edge, label.amount_msat, label.delay)
            else {
                continue;
            };
            // Most channels into an already labelled node lose: tell without the logarithm.
            if current.cost.is_finite() && label.cost + edge_cost.lower_bound() >= current.cost {
                continue;
            }
            let cost = label.cost + edge_cost.exact();
            let amount_in = edge_cost.amount_in_msat;
            if cost < current.cost {
                if let Some(slot) = self.scratch.backward_mut(u) {
                    slot.cost = cost;
                    slot.amount_msat = amount_in;
                    slot.delay = delay_in;
                    slot.hops = label.hops + 1;
                    slot.next_edge = edge.id();
                    self.scratch
                        .backward_frontier
                        .push(Reverse(((cost + potential).to_bits(), u)));
                }
            }
        }
        Step::Settled(v)
    }

    /// Settles the next node of the forward lower-bound search; `None` when it ran out.
    fn forward_step(&mut self) -> Option<NodeIndex> {
        let query = self.query;
        let (u, cost) = loop {
            let Reverse((_, u)) = self.scratch.forward_frontier.pop()?;
            let Some(label) = self.scratch.forward_mut(u) else {
                continue;
            };
            if !std::mem::replace(&mut label.settled, true) {
                break (u, label.cost);
            }
        };
        self.settled += 1;
        // Routes never pass through the destination: it only ends them.
        if u == query.destination {
            return Some(u);
        }
        for edge in self.graph.outgoing(u) {
            self.forward_work += 1;
            let v = edge.target();
            if v == query.source {
                continue;
            }
            let current = self.scratch.forward(v);
            if current.settled {
                continue;
            }
            let Some(edge_cost) = lower_bound_cost(query, self.liquidity, &edge) else {
                continue;
            };
            if current.cost.is_finite() && cost + edge_cost.lower_bound() >= current.cost {
                continue;
            }
            let candidate = cost + edge_cost.exact();
            if candidate < current.cost {
                if let Some(slot) = self.scratch.forward_mut(v) {
                    slot.cost = candidate;
                    self.scratch
                        .forward_frontier
                        .push(Reverse((candidate.to_bits(), v)));
                }
            }
        }
        Some(u)
    }

    /// The settled source's path, first channel first.
    fn path(&self) -> Option<Vec<PathHop>> {
        let (source, dest) = (self.query.source, self.query.destination);
        if !self.scratch.backward(source).settled {
            return None;
        }
        let mut path = Vec::new();
        let mut node = source;
        while node != dest {
            let edge = self.graph.edge(self.scratch.backward(node).next_edge)?;
            node = edge.target();
            let label = self.scratch.backward(node);
            path.push(PathHop {
                edge: edge.id(),
                amount_msat: label.amount_msat,
                delay: label.delay,
            });
            if path.len() > self.query.maxhops as usize {
                return None; // Unreachable with consistent labels; guards against a cycle.
            }
        }
        Some(path)
    }
}
