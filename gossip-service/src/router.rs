//! Core Lightning compatible `getroute` over the compact [`Graph`].
//!
//! Semantics follow `lightning-getroute(7)`:
//! - `route[i]` describes channel `i`: `id` is the node at its far end, `amount_msat` what that
//!   node expects to receive over it, `delay` the CLTV it expects. The last hop carries exactly
//!   the requested amount and `cltv`; each earlier hop adds the fee and `cltv_expiry_delta` the
//!   node at its end charges for forwarding over the *next* channel. The first channel is the
//!   source's own and free ("assuming the first hop is free").
//! - Fees per BOLT 7: `fee_base_msat + amount * fee_proportional_millionths / 1_000_000`
//!   (integer division).
//! - Route cost = fuzzed fee + risk fee + a success-probability penalty (see [`cost`]).
//!
//! The search runs backwards from the destination ([`search`]), so the amount and CLTV each
//! channel must carry are known when it is considered.

mod cost;
pub mod getroutes;
mod scratch;
mod search;
#[cfg(test)]
mod tests;

use std::str::FromStr;

use lnfleet_wire::ShortChannelId;
use serde::Serialize;

use crate::graph::Graph;
use crate::liquidity::LiquidityView;

pub use cost::{forwarding_fee_msat, risk_fee_msat, success_probability};
pub use getroutes::{getroutes, GetRoutesError, GetRoutesRequest, PathStep, PaymentRoute, Routes};

/// Core Lightning's default final CLTV when the caller gives none.
pub const DEFAULT_CLTV: u32 = 9;
/// Core Lightning's default fee distortion, in percent.
pub const DEFAULT_FUZZPERCENT: f64 = 5.0;
/// Core Lightning's default maximum number of channels in a route.
pub const DEFAULT_MAXHOPS: u32 = 20;

/// JSON-RPC code for invalid parameters.
pub const JSONRPC2_INVALID_PARAMS: i32 = -32602;
/// Core Lightning's `PAY_ROUTE_NOT_FOUND`.
pub const PAY_ROUTE_NOT_FOUND: i32 = 205;

/// Something `getroute` must not route through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// One direction of a channel (`"564334x877x1/0"`).
    Channel { scid: ShortChannelId, direction: u8 },
    /// Every channel touching a node (its 33-byte id in hex).
    Node([u8; 33]),
}

impl FromStr for Exclusion {
    type Err = RouteError;

    /// Parses Core Lightning's forms: `BLOCKxTXxOUT/DIR` or a 66-hex-digit node id.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RouteError::InvalidParams {
            param: "exclude",
            reason: format!("{s:?} is neither a short_channel_id/direction nor a node id"),
        };
        if let Some((scid, dir)) = s.split_once('/') {
            let scid = scid.parse().map_err(|_| bad())?;
            let direction = match dir {
                "0" => 0,
                "1" => 1,
                _ => return Err(bad()),
            };
            return Ok(Exclusion::Channel { scid, direction });
        }
        let mut id = [0u8; 33];
        hex::decode_to_slice(s, &mut id).map_err(|_| bad())?;
        Ok(Exclusion::Node(id))
    }
}

/// The parameters of `getroute`, with Core Lightning's defaults from [`GetRouteRequest::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct GetRouteRequest {
    /// Destination node.
    pub id: [u8; 33],
    pub amount_msat: u64,
    /// Annual cost of funds stuck, in percent (risk fee = amount × blocks × riskfactor / 5259600).
    pub riskfactor: f64,
    /// CLTV the destination expects on arrival.
    pub cltv: u32,
    /// Source node (Core Lightning defaults to itself; we have no "self", so it is required).
    pub fromid: [u8; 33],
    /// Each channel's fee is distorted by up to ± this percentage, in [0, 100].
    pub fuzzpercent: f64,
    /// Seed of the fee distortion: the same seed gives the same route.
    pub seed: u64,
    pub exclude: Vec<Exclusion>,
    pub maxhops: u32,
}

impl GetRouteRequest {
    /// A request with Core Lightning's defaults (`cltv` 9, `fuzzpercent` 5, `maxhops` 20) and seed 0.
    pub fn new(fromid: [u8; 33], id: [u8; 33], amount_msat: u64, riskfactor: f64) -> Self {
        GetRouteRequest {
            id,
            amount_msat,
            riskfactor,
            cltv: DEFAULT_CLTV,
            fromid,
            fuzzpercent: DEFAULT_FUZZPERCENT,
            seed: 0,
            exclude: Vec::new(),
            maxhops: DEFAULT_MAXHOPS,
        }
    }
}

/// One channel of a route, in Core Lightning's `getroute` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteHop {
    /// The node at the end of this hop (hex pubkey).
    pub id: String,
    /// `BLOCKxTXxOUT`.
    pub channel: String,
    /// 0 if traversed from the lesser to the greater node id.
    pub direction: u8,
    /// What the node at the end of this hop expects to receive.
    pub amount_msat: u64,
    /// The total CLTV the node at the end of this hop expects.
    pub delay: u32,
    /// Always `"tlv"`.
    pub style: &'static str,
}

/// A route; serialises as `{"route":[...]}` like Core Lightning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    #[serde(rename = "route")]
    pub hops: Vec<RouteHop>,
}

/// Why `getroute` failed, with Core Lightning's JSON-RPC code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error("Could not find a route")]
    RouteNotFound,
    #[error("Unknown destination node {0}")]
    UnknownDestination(String),
    #[error("Unknown source node {0}")]
    UnknownSource(String),
    #[error("'{param}' should be {reason}")]
    InvalidParams { param: &'static str, reason: String },
}

impl RouteError {
    /// The JSON-RPC error code Core Lightning returns for this failure.
    pub fn code(&self) -> i32 {
        match self {
            RouteError::RouteNotFound => PAY_ROUTE_NOT_FOUND,
            RouteError::UnknownDestination(_)
            | RouteError::UnknownSource(_)
            | RouteError::InvalidParams { .. } => JSONRPC2_INVALID_PARAMS,
        }
    }

    /// The JSON-RPC `error` object: `{"code": .., "message": ..}`.
    pub fn to_json_rpc(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code(), "message": self.to_string() })
    }
}

/// Finds the cheapest route for `request` (fee + risk + failure penalty), or why there is none.
pub fn getroute(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    request: &GetRouteRequest,
) -> Result<Route, RouteError> {
    let query = search::Query::validate(graph, request)?;
    let found = search::cheapest_path(graph, liquidity, &query);
    let path = match found.path {
        Some(path) => Some(path),
        None if found.pruned => search::hop_limited_path(graph, liquidity, &query),
        None => None,
    };
    search::to_route(graph, &path.ok_or(RouteError::RouteNotFound)?)
}
