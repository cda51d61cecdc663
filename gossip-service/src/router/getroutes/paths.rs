//! From a flow to priced parts: decomposition into paths, rounding to msat, fees and CLTV
//! computed backwards exactly as `getroute` does, and the checks the linear model cannot make.

use super::subgraph::{liquidity_max_msat, Subgraph};
use super::{GetRoutesRequest, PathStep, PaymentRoute, Routes};
use crate::graph::{EdgeIndex, Graph};
use crate::liquidity::LiquidityView;
use crate::router::{forwarding_fee_msat, success_probability};

/// One path of the flow: local edges from source to sink and the units it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FlowPath {
    pub(super) local_edges: Vec<usize>,
    pub(super) units: i64,
}

/// Splits per-edge flows into source → sink paths, cancelling any cycle met on the way.
pub(super) fn decompose(sub: &Subgraph, edge_units: &[i64], demand: i64) -> Vec<FlowPath> {
    let mut flow = edge_units.to_vec();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); sub.nodes.len()];
    for (e, (&(from, _), &f)) in sub.ends.iter().zip(edge_units).enumerate() {
        if f > 0 {
            if let Some(list) = out.get_mut(from as usize) {
                list.push(e);
            }
        }
    }
    let mut cursor = vec![0usize; sub.nodes.len()];
    let mut paths = Vec::new();
    let mut sent = 0;
    // Every round empties at least one edge.
    for _ in 0..=sub.edges.len() {
        if sent >= demand {
            break;
        }
        let mut walk: Vec<usize> = Vec::new();
        let mut walk_nodes = vec![sub.source];
        let mut u = sub.source;
        while u != sub.sink {
            let Some(e) = next_edge(&out, &mut cursor, &flow, u) else {
                return paths; // Flow not conserved: nothing more to take.
            };
            let v = sub.ends.get(e).map_or(u, |&(_, to)| to);
            if let Some(pos) = walk_nodes.iter().position(|&n| n == v) {
                let mut cycle = walk.split_off(pos);
                cycle.push(e);
                let least = cycle.iter().map(|&c| flow[c]).min().unwrap_or(0);
                for &c in &cycle {
                    flow[c] -= least;
                }
                walk_nodes.truncate(pos + 1);
            } else {
                walk.push(e);
                walk_nodes.push(v);
            }
            u = v;
        }
        let units = walk.iter().map(|&e| flow[e]).min().unwrap_or(0);
        if units <= 0 {
            break;
        }
        for &e in &walk {
            flow[e] -= units;
        }
        sent += units;
        paths.push(FlowPath {
            local_edges: walk,
            units,
        });
    }
    paths
}

fn next_edge(out: &[Vec<usize>], cursor: &mut [usize], flow: &[i64], u: u32) -> Option<usize> {
    let list = out.get(u as usize)?;
    let at = cursor.get_mut(u as usize)?;
    while let Some(&e) = list.get(*at) {
        if flow.get(e).copied().unwrap_or(0) > 0 {
            return Some(e);
        }
        *at += 1;
    }
    None
}

/// One channel of a priced part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hop {
    pub(super) local_edge: usize,
    pub(super) edge: EdgeIndex,
    /// What flows over the channel.
    pub(super) amount_msat: u64,
    /// The CLTV the channel's far end expects.
    pub(super) delay: u32,
}

/// A part with exact amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    pub(super) deliver_msat: u64,
    pub(super) hops: Vec<Hop>,
}

impl Part {
    pub(super) fn fee_msat(&self) -> u64 {
        self.hops
            .first()
            .map_or(0, |h| h.amount_msat.saturating_sub(self.deliver_msat))
    }

    pub(super) fn first_delay(&self) -> u32 {
        self.hops.first().map_or(0, |h| h.delay)
    }
}

/// Rounds the paths to msat summing to the amount, then prices each backwards.
pub(super) fn price_parts(
    graph: &Graph,
    sub: &Subgraph,
    paths: &[FlowPath],
    unit_msat: u64,
    request: &GetRoutesRequest,
) -> Vec<Part> {
    let mut sized: Vec<(u64, &FlowPath)> = paths
        .iter()
        .map(|p| ((p.units.max(0) as u64).saturating_mul(unit_msat), p))
        .collect();
    sized.sort_by_key(|s| std::cmp::Reverse(s.0));
    // Units were rounded up: take the excess off the largest parts.
    let total: u64 = sized.iter().map(|(m, _)| *m).sum();
    let mut excess = total.saturating_sub(request.amount_msat);
    for (msat, _) in sized.iter_mut() {
        let take = excess.min(*msat);
        *msat -= take;
        excess -= take;
    }
    sized
        .into_iter()
        .filter(|(msat, _)| *msat > 0)
        .map(|(deliver_msat, path)| price_path(graph, sub, path, deliver_msat, request))
        .collect()
}

fn price_path(
    graph: &Graph,
    sub: &Subgraph,
    path: &FlowPath,
    deliver_msat: u64,
    request: &GetRoutesRequest,
) -> Part {
    let mut hops = Vec::with_capacity(path.local_edges.len());
    let mut amount = deliver_msat;
    let mut delay = request.final_cltv;
    for (i, &local_edge) in path.local_edges.iter().enumerate().rev() {
        let edge_id = sub.edges.get(local_edge).copied().unwrap_or(EdgeIndex::MAX);
        hops.push(Hop {
            local_edge,
            edge: edge_id,
            amount_msat: amount,
            delay,
        });
        // The source's own channel is free, as in `getroute`.
        if i == 0 {
            break;
        }
        if let Some(edge) = graph.edge(edge_id) {
            let fee = forwarding_fee_msat(
                amount,
                edge.fee_base_msat(),
                edge.fee_proportional_millionths(),
            )
            .unwrap_or(u64::MAX);
            amount = amount.saturating_add(fee);
            delay = delay.saturating_add(u32::from(edge.cltv_expiry_delta()));
        }
    }
    hops.reverse();
    Part { deliver_msat, hops }
}

/// A local edge the next round must narrow (0 closes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Violation {
    pub(super) local_edge: usize,
    pub(super) max_units: i64,
}

/// Checks every hop against `htlc_minimum_msat`/`htlc_maximum_msat` and every channel's total
/// against its known liquidity.
pub(super) fn check_limits(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    parts: &[Part],
    unit_msat: u64,
) -> Result<(), Vec<Violation>> {
    let mut totals: Vec<(usize, EdgeIndex, u64)> = Vec::new();
    let mut violations = Vec::new();
    for hop in parts.iter().flat_map(|p| &p.hops) {
        let Some(edge) = graph.edge(hop.edge) else {
            violations.push(Violation {
                local_edge: hop.local_edge,
                max_units: 0,
            });
            continue;
        };
        if hop.amount_msat < edge.htlc_minimum_msat() {
            violations.push(Violation {
                local_edge: hop.local_edge,
                max_units: 0,
            });
        }
        let htlc_max = edge.htlc_maximum_msat();
        if htlc_max != 0 && hop.amount_msat > htlc_max {
            let over = hop.amount_msat - htlc_max;
            violations.push(shrink(hop.local_edge, hop.amount_msat, over, unit_msat));
        }
        match totals.iter_mut().find(|(l, _, _)| *l == hop.local_edge) {
            Some(total) => total.2 = total.2.saturating_add(hop.amount_msat),
            None => totals.push((hop.local_edge, hop.edge, hop.amount_msat)),
        }
    }
    for (local_edge, id, total) in totals {
        let Some(edge) = graph.edge(id) else { continue };
        let max = liquidity_max_msat(&edge, liquidity);
        if total > max {
            violations.push(shrink(local_edge, total, total - max, unit_msat));
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// The units a channel may carry so that `carried_msat` drops by at least `over_msat`.
fn shrink(local_edge: usize, carried_msat: u64, over_msat: u64, unit_msat: u64) -> Violation {
    let carried = carried_msat / unit_msat;
    let cut = over_msat.div_ceil(unit_msat) + 1;
    Violation {
        local_edge,
        max_units: carried.saturating_sub(cut) as i64,
    }
}

/// Local edges of the `k` largest parts, sorted.
pub(super) fn edges_of_largest(parts: &[Part], k: usize) -> Vec<usize> {
    let mut by_size: Vec<&Part> = parts.iter().collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.deliver_msat));
    let mut edges: Vec<usize> = by_size
        .into_iter()
        .take(k)
        .flat_map(|p| p.hops.iter().map(|h| h.local_edge))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// The answer in Core Lightning's shape, with probabilities from the liquidity model.
pub(super) fn to_routes(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    parts: &[Part],
    final_cltv: u32,
) -> Routes {
    let mut overall = 1.0;
    let routes = parts
        .iter()
        .map(|part| {
            let mut probability = 1.0;
            let path = part
                .hops
                .iter()
                .filter_map(|hop| {
                    let edge = graph.edge(hop.edge)?;
                    probability *= success_probability(
                        hop.amount_msat,
                        edge.capacity_sat().saturating_mul(1000),
                        liquidity.bounds(edge.scid(), edge.direction()),
                    );
                    Some(PathStep {
                        short_channel_id_dir: format!("{}/{}", edge.scid(), edge.direction()),
                        next_node_id: hex::encode(graph.node_id(edge.target())?),
                        amount_msat: hop.amount_msat,
                        delay: hop.delay,
                    })
                })
                .collect();
            overall *= probability;
            PaymentRoute {
                probability_ppm: to_ppm(probability),
                amount_msat: part.deliver_msat,
                final_cltv,
                path,
            }
        })
        .collect();
    Routes {
        probability_ppm: to_ppm(overall),
        routes,
    }
}

fn to_ppm(probability: f64) -> u64 {
    (probability.clamp(0.0, 1.0) * 1e6).round() as u64
}
