//! Multi-part routes in the spirit of Core Lightning's askrene `getroutes`.
//!
//! The payment is a flow from `source` to `destination`. Each channel direction's cost is
//! convex in the amount it carries (after Pickhardt and Richter, "Optimally reliable & cheap
//! payment flows on the Lightning Network"): `-ln P(amount)` for liquidity uniform on the known
//! interval, plus `mu` times the fee share and small per-hop and per-block terms. The convex
//! cost is cut into a few linear pieces per channel ([`network`]), and a min-cost flow is found
//! by successive shortest paths with potentials ([`flow`]) on a small subgraph of promising
//! nodes ([`subgraph`]) so mainnet queries stay in milliseconds. The flow is then split into
//! paths, rounded to millisatoshi, and priced exactly as `getroute` does ([`paths`]); limits the
//! linear model cannot see (fees pushing a part over a channel's limits, `htlc_minimum_msat`,
//! `maxparts`, `maxfee_msat`, `maxdelay`) are repaired by re-solving with tighter arcs or a
//! larger fee weight.
//!
//! Field names and path semantics mirror `lightning-getroutes(7)`: `path[i]` is channel `i`,
//! `amount_msat` what flows over it (what `next_node_id` receives), `delay` the CLTV
//! `next_node_id` expects. As in `getroute`, the source's own channel is free.

mod flow;
mod network;
mod paths;
mod subgraph;
#[cfg(test)]
mod tests;

use serde::Serialize;

use super::{JSONRPC2_INVALID_PARAMS, PAY_ROUTE_NOT_FOUND};
use crate::graph::{EdgeRef, Graph};
use crate::liquidity::LiquidityView;

/// Default cap on the number of parts.
pub const DEFAULT_MAXPARTS: u32 = 16;
/// Core Lightning's default `maxdelay` (two weeks of blocks).
pub const DEFAULT_MAXDELAY: u32 = 2016;

/// The parameters of `getroutes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRoutesRequest {
    pub source: [u8; 33],
    pub destination: [u8; 33],
    pub amount_msat: u64,
    /// The fees of all parts together never exceed this.
    pub maxfee_msat: u64,
    /// CLTV the destination expects on arrival.
    pub final_cltv: u32,
    /// No part may ask the first node for a larger CLTV.
    pub maxdelay: u32,
    /// At most this many parts.
    pub maxparts: u32,
}

impl GetRoutesRequest {
    /// A request with the default `maxdelay` (2016) and `maxparts` (16).
    pub fn new(
        source: [u8; 33],
        destination: [u8; 33],
        amount_msat: u64,
        maxfee_msat: u64,
        final_cltv: u32,
    ) -> Self {
        GetRoutesRequest {
            source,
            destination,
            amount_msat,
            maxfee_msat,
            final_cltv,
            maxdelay: DEFAULT_MAXDELAY,
            maxparts: DEFAULT_MAXPARTS,
        }
    }
}

/// One channel of a part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStep {
    /// `BLOCKxTXxOUT/DIR`.
    pub short_channel_id_dir: String,
    /// The node at the end of this channel (hex pubkey).
    pub next_node_id: String,
    /// What flows over this channel: what `next_node_id` receives.
    pub amount_msat: u64,
    /// The CLTV `next_node_id` expects.
    pub delay: u32,
}

/// One part of the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRoute {
    /// Success probability of this part alone, in parts per million.
    pub probability_ppm: u64,
    /// What this part delivers to the destination.
    pub amount_msat: u64,
    pub final_cltv: u32,
    pub path: Vec<PathStep>,
}

/// The answer: parts whose `amount_msat` sum to the requested amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routes {
    /// Product of the parts' probabilities, in parts per million.
    pub probability_ppm: u64,
    pub routes: Vec<PaymentRoute>,
}

impl Routes {
    /// Fees of all parts: what the source sends minus what the destination receives.
    pub fn fee_msat(&self) -> u64 {
        self.routes
            .iter()
            .map(|r| {
                r.path
                    .first()
                    .map_or(0, |s| s.amount_msat.saturating_sub(r.amount_msat))
            })
            .sum()
    }
}

/// Why `getroutes` failed, with a Core Lightning style JSON-RPC code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetRoutesError {
    #[error("Could not find routes: {0}")]
    RouteNotFound(NotFoundReason),
    #[error("Unknown source node {0}")]
    UnknownSource(String),
    #[error("Unknown destination node {0}")]
    UnknownDestination(String),
    #[error("'{param}' should be {reason}")]
    InvalidParams { param: &'static str, reason: String },
}

/// What kept every candidate flow from being an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotFoundReason {
    #[error("not enough capacity between source and destination")]
    InsufficientCapacity,
    #[error("every flow found costs more than maxfee_msat")]
    FeeTooHigh,
    #[error("every flow found has a delay above maxdelay")]
    DelayTooHigh,
    #[error("no flow fits in maxparts parts")]
    TooManyParts,
    #[error("fees or htlc limits leave no feasible flow")]
    ChannelLimits,
}

impl GetRoutesError {
    /// The JSON-RPC error code (Core Lightning's `PAY_ROUTE_NOT_FOUND` or invalid params).
    pub fn code(&self) -> i32 {
        match self {
            GetRoutesError::RouteNotFound(_) => PAY_ROUTE_NOT_FOUND,
            GetRoutesError::UnknownSource(_)
            | GetRoutesError::UnknownDestination(_)
            | GetRoutesError::InvalidParams { .. } => JSONRPC2_INVALID_PARAMS,
        }
    }

    /// The JSON-RPC `error` object: `{"code": .., "message": ..}`.
    pub fn to_json_rpc(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code(), "message": self.to_string() })
    }
}

/// Weights of the linearised cost; raised between rounds when a limit is exceeded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CostWeights {
    /// Nats of `-ln P` one unit of fee share (fee / amount) is worth.
    pub(crate) mu: f64,
    /// Nats per block of CLTV delta, for the whole amount.
    pub(crate) delay: f64,
}

impl Default for CostWeights {
    fn default() -> Self {
        CostWeights {
            mu: 100.0,
            delay: 1e-5,
        }
    }
}

/// How many solve-and-repair rounds one query may take.
const MAX_ROUNDS: usize = 12;

/// Finds parts delivering `request.amount_msat` from `source` to `destination`.
pub fn getroutes(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    request: &GetRoutesRequest,
) -> Result<Routes, GetRoutesError> {
    let source = graph
        .node_index(&request.source)
        .ok_or_else(|| GetRoutesError::UnknownSource(hex::encode(request.source)))?;
    let destination = graph
        .node_index(&request.destination)
        .ok_or_else(|| GetRoutesError::UnknownDestination(hex::encode(request.destination)))?;
    if source == destination {
        return Err(invalid("destination", "a node other than the source"));
    }
    if request.amount_msat == 0 {
        return Err(invalid("amount_msat", "a positive amount"));
    }
    if request.maxparts == 0 {
        return Err(invalid("maxparts", "at least 1"));
    }

    // The source's channels out and the destination's channels in bound any flow: a cheap
    // exact refusal that spares the solver (and its wider retry) hopeless queries.
    let out_msat = side_capacity_msat(graph.outgoing(source), liquidity, request.amount_msat);
    let in_msat = side_capacity_msat(graph.incoming(destination), liquidity, request.amount_msat);
    if out_msat.min(in_msat) < request.amount_msat {
        return Err(GetRoutesError::RouteNotFound(
            NotFoundReason::InsufficientCapacity,
        ));
    }

    let mut weights = CostWeights::default();
    let mut max_nodes = subgraph::MAX_NODES;
    let mut sub = subgraph::select(
        graph,
        liquidity,
        source,
        destination,
        request,
        weights,
        max_nodes,
    );
    let mut net = network::Network::build(graph, liquidity, &sub, request.amount_msat);
    let mut last_failure = NotFoundReason::InsufficientCapacity;
    let mut keep_parts = request.maxparts as usize;
    for round in 0..MAX_ROUNDS {
        net.price(graph, &sub, weights);
        let Some(edge_units) = net.solve() else {
            // The small subgraph may miss capacity the network has: look wider, once, and only
            // before any repair (a repaired network failing is not a lack of nodes).
            if round == 0 && max_nodes < subgraph::WIDE_NODES {
                max_nodes = subgraph::WIDE_NODES;
                sub = subgraph::select(
                    graph,
                    liquidity,
                    source,
                    destination,
                    request,
                    weights,
                    max_nodes,
                );
                net = network::Network::build(graph, liquidity, &sub, request.amount_msat);
                keep_parts = request.maxparts as usize;
                continue;
            }
            tracing::debug!(round, reason = %last_failure, "getroutes found no flow");
            return Err(GetRoutesError::RouteNotFound(last_failure));
        };
        let decomposed = paths::decompose(&sub, &edge_units, net.demand_units());
        let parts = paths::price_parts(graph, &sub, &decomposed, net.unit_msat(), request);
        let parts = match paths::check_limits(graph, liquidity, &parts, net.unit_msat()) {
            Ok(()) => parts,
            Err(violations) => {
                for violation in violations {
                    net.restrict(violation.local_edge, violation.max_units);
                }
                last_failure = NotFoundReason::ChannelLimits;
                continue;
            }
        };
        if parts.len() > request.maxparts as usize {
            // Keep only the channels of the largest parts and solve again; with one part the
            // union is a single path, so this ends.
            let keep = keep_parts.min(parts.len().saturating_sub(1)).max(1);
            net.keep_only(&paths::edges_of_largest(&parts, keep));
            keep_parts = keep.saturating_sub(1).max(1);
            last_failure = NotFoundReason::TooManyParts;
            continue;
        }
        let fee: u64 = parts.iter().map(|p| p.fee_msat()).sum();
        let delay_ok = parts.iter().all(|p| p.first_delay() <= request.maxdelay);
        if fee > request.maxfee_msat {
            weights.mu *= 8.0;
            last_failure = NotFoundReason::FeeTooHigh;
            continue;
        }
        if !delay_ok {
            weights.delay *= 8.0;
            net.drop_delays_above(graph, &sub, request.maxdelay);
            last_failure = NotFoundReason::DelayTooHigh;
            continue;
        }
        return Ok(paths::to_routes(
            graph,
            liquidity,
            &parts,
            request.final_cltv,
        ));
    }
    Err(GetRoutesError::RouteNotFound(last_failure))
}

fn invalid(param: &'static str, reason: &str) -> GetRoutesError {
    GetRoutesError::InvalidParams {
        param,
        reason: reason.into(),
    }
}

/// What the usable channels among `edges` can hold together.
fn side_capacity_msat<'g>(
    edges: impl Iterator<Item = EdgeRef<'g>>,
    liquidity: &impl LiquidityView,
    amount_msat: u64,
) -> u64 {
    edges
        .filter(|e| usable(e, amount_msat))
        .map(|e| subgraph::liquidity_max_msat(&e, liquidity))
        .fold(0u64, u64::saturating_add)
}

/// Whether a channel direction may carry some part of a payment of `amount_msat` at all.
pub(crate) fn usable(edge: &EdgeRef<'_>, amount_msat: u64) -> bool {
    edge.enabled() && edge.capacity_sat() > 0 && edge.htlc_minimum_msat() <= amount_msat
}
