//! `getroute` on the real mainnet graph: 100 random (source, destination, amount) queries among
//! nodes with at least 10 enabled channels each way.
//!
//! Side by side with LDK: before criterion runs, 1,000 random triples inside the largest
//! strongly connected component (1k..1M sat, fixed seed) go to our `getroute` (riskfactor 10,
//! fuzz 0) and to LDK's `find_route` with `ProbabilisticScorer` defaults over the same snapshot;
//! p50/p99 latency, found rate and the speedup are printed against the targets (p50 ≤ 1 ms,
//! p99 ≤ 5 ms, ≥ 10× faster than LDK, found rate ≥ LDK's).
//!
//! Anchor: a plain breadth-first walk of the whole graph backwards from each destination (no
//! costs, no heap), in the same group, so the figure to read is how much the cost model and the
//! heap add on top of touching every reachable edge once. Before criterion runs, each query is
//! timed on its own and p50/p90 per query are printed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use lnfleet_gossip::graph::{Graph, NodeIndex};
use lnfleet_gossip::liquidity::NoLiquidityInfo;
use lnfleet_gossip::router::{getroute, GetRouteRequest};
use lnfleet_gossip::snapshot::Snapshot;

#[path = "../tests/support/ldk.rs"]
mod ldk;
#[path = "../tests/support/sample.rs"]
mod sample;

use sample::{largest_scc, load_snapshot, percentile, smoke_test_run, Rng};

const COMPARE_QUERIES: usize = 1_000;
/// Queries in a smoke-test run.
const SMOKE_COMPARE_QUERIES: usize = 10;
const COMPARE_SEED: u64 = 0x6265_6e63_685f_6c64;

fn queries(graph: &Graph) -> Vec<GetRouteRequest> {
    let hubs: Vec<NodeIndex> = (0..graph.node_count() as NodeIndex)
        .filter(|&n| {
            graph.outgoing(n).filter(|e| e.enabled()).count() >= 10
                && graph.incoming(n).filter(|e| e.enabled()).count() >= 10
        })
        .collect();
    let mut rng = Rng(0x6765_7472_6f75_7465);
    let mut out = Vec::with_capacity(100);
    while out.len() < 100 {
        let (a, b) = (hubs[rng.below(hubs.len())], hubs[rng.below(hubs.len())]);
        if a == b {
            continue;
        }
        // 1 sat to 1M sat, log-uniform-ish.
        let amount_msat = 1_000 * 10u64.pow(rng.below(7) as u32) * (1 + rng.below(9) as u64);
        let mut req = GetRouteRequest::new(
            *graph.node_id(a).unwrap(),
            *graph.node_id(b).unwrap(),
            amount_msat,
            10.0,
        );
        req.seed = rng.next_u64();
        out.push(req);
    }
    out
}

/// Every node reachable backwards from `destination`, counting edges touched.
fn bfs_backwards(graph: &Graph, destination: NodeIndex, seen: &mut [bool]) -> usize {
    seen.fill(false);
    let mut queue = VecDeque::from([destination]);
    let mut touched = 0;
    while let Some(v) = queue.pop_front() {
        for e in graph.incoming(v) {
            touched += 1;
            let u = e.source() as usize;
            if e.enabled() && !seen[u] {
                seen[u] = true;
                queue.push_back(e.source());
            }
        }
    }
    touched
}

/// Times each triple through both routers and prints the comparison table.
fn compare_with_ldk(snapshot: &Snapshot, graph: &Graph) {
    let start = Instant::now();
    let (ldk_graph, _) = ldk::ldk_graph(snapshot).expect("LDK accepts every snapshot channel");
    let ldk_build = start.elapsed();
    let scorer = ldk::default_scorer(&ldk_graph);
    let scc = largest_scc(graph);
    let count = if smoke_test_run() {
        SMOKE_COMPARE_QUERIES
    } else {
        COMPARE_QUERIES
    };
    let triples = ldk::random_triples(graph, &scc, count, COMPARE_SEED);

    let mut ours = Vec::with_capacity(triples.len());
    let mut theirs = Vec::with_capacity(triples.len());
    let (mut ours_found, mut ldk_found, mut only_ldk) = (0usize, 0usize, Vec::new());
    let (mut ours_routed, mut ours_unrouted) = (Vec::new(), Vec::new());
    for (q, t) in triples.iter().enumerate() {
        let mut request = GetRouteRequest::new(t.source, t.destination, t.amount_msat, 10.0);
        request.fuzzpercent = 0.0;
        let start = Instant::now();
        let our_route = std::hint::black_box(getroute(graph, &NoLiquidityInfo, &request));
        ours.push(start.elapsed());
        let start = Instant::now();
        let ldk_route = std::hint::black_box(ldk::ldk_find_route(
            &ldk_graph,
            &scorer,
            &t.source,
            &t.destination,
            t.amount_msat,
            request.cltv,
        ));
        theirs.push(start.elapsed());
        if our_route.is_ok() {
            ours_routed.push(*ours.last().unwrap_or(&Duration::ZERO));
        } else {
            ours_unrouted.push(*ours.last().unwrap_or(&Duration::ZERO));
        }
        ours_found += usize::from(our_route.is_ok());
        ldk_found += usize::from(ldk_route.found());
        if our_route.is_err() && ldk_route.found() {
            only_ldk.push((q, t.amount_msat));
        }
    }
    ours.sort();
    theirs.sort();
    let n = triples.len().max(1) as f64;
    let (p50, p99) = (percentile(&ours, 50.0), percentile(&ours, 99.0));
    let (ldk_p50, ldk_p99) = (percentile(&theirs, 50.0), percentile(&theirs, 99.0));
    let total = |d: &[Duration]| d.iter().sum::<Duration>();
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "getroute vs LDK find_route (ProbabilisticScorer defaults), {} triples in the largest SCC \
         ({} of {} nodes), 1k..1M sat; LDK graph built in {ldk_build:?}",
        triples.len(),
        scc.len(),
        graph.node_count()
    );
    println!("| router   | p50 | p99 | mean | found |");
    println!("|----------|-----|-----|------|-------|");
    println!(
        "| ours     | {p50:?} | {p99:?} | {:?} | {ours_found} ({:.1} %) |",
        total(&ours) / triples.len().max(1) as u32,
        100.0 * ours_found as f64 / n
    );
    println!(
        "| LDK      | {ldk_p50:?} | {ldk_p99:?} | {:?} | {ldk_found} ({:.1} %) |",
        total(&theirs) / triples.len().max(1) as u32,
        100.0 * ldk_found as f64 / n
    );
    let speedup_p50 = ldk_p50.as_secs_f64() / p50.as_secs_f64().max(1e-9);
    let speedup_p99 = ldk_p99.as_secs_f64() / p99.as_secs_f64().max(1e-9);
    let speedup_total = total(&theirs).as_secs_f64() / total(&ours).as_secs_f64().max(1e-9);
    println!(
        "speedup over LDK: p50 {speedup_p50:.1}x, p99 {speedup_p99:.1}x, total {speedup_total:.1}x"
    );
    println!(
        "targets: p50 <= 1 ms {}, p99 <= 5 ms {}, >= 10x faster (p50) {}, found >= LDK {}",
        mark(p50 <= Duration::from_millis(1)),
        mark(p99 <= Duration::from_millis(5)),
        mark(speedup_p50 >= 10.0),
        mark(ours_found >= ldk_found)
    );
    ours_routed.sort();
    ours_unrouted.sort();
    if !ours_routed.is_empty() && !ours_unrouted.is_empty() {
        println!(
            "ours split: routed p50 {:?} p99 {:?}; unrouted p50 {:?} p99 {:?}",
            percentile(&ours_routed, 50.0),
            percentile(&ours_routed, 99.0),
            percentile(&ours_unrouted, 50.0),
            percentile(&ours_unrouted, 99.0)
        );
    }
    println!("LDK routed, we did not (query, msat): {only_ldk:?}");
}

fn getroute_bench(c: &mut Criterion) {
    let snapshot = load_snapshot();
    let graph = Graph::from_snapshot(&snapshot);
    compare_with_ldk(&snapshot, &graph);
    let queries = queries(&graph);

    let mut per_query: Vec<Duration> = Vec::with_capacity(queries.len());
    let mut found = 0;
    let mut unrouted_msat = Vec::new();
    for req in &queries {
        let start = Instant::now();
        let result = getroute(&graph, &NoLiquidityInfo, req);
        per_query.push(start.elapsed());
        found += usize::from(result.is_ok());
        if result.is_err() {
            unrouted_msat.push(req.amount_msat);
        }
    }
    per_query.sort();
    let mut seen = vec![false; graph.node_count()];
    let mut bfs: Vec<Duration> = queries
        .iter()
        .map(|req| {
            let dest = graph.node_index(&req.id).unwrap();
            let start = Instant::now();
            std::hint::black_box(bfs_backwards(&graph, dest, &mut seen));
            start.elapsed()
        })
        .collect();
    bfs.sort();
    println!(
        "getroute per query over {} queries ({found} routed): p50 {:?}, p90 {:?}; \
         anchor full backwards BFS p50 {:?}; unrouted amounts (msat) {unrouted_msat:?}",
        queries.len(),
        percentile(&per_query, 50.0),
        percentile(&per_query, 90.0),
        percentile(&bfs, 50.0),
    );

    let mut group = c.benchmark_group("getroute");
    group.sample_size(10);
    group.bench_function("anchor_bfs_backwards_100_destinations", |b| {
        b.iter(|| {
            queries
                .iter()
                .map(|req| bfs_backwards(&graph, graph.node_index(&req.id).unwrap(), &mut seen))
                .sum::<usize>()
        })
    });
    group.bench_function("getroute_100_queries", |b| {
        b.iter(|| {
            queries
                .iter()
                .filter(|req| getroute(&graph, &NoLiquidityInfo, req).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, getroute_bench);
criterion_main!(benches);
