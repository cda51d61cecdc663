//! The flow network: each channel direction of the subgraph cut into linear pieces.
//!
//! Amounts are counted in units of `unit_msat` (about a thousandth of the payment), so the
//! solver's integers stay small and its paths few. For liquidity uniform on `[a, b]`, carrying
//! `x ≤ a` is certain (cost 0), and above `a` the cost `-ln((b - x) / (b - a))` is convex, so
//! consecutive pieces with rising slopes model it exactly at their ends. Each piece also pays
//! the linear terms: a per-hop share, `mu` times the fee share and a per-block delay share.

use super::flow::{min_cost_flow, Arcs};
use super::subgraph::{liquidity_max_msat, Subgraph, HOP_NATS};
use super::CostWeights;
use crate::graph::Graph;
use crate::liquidity::LiquidityView;

/// The payment is cut into about this many units.
const TARGET_UNITS: u64 = 1000;
/// Piece ends as fractions of the uncertain range `[a, b]`.
const BREAKS: [f64; 7] = [0.0, 0.25, 0.5, 0.7, 0.85, 0.95, 1.0];
/// `-ln(1 - t)` is infinite at 1: the last piece is priced as if it ended here.
const LAST_FRACTION: f64 = 0.99;
/// Cost integers per nat.
const COST_SCALE: f64 = 1e9;

/// `-ln(1 - t)`.
fn neg_log_survival(t: f64) -> f64 {
    -(1.0 - t.min(LAST_FRACTION)).ln()
}

#[derive(Debug, Clone)]
pub(super) struct Network {
    unit_msat: u64,
    amount_msat: u64,
    demand: i64,
    /// Per local edge: units it may carry (shrunk by repairs).
    cap_units: Vec<i64>,
    /// Per local edge: known liquidity `[a, b]` in msat.
    range_msat: Vec<(u64, u64)>,
    /// Per local edge: whether it leaves the source (free, no delay).
    from_source: Vec<bool>,
    nodes: usize,
    ends: Vec<(u32, u32)>,
    source: u32,
    sink: u32,
    arcs: Arcs,
}

impl Network {
    pub(super) fn build(
        graph: &Graph,
        liquidity: &impl LiquidityView,
        sub: &Subgraph,
        amount_msat: u64,
    ) -> Self {
        let unit_msat = amount_msat.div_ceil(TARGET_UNITS).max(1);
        let demand = amount_msat.div_ceil(unit_msat) as i64;
        let mut cap_units = Vec::with_capacity(sub.edges.len());
        let mut range_msat = Vec::with_capacity(sub.edges.len());
        let mut from_source = Vec::with_capacity(sub.edges.len());
        let source_node = sub.nodes.get(sub.source as usize).copied();
        for &id in &sub.edges {
            let Some(edge) = graph.edge(id) else {
                cap_units.push(0);
                range_msat.push((0, 0));
                from_source.push(false);
                continue;
            };
            let max = liquidity_max_msat(&edge, liquidity);
            let min = liquidity
                .bounds(edge.scid(), edge.direction())
                .map_or(0, |b| b.min_msat.min(max));
            // A zero htlc_maximum_msat means unset: the capacity bounds each part.
            let htlc_max = match edge.htlc_maximum_msat() {
                0 => u64::MAX,
                m => m,
            };
            cap_units.push(((max.min(htlc_max) / unit_msat) as i64).min(demand));
            range_msat.push((min, max));
            from_source.push(Some(edge.source()) == source_node);
        }
        Network {
            unit_msat,
            amount_msat,
            demand,
            cap_units,
            range_msat,
            from_source,
            nodes: sub.nodes.len(),
            ends: sub.ends.clone(),
            source: sub.source,
            sink: sub.sink,
            arcs: Arcs::new(0),
        }
    }

    pub(super) fn unit_msat(&self) -> u64 {
        self.unit_msat
    }

    pub(super) fn demand_units(&self) -> i64 {
        self.demand
    }

    /// Lays out the pieces of every edge with the current caps and weights.
    pub(super) fn price(&mut self, graph: &Graph, sub: &Subgraph, weights: CostWeights) {
        let mut arcs = Arcs::new(self.nodes);
        let unit = self.unit_msat as f64;
        let per_unit_share = unit / self.amount_msat as f64;
        for (local, &id) in sub.edges.iter().enumerate() {
            let (Some(&cap), Some(&(a, b)), Some(&(from, to)), Some(edge)) = (
                self.cap_units.get(local),
                self.range_msat.get(local),
                self.ends.get(local),
                graph.edge(id),
            ) else {
                continue;
            };
            if cap <= 0 {
                continue;
            }
            let linear_nats = if self.from_source.get(local).copied().unwrap_or(false) {
                HOP_NATS
            } else {
                let amount = self.amount_msat as f64;
                let fee_share = (f64::from(edge.fee_base_msat())
                    + amount * f64::from(edge.fee_proportional_millionths()) / 1e6)
                    / amount;
                HOP_NATS
                    + weights.mu * fee_share
                    + weights.delay * f64::from(edge.cltv_expiry_delta())
            } * per_unit_share;
            let to_units = |msat: f64| ((msat / unit).floor() as i64).min(cap);
            let local = local as u32;
            let mut add = |start: i64, end: i64, nats_per_unit: f64| {
                if end > start {
                    let cost = (nats_per_unit * COST_SCALE).round().max(0.0) as i64;
                    arcs.add(from, to, end - start, cost, local);
                }
            };
            let certain_end = to_units(a as f64);
            add(0, certain_end, linear_nats);
            if b <= a {
                continue;
            }
            let width = (b - a) as f64;
            for pair in BREAKS.windows(2) {
                let [t0, t1] = [pair[0], pair[1]];
                let start = to_units(a as f64 + t0 * width).max(certain_end);
                let end = to_units(a as f64 + t1 * width);
                let slope_per_msat =
                    (neg_log_survival(t1) - neg_log_survival(t0)) / ((t1 - t0) * width);
                add(start, end, linear_nats + slope_per_msat * unit);
                if end >= cap {
                    break;
                }
            }
        }
        self.arcs = arcs;
    }

    /// Solves the priced network: units per local edge when the whole demand fits.
    pub(super) fn solve(&mut self) -> Option<Vec<i64>> {
        let sent = min_cost_flow(&mut self.arcs, self.source, self.sink, self.demand);
        (sent == self.demand).then(|| self.arcs.edge_flows(self.cap_units.len()))
    }

    /// Lets `local_edge` carry at most `max_units`.
    pub(super) fn restrict(&mut self, local_edge: usize, max_units: i64) {
        if let Some(cap) = self.cap_units.get_mut(local_edge) {
            *cap = (*cap).min(max_units.max(0));
        }
    }

    /// Closes every local edge not in `keep` (sorted).
    pub(super) fn keep_only(&mut self, keep: &[usize]) {
        for (local, cap) in self.cap_units.iter_mut().enumerate() {
            if keep.binary_search(&local).is_err() {
                *cap = 0;
            }
        }
    }

    /// Closes channels whose own delta already exceeds what `maxdelay` leaves.
    pub(super) fn drop_delays_above(&mut self, graph: &Graph, sub: &Subgraph, maxdelay: u32) {
        for (local, &id) in sub.edges.iter().enumerate() {
            let too_long = graph
                .edge(id)
                .is_some_and(|e| u32::from(e.cltv_expiry_delta()) > maxdelay);
            if too_long {
                self.restrict(local, 0);
            }
        }
    }
}
