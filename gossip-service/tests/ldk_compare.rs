//! Our `getroute` against LDK's `find_route` (ProbabilisticScorer defaults) on the real mainnet
//! snapshot: 200 random (source, destination, amount) queries inside the largest strongly
//! connected component.
//!
//! Asserts that (a) every route we return is valid against the snapshot itself (not our graph:
//! channel exists and starts at the previous node, half usable, amount within htlc limits and
//! capacity, amounts and delays rebuilt backwards with BOLT 7 fees and CLTV deltas), (b) we find
//! a route wherever LDK does, save at most 2 % of the queries, (c) our median fee is at most
//! 1.5× LDK's over queries both routed. The two cost models differ (ours: fee + Core Lightning
//! risk fee + a success-probability penalty; LDK's: fee + its liquidity and base penalties), so
//! equal fees are not expected, only the same ballpark.

#[path = "support/ldk.rs"]
mod ldk;
#[path = "support/sample.rs"]
mod sample;

use std::str::FromStr;

use lnfleet_gossip::graph::{Graph, NodeIndex};
use lnfleet_gossip::liquidity::NoLiquidityInfo;
use lnfleet_gossip::router::{forwarding_fee_msat, getroute, GetRouteRequest, Route};
use lnfleet_gossip::snapshot::Snapshot;
use lnfleet_wire::ShortChannelId;

const QUERIES: usize = 200;
const SEED: u64 = 0x6c64_6b5f_636d_7021;
const RISKFACTOR: f64 = 10.0;
const FINAL_CLTV: u32 = 9;
/// Largest share of LDK-routed queries we may fail to route.
const MAX_MISS_FRACTION: f64 = 0.02;
/// Largest median of our fee over LDK's.
const MAX_MEDIAN_FEE_RATIO: f64 = 1.5;

/// Checks `route` hop by hop against the snapshot; `Err` says what is wrong.
fn check_route(snapshot: &Snapshot, triple: &ldk::Triple, route: &Route) -> Result<(), String> {
    let hops = &route.hops;
    let last = hops.last().ok_or("empty route")?;
    if last.amount_msat != triple.amount_msat || last.delay != FINAL_CLTV {
        return Err(format!(
            "last hop delivers {} msat / cltv {}, asked {} / {FINAL_CLTV}",
            last.amount_msat, last.delay, triple.amount_msat
        ));
    }
    if hops.len() > 20 {
        return Err(format!("{} hops, more than maxhops 20", hops.len()));
    }
    let mut previous = triple.source;
    let mut visited = vec![triple.source];
    for (i, hop) in hops.iter().enumerate() {
        let scid = ShortChannelId::from_str(&hop.channel)
            .map_err(|_| format!("hop {i}: bad channel {:?}", hop.channel))?;
        let channel = snapshot
            .channels
            .get(scid.block() as usize)
            .filter(|c| c.scid == scid)
            .ok_or_else(|| format!("hop {i}: channel {scid} not in the snapshot"))?;
        let d = usize::from(hop.direction);
        let pubkey = |k: usize| {
            channel
                .nodes
                .get(k)
                .and_then(|&n| snapshot.nodes.get(n as usize))
                .map(|n| n.pubkey)
        };
        let (from, to) = (pubkey(d), pubkey(1 - d.min(1)));
        if from != Some(previous) {
            return Err(format!(
                "hop {i}: {scid}/{d} does not start at the previous node"
            ));
        }
        let to = to.ok_or_else(|| format!("hop {i}: bad direction {d}"))?;
        if hex::encode(to) != hop.id {
            return Err(format!("hop {i}: {scid}/{d} does not end at {}", hop.id));
        }
        if visited.contains(&to) {
            return Err(format!("hop {i}: revisits node {}", hop.id));
        }
        visited.push(to);
        previous = to;
        let half = channel.halves[d];
        if !half.is_usable() {
            return Err(format!("hop {i}: {scid}/{d} is disabled"));
        }
        let amount = hop.amount_msat;
        if amount < half.htlc_minimum_msat || amount > half.htlc_maximum_msat {
            return Err(format!(
                "hop {i}: {amount} msat outside htlc [{}, {}]",
                half.htlc_minimum_msat, half.htlc_maximum_msat
            ));
        }
        if amount > channel.capacity_sat * 1000 {
            return Err(format!(
                "hop {i}: {amount} msat above capacity {} sat",
                channel.capacity_sat
            ));
        }
        // What this hop's end node charges for the next channel, per BOLT 7.
        if let Some(next) = hops.get(i + 1) {
            let next_scid = ShortChannelId::from_str(&next.channel)
                .map_err(|_| format!("hop {}: bad channel", i + 1))?;
            let next_half = ldk::snapshot_half(snapshot, next_scid.block(), next.direction)
                .ok_or_else(|| format!("hop {}: channel not in the snapshot", i + 1))?;
            let fee = forwarding_fee_msat(
                next.amount_msat,
                next_half.fee_base_msat,
                next_half.fee_proportional_millionths,
            )
            .ok_or("fee overflow")?;
            if amount != next.amount_msat + fee {
                return Err(format!(
                    "hop {i}: carries {amount} msat, next hop needs {} + fee {fee}",
                    next.amount_msat
                ));
            }
            let delay = next.delay + u32::from(next_half.cltv_expiry_delta);
            if hop.delay != delay {
                return Err(format!("hop {i}: delay {} should be {delay}", hop.delay));
            }
        }
    }
    Ok(())
}

/// Why our constraints reject LDK's path, hop by hop (LDK's hops carry the amount each end node
/// receives, before its own fee for the next hop).
fn explain_miss(snapshot: &Snapshot, triple: &ldk::Triple, path: &[(u64, [u8; 33])]) -> String {
    // Rebuild the amounts backwards with BOLT 7 fees, the first channel free.
    let mut amounts = vec![triple.amount_msat; path.len()];
    for i in (0..path.len().saturating_sub(1)).rev() {
        let (next_scid, _) = path[i + 1];
        let from = path[i].1;
        let fee = half_from(snapshot, next_scid, &from)
            .and_then(|h| {
                forwarding_fee_msat(
                    amounts[i + 1],
                    h.fee_base_msat,
                    h.fee_proportional_millionths,
                )
            })
            .unwrap_or(0);
        amounts[i] = amounts[i + 1] + fee;
    }
    let mut previous = triple.source;
    let mut notes = Vec::new();
    for (i, &(scid, to)) in path.iter().enumerate() {
        let channel = snapshot.channels.get(ShortChannelId(scid).block() as usize);
        let half = half_from(snapshot, scid, &previous);
        if let (Some(c), Some(h)) = (channel, half) {
            let a = amounts[i];
            let mut why = Vec::new();
            if !h.is_usable() {
                why.push("disabled".to_string());
            }
            if a < h.htlc_minimum_msat {
                why.push(format!("below htlc_min {}", h.htlc_minimum_msat));
            }
            if a > h.htlc_maximum_msat {
                why.push(format!("above htlc_max {}", h.htlc_maximum_msat));
            }
            if a >= c.capacity_sat * 1000 {
                why.push(format!("not below capacity {} sat", c.capacity_sat));
            }
            if !why.is_empty() {
                notes.push(format!(
                    "hop {i} {} {a} msat: {}",
                    ShortChannelId(scid),
                    why.join(", ")
                ));
            }
        }
        previous = to;
    }
    if path.len() > 20 {
        notes.push(format!("{} hops > maxhops", path.len()));
    }
    if notes.is_empty() {
        "LDK's path satisfies every constraint we apply".to_string()
    } else {
        notes.join("; ")
    }
}

/// The half of `scid` forwarding away from `from`.
fn half_from<'s>(
    snapshot: &'s Snapshot,
    scid: u64,
    from: &[u8; 33],
) -> Option<&'s lnfleet_gossip::snapshot::HalfChannel> {
    let channel = snapshot
        .channels
        .get(ShortChannelId(scid).block() as usize)?;
    let d = channel
        .nodes
        .iter()
        .position(|&n| snapshot.nodes.get(n as usize).map(|x| &x.pubkey) == Some(from))?;
    channel.halves.get(d)
}

/// The most one enabled channel of `node` can carry (min of htlc_maximum and capacity), in sat,
/// over its outgoing or incoming channels.
fn largest_edge_sat(graph: &Graph, node: &[u8; 33], outgoing: bool) -> u64 {
    let Some(n) = graph.node_index(node) else {
        return 0;
    };
    let carry = |e: lnfleet_gossip::graph::EdgeRef<'_>| {
        e.htlc_maximum_msat().min(e.capacity_sat() * 1000) / 1000
    };
    let edges: Vec<_> = if outgoing {
        graph.outgoing(n).collect()
    } else {
        graph.incoming(n).collect()
    };
    edges
        .into_iter()
        .filter(|e| e.enabled())
        .map(carry)
        .max()
        .unwrap_or(0)
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

#[test]
fn getroute_matches_ldk_on_mainnet_snapshot() {
    let snapshot = sample::load_snapshot();
    let graph = Graph::from_snapshot(&snapshot);
    let (ldk_graph, stats) = ldk::ldk_graph(&snapshot).expect("LDK accepts every snapshot channel");
    assert_eq!(stats.channels, snapshot.channels.len());
    assert_eq!(stats.enabled_halves, graph.enabled_edge_count());
    let scorer = ldk::default_scorer(&ldk_graph);
    let scc = sample::largest_scc(&graph);
    // The component of any member is what it reaches both ways; no other component is larger.
    let (forward, backward) = (
        sample::reach(&graph, scc[0], true),
        sample::reach(&graph, scc[0], false),
    );
    let component: Vec<_> = (0..graph.node_count() as NodeIndex)
        .filter(|&n| forward[n as usize] && backward[n as usize])
        .collect();
    assert_eq!(component, scc);
    assert!(
        scc.len() > graph.node_count() / 4,
        "SCC of {} nodes",
        scc.len()
    );
    let triples = ldk::random_triples(&graph, &scc, QUERIES, SEED);
    assert_eq!(triples.len(), QUERIES);

    let (mut ours_found, mut ldk_found, mut both) = (0, 0, 0);
    let mut misses = Vec::new();
    let mut ldk_misses = Vec::new();
    let mut fee_ratios = Vec::new();
    let (mut both_zero_fee, mut only_ldk_zero_fee) = (0, 0);
    let (mut our_fee_sum, mut ldk_fee_sum) = (0u128, 0u128);
    let mut hop_diffs = Vec::new();
    let mut invalid = Vec::new();
    let mut neither: Vec<(u64, u64, u64, &str)> = Vec::new();
    let mut neither_bottlenecked = 0;
    for (q, t) in triples.iter().enumerate() {
        let mut request = GetRouteRequest::new(t.source, t.destination, t.amount_msat, RISKFACTOR);
        request.cltv = FINAL_CLTV;
        request.fuzzpercent = 0.0;
        let ours = getroute(&graph, &NoLiquidityInfo, &request);
        let theirs = ldk::ldk_find_route(
            &ldk_graph,
            &scorer,
            &t.source,
            &t.destination,
            t.amount_msat,
            FINAL_CLTV,
        );
        if let Ok(route) = &ours {
            ours_found += 1;
            if let Err(why) = check_route(&snapshot, t, route) {
                invalid.push(format!("query {q}: {why}"));
            }
        }
        ldk_found += usize::from(theirs.found());
        match (&ours, theirs.found()) {
            (Ok(route), true) => {
                both += 1;
                let our_fee = route.hops[0].amount_msat - t.amount_msat;
                our_fee_sum += u128::from(our_fee);
                ldk_fee_sum += u128::from(theirs.fee_msat);
                match (our_fee, theirs.fee_msat) {
                    (0, 0) => both_zero_fee += 1,
                    (_, 0) => only_ldk_zero_fee += 1,
                    (a, b) => fee_ratios.push(a as f64 / b as f64),
                }
                hop_diffs.push(route.hops.len() as i64 - theirs.hop_count as i64);
            }
            (Err(e), true) => misses.push(format!(
                "query {q}: {} msat, ours: {e}; LDK: {} hops, fee {} msat; {}",
                t.amount_msat,
                theirs.hop_count,
                theirs.fee_msat,
                explain_miss(&snapshot, t, &theirs.path)
            )),
            (Ok(_), false) => ldk_misses.push(format!(
                "query {q}: {} msat, LDK: {}",
                t.amount_msat,
                theirs.error.unwrap_or("?")
            )),
            (Err(_), false) => {
                let (out, inn) = (
                    largest_edge_sat(&graph, &t.source, true),
                    largest_edge_sat(&graph, &t.destination, false),
                );
                neither_bottlenecked += usize::from(t.amount_msat / 1000 >= out.min(inn));
                neither.push((t.amount_msat / 1000, out, inn, theirs.error.unwrap_or("?")));
            }
        }
    }

    let ratio_count = fee_ratios.len();
    let median_ratio = median(&mut fee_ratios).unwrap_or(1.0);
    let (p10, p90) = (
        fee_ratios.get(ratio_count / 10).copied().unwrap_or(1.0),
        fee_ratios.get(ratio_count * 9 / 10).copied().unwrap_or(1.0),
    );
    hop_diffs.sort_unstable();
    println!("getroute vs LDK find_route, {QUERIES} queries in the largest SCC ({} nodes), 1k..1M sat, riskfactor {RISKFACTOR}, fuzz 0", scc.len());
    println!("| measure                              | value |");
    println!("|--------------------------------------|-------|");
    println!("| routed by us                         | {ours_found} |");
    println!("| routed by LDK                        | {ldk_found} |");
    println!("| routed by both                       | {both} |");
    println!(
        "| LDK routed, we did not (misses)      | {} |",
        misses.len()
    );
    println!(
        "| we routed, LDK did not               | {} |",
        ldk_misses.len()
    );
    println!(
        "| our invalid routes                   | {} |",
        invalid.len()
    );
    println!("| fee ratio ours/LDK p10 / p50 / p90   | {p10:.3} / {median_ratio:.3} / {p90:.3} (over {ratio_count}) |");
    println!("| both fees zero / only LDK's zero     | {both_zero_fee} / {only_ldk_zero_fee} |");
    println!(
        "| total fees ours / LDK (msat)         | {our_fee_sum} / {ldk_fee_sum} ({:.3}) |",
        our_fee_sum as f64 / ldk_fee_sum.max(1) as f64
    );
    println!(
        "| hops ours - LDK p10 / p50 / p90      | {} / {} / {} |",
        hop_diffs.get(hop_diffs.len() / 10).unwrap_or(&0),
        hop_diffs.get(hop_diffs.len() / 2).unwrap_or(&0),
        hop_diffs.get(hop_diffs.len() * 9 / 10).unwrap_or(&0)
    );
    println!(
        "| LDK graph: htlc_max clamped to cap.  | {} |",
        stats.clamped_htlc_max
    );
    neither.sort_unstable();
    println!(
        "neither routed {} ({neither_bottlenecked} exceed the source's largest outgoing or the \
         destination's largest incoming channel) (amount sat, source's largest out sat, \
         destination's largest in sat, LDK's reason): {neither:?}",
        neither.len()
    );
    for m in &misses {
        println!("miss: {m}");
    }
    for m in &ldk_misses {
        println!("LDK miss: {m}");
    }

    assert!(invalid.is_empty(), "invalid routes: {invalid:#?}");
    assert!(
        ldk_found > QUERIES / 2,
        "LDK routed only {ldk_found} of {QUERIES}: the comparison graph is broken"
    );
    assert!(
        misses.len() as f64 <= MAX_MISS_FRACTION * ldk_found as f64,
        "{} misses of {ldk_found} LDK routes: {misses:#?}",
        misses.len()
    );
    assert!(
        median_ratio <= MAX_MEDIAN_FEE_RATIO,
        "median fee ratio ours/LDK {median_ratio:.3} > {MAX_MEDIAN_FEE_RATIO}"
    );
}
