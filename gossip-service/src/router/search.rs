//! Dijkstra backwards from the destination over the compact graph.
//!
//! Labels live in per-thread arrays indexed by node, reused across queries ([`super::scratch`]);
//! the frontier is a binary heap keyed by cost. Costs are non-negative finite `f64`, whose IEEE
//! bit patterns sort like the values, so the heap orders plain `u64`s. A forward search over
//! lower bounds of the costs turns the backward search into A* once the two meet
//! ([`bidirectional`]), so a query settles the nodes near the cheapest route rather than every
//! node cheaper to reach than the source.
//!
//! Because fees depend on the amount, and the amount a node must receive depends on the path
//! after it, searching from the destination makes every label exact: when a channel `u → v` is
//! considered, what `v` must receive (and by when) is already settled. The hop limit prunes
//! labels that would exceed `maxhops`. When that pruning hid every route (the cheapest path from
//! some node was too long, though a costlier shorter one existed), [`hop_limited_path`] searches
//! again layer by layer (Bellman-Ford bounded by `maxhops`), which is slower but respects the
//! limit exactly.

mod bidirectional;
#[cfg(test)]
pub(super) mod reference;

use super::cost::{
    fuzz_factor, probability_penalty_lower_bound_msat, probability_penalty_msat, risk_fee_msat,
    success_probability,
};
use super::{GetRouteRequest, Route, RouteError, RouteHop};
use crate::graph::{EdgeIndex, EdgeRef, Graph, NodeIndex};
use crate::liquidity::LiquidityView;

use super::scratch::{with_scratch, NO_EDGE};

/// A request resolved against the graph.
#[derive(Debug, Clone)]
pub(super) struct Query {
    source: NodeIndex,
    destination: NodeIndex,
    amount_msat: u64,
    cltv: u32,
    riskfactor: f64,
    /// `fuzzpercent / 100`.
    fuzz: f64,
    seed: u64,
    maxhops: u32,
    /// Sorted, for binary search; usually empty.
    excluded_edges: Vec<EdgeIndex>,
    excluded_nodes: Vec<NodeIndex>,
}

impl Query {
    pub(super) fn validate(graph: &Graph, request: &GetRouteRequest) -> Result<Self, RouteError> {
        let destination = graph
            .node_index(&request.id)
            .ok_or_else(|| RouteError::UnknownDestination(hex::encode(request.id)))?;
        let source = graph
            .node_index(&request.fromid)
            .ok_or_else(|| RouteError::UnknownSource(hex::encode(request.fromid)))?;
        if source == destination {
            return Err(RouteError::InvalidParams {
                param: "fromid",
                reason: "a node other than the destination".into(),
            });
        }
        if !(request.riskfactor.is_finite() && request.riskfactor >= 0.0) {
            return Err(RouteError::InvalidParams {
                param: "riskfactor",
                reason: "a non-negative number".into(),
            });
        }
        if !(0.0..=100.0).contains(&request.fuzzpercent) {
            return Err(RouteError::InvalidParams {
                param: "fuzzpercent",
                reason: "a number between 0 and 100".into(),
            });
        }
        let mut excluded_edges = Vec::new();
        let mut excluded_nodes = Vec::new();
        // Exclusions naming channels or nodes we do not know exclude nothing.
        for exclusion in &request.exclude {
            match *exclusion {
                super::Exclusion::Channel { scid, direction } => {
                    if let Some(e) = graph.half_channel(scid, direction) {
                        excluded_edges.push(e.id());
                    }
                }
                super::Exclusion::Node(id) => {
                    if let Some(n) = graph.node_index(&id) {
                        excluded_nodes.push(n);
                    }
                }
            }
        }
        excluded_edges.sort_unstable();
        excluded_nodes.sort_unstable();
        Ok(Query {
            source,
            destination,
            amount_msat: request.amount_msat,
            cltv: request.cltv,
            riskfactor: request.riskfactor,
            fuzz: request.fuzzpercent / 100.0,
            seed: request.seed,
            maxhops: request.maxhops,
            excluded_edges,
            excluded_nodes,
        })
    }

    fn excludes(&self, edge: &EdgeRef<'_>) -> bool {
        (!self.excluded_edges.is_empty() && self.excluded_edges.binary_search(&edge.id()).is_ok())
            || (!self.excluded_nodes.is_empty()
                && self.excluded_nodes.binary_search(&edge.source()).is_ok())
    }
}

/// One channel of the found path with what its far end expects.
#[derive(Debug, Clone, Copy)]
pub(super) struct PathHop {
    edge: EdgeIndex,
    amount_msat: u64,
    delay: u32,
}

/// What using `edge` costs given what its target must receive, and the label it gives its
/// source; `None` when the channel cannot carry the payment.
fn relax(
    query: &Query,
    liquidity: &impl LiquidityView,
    edge: &EdgeRef<'_>,
    amount_msat: u64,
    delay: u32,
) -> Option<(f64, u64, u32)> {
    let (cost, delay_in) = relax_parts(query, liquidity, edge, amount_msat, delay)?;
    Some((cost.exact(), cost.amount_in_msat, delay_in))
}

/// [`relax`] with the cost left in parts, so a caller can reject the channel on a cheap lower
/// bound before paying for the logarithm.
#[inline]
fn relax_parts(
    query: &Query,
    liquidity: &impl LiquidityView,
    edge: &EdgeRef<'_>,
    amount_msat: u64,
    delay: u32,
) -> Option<(EdgeCost, u32)> {
    if !edge.enabled() {
        return None;
    }
    // Amount 0 is Core Lightning's probe: it ignores htlc_minimum_msat.
    if query.amount_msat != 0 && amount_msat < edge.htlc_minimum_msat() {
        return None;
    }
    let cost = edge_cost(query, liquidity, edge, amount_msat)?;
    let delay_in = delay.checked_add(cost.delta)?;
    Some((cost, delay_in))
}

/// The cost of forwarding an amount over one channel, before the failure penalty is summed.
#[derive(Debug, Clone, Copy)]
struct EdgeCost {
    /// Fuzzed fee plus risk fee.
    fee_and_risk: f64,
    probability: f64,
    amount_msat: u64,
    /// What the channel's source must receive.
    amount_in_msat: u64,
    /// The CLTV delta the channel's source adds.
    delta: u32,
}

impl EdgeCost {
    /// Fee + risk + failure penalty: the cost the search minimises.
    #[inline]
    fn exact(&self) -> f64 {
        self.fee_and_risk + probability_penalty_msat(self.amount_msat, self.probability)
    }

    /// Never above [`EdgeCost::exact`] (even rounded), without a logarithm.
    #[inline]
    fn lower_bound(&self) -> f64 {
        self.fee_and_risk + probability_penalty_lower_bound_msat(self.amount_msat, self.probability)
    }
}

/// The cost of forwarding `amount_msat` over `edge` (htlc_minimum and `enabled` aside). Every
/// term grows with `amount_msat`, which makes the cost at the requested amount a lower bound
/// for the whole route ([`bidirectional`]).
#[inline]
fn edge_cost(
    query: &Query,
    liquidity: &impl LiquidityView,
    edge: &EdgeRef<'_>,
    amount_msat: u64,
) -> Option<EdgeCost> {
    // A zero maximum means the update did not set one: the capacity bounds it.
    let htlc_max = edge.htlc_maximum_msat();
    if htlc_max != 0 && amount_msat > htlc_max {
        return None;
    }
    if query.excludes(edge) {
        return None;
    }
    let capacity_msat = edge.capacity_sat().saturating_mul(1000);
    let bounds = liquidity.bounds(edge.scid(), edge.direction());
    let probability = success_probability(amount_msat, capacity_msat, bounds);
    if probability <= 0.0 {
        return None;
    }
    // The source pays no fee and adds no delay on its own channel.
    let (fee, delta) = if edge.source() == query.source {
        (0, 0)
    } else {
        let fee = super::forwarding_fee_msat(
            amount_msat,
            edge.fee_base_msat(),
            edge.fee_proportional_millionths(),
        )?;
        (fee, u32::from(edge.cltv_expiry_delta()))
    };
    let amount_in_msat = amount_msat.checked_add(fee)?;
    let fuzzed_fee =
        fee as f64 * fuzz_factor(query.seed, edge.scid(), edge.direction(), query.fuzz);
    Some(EdgeCost {
        fee_and_risk: fuzzed_fee + risk_fee_msat(amount_in_msat, delta, query.riskfactor),
        probability,
        amount_msat,
        amount_in_msat,
        delta,
    })
}

/// Outcome of the search.
pub(super) struct Search {
    pub(super) path: Option<Vec<PathHop>>,
    /// Some label was dropped for reaching `maxhops`: a miss may not be final.
    pub(super) pruned: bool,
    /// The found path's cost (infinite when none).
    pub(super) cost: f64,
    /// Nodes settled by both searches, to measure how much of the graph a query reads.
    pub(super) settled: usize,
}

/// The cheapest path from `query.source` to `query.destination`, first channel first.
pub(super) fn cheapest_path(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    query: &Query,
) -> Search {
    let search = with_scratch(|scratch| bidirectional::search(graph, liquidity, query, scratch));
    tracing::trace!(
        settled = search.settled,
        cost_msat = search.cost,
        pruned = search.pruned,
        "getroute search done"
    );
    search
}

/// Labels of every node for paths of exactly one number of channels.
struct Layer {
    cost: Vec<f64>,
    amount_msat: Vec<u64>,
    delay: Vec<u32>,
    next_edge: Vec<EdgeIndex>,
}

impl Layer {
    fn new(nodes: usize) -> Self {
        Layer {
            cost: vec![f64::INFINITY; nodes],
            amount_msat: vec![0; nodes],
            delay: vec![0; nodes],
            next_edge: vec![NO_EDGE; nodes],
        }
    }
}

/// The cheapest path of at most `maxhops` channels: layer `k` holds the best path of exactly
/// `k` channels from each node. O(maxhops × edges) time and O(maxhops × nodes) memory, so only
/// a fallback for when Dijkstra's hop pruning found nothing.
pub(super) fn hop_limited_path(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    query: &Query,
) -> Option<Vec<PathHop>> {
    let nodes = graph.node_count();
    let (source, dest) = (query.source as usize, query.destination as usize);
    let mut first = Layer::new(nodes);
    *first.cost.get_mut(dest)? = 0.0;
    first.amount_msat[dest] = query.amount_msat;
    first.delay[dest] = query.cltv;
    let mut layers = vec![first];
    let mut frontier = vec![query.destination];
    let mut in_frontier = vec![false; nodes];
    let mut best: Option<(f64, usize)> = None;
    for k in 1..=query.maxhops as usize {
        if frontier.is_empty() {
            break;
        }
        let previous = layers.last()?;
        let mut layer = Layer::new(nodes);
        let mut next_frontier = Vec::new();
        for &v in &frontier {
            let vi = v as usize;
            for edge in graph.incoming(v) {
                let u = edge.source() as usize;
                if u == dest {
                    continue;
                }
                let Some((edge_cost, amount_in, delay_in)) = relax(
                    query,
                    liquidity,
                    &edge,
                    previous.amount_msat[vi],
                    previous.delay[vi],
                ) else {
                    continue;
                };
                let cost = previous.cost[vi] + edge_cost;
                if cost < layer.cost[u] {
                    layer.cost[u] = cost;
                    layer.amount_msat[u] = amount_in;
                    layer.delay[u] = delay_in;
                    layer.next_edge[u] = edge.id();
                    // The source only starts paths; it never forwards.
                    if u != source && !std::mem::replace(&mut in_frontier[u], true) {
                        next_frontier.push(edge.source());
                    }
                }
            }
        }
        for &n in &next_frontier {
            in_frontier[n as usize] = false;
        }
        let at_source = layer.cost[source];
        if at_source.is_finite() && best.is_none_or(|(c, _)| at_source < c) {
            best = Some((at_source, k));
        }
        layers.push(layer);
        frontier = next_frontier;
    }

    let (_, hops) = best?;
    let mut path = Vec::with_capacity(hops);
    let mut visited = vec![source];
    let mut node = source;
    for k in (1..=hops).rev() {
        let edge = graph.edge(*layers.get(k)?.next_edge.get(node)?)?;
        node = edge.target() as usize;
        if visited.contains(&node) {
            return None; // A walk through a cycle is never the answer Core Lightning gives.
        }
        visited.push(node);
        let below = layers.get(k - 1)?;
        path.push(PathHop {
            edge: edge.id(),
            amount_msat: *below.amount_msat.get(node)?,
            delay: *below.delay.get(node)?,
        });
    }
    (node == dest).then_some(path)
}

/// Core Lightning's output shape for a found path.
pub(super) fn to_route(graph: &Graph, path: &[PathHop]) -> Result<Route, RouteError> {
    let hops = path
        .iter()
        .map(|hop| {
            let edge = graph.edge(hop.edge).ok_or(RouteError::RouteNotFound)?;
            let id = graph
                .node_id(edge.target())
                .ok_or(RouteError::RouteNotFound)?;
            Ok(RouteHop {
                id: hex::encode(id),
                channel: edge.scid().to_string(),
                direction: edge.direction(),
                amount_msat: hop.amount_msat,
                delay: hop.delay,
                style: "tlv",
            })
        })
        .collect::<Result<_, RouteError>>()?;
    Ok(Route { hops })
}
