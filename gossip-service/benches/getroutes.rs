//! `getroutes` on the real mainnet graph: 0.01, 0.1 and 1 BTC between random node pairs of the
//! largest strongly connected component (over enabled channel directions), p50/p99 per query.
//!
//! Anchor: single-path `getroute` on the same pairs and amounts in the same run, so the figure
//! to read is how much the flow (subgraph selection, min-cost flow, repair rounds) costs over one
//! Dijkstra. Run with `cargo bench -p lnfleet-gossip --bench getroutes` (`-- --queries N`).

use std::time::Instant;

use lnfleet_gossip::graph::{Graph, NodeIndex};
use lnfleet_gossip::liquidity::NoLiquidityInfo;
use lnfleet_gossip::router::{
    getroute, getroutes, GetRouteRequest, GetRoutesError, GetRoutesRequest,
};

#[path = "../tests/support/sample.rs"]
mod sample;

use sample::{largest_scc, percentile, real_graph, smoke_test_run, Rng};

/// Runs `queries` random pairs from `nodes` per amount and prints p50/p99 beside the anchor.
fn run(graph: &Graph, label: &str, nodes: &[NodeIndex], queries: usize) {
    let mut rng = Rng(0x6765_7472_6f75_7465);
    for amount_msat in [1_000_000_000u64, 10_000_000_000, 100_000_000_000] {
        let mut flow_times = Vec::with_capacity(queries);
        let mut found_times = Vec::with_capacity(queries);
        let mut path_times = Vec::with_capacity(queries);
        let (mut found, mut parts, mut path_found) = (0, 0, 0);
        let mut ppm_sum = 0u64;
        let mut reasons: Vec<String> = Vec::new();
        for _ in 0..queries {
            let (a, b) = loop {
                let (a, b) = (nodes[rng.below(nodes.len())], nodes[rng.below(nodes.len())]);
                if a != b {
                    break (a, b);
                }
            };
            let (from, to) = (*graph.node_id(a).unwrap(), *graph.node_id(b).unwrap());
            let request = GetRoutesRequest::new(from, to, amount_msat, amount_msat / 100, 18);
            let start = Instant::now();
            let result = getroutes(graph, &NoLiquidityInfo, &request);
            flow_times.push(start.elapsed());
            match &result {
                Ok(routes) => {
                    found_times.push(start.elapsed());
                    found += 1;
                    parts += routes.routes.len();
                    ppm_sum += routes.probability_ppm;
                }
                Err(GetRoutesError::RouteNotFound(reason)) => reasons.push(format!("{reason:?}")),
                Err(other) => reasons.push(other.to_string()),
            }
            let single = GetRouteRequest::new(from, to, amount_msat, 10.0);
            let start = Instant::now();
            path_found += usize::from(getroute(graph, &NoLiquidityInfo, &single).is_ok());
            path_times.push(start.elapsed());
        }
        flow_times.sort();
        found_times.sort();
        let found_p50 = found_times
            .get(found_times.len() / 2)
            .copied()
            .unwrap_or_default();
        path_times.sort();
        reasons.sort();
        reasons.dedup_by(|a, b| a == b);
        println!(
            "{label} {:>5} BTC: getroutes p50 {:?} p99 {:?}, p50 of answered {found_p50:?} ({found}/{queries} found, {:.1} parts \
             and {} ppm on average; failures: {reasons:?}); anchor getroute p50 {:?} p99 {:?} \
             ({path_found} found)",
            amount_msat as f64 / 1e11,
            percentile(&flow_times, 50.0),
            percentile(&flow_times, 99.0),
            parts as f64 / found.max(1) as f64,
            ppm_sum / found.max(1) as u64,
            percentile(&path_times, 50.0),
            percentile(&path_times, 99.0),
        );
    }
}

fn main() {
    let queries: usize = std::env::args()
        .skip_while(|a| a != "--queries")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(if smoke_test_run() { 2 } else { 100 });
    let graph = real_graph();
    let scc = largest_scc(&graph);
    println!(
        "largest strongly connected component: {} of {} nodes",
        scc.len(),
        graph.node_count()
    );
    run(&graph, "scc", &scc, queries);
    // Random SCC members are mostly small nodes that cannot hold 0.1 BTC at all; hubs (10+
    // enabled channels each way) show the flow where large payments are possible.
    let hubs: Vec<NodeIndex> = scc
        .iter()
        .copied()
        .filter(|&n| {
            graph.outgoing(n).filter(|e| e.enabled()).count() >= 10
                && graph.incoming(n).filter(|e| e.enabled()).count() >= 10
        })
        .collect();
    run(&graph, "hubs", &hubs, queries);
}
