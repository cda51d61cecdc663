use std::path::PathBuf;
use std::sync::OnceLock;

use lnfleet_wire::ShortChannelId;

use super::*;
use crate::graph::{ChannelParams, NodeIndex};
use crate::liquidity::{LiquidityBounds, NoLiquidityInfo};
use crate::snapshot::Snapshot;

/// The real mainnet graph, loaded once for all tests.
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

fn enabled_degree(graph: &Graph, node: NodeIndex) -> usize {
    graph.outgoing(node).filter(|e| e.enabled()).count()
}

/// Nodes with at least `min` enabled channels each way, in index order.
fn nodes_with_degree(graph: &Graph, min: usize) -> Vec<NodeIndex> {
    (0..graph.node_count() as NodeIndex)
        .filter(|&n| {
            enabled_degree(graph, n) >= min
                && graph.incoming(n).filter(|e| e.enabled()).count() >= min
        })
        .collect()
}

fn pubkey(graph: &Graph, node: NodeIndex) -> [u8; 33] {
    *graph.node_id(node).unwrap()
}

/// Pairs of well-connected nodes, spread over the index range.
fn sample_pairs(graph: &Graph, count: usize) -> Vec<([u8; 33], [u8; 33])> {
    let nodes = nodes_with_degree(graph, 10);
    assert!(nodes.len() > 2 * count, "mainnet has many hubs");
    let step = nodes.len() / (2 * count);
    (0..count)
        .map(|i| {
            let a = nodes[(2 * i) * step];
            let b = nodes[(2 * i + 1) * step];
            (pubkey(graph, a), pubkey(graph, b))
        })
        .collect()
}

fn request(from: [u8; 33], to: [u8; 33], amount_msat: u64) -> GetRouteRequest {
    GetRouteRequest::new(from, to, amount_msat, 10.0)
}

fn hop_edge<'g>(graph: &'g Graph, hop: &RouteHop) -> crate::graph::EdgeRef<'g> {
    let scid: ShortChannelId = hop.channel.parse().unwrap();
    graph.half_channel(scid, hop.direction).unwrap()
}

fn hex_key(graph: &Graph, node: NodeIndex) -> String {
    hex::encode(pubkey(graph, node))
}

/// Checks a route against the graph and Core Lightning's semantics.
fn assert_consistent(graph: &Graph, req: &GetRouteRequest, route: &Route) {
    let hops = &route.hops;
    assert!(!hops.is_empty() && hops.len() <= req.maxhops as usize);
    let last = hops.last().unwrap();
    assert_eq!(last.id, hex::encode(req.id));
    assert_eq!(last.amount_msat, req.amount_msat);
    assert_eq!(last.delay, req.cltv);
    let mut at = hex::encode(req.fromid);
    for (i, hop) in hops.iter().enumerate() {
        let edge = hop_edge(graph, hop);
        assert_eq!(
            hex_key(graph, edge.source()),
            at,
            "hop {i} starts where the last ended"
        );
        assert_eq!(hex_key(graph, edge.target()), hop.id);
        assert!(edge.enabled(), "hop {i} uses a disabled half");
        assert!(hop.amount_msat >= edge.htlc_minimum_msat());
        let max = edge.htlc_maximum_msat();
        assert!(max == 0 || hop.amount_msat <= max);
        assert!(hop.amount_msat <= edge.capacity_sat() * 1000);
        assert_eq!(hop.style, "tlv");
        if let Some(next) = hops.get(i + 1) {
            // The node at the end of hop i forwards over hop i+1 and charges that policy.
            let next_edge = hop_edge(graph, next);
            let fee = forwarding_fee_msat(
                next.amount_msat,
                next_edge.fee_base_msat(),
                next_edge.fee_proportional_millionths(),
            )
            .unwrap();
            assert_eq!(hop.amount_msat, next.amount_msat + fee, "hop {i} amount");
            assert_eq!(
                hop.delay,
                next.delay + u32::from(next_edge.cltv_expiry_delta()),
                "hop {i} delay"
            );
        }
        at = hop.id.clone();
    }
}

#[test]
fn routes_exist_between_well_connected_real_nodes_and_are_consistent() {
    let graph = real_graph();
    let mut multi_hop = 0;
    for (from, to) in sample_pairs(graph, 20) {
        let req = request(from, to, 50_000_000);
        let route = getroute(graph, &NoLiquidityInfo, &req).expect("hubs are connected");
        assert_consistent(graph, &req, &route);
        multi_hop += usize::from(route.hops.len() >= 3);
    }
    assert!(multi_hop >= 5, "only {multi_hop} routes had 3+ hops");
}

#[test]
fn same_seed_gives_same_route_and_fuzz_zero_ignores_seed() {
    let graph = real_graph();
    let (from, to) = sample_pairs(graph, 3)[2];
    let mut req = request(from, to, 10_000_000);
    req.seed = 7;
    let a = getroute(graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(a, getroute(graph, &NoLiquidityInfo, &req).unwrap());
    req.fuzzpercent = 0.0;
    let b = getroute(graph, &NoLiquidityInfo, &req).unwrap();
    req.seed = 99;
    assert_eq!(b, getroute(graph, &NoLiquidityInfo, &req).unwrap());
}

#[test]
fn excluded_channel_direction_and_node_are_avoided() {
    let graph = real_graph();
    let mut rerouted = 0;
    for (from, to) in sample_pairs(graph, 5) {
        let req = request(from, to, 20_000_000);
        let route = getroute(graph, &NoLiquidityInfo, &req).unwrap();
        let first = &route.hops[0];
        let mut without_channel = req.clone();
        without_channel.exclude = vec![format!("{}/{}", first.channel, first.direction)
            .parse()
            .unwrap()];
        if let Ok(other) = getroute(graph, &NoLiquidityInfo, &without_channel) {
            assert!(other
                .hops
                .iter()
                .all(|h| (h.channel.as_str(), h.direction)
                    != (first.channel.as_str(), first.direction)));
            assert_consistent(graph, &without_channel, &other);
            rerouted += 1;
        }
        if route.hops.len() < 2 {
            continue;
        }
        let middle = route.hops[0].id.clone();
        let mut without_node = req.clone();
        without_node.exclude = vec![middle.parse().unwrap()];
        if let Ok(other) = getroute(graph, &NoLiquidityInfo, &without_node) {
            assert!(other.hops.iter().all(|h| h.id != middle));
            assert_consistent(graph, &without_node, &other);
            rerouted += 1;
        }
    }
    assert!(rerouted >= 5, "hubs have alternatives");
}

#[test]
fn maxhops_bounds_the_route_and_too_small_is_route_not_found() {
    let graph = real_graph();
    let mut checked = 0;
    for (from, to) in sample_pairs(graph, 20) {
        let req = request(from, to, 1_000_000);
        let route = getroute(graph, &NoLiquidityInfo, &req).unwrap();
        let n = route.hops.len() as u32;
        if n < 2 {
            continue;
        }
        let mut shorter = req.clone();
        shorter.maxhops = n - 1;
        match getroute(graph, &NoLiquidityInfo, &shorter) {
            Ok(r) => {
                assert!((r.hops.len() as u32) < n);
                assert_consistent(graph, &shorter, &r);
            }
            Err(e) => assert_eq!(e, RouteError::RouteNotFound),
        }
        let direct = graph
            .outgoing(graph.node_index(&from).unwrap())
            .any(|e| e.enabled() && e.target() == graph.node_index(&to).unwrap());
        if !direct {
            let mut one = req.clone();
            one.maxhops = 1;
            let err = getroute(graph, &NoLiquidityInfo, &one).unwrap_err();
            assert_eq!(err.code(), 205);
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn riskfactor_never_lengthens_the_real_route_delay() {
    let graph = real_graph();
    let mut changed = 0;
    for (from, to) in sample_pairs(graph, 15) {
        let mut req = request(from, to, 500_000_000);
        req.fuzzpercent = 0.0;
        req.riskfactor = 0.0;
        let cheap = getroute(graph, &NoLiquidityInfo, &req).unwrap();
        req.riskfactor = 1000.0;
        let safe = getroute(graph, &NoLiquidityInfo, &req).unwrap();
        assert_consistent(graph, &req, &safe);
        assert!(safe.hops[0].delay <= cheap.hops[0].delay);
        changed += usize::from(safe.hops[0].delay < cheap.hops[0].delay);
    }
    assert!(changed > 0, "a high riskfactor shortened no route");
}

#[test]
fn narrowed_liquidity_makes_the_router_avoid_a_channel() {
    struct Drained(ShortChannelId, u8);
    impl LiquidityView for Drained {
        fn bounds(&self, scid: ShortChannelId, direction: u8) -> Option<LiquidityBounds> {
            ((scid, direction) == (self.0, self.1)).then_some(LiquidityBounds {
                min_msat: 0,
                max_msat: 1_000,
            })
        }
    }
    let graph = real_graph();
    let mut avoided = 0;
    for (from, to) in sample_pairs(graph, 5) {
        let req = request(from, to, 20_000_000);
        let route = getroute(graph, &NoLiquidityInfo, &req).unwrap();
        let hop = route.hops.last().unwrap();
        let drained = Drained(hop.channel.parse().unwrap(), hop.direction);
        if let Ok(other) = getroute(graph, &drained, &req) {
            assert!(other.hops.iter().all(
                |h| (h.channel.as_str(), h.direction) != (hop.channel.as_str(), hop.direction)
            ));
            avoided += 1;
        }
    }
    assert!(avoided > 0);
}

#[test]
fn disabled_half_is_never_used() {
    let graph = real_graph();
    let (from, to) = sample_pairs(graph, 4)[3];
    let req = request(from, to, 5_000_000);
    let route = getroute(graph, &NoLiquidityInfo, &req).unwrap();
    let hop = route.hops.last().unwrap().clone();
    let mut graph = graph.clone();
    graph
        .disable(hop.channel.parse().unwrap(), hop.direction)
        .unwrap();
    let other = getroute(&graph, &NoLiquidityInfo, &req).expect("hubs have alternatives");
    assert!(other.hops.iter().all(|h| h.channel != hop.channel));
    assert_consistent(&graph, &req, &other);
}

#[test]
fn unknown_nodes_and_bad_parameters_are_invalid_params() {
    let graph = real_graph();
    let (from, to) = sample_pairs(graph, 1)[0];
    let nobody = [0x02; 33];
    let err = getroute(graph, &NoLiquidityInfo, &request(from, nobody, 1)).unwrap_err();
    assert!(matches!(err, RouteError::UnknownDestination(_)));
    assert_eq!(err.code(), -32602);
    let err = getroute(graph, &NoLiquidityInfo, &request(nobody, to, 1)).unwrap_err();
    assert!(matches!(err, RouteError::UnknownSource(_)));
    assert_eq!(err.code(), -32602);
    let err = getroute(graph, &NoLiquidityInfo, &request(from, from, 1)).unwrap_err();
    assert_eq!(err.code(), -32602);
    let mut bad = request(from, to, 1);
    bad.riskfactor = -1.0;
    assert_eq!(
        getroute(graph, &NoLiquidityInfo, &bad).unwrap_err().code(),
        -32602
    );
    bad.riskfactor = 1.0;
    bad.fuzzpercent = 101.0;
    assert_eq!(
        getroute(graph, &NoLiquidityInfo, &bad).unwrap_err().code(),
        -32602
    );
}

#[test]
fn json_shape_is_core_lightnings() {
    let graph = real_graph();
    let (from, to) = sample_pairs(graph, 2)[1];
    let route = getroute(graph, &NoLiquidityInfo, &request(from, to, 1_000)).unwrap();
    let json = serde_json::to_value(&route).unwrap();
    let object = json.as_object().unwrap();
    assert_eq!(object.keys().collect::<Vec<_>>(), vec!["route"]);
    for hop in object["route"].as_array().unwrap() {
        let hop = hop.as_object().unwrap();
        let mut keys: Vec<_> = hop.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "amount_msat",
                "channel",
                "delay",
                "direction",
                "id",
                "style"
            ]
        );
        assert_eq!(hop["id"].as_str().unwrap().len(), 66);
        assert!(hop["amount_msat"].is_u64());
        assert!(hop["delay"].is_u64());
        assert!(hop["direction"].as_u64().unwrap() <= 1);
        assert_eq!(hop["style"], "tlv");
        let channel = hop["channel"].as_str().unwrap();
        assert_eq!(channel.split('x').count(), 3);
    }
    assert_eq!(
        RouteError::RouteNotFound.to_json_rpc(),
        serde_json::json!({"code": 205, "message": "Could not find a route"})
    );
}

// ---- Small hand-made graphs: exact expectations. ----

fn key(n: u8) -> [u8; 33] {
    let mut k = [n; 33];
    k[0] = 0x02;
    k
}

fn policy(fee_base_msat: u32, ppm: u32, cltv: u16, max_msat: u64) -> ChannelParams {
    ChannelParams {
        fee_base_msat,
        fee_proportional_millionths: ppm,
        cltv_expiry_delta: cltv,
        htlc_minimum_msat: 1,
        htlc_maximum_msat: max_msat,
    }
}

/// Opens a channel `from → to` (block `n`) with `params` on the `from` half only.
fn open(graph: &mut Graph, n: u32, from: u8, to: u8, params: ChannelParams) -> ShortChannelId {
    let scid = ShortChannelId::new(n, 0, 0).unwrap();
    graph
        .add_channel(scid, key(from), key(to), 100_000_000)
        .unwrap();
    let direction = u8::from(key(from) > key(to));
    graph.update_half_channel(scid, direction, params).unwrap();
    scid
}

/// S(1) → X(2) → D(4): cheap fee, 1000-block delta. S → Y(3) → D: double fee, 10 blocks.
fn two_paths() -> (Graph, ShortChannelId, ShortChannelId) {
    let mut graph = Graph::default();
    let max = u64::MAX;
    open(&mut graph, 1, 1, 2, policy(0, 0, 40, max));
    let via_x = open(&mut graph, 2, 2, 4, policy(1_000, 0, 1_000, max));
    open(&mut graph, 3, 1, 3, policy(0, 0, 40, max));
    let via_y = open(&mut graph, 4, 3, 4, policy(2_000, 0, 10, 50_000_000));
    (graph, via_x, via_y)
}

fn last_channel(route: &Route) -> ShortChannelId {
    route.hops.last().unwrap().channel.parse().unwrap()
}

#[test]
fn riskfactor_trades_a_cheap_long_cltv_for_a_short_one() {
    let (graph, via_x, via_y) = two_paths();
    let mut req = request(key(1), key(4), 10_000_000);
    req.fuzzpercent = 0.0;
    req.riskfactor = 0.0;
    let cheap = getroute(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(last_channel(&cheap), via_x);
    assert_eq!(cheap.hops[0].amount_msat, 10_001_000);
    assert_eq!(cheap.hops[0].delay, 9 + 1_000);
    // Risk via X: 10_001_000 × 1000 × 100 / 5259600 ≈ 190k msat ≫ the 1000 msat fee saved.
    req.riskfactor = 100.0;
    let safe = getroute(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(last_channel(&safe), via_y);
    assert_eq!(safe.hops[0].amount_msat, 10_002_000);
    assert_eq!(safe.hops[0].delay, 19);
}

#[test]
fn htlc_maximum_and_minimum_steer_the_route() {
    let (mut graph, via_x, _via_y) = two_paths();
    let mut req = request(key(1), key(4), 60_000_000);
    req.riskfactor = 100.0;
    // Y's channel caps HTLCs at 50_000_000: too small, so the long path is the only one.
    let route = getroute(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(last_channel(&route), via_x);
    // X's channel now needs at least 70_000_000: nothing fits.
    let direction = u8::from(key(2) > key(4));
    let mut p = policy(1_000, 0, 1_000, u64::MAX);
    p.htlc_minimum_msat = 70_000_000;
    graph.update_half_channel(via_x, direction, p).unwrap();
    assert_eq!(
        getroute(&graph, &NoLiquidityInfo, &req),
        Err(RouteError::RouteNotFound)
    );
    // Amount 0 probes ignore htlc_minimum_msat.
    req.amount_msat = 0;
    assert!(getroute(&graph, &NoLiquidityInfo, &req).is_ok());
}

#[test]
fn maxhops_finds_a_costlier_short_route_when_the_cheapest_is_too_long() {
    // S(1) → X(2) → D(4) costs 5000; from X the cheapest way on is X → Y(3) → D, so a
    // hop-pruned Dijkstra labels X with 2 hops and cannot extend it to S under maxhops 2.
    let mut graph = Graph::default();
    let max = u64::MAX;
    open(&mut graph, 1, 1, 2, policy(0, 0, 40, max));
    let direct = open(&mut graph, 2, 2, 4, policy(5_000, 0, 40, max));
    open(&mut graph, 3, 2, 3, policy(1, 0, 40, max));
    open(&mut graph, 4, 3, 4, policy(1, 0, 40, max));
    let mut req = request(key(1), key(4), 1_000_000);
    req.fuzzpercent = 0.0;
    assert_eq!(
        getroute(&graph, &NoLiquidityInfo, &req).unwrap().hops.len(),
        3
    );
    req.maxhops = 2;
    let route = getroute(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(route.hops.len(), 2);
    assert_eq!(last_channel(&route), direct);
    assert_eq!(route.hops[0].amount_msat, 1_005_000);
    assert_eq!(route.hops[0].delay, 49);
    req.maxhops = 1;
    assert_eq!(
        getroute(&graph, &NoLiquidityInfo, &req),
        Err(RouteError::RouteNotFound)
    );
}

#[test]
fn bolt7_fee_uses_integer_division() {
    assert_eq!(forwarding_fee_msat(1_999_999, 1_000, 1), Some(1_001));
    assert_eq!(forwarding_fee_msat(100_000_000, 1_000, 1), Some(1_100));
    assert_eq!(forwarding_fee_msat(u64::MAX, u32::MAX, 1_000_000), None);
}

#[test]
fn risk_fee_matches_the_getroute_man_page_table() {
    // lightning-getroute(7), RISKFACTOR EFFECT ON ROUTING (truncated to whole msat).
    for (amount, riskfactor, delay, expected) in [
        (10_000, 100.0, 14, 2),
        (1_000_000, 1000.0, 14, 2661),
        (100_000_000, 100.0, 14, 26617),
        (1_000_000, 10.0, 144, 273),
        (100_000_000, 1000.0, 144, 2_737_850),
    ] {
        assert_eq!(
            risk_fee_msat(amount, delay, riskfactor) as u64,
            expected,
            "{amount} {riskfactor} {delay}"
        );
    }
}

#[test]
fn success_probability_is_uniform_on_the_narrowed_interval() {
    assert_eq!(success_probability(0, 1_000, None), 1.0);
    assert_eq!(success_probability(250, 1_000, None), 0.75);
    assert_eq!(success_probability(1_001, 1_000, None), 0.0);
    let bounds = Some(LiquidityBounds {
        min_msat: 200,
        max_msat: 600,
    });
    assert_eq!(success_probability(200, 1_000, bounds), 1.0);
    assert_eq!(success_probability(500, 1_000, bounds), 0.25);
    assert_eq!(success_probability(601, 1_000, bounds), 0.0);
}

#[test]
fn exclusions_parse_core_lightning_forms() {
    assert_eq!(
        "564334x877x1/0".parse::<Exclusion>().unwrap(),
        Exclusion::Channel {
            scid: ShortChannelId::new(564_334, 877, 1).unwrap(),
            direction: 0
        }
    );
    let node = hex::encode(key(3));
    assert_eq!(node.parse::<Exclusion>().unwrap(), Exclusion::Node(key(3)));
    for bad in ["564334x877x1/2", "564334x877x1", "02abc", ""] {
        assert_eq!(bad.parse::<Exclusion>().unwrap_err().code(), -32602);
    }
}

// ---- The bidirectional search against the plain Dijkstra it replaced. ----

/// `getroute`'s pipeline (search, hop-limited fallback) with the search given.
fn route_with(
    graph: &Graph,
    liquidity: &impl LiquidityView,
    req: &GetRouteRequest,
    search: impl Fn(&search::Query) -> search::Search,
) -> (Result<Route, RouteError>, f64, usize) {
    let query = search::Query::validate(graph, req).unwrap();
    let found = search(&query);
    let (cost, settled) = (found.cost, found.settled);
    let path = match found.path {
        Some(path) => Some(path),
        None if found.pruned => search::hop_limited_path(graph, liquidity, &query),
        None => None,
    };
    let route = path
        .ok_or(RouteError::RouteNotFound)
        .and_then(|p| search::to_route(graph, &p));
    (route, cost, settled)
}

/// Deterministic splitmix64, so the sampled queries are the same every run.
struct TestRng(u64);

impl TestRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Liquidity learned on every channel whose scid is a multiple of 7: narrowed to the upper
/// half in direction 0, to the lower third in direction 1.
struct SomeBounds<'g>(&'g Graph);

impl LiquidityView for SomeBounds<'_> {
    fn bounds(&self, scid: ShortChannelId, direction: u8) -> Option<LiquidityBounds> {
        if !scid.0.is_multiple_of(7) {
            return None;
        }
        let capacity = self.0.half_channel(scid, direction)?.capacity_sat() * 1000;
        Some(if direction == 0 {
            LiquidityBounds {
                min_msat: capacity / 2,
                max_msat: capacity,
            }
        } else {
            LiquidityBounds {
                min_msat: 0,
                max_msat: capacity / 3,
            }
        })
    }
}

/// Compares both searches over `queries` random requests shaped by `shape`; returns the nodes
/// each settled in total.
fn compare_searches(
    liquidity: &impl LiquidityView,
    queries: usize,
    seed: u64,
    shape: impl Fn(&mut GetRouteRequest, &mut TestRng),
) -> (usize, usize) {
    let graph = real_graph();
    let nodes: Vec<NodeIndex> = (0..graph.node_count() as NodeIndex)
        .filter(|&n| enabled_degree(graph, n) >= 1)
        .collect();
    let mut rng = TestRng(seed);
    let (mut settled_new, mut settled_plain, mut found, mut same_hops) = (0, 0, 0, 0);
    for _ in 0..queries {
        let (a, b) = (nodes[rng.below(nodes.len())], nodes[rng.below(nodes.len())]);
        if a == b {
            continue;
        }
        let amount_msat = 1_000 * 10u64.pow(rng.below(7) as u32) * (1 + rng.below(9) as u64);
        let mut req = request(pubkey(graph, a), pubkey(graph, b), amount_msat);
        req.fuzzpercent = 0.0;
        shape(&mut req, &mut rng);
        let (new, new_cost, new_settled) = route_with(graph, liquidity, &req, |q| {
            search::cheapest_path(graph, liquidity, q)
        });
        let (plain, plain_cost, plain_settled) = route_with(graph, liquidity, &req, |q| {
            search::reference::cheapest_path(graph, liquidity, q)
        });
        settled_new += new_settled;
        settled_plain += plain_settled;
        match (&new, &plain) {
            (Ok(new), Ok(plain)) => {
                // Probes (amount 0) ignore htlc_minimum_msat, which the check does not.
                if req.amount_msat != 0 {
                    assert_consistent(graph, &req, new);
                }
                // Equal-cost routes may tie-break differently; the cost may not differ. Both
                // infinite: both searches were hop-pruned and the fallback found the route.
                let scale = plain_cost.abs().max(1.0);
                assert!(
                    new_cost == plain_cost || (new_cost - plain_cost).abs() <= 1e-9 * scale,
                    "{req:?}: cost {new_cost} vs plain {plain_cost}"
                );
                found += 1;
                same_hops += usize::from(new == plain);
            }
            (Err(new), Err(plain)) => assert_eq!(new, plain),
            _ => panic!(
                "{req:?}: found {:?} vs plain {:?}",
                new.is_ok(),
                plain.is_ok()
            ),
        }
    }
    assert!(found * 3 >= queries, "only {found} of {queries} routed");
    assert!(
        same_hops * 10 >= found * 9,
        "{same_hops} of {found} identical"
    );
    println!(
        "{found} routed, {same_hops} identical; settled {settled_new} vs plain {settled_plain}"
    );
    (settled_new, settled_plain)
}

#[test]
fn bidirectional_search_gives_plain_dijkstras_routes_and_settles_fewer_nodes() {
    let (new, plain) = compare_searches(&NoLiquidityInfo, 150, 1, |_, _| {});
    assert!(
        new * 2 < plain,
        "settled {new} nodes, plain Dijkstra {plain}"
    );
}

#[test]
fn bidirectional_search_matches_with_fuzz_bounds_risk_and_amount_zero() {
    let graph = real_graph();
    compare_searches(&SomeBounds(graph), 80, 2, |req, rng| {
        req.fuzzpercent = 5.0;
        req.seed = rng.next();
        req.riskfactor = [0.0, 1.0, 10.0, 1000.0][rng.below(4)];
        if rng.below(5) == 0 {
            req.amount_msat = 0;
        }
    });
}

#[test]
fn bidirectional_search_matches_with_exclusions_and_small_maxhops() {
    let graph = real_graph();
    let hubs = nodes_with_degree(graph, 30);
    compare_searches(&NoLiquidityInfo, 80, 3, |req, rng| {
        req.maxhops = 2 + rng.below(3) as u32;
        for _ in 0..3 {
            let hub = hubs[rng.below(hubs.len())];
            req.exclude.push(Exclusion::Node(pubkey(graph, hub)));
            if let Some(edge) = graph.outgoing(hub).nth(rng.below(10)) {
                req.exclude.push(Exclusion::Channel {
                    scid: edge.scid(),
                    direction: edge.direction(),
                });
            }
        }
    });
}

#[test]
fn reused_search_state_follows_a_growing_graph() {
    // Route on a small graph, grow it (new nodes past the previous size), route again: the
    // second query must not see the first one's labels.
    let (mut graph, via_x, _) = two_paths();
    let mut req = request(key(1), key(4), 10_000_000);
    req.fuzzpercent = 0.0;
    req.riskfactor = 0.0;
    assert_eq!(
        last_channel(&getroute(&graph, &NoLiquidityInfo, &req).unwrap()),
        via_x
    );
    // A cheaper way in through two new nodes, 5 → 6 → 4.
    let max = u64::MAX;
    open(&mut graph, 5, 1, 5, policy(0, 0, 40, max));
    open(&mut graph, 6, 5, 6, policy(10, 0, 40, max));
    let via_6 = open(&mut graph, 7, 6, 4, policy(10, 0, 40, max));
    let route = getroute(&graph, &NoLiquidityInfo, &req).unwrap();
    assert_eq!(last_channel(&route), via_6);
    assert_eq!(route.hops.len(), 3);
    assert_eq!(route.hops[0].amount_msat, 10_000_020);
    // The same query on the real graph in between leaves nothing behind either.
    let real = real_graph();
    let (from, to) = sample_pairs(real, 2)[1];
    assert!(getroute(real, &NoLiquidityInfo, &request(from, to, 1_000_000)).is_ok());
    assert_eq!(getroute(&graph, &NoLiquidityInfo, &req).unwrap(), route);
    // And a source that cannot reach the destination stays unrouted.
    req.fromid = key(6);
    req.id = key(1);
    assert_eq!(
        getroute(&graph, &NoLiquidityInfo, &req),
        Err(RouteError::RouteNotFound)
    );
}
