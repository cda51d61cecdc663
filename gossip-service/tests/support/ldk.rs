//! LDK's router over the same mainnet snapshot as ours, and the random queries both answer.
//!
//! Shared by `tests/ldk_compare.rs` and `benches/getroute.rs` (through `#[path]`, beside
//! `sample.rs` as `mod sample`), so both ask the same questions of the same graph.
//!
//! The LDK `NetworkGraph` gets every snapshot channel through
//! `add_channel_from_partial_announcement` (with its capacity) and each direction's policy
//! through `update_channel_unsigned`. Two adjustments keep the two graphs equivalent:
//! - a half our graph does not use ([`HalfChannel::is_usable`] false: disabled, or the one
//!   all-zero placeholder policy) is sent with the disable bit set;
//! - `htlc_maximum_msat` above the capacity is clamped to it: LDK refuses such an update outright
//!   (which would drop the half), while our router bounds the amount by the capacity anyway.

#![allow(dead_code)] // Each including target uses a different part.

use std::time::{SystemTime, UNIX_EPOCH};

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::bitcoin::Network;
use lightning::ln::msgs::UnsignedChannelUpdate;
use lightning::routing::gossip::{NetworkGraph, NodeId};
use lightning::routing::router::{find_route, PaymentParameters, RouteParameters};
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::types::features::ChannelFeatures;
use lightning::util::logger::{Logger, Record};
use lnfleet_gossip::graph::{Graph, NodeIndex};
use lnfleet_gossip::snapshot::{HalfChannel, Snapshot};

use crate::sample::Rng;

/// LDK wants a logger; we want its routing, not its chatter.
pub struct SilentLogger;

impl Logger for SilentLogger {
    fn log(&self, _record: Record) {}
}

pub static LOGGER: SilentLogger = SilentLogger;

pub type LdkGraph = NetworkGraph<&'static SilentLogger>;
pub type LdkScorer<'g> = ProbabilisticScorer<&'g LdkGraph, &'static SilentLogger>;

/// How the LDK graph was built, for the test to check nothing was silently dropped.
#[derive(Debug, Default, Clone, Copy)]
pub struct LdkGraphStats {
    pub channels: usize,
    pub enabled_halves: usize,
    /// Halves whose `htlc_maximum_msat` exceeded the capacity and was clamped.
    pub clamped_htlc_max: usize,
}

/// An LDK `NetworkGraph` holding every channel and policy of `snapshot`.
pub fn ldk_graph(snapshot: &Snapshot) -> Result<(LdkGraph, LdkGraphStats), String> {
    let graph = NetworkGraph::new(Network::Bitcoin, &LOGGER);
    let chain_hash = ChainHash::using_genesis_block(Network::Bitcoin);
    // Outside its own tests LDK refuses updates more than two weeks old: stamp them now.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let timestamp = u32::try_from(now).map_err(|e| e.to_string())?;
    let mut stats = LdkGraphStats::default();
    for channel in &snapshot.channels {
        let node = |i: u32| -> Result<NodeId, String> {
            let pubkey = snapshot
                .nodes
                .get(i as usize)
                .ok_or_else(|| format!("channel {} names unknown node {i}", channel.scid))?
                .pubkey;
            NodeId::from_slice(&pubkey).map_err(|e| format!("{e:?}"))
        };
        graph
            .add_channel_from_partial_announcement(
                channel.scid.0,
                Some(channel.capacity_sat),
                now,
                ChannelFeatures::empty(),
                node(channel.nodes[0])?,
                node(channel.nodes[1])?,
            )
            .map_err(|e| format!("channel {}: {}", channel.scid, e.err))?;
        stats.channels += 1;
        let capacity_msat = channel.capacity_sat.saturating_mul(1000);
        for (direction, half) in channel.halves.iter().enumerate() {
            let usable = half.is_usable();
            stats.enabled_halves += usize::from(usable);
            stats.clamped_htlc_max += usize::from(half.htlc_maximum_msat > capacity_msat);
            let update = UnsignedChannelUpdate {
                chain_hash,
                short_channel_id: channel.scid.0,
                timestamp,
                message_flags: 1, // htlc_maximum_msat present, as BOLT 7 requires.
                channel_flags: direction as u8 | if usable { 0 } else { 2 },
                cltv_expiry_delta: half.cltv_expiry_delta,
                htlc_minimum_msat: half.htlc_minimum_msat,
                htlc_maximum_msat: half.htlc_maximum_msat.min(capacity_msat),
                fee_base_msat: half.fee_base_msat,
                fee_proportional_millionths: half.fee_proportional_millionths,
                excess_data: Vec::new(),
            };
            graph
                .update_channel_unsigned(&update)
                .map_err(|e| format!("channel {} dir {direction}: {}", channel.scid, e.err))?;
        }
    }
    Ok((graph, stats))
}

/// LDK's probabilistic scorer with default decay parameters and no history.
pub fn default_scorer(graph: &LdkGraph) -> LdkScorer<'_> {
    ProbabilisticScorer::new(
        ProbabilisticScoringDecayParameters::default(),
        graph,
        &LOGGER,
    )
}

/// What LDK's `find_route` answered for one query.
#[derive(Debug, Clone)]
pub struct LdkOutcome {
    /// `None` when a route was found, else LDK's reason.
    pub error: Option<&'static str>,
    /// Fees paid to forwarding nodes (LDK's first channel, the payer's own, is free like ours).
    pub fee_msat: u64,
    pub hop_count: usize,
    /// `(short_channel_id, node reached)` per channel, first channel first (paths concatenated
    /// if LDK ever split the payment; it does not here, the payee advertises no MPP).
    pub path: Vec<(u64, [u8; 33])>,
}

impl LdkOutcome {
    pub fn found(&self) -> bool {
        self.error.is_none()
    }
}

/// LDK's `find_route` from `source` to `destination` with `ProbabilisticScoringFeeParameters`
/// defaults and LDK's default limits (`RouteParameters::from_payment_params_and_value`: total fee
/// at most 1 % + 50 sat; 1008 blocks of total CLTV).
pub fn ldk_find_route(
    graph: &LdkGraph,
    scorer: &LdkScorer<'_>,
    source: &[u8; 33],
    destination: &[u8; 33],
    amount_msat: u64,
    final_cltv: u32,
) -> LdkOutcome {
    let not_found = |error| LdkOutcome {
        error: Some(error),
        fee_msat: 0,
        hop_count: 0,
        path: Vec::new(),
    };
    let (Ok(payer), Ok(payee)) = (
        PublicKey::from_slice(source),
        PublicKey::from_slice(destination),
    ) else {
        return not_found("node id is not a valid public key");
    };
    let params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(payee, final_cltv),
        amount_msat,
    );
    let fee_params = ProbabilisticScoringFeeParameters::default();
    match find_route(
        &payer,
        &params,
        graph,
        None,
        &LOGGER,
        scorer,
        &fee_params,
        &[0; 32],
    ) {
        Ok(route) => {
            let path: Vec<(u64, [u8; 33])> = route
                .paths
                .iter()
                .flat_map(|p| p.hops.iter())
                .map(|hop| (hop.short_channel_id, hop.pubkey.serialize()))
                .collect();
            LdkOutcome {
                error: None,
                fee_msat: route.get_total_fees(),
                hop_count: path.len(),
                path,
            }
        }
        Err(error) => not_found(error),
    }
}

/// One query both routers answer.
#[derive(Debug, Clone, Copy)]
pub struct Triple {
    pub source: [u8; 33],
    pub destination: [u8; 33],
    pub amount_msat: u64,
}

/// `count` distinct-endpoint triples inside `scc`, amounts log-uniform in 1,000 .. 1,000,000 sat.
pub fn random_triples(graph: &Graph, scc: &[NodeIndex], count: usize, seed: u64) -> Vec<Triple> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(count);
    while out.len() < count && scc.len() >= 2 {
        let (a, b) = (scc[rng.below(scc.len())], scc[rng.below(scc.len())]);
        let (Some(source), Some(destination)) = (graph.node_id(a), graph.node_id(b)) else {
            continue;
        };
        if a == b {
            continue;
        }
        let amount_sat = 10f64.powf(3.0 + 3.0 * rng.unit()).round() as u64;
        out.push(Triple {
            source: *source,
            destination: *destination,
            amount_msat: amount_sat * 1000,
        });
    }
    out
}

/// The snapshot half forwarding over channel `block` in `direction` (our scids are `ix0x0`).
pub fn snapshot_half(snapshot: &Snapshot, block: u32, direction: u8) -> Option<&HalfChannel> {
    snapshot
        .channels
        .get(block as usize)?
        .halves
        .get(direction as usize)
}
