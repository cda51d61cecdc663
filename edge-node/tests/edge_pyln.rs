//! A real `edge-node` process (node key in the HSM, Redis, tansu) against Core Lightning's own
//! Python code: pyln-proto as the peer in both directions, pyln-client on the RPC socket.

mod support;

use std::time::Duration;

use lnfleet_actors::contracts::{self, CustomMessage};
use lnfleet_actors::kafka::Subscriber;
use lnfleet_actors::topics;
use serde_json::json;
use support::{eventually, pyln_rpc, sample, Backbone, EdgeProcess, PylnPeer, LIMIT};

const PEER_SECRET: &str = "4141414141414141414141414141414141414141414141414141414141414141";

/// The handshake (pyln initiating, the edge's ECDH in the HSM), init, the ping rules, a custom
/// message each way (peer → ln.custommsg; pyln-client's sendcustommsg → peer), and an unknown
/// even message closing the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyln_peer_runs_bolt1_and_custom_messages_against_an_edge() {
    let backbone = Backbone::start(&["edge-a"]).await;
    let edge = EdgeProcess::start(&backbone, "edge-a", &[]);
    let node_id = backbone.node_id();
    let custom = Subscriber::new(
        &backbone.kafka_config("test-custom"),
        "test-custommsg-reader",
        &[topics::CUSTOM_MESSAGES.name],
    )
    .unwrap();

    let mut peer = PylnPeer::connect(&edge, &node_id, PEER_SECRET).await;
    let init = peer.command("init").await;
    // The edge announces what it implements: gossip_queries (optional, bit 7), nothing more.
    assert_eq!(init["remote"]["features"], "80", "{init}");
    let networks = init["remote"]["tlvs"]["networks"]["chains"].to_string();
    assert!(
        networks.contains("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f"),
        "{init}"
    );

    assert_eq!(peer.command("ping 10 010203").await["event"], "pong");
    assert_eq!(peer.command("ping 65532").await["event"], "no_pong");

    // An unknown odd message: ignored by the connection, published as the custommsg hook.
    assert_eq!(peer.command("send 8003cafe").await["event"], "sent");
    assert_eq!(peer.command("ping 4").await["event"], "pong");
    let record = tokio::time::timeout(LIMIT, custom.next())
        .await
        .expect("a record on ln.custommsg")
        .unwrap();
    let message: CustomMessage = contracts::decode(&record.payload.unwrap()).unwrap();
    assert_eq!(message.payload, vec![0x80, 0x03, 0xca, 0xfe]);
    assert_eq!(hex::encode(&message.peer_id), peer.node_id);
    assert_eq!(message.node_id, node_id.serialize().to_vec());
    assert_eq!(message.edge_id, "edge-a");
    assert_eq!(record.key.as_deref(), Some(peer.node_id.as_bytes()));

    // pyln-client's sendcustommsg, through the edge's socket, reaches the peer.
    let sent = pyln_rpc(
        &edge.rpc_file,
        "sendcustommsg",
        Some(json!([peer.node_id, "8005beef"])),
    )
    .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let received = peer.command("expect 32773").await;
    assert_eq!(received["payload"], "beef", "{received}");

    // Types the node handles itself, even types and unknown peers are refused with codes.
    let own_type = pyln_rpc(
        &edge.rpc_file,
        "sendcustommsg",
        Some(json!([peer.node_id, "0012000100"])),
    )
    .await;
    assert_eq!(own_type["ok"], false, "{own_type}");
    assert_eq!(own_type["code"], -32600, "{own_type}");
    let even = pyln_rpc(
        &edge.rpc_file,
        "sendcustommsg",
        Some(json!([peer.node_id, "8004"])),
    )
    .await;
    assert_eq!(even["code"], -32600, "{even}");
    let stranger = "02".to_owned() + &"33".repeat(32);
    let nobody = pyln_rpc(
        &edge.rpc_file,
        "sendcustommsg",
        Some(json!([stranger, "8005"])),
    )
    .await;
    assert_eq!(nobody["code"], -32600, "{nobody}");
    assert!(
        nobody["message"].as_str().unwrap().contains("No such peer"),
        "{nobody}"
    );

    // "It's not ok to be even": the edge closes.
    assert_eq!(peer.command("send 8000aa").await["event"], "sent");
    let closed = peer.command("expect_close").await;
    assert_eq!(closed["event"], "closed", "{closed}");
    // An error naming the unknown even type came first.
    assert!(
        closed["before"].as_array().unwrap().contains(&json!(17)),
        "{closed}"
    );

    eventually(
        "the edge counts the handshake and the disconnect",
        || async {
            let metrics = edge.metrics();
            sample(
                &metrics,
                "lnfleet_edge_peer_handshakes_total{outcome=\"ok\"}",
            ) == Some(1.0)
                && sample(&metrics, "lnfleet_edge_peers_connected") == Some(0.0)
        },
    )
    .await;
    peer.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_mac_closes_the_connection() {
    let backbone = Backbone::start(&["edge-a"]).await;
    let edge = EdgeProcess::start(&backbone, "edge-a", &[]);
    let mut peer = PylnPeer::connect(&edge, &backbone.node_id(), PEER_SECRET).await;
    peer.command("init").await;
    assert_eq!(peer.command("bad_mac").await["event"], "sent");
    assert_eq!(peer.command("expect_close").await["event"], "closed");
    peer.quit().await;
}

/// The edge dials out (pyln-client's `connect`), pyln-proto responds; `listpeers` and
/// `disconnect` in Core Lightning's shapes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_connects_out_to_a_pyln_responder_on_rpc_request() {
    let backbone = Backbone::start(&["edge-a"]).await;
    let edge = EdgeProcess::start(&backbone, "edge-a", &[]);
    let (mut peer, port) = PylnPeer::listen(PEER_SECRET).await;
    let rpc_file = edge.rpc_file.clone();
    let peer_id = peer.node_id.clone();
    let connecting = tokio::spawn(async move {
        pyln_rpc(
            &rpc_file,
            "connect",
            Some(json!([peer_id, "127.0.0.1", port])),
        )
        .await
    });
    assert_eq!(peer.event().await["event"], "connected");
    peer.command("init").await;
    let connected = connecting.await.unwrap();
    assert_eq!(connected["ok"], true, "{connected}");
    assert_eq!(connected["result"]["id"], peer.node_id);
    assert_eq!(connected["result"]["direction"], "out");
    assert_eq!(connected["result"]["address"]["port"], port);

    let listed = pyln_rpc(&edge.rpc_file, "listpeers", None).await;
    let peers = listed["result"]["peers"].as_array().unwrap().clone();
    assert_eq!(peers.len(), 1, "{listed}");
    assert_eq!(peers[0]["id"], peer.node_id);
    assert_eq!(peers[0]["connected"], true);
    assert_eq!(peers[0]["edge"], "edge-a");
    assert_eq!(peer.command("ping 5").await["event"], "pong");

    let gone = pyln_rpc(&edge.rpc_file, "disconnect", Some(json!([peer.node_id]))).await;
    assert_eq!(gone["ok"], true, "{gone}");
    assert_eq!(peer.command("expect_close").await["event"], "closed");
    let unknown = pyln_rpc(&edge.rpc_file, "disconnect", Some(json!([peer.node_id]))).await;
    assert_eq!(unknown["ok"], false, "{unknown}");
    peer.quit().await;
}

/// pyln-client unchanged against the socket: getinfo, help, typed errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyln_client_reads_getinfo_help_and_errors() {
    let backbone = Backbone::start(&["edge-a"]).await;
    let edge = EdgeProcess::start(&backbone, "edge-a", &[]);
    let info = pyln_rpc(&edge.rpc_file, "getinfo", None).await;
    assert_eq!(info["ok"], true, "{info}");
    assert_eq!(info["result"]["id"], backbone.node_id().to_string());
    assert_eq!(info["result"]["network"], "regtest");
    assert_eq!(info["result"]["binding"][0]["port"], edge.listen.port());
    let help = pyln_rpc(&edge.rpc_file, "help", None).await;
    let commands = help["result"]["help"].to_string();
    for method in [
        "getinfo",
        "connect",
        "disconnect",
        "listpeers",
        "sendcustommsg",
        "getroute",
    ] {
        assert!(commands.contains(method), "{method} missing: {help}");
    }
    let bad = pyln_rpc(&edge.rpc_file, "connect", Some(json!(["not-a-node"]))).await;
    assert_eq!(bad["code"], -32602, "{bad}");
    let unknown = pyln_rpc(&edge.rpc_file, "fly", Some(json!({}))).await;
    assert_eq!(unknown["code"], -32601, "{unknown}");
    let no_address = pyln_rpc(
        &edge.rpc_file,
        "connect",
        Some(json!(["02".to_owned() + &"33".repeat(32)])),
    )
    .await;
    assert_eq!(no_address["code"], 400, "{no_address}");
    // The same methods over HTTP.
    let (status, body) = lnfleet_tests::http::http_post_json(
        edge.rpc_http,
        "/",
        &json!({"jsonrpc":"2.0","id":7,"method":"getinfo","params":{}}).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["result"]["id"], backbone.node_id().to_string());
    let (status, _) = lnfleet_tests::http::http_post_json(edge.rpc_http, "/v1/listpeers", "{}")
        .await
        .unwrap();
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// An edge never holds a node secret: the binary has no option to load one, and with an HSM
/// client that may not do ECDH, no handshake completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_work_only_through_the_hsm() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_edge-node"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_lowercase();
    assert!(help.contains("--hsm-client-id"), "{help}");
    for word in ["secret", "seed", "private", "node-key", "mnemonic"] {
        assert!(
            !help.contains(word),
            "edge-node --help mentions {word}: {help}"
        );
    }

    let backbone = Backbone::start_with_permissions(&[("edge-a", &["node_info"])]).await;
    let edge = EdgeProcess::start(&backbone, "edge-a", &[]);
    let refused = std::process::Command::new(support::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/interop/pyln_edge_peer.py"
        ))
        .args(["initiator", "--port", &edge.listen.port().to_string()])
        .args([
            "--node-id",
            &backbone.node_id().to_string(),
            "--timeout",
            "10",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        !refused.status.success(),
        "the handshake completed without ECDH rights: {said}"
    );
    assert!(said.contains("handshake failed"), "{said}");
    eventually("the edge counts the failed handshake", || async {
        sample(
            &edge.metrics(),
            "lnfleet_edge_peer_handshakes_total{outcome=\"handshake\"}",
        )
        .is_some_and(|n| n >= 1.0)
    })
    .await;
}
