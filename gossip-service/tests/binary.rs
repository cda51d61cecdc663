//! `gossip-service --snapshot` as an operator runs it: it loads the real mainnet snapshot,
//! turns ready, and answers Core Lightning style `getroute` JSON-RPC between real nodes.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use lnfleet_gossip::graph::Graph;
use lnfleet_gossip::snapshot::Snapshot;
use lnfleet_tests::harness::{free_port, ServerProcess};
use lnfleet_tests::http::{http_get, http_post_json};
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_gossip-service");

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/lngraph")
        .join(file)
}

/// The two nodes with the most usable outgoing channels.
fn hubs() -> (String, String) {
    let snapshot = Snapshot::load(
        &data("gossip-store-2026-02-03.compressed"),
        &data("gossip-store-2026-02-03-node-map.xz"),
    )
    .unwrap();
    let graph = Graph::from_snapshot(&snapshot);
    let mut degrees: Vec<(usize, u32)> = (0..graph.node_count() as u32)
        .map(|n| (graph.outgoing(n).filter(|e| e.enabled()).count(), n))
        .collect();
    degrees.sort_unstable_by(|a, b| b.cmp(a));
    let id = |n: u32| hex::encode(graph.node_id(n).unwrap());
    (id(degrees[0].1), id(degrees[1].1))
}

async fn rpc(addr: std::net::SocketAddr, body: Value) -> Value {
    let (status, text) = http_post_json(addr, "/", &body.to_string()).await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getroute_between_real_mainnet_nodes_from_the_snapshot_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (api_port, metrics_port) = (free_port().unwrap(), free_port().unwrap());
    let mut command = Command::new(BINARY);
    command
        .arg("--snapshot")
        .arg(data("gossip-store-2026-02-03.compressed"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{api_port}"))
        .arg("--metrics-listen")
        .arg(format!("127.0.0.1:{metrics_port}"));
    let mut service =
        ServerProcess::spawn("gossip-service", command, dir.path().join("gossip.log")).unwrap();
    let api = std::net::SocketAddr::from(([127, 0, 0, 1], api_port));
    let telemetry = std::net::SocketAddr::from(([127, 0, 0, 1], metrics_port));
    service
        .wait_ready(Duration::from_secs(60), || {
            std::net::TcpStream::connect(api).is_ok()
        })
        .unwrap();
    let (status, _) = http_get(telemetry, "/readyz").await.unwrap();
    assert_eq!(status, 200, "ready once the graph is loaded");

    let (source, destination) = hubs();
    let reply = rpc(
        api,
        json!({"jsonrpc": "2.0", "id": 1, "method": "getroute",
               "params": {"id": destination, "amount_msat": "50000sat", "riskfactor": 10,
                          "fromid": source}}),
    )
    .await;
    let route = reply["result"]["route"].as_array().expect("a route");
    assert!(!route.is_empty());
    let last = route.last().unwrap();
    assert_eq!(last["id"], destination);
    assert_eq!(last["amount_msat"], 50_000_000);
    assert_eq!(last["delay"], 9, "Core Lightning's default final cltv");
    for hop in route {
        let keys: Vec<&str> = hop
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 6, "{hop}");
        assert_eq!(hop["style"], "tlv");
        assert!(hop["channel"].as_str().unwrap().ends_with("x0x0"));
    }
    // Positional parameters, Core Lightning's order.
    let positional = rpc(
        api,
        json!({"jsonrpc": "2.0", "id": 2, "method": "getroute",
               "params": [destination, 50_000_000, 10, 9, source]}),
    )
    .await;
    assert_eq!(positional["result"], reply["result"]);

    // Core Lightning's errors.
    let none = rpc(
        api,
        json!({"jsonrpc": "2.0", "id": 3, "method": "getroute",
               "params": {"id": destination, "amount_msat": 1000, "riskfactor": 1,
                          "fromid": source, "maxhops": 0}}),
    )
    .await;
    assert_eq!(none["error"]["code"], 205, "{none}");
    assert_eq!(none["error"]["message"], "Could not find a route");
    let bad = rpc(
        api,
        json!({"jsonrpc": "2.0", "id": 4, "method": "getroute", "params": {}}),
    )
    .await;
    assert_eq!(bad["error"]["code"], -32602);
    let unknown = rpc(api, json!({"jsonrpc": "2.0", "id": 5, "method": "pay"})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    let (_, garbage) = http_post_json(api, "/", "{not json").await.unwrap();
    assert!(garbage.contains("-32700"), "{garbage}");

    let (_, metrics) = http_get(telemetry, "/metrics").await.unwrap();
    assert!(
        metrics.contains(r#"lnfleet_gossip_rpc_requests_total{method="getroute",result="ok"} 2"#)
    );
    assert!(service.is_running(), "bad requests never stop the service");
}
