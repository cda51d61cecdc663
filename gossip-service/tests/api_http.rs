//! The routing API over real HTTP: `api::serve` on a free port, both REST endpoints, JSON-RPC
//! `getroutes`, and the 4xx errors.

use std::net::SocketAddr;
use std::sync::Arc;

use lnfleet_actors::telemetry::Metrics;
use lnfleet_gossip::api::{self, ApiServer, RouterState};
use lnfleet_gossip::graph::{ChannelParams, Graph};
use lnfleet_tests::http::http_post_json;
use lnfleet_wire::ShortChannelId;
use serde_json::{json, Value};

fn key(n: u8) -> [u8; 33] {
    let mut k = [n; 33];
    k[0] = 0x02;
    k
}

fn hex_key(n: u8) -> String {
    hex::encode(key(n))
}

fn open(graph: &mut Graph, block: u32, from: u8, to: u8, capacity_sat: u64, base: u32, ppm: u32) {
    let scid = ShortChannelId::new(block, 0, 0).unwrap();
    graph
        .add_channel(scid, key(from), key(to), capacity_sat)
        .unwrap();
    let params = ChannelParams {
        fee_base_msat: base,
        fee_proportional_millionths: ppm,
        cltv_expiry_delta: 40,
        htlc_minimum_msat: 1,
        htlc_maximum_msat: 0,
    };
    graph
        .update_half_channel(scid, u8::from(key(from) > key(to)), params)
        .unwrap();
}

/// S(1) → A(2) → D(4) and S → B(3) → D; the A and B legs hold 100_000 sat each.
fn parallel_paths() -> Graph {
    let mut graph = Graph::default();
    open(&mut graph, 1, 1, 2, 1_000_000_000, 0, 0);
    open(&mut graph, 2, 2, 4, 100_000, 1_000, 100);
    open(&mut graph, 3, 1, 3, 1_000_000_000, 0, 0);
    open(&mut graph, 4, 3, 4, 100_000, 2_000, 200);
    graph
}

fn start() -> (ApiServer, Metrics) {
    let metrics = Metrics::new("gossip").unwrap();
    let state = Arc::new(RouterState::new(parallel_paths(), &metrics).unwrap());
    let server = api::serve(SocketAddr::from(([127, 0, 0, 1], 0)), state).unwrap();
    (server, metrics)
}

async fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = http_post_json(addr, path, &body.to_string()).await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (status, value)
}

fn getroutes_params(amount_msat: u64) -> Value {
    json!({
        "source": hex_key(1),
        "destination": hex_key(4),
        "amount_msat": amount_msat,
        "maxfee_msat": 1_000_000,
        "final_cltv": 18,
    })
}

/// Checks the `getroutes` answer shape and that the parts deliver `amount_msat`.
fn assert_routes(answer: &Value, amount_msat: u64, parts: usize) {
    let routes = answer["routes"].as_array().unwrap();
    assert_eq!(routes.len(), parts, "{answer}");
    assert!(answer["probability_ppm"].as_u64().unwrap() <= 1_000_000);
    let delivered: u64 = routes
        .iter()
        .map(|r| r["amount_msat"].as_u64().unwrap())
        .sum();
    assert_eq!(delivered, amount_msat);
    for route in routes {
        assert_eq!(route["final_cltv"], 18);
        assert!(route["probability_ppm"].is_u64());
        let path = route["path"].as_array().unwrap();
        assert_eq!(path.len(), 2);
        let last = &path[1];
        assert_eq!(last["next_node_id"], hex_key(4));
        assert_eq!(last["amount_msat"], route["amount_msat"]);
        assert_eq!(last["delay"], 18);
        assert_eq!(path[0]["delay"], 58);
        assert!(path[0]["short_channel_id_dir"]
            .as_str()
            .unwrap()
            .ends_with(&['/', '0', '1'][..]));
        assert!(path[0]["amount_msat"].as_u64() > last["amount_msat"].as_u64());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_getroutes_splits_a_payment_larger_than_any_channel() {
    let (server, _metrics) = start();
    let (status, answer) = post(
        server.local_addr(),
        "/v1/getroutes",
        &getroutes_params(150_000_000),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_routes(&answer, 150_000_000, 2);
    let mut params = getroutes_params(150_000_000);
    params["amount_msat"] = json!("150000sat");
    params["maxparts"] = json!(2);
    let (status, again) = post(server.local_addr(), "/v1/getroutes", &params).await;
    assert_eq!(status, 200);
    assert_eq!(again, answer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_getroute_answers_core_lightnings_route() {
    let (server, _metrics) = start();
    let body = json!({"id": hex_key(4), "fromid": hex_key(1), "amount_msat": 10_000_000,
                      "riskfactor": 10, "fuzzpercent": 0});
    let (status, answer) = post(server.local_addr(), "/v1/getroute", &body).await;
    assert_eq!(status, 200, "{answer}");
    let route = answer["route"].as_array().unwrap();
    assert_eq!(route.len(), 2);
    assert_eq!(route[1]["id"], hex_key(4));
    assert_eq!(route[1]["amount_msat"], 10_000_000);
    // The A leg is cheaper: 1000 + 10_000_000 × 100 / 1_000_000.
    assert_eq!(route[0]["amount_msat"], 10_002_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_getroutes_by_name_and_getroute_unchanged() {
    let (server, _metrics) = start();
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "getroutes",
                         "params": getroutes_params(150_000_000)});
    let (status, reply) = post(server.local_addr(), "/", &request).await;
    assert_eq!(status, 200);
    assert_eq!(reply["id"], 7);
    assert_routes(&reply["result"], 150_000_000, 2);

    let request = json!({"jsonrpc": "2.0", "id": 8, "method": "getroute",
                         "params": [hex_key(4), 1_000, 1, 9, hex_key(1)]});
    let (status, reply) = post(server.local_addr(), "/", &request).await;
    assert_eq!(status, 200);
    assert_eq!(reply["result"]["route"].as_array().unwrap().len(), 2);

    let request = json!({"jsonrpc": "2.0", "id": 9, "method": "getroutes",
                         "params": getroutes_params(250_000_000)});
    let (status, reply) = post(server.local_addr(), "/", &request).await;
    assert_eq!(status, 200, "JSON-RPC errors travel in the body");
    assert_eq!(reply["error"]["code"], 205);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_errors_are_4xx_with_code_and_message() {
    let (server, metrics) = start();
    let addr = server.local_addr();

    // No route: 404 with Core Lightning's PAY_ROUTE_NOT_FOUND.
    let (status, error) = post(addr, "/v1/getroutes", &getroutes_params(250_000_000)).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], 205);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("Could not find"));
    let body = json!({"id": hex_key(4), "fromid": hex_key(1), "amount_msat": 150_000_000,
                      "riskfactor": 10});
    let (status, error) = post(addr, "/v1/getroute", &body).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], 205);

    // Bad parameters: 400 naming the parameter.
    let mut missing = getroutes_params(1_000);
    missing.as_object_mut().unwrap().remove("source");
    let (status, error) = post(addr, "/v1/getroutes", &missing).await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], -32602);
    assert!(error["message"].as_str().unwrap().contains("source"));
    let mut unknown = getroutes_params(1_000);
    unknown["destination"] = json!(hex_key(9));
    let (status, error) = post(addr, "/v1/getroutes", &unknown).await;
    assert_eq!((status, error["code"].clone()), (400, json!(-32602)));
    let (status, error) = post(addr, "/v1/getroute", &json!({"id": hex_key(4)})).await;
    assert_eq!((status, error["code"].clone()), (400, json!(-32602)));
    let (status, error) = post(addr, "/v1/getroutes", &json!([hex_key(1)])).await;
    assert_eq!((status, error["code"].clone()), (400, json!(-32602)));

    // Not JSON at all.
    let (status, text) = http_post_json(addr, "/v1/getroutes", "{nope")
        .await
        .unwrap();
    assert_eq!(status, 400);
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["code"], -32700);

    let exported = metrics.encode_text();
    let not_found = exported
        .lines()
        .find(|l| l.contains("routes_not_found_total") && l.contains("method=\"getroutes\""))
        .unwrap_or_else(|| panic!("no getroutes not-found counter in:\n{exported}"));
    assert!(not_found.ends_with(" 1"), "{not_found}");
    assert!(exported.contains("rpc_duration_seconds"));
}
