use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use lnfleet_wire::ShortChannelId;

use super::*;
use crate::graph::{ChannelParams, NodeIndex};
use crate::liquidity::{LiquidityBounds, NoLiquidityInfo};
use crate::router::forwarding_fee_msat;
use crate::snapshot::Snapshot;

// ---- Hand-built graphs: exact expectations. ----

fn key(n: u8) -> [u8; 33] {
    let mut k = [n; 33];
    k[0] = 0x02;
    k
}

fn policy(fee_base_msat: u32, ppm: u32, cltv: u16, htlc_max_msat: u64) -> ChannelParams {
    ChannelParams {
        fee_base_msat,
        fee_proportional_millionths: ppm,
        cltv_expiry_delta: cltv,
        htlc_minimum_msat: 1,
        htlc_maximum_msat: htlc_max_msat,
    }
}

/// Opens `from → to` (block `n`, `capacity_sat`) with `params` on the `from` half only.
fn open(
    graph: &mut Graph,
    n: u32,
    from: u8,
    to: u8,
    capacity_sat: u64,
    params: ChannelParams,
) -> ShortChannelId {
    let scid = ShortChannelId::new(n, 0, 0).unwrap();
    graph
        .add_channel(scid, key(from), key(to), capacity_sat)
        .unwrap();
    let direction = u8::from(key(from) > key(to));
    graph.update_half_channel(scid, direction, params).unwrap();
    scid
}

const BIG_SAT: u64 = 1_000_000_000;

/// S(1) → A(2) → D(4) and S → B(3) → D; the A and B legs hold 100_000 sat each.
fn parallel_paths(a_leg: ChannelParams, b_leg: ChannelParams) -> Graph {
    let mut graph = Graph::default();
    open(&mut graph, 1, 1, 2, BIG_SAT, policy(0, 0, 40, 0));
    open(&mut graph, 2, 2, 4, 100_000, a_leg);
    open(&mut graph, 3, 1, 3, BIG_SAT, policy(0, 0, 40, 0));
    open(&mut graph, 4, 3, 4, 100_000, b_leg);
    graph
}

fn request(amount_msat: u64) -> GetRoutesRequest {
    GetRoutesRequest::new(key(1), key(4), amount_msat, 10_000_000, 18)
}

fn via(route: &PaymentRoute) -> &str {
    route.path.first().unwrap().next_node_id.as_str()
}

#[test]
fn payment_larger_than_any_channel_splits_over_two_paths_with_exact_amounts() {
    let graph = parallel_paths(policy(1_000, 100, 40, 0), policy(2_000, 200, 80, 0));
    let amount = 150_000_000;
    let routes = getroutes(&graph, &NoLiquidityInfo, &request(amount)).unwrap();
    assert_eq!(routes.routes.len(), 2);
    assert_eq!(
        routes.routes.iter().map(|r| r.amount_msat).sum::<u64>(),
        amount
    );
    let mut fees = 0;
    for route in &routes.routes {
        assert!(route.amount_msat <= 100_000_000, "a leg holds 100_000 sat");
        let [first, last] = route.path.as_slice() else {
            panic!("two channels per part: {route:?}");
        };
        assert_eq!(last.amount_msat, route.amount_msat);
        assert_eq!(last.next_node_id, hex::encode(key(4)));
        assert_eq!(last.delay, 18);
        let (base, ppm, delta) = if via(route) == hex::encode(key(2)) {
            (1_000, 100, 40)
        } else {
            (2_000, 200, 80)
        };
        let fee = 1_000 * base / 1_000 + route.amount_msat * ppm / 1_000_000;
        assert_eq!(first.amount_msat, route.amount_msat + fee);
        assert_eq!(first.delay, 18 + delta);
        fees += fee;
    }
    assert_ne!(via(&routes.routes[0]), via(&routes.routes[1]));
    assert_eq!(routes.fee_msat(), fees);
    let product: f64 = routes
        .routes
        .iter()
        .map(|r| r.probability_ppm as f64 / 1e6)
        .product();
    assert!((routes.probability_ppm as f64 / 1e6 - product).abs() < 1e-5);
}

#[test]
fn maxparts_one_keeps_a_single_path_or_fails() {
    let graph = parallel_paths(policy(1_000, 100, 40, 0), policy(2_000, 200, 80, 0));
    let mut req = request(50_000_000);
    req.maxparts = 1;
    let routes = getroutes(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(routes.routes.len(), 1);
    assert_eq!(routes.routes[0].amount_msat, 50_000_000);
    req.amount_msat = 150_000_000;
    let err = getroutes(&graph, &NoLiquidityInfo, &req).unwrap_err();
    assert_eq!(err.code(), 205);
    req.maxparts = 2;
    assert_eq!(
        getroutes(&graph, &NoLiquidityInfo, &req)
            .unwrap()
            .routes
            .len(),
        2
    );
}

#[test]
fn maxfee_pushes_the_flow_onto_the_free_but_risky_path() {
    // A leg: free but only 20_000 sat; B leg: 10 BTC but 2000 ppm.
    let mut graph = Graph::default();
    open(&mut graph, 1, 1, 2, BIG_SAT, policy(0, 0, 40, 0));
    open(&mut graph, 2, 2, 4, 20_000, policy(0, 0, 40, 0));
    open(&mut graph, 3, 1, 3, BIG_SAT, policy(0, 0, 40, 0));
    open(&mut graph, 4, 3, 4, BIG_SAT, policy(0, 2_000, 40, 0));
    let mut req = request(10_000_000);
    let relaxed = getroutes(&graph, &NoLiquidityInfo, &req).unwrap();
    assert!(relaxed.fee_msat() > 0, "the reliable path is worth a fee");
    req.maxfee_msat = 0;
    let frugal = getroutes(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(frugal.fee_msat(), 0);
    assert!(frugal.routes.iter().all(|r| via(r) == hex::encode(key(2))));
    assert!(frugal.probability_ppm < relaxed.probability_ppm);
    // More than the free leg holds, with no fee allowed: nothing fits.
    req.amount_msat = 25_000_000;
    assert_eq!(
        getroutes(&graph, &NoLiquidityInfo, &req).unwrap_err(),
        GetRoutesError::RouteNotFound(NotFoundReason::FeeTooHigh)
    );
}

#[test]
fn maxdelay_avoids_the_slow_path() {
    let graph = parallel_paths(policy(0, 0, 1_000, 0), policy(5_000, 500, 10, 0));
    let mut req = request(20_000_000);
    let free = getroutes(&graph, &NoLiquidityInfo, &req).unwrap();
    assert!(free.routes.iter().any(|r| via(r) == hex::encode(key(2))));
    req.maxdelay = 500;
    let quick = getroutes(&graph, &NoLiquidityInfo, &req).unwrap();
    assert!(quick.routes.iter().all(|r| r.path[0].delay <= 500));
    assert!(quick.routes.iter().all(|r| via(r) == hex::encode(key(3))));
}

#[test]
fn htlc_maximum_caps_every_part() {
    let graph = parallel_paths(policy(0, 0, 40, 30_000_000), policy(0, 0, 40, 30_000_000));
    let routes = getroutes(&graph, &NoLiquidityInfo, &request(55_000_000)).unwrap();
    assert_eq!(
        routes.routes.iter().map(|r| r.amount_msat).sum::<u64>(),
        55_000_000
    );
    assert!(routes
        .routes
        .iter()
        .all(|r| r.path.iter().all(|s| s.amount_msat <= 30_000_000)));
    let err = getroutes(&graph, &NoLiquidityInfo, &request(61_000_000)).unwrap_err();
    assert_eq!(err.code(), 205);
}

#[test]
fn probability_falls_as_the_amount_grows() {
    let graph = parallel_paths(policy(1_000, 100, 40, 0), policy(2_000, 200, 80, 0));
    let mut last = u64::MAX;
    for amount in [1_000_000, 10_000_000, 50_000_000, 100_000_000, 150_000_000] {
        let routes = getroutes(&graph, &NoLiquidityInfo, &request(amount)).unwrap();
        assert!(
            routes.probability_ppm < last,
            "{amount}: {} !< {last}",
            routes.probability_ppm
        );
        last = routes.probability_ppm;
    }
}

#[test]
fn learned_liquidity_moves_the_flow() {
    struct Known(ShortChannelId, u8);
    impl LiquidityView for Known {
        fn bounds(&self, scid: ShortChannelId, direction: u8) -> Option<LiquidityBounds> {
            ((scid, direction) == (self.0, self.1)).then_some(LiquidityBounds {
                min_msat: 0,
                max_msat: 1_000_000,
            })
        }
    }
    let graph = parallel_paths(policy(0, 0, 40, 0), policy(0, 10, 40, 0));
    let a_leg = ShortChannelId::new(2, 0, 0).unwrap();
    let known = Known(a_leg, u8::from(key(2) > key(4)));
    let routes = getroutes(&graph, &known, &request(20_000_000)).unwrap();
    assert!(routes.routes.iter().all(|r| via(r) == hex::encode(key(3))));
}

#[test]
fn no_route_and_bad_parameters_are_typed_errors() {
    let mut graph = parallel_paths(policy(0, 0, 40, 0), policy(0, 0, 40, 0));
    open(&mut graph, 9, 5, 6, BIG_SAT, policy(0, 0, 40, 0));
    let mut req = request(1_000);
    req.destination = key(5);
    let err = getroutes(&graph, &NoLiquidityInfo, &req).unwrap_err();
    assert_eq!(
        err,
        GetRoutesError::RouteNotFound(NotFoundReason::InsufficientCapacity)
    );
    assert_eq!(err.code(), 205);
    assert_eq!(err.to_json_rpc()["code"], 205);
    let err = getroutes(&graph, &NoLiquidityInfo, &request(250_000_000)).unwrap_err();
    assert_eq!(err.code(), 205);
    req.destination = key(7);
    assert!(matches!(
        getroutes(&graph, &NoLiquidityInfo, &req),
        Err(GetRoutesError::UnknownDestination(_))
    ));
    let mut zero = request(0);
    assert_eq!(
        getroutes(&graph, &NoLiquidityInfo, &zero)
            .unwrap_err()
            .code(),
        -32602
    );
    zero.amount_msat = 1;
    zero.destination = zero.source;
    assert_eq!(
        getroutes(&graph, &NoLiquidityInfo, &zero)
            .unwrap_err()
            .code(),
        -32602
    );
}

// ---- The real mainnet graph: every answer must be a valid payment. ----

fn real_graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(|| {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/lngraph"));
        let snapshot = Snapshot::load(
            &dir.join("gossip-store-2026-02-03.compressed"),
            &dir.join("gossip-store-2026-02-03-node-map.xz"),
        )
        .expect("the real snapshot loads");
        Graph::from_snapshot(&snapshot)
    })
}

/// Pairs of nodes with at least 10 enabled channels each way, spread over the index range.
fn hub_pairs(graph: &Graph, count: usize) -> Vec<([u8; 33], [u8; 33])> {
    let hubs: Vec<NodeIndex> = (0..graph.node_count() as NodeIndex)
        .filter(|&n| {
            graph.outgoing(n).filter(|e| e.enabled()).count() >= 10
                && graph.incoming(n).filter(|e| e.enabled()).count() >= 10
        })
        .collect();
    let step = hubs.len() / (2 * count);
    (0..count)
        .map(|i| {
            let a = hubs[2 * i * step];
            let b = hubs[(2 * i + 1) * step];
            (*graph.node_id(a).unwrap(), *graph.node_id(b).unwrap())
        })
        .collect()
}

/// Checks hops, amounts, fees, delays and limits of an answer against the graph.
pub(crate) fn assert_valid(graph: &Graph, req: &GetRoutesRequest, routes: &Routes) {
    assert!(!routes.routes.is_empty() && routes.routes.len() <= req.maxparts as usize);
    assert_eq!(
        routes.routes.iter().map(|r| r.amount_msat).sum::<u64>(),
        req.amount_msat
    );
    assert!(routes.fee_msat() <= req.maxfee_msat);
    assert!(routes.probability_ppm <= 1_000_000);
    let mut per_channel: HashMap<(ShortChannelId, u8), u64> = HashMap::new();
    for route in &routes.routes {
        assert!(route.amount_msat > 0);
        assert_eq!(route.final_cltv, req.final_cltv);
        let last = route.path.last().unwrap();
        assert_eq!(last.amount_msat, route.amount_msat);
        assert_eq!(last.delay, req.final_cltv);
        assert_eq!(last.next_node_id, hex::encode(req.destination));
        assert!(route.path[0].delay <= req.maxdelay);
        let mut at = graph.node_index(&req.source).unwrap();
        for (i, step) in route.path.iter().enumerate() {
            let (scid, dir) = step.short_channel_id_dir.split_once('/').unwrap();
            let scid: ShortChannelId = scid.parse().unwrap();
            let dir: u8 = dir.parse().unwrap();
            let edge = graph.half_channel(scid, dir).expect("hop exists");
            assert!(edge.enabled());
            assert_eq!(edge.source(), at, "hops connect");
            assert_eq!(
                step.next_node_id,
                hex::encode(graph.node_id(edge.target()).unwrap())
            );
            at = edge.target();
            assert!(step.amount_msat >= edge.htlc_minimum_msat());
            let htlc_max = edge.htlc_maximum_msat();
            assert!(htlc_max == 0 || step.amount_msat <= htlc_max);
            *per_channel.entry((scid, dir)).or_default() += step.amount_msat;
            if let Some(next) = route.path.get(i + 1) {
                let (nscid, ndir) = next.short_channel_id_dir.split_once('/').unwrap();
                let next_edge = graph
                    .half_channel(nscid.parse().unwrap(), ndir.parse().unwrap())
                    .unwrap();
                let fee = forwarding_fee_msat(
                    next.amount_msat,
                    next_edge.fee_base_msat(),
                    next_edge.fee_proportional_millionths(),
                )
                .unwrap();
                assert_eq!(step.amount_msat, next.amount_msat + fee, "fees add up");
                assert_eq!(
                    step.delay,
                    next.delay + u32::from(next_edge.cltv_expiry_delta())
                );
            }
        }
    }
    for ((scid, dir), total) in per_channel {
        let edge = graph.half_channel(scid, dir).unwrap();
        assert!(
            total <= edge.capacity_sat() * 1000,
            "{scid}/{dir} over capacity"
        );
    }
}

#[test]
fn real_graph_answers_are_valid_payments() {
    let graph = real_graph();
    let mut answered = 0;
    let mut split = 0;
    for (i, (from, to)) in hub_pairs(graph, 12).into_iter().enumerate() {
        for amount in [1_000_000, 100_000_000, 1_000_000_000, 10_000_000_000] {
            let mut req = GetRoutesRequest::new(from, to, amount, amount / 100, 18);
            req.maxparts = 4 + (i as u32 % 3) * 4;
            match getroutes(graph, &NoLiquidityInfo, &req) {
                Ok(routes) => {
                    assert_valid(graph, &req, &routes);
                    answered += 1;
                    split += usize::from(routes.routes.len() > 1);
                }
                Err(e) => assert_eq!(e.code(), 205, "{e}"),
            }
        }
    }
    assert!(answered >= 36, "only {answered} of 48 answered");
    assert!(split > 0, "no payment was split");
}
