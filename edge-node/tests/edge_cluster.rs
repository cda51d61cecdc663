//! Two `edge-node` processes serving one node id (a virtual node), with pyln-proto peers:
//! the newest connection wins across edges, requests reach the peer through whichever edge holds
//! it, a dead edge's peers can be taken, and SIGTERM hands peers over at once. Also `getroute`
//! through an edge's RPC, answered by the gossip service.

mod support;

use std::time::{Duration, Instant};

use lnfleet_edge::cluster::LeaseStore;
use serde_json::json;
use support::{eventually, pyln_rpc, Backbone, EdgeProcess, PylnPeer};

const PEER_SECRET: &str = "4242424242424242424242424242424242424242424242424242424242424242";

fn peer_key(hex_id: &str) -> secp256k1::PublicKey {
    secp256k1::PublicKey::from_slice(&hex::decode(hex_id).unwrap()).unwrap()
}

async fn leases(backbone: &Backbone) -> LeaseStore {
    let conn = lnfleet_actors::redis::connect(&backbone.redis.url(), 5)
        .await
        .unwrap();
    LeaseStore::new(conn)
}

async fn holder_edge(store: &LeaseStore, backbone: &Backbone, peer: &str) -> Option<String> {
    store
        .holder(&backbone.node_id(), &peer_key(peer))
        .await
        .unwrap()
        .map(|h| h.edge_id)
}

async fn wait_exit(edge: &mut EdgeProcess) {
    let deadline = Instant::now() + support::LIMIT;
    while edge.process.is_running() {
        assert!(
            Instant::now() < deadline,
            "edge {} did not exit",
            edge.edge_id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edges_serve_one_node_id_and_the_newest_connection_wins() {
    let backbone = Backbone::start(&["edge-a", "edge-b"]).await;
    let fast = ["--lease-ttl-secs", "3", "--heartbeat-interval-secs", "1"];
    let a = EdgeProcess::start(&backbone, "edge-a", &fast);
    let mut b = EdgeProcess::start(&backbone, "edge-b", &fast);
    let store = leases(&backbone).await;

    // Both edges are the same node: the peer's handshake names it, and getinfo agrees.
    let info_a = a.rpc("getinfo", json!({})).await;
    let info_b = b.rpc("getinfo", json!({})).await;
    assert_eq!(info_a["result"]["id"], backbone.node_id().to_string());
    assert_eq!(info_a["result"]["id"], info_b["result"]["id"]);

    let mut first = PylnPeer::connect(&a, &backbone.node_id(), PEER_SECRET).await;
    first.command("init").await;
    let peer = first.node_id.clone();
    eventually("edge-a holds the lease", || async {
        holder_edge(&store, &backbone, &peer).await.as_deref() == Some("edge-a")
    })
    .await;

    // Edge B sees the peer (through A's heartbeat) and reaches it through A's inbox.
    eventually("edge-b lists the peer held by edge-a", || async {
        let listed = b.rpc("listpeers", json!({})).await;
        listed["result"]["peers"].as_array().is_some_and(|peers| {
            peers
                .iter()
                .any(|p| p["id"] == peer && p["edge"] == "edge-a")
        })
    })
    .await;
    let sent = pyln_rpc(
        &b.rpc_file,
        "sendcustommsg",
        Some(json!([peer, "8007aa55"])),
    )
    .await;
    assert_eq!(sent["ok"], true, "{sent}");
    assert_eq!(first.command("expect 32775").await["payload"], "aa55");

    // The peer reconnects through edge B: B takes the lease, A drops the old connection.
    let mut second = PylnPeer::connect(&b, &backbone.node_id(), PEER_SECRET).await;
    second.command("init").await;
    assert_eq!(first.command("expect_close").await["event"], "closed");
    eventually("edge-b holds the lease", || async {
        holder_edge(&store, &backbone, &peer).await.as_deref() == Some("edge-b")
    })
    .await;
    assert_eq!(second.command("ping 6").await["event"], "pong");
    let forwarded = a
        .rpc("sendcustommsg", json!({"node_id": peer, "msg": "8009"}))
        .await;
    assert_eq!(
        forwarded["result"]["status"], "Message sent to connectd for delivery",
        "{forwarded}"
    );
    assert_eq!(second.command("expect 32777").await["payload"], "");

    // Edge B dies without a word: its lease expires and edge A can take the peer.
    drop(second);
    let killed = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &b.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_exit(&mut b).await;
    eventually("the dead edge's lease expires", || async {
        holder_edge(&store, &backbone, &peer).await.is_none()
    })
    .await;
    assert!(killed.elapsed() < Duration::from_secs(30));
    eventually("edge-a no longer lists edge-b's peers", || async {
        let listed = a.rpc("listpeers", json!({})).await;
        listed["result"]["peers"]
            .as_array()
            .is_some_and(|p| p.is_empty())
    })
    .await;
    let mut third = PylnPeer::connect(&a, &backbone.node_id(), PEER_SECRET).await;
    third.command("init").await;
    eventually("edge-a holds the lease again", || async {
        holder_edge(&store, &backbone, &peer).await.as_deref() == Some("edge-a")
    })
    .await;
    assert_eq!(third.command("ping 7").await["event"], "pong");
    third.quit().await;
    first.quit().await;
}

/// SIGTERM: the edge stops accepting, releases its leases and closes its connections, so the
/// peer reconnects through the other edge at once (not after a lease timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_leases_and_peers_move_to_another_edge_at_once() {
    let backbone = Backbone::start(&["edge-a", "edge-b"]).await;
    // A lease ttl far longer than the test: only an explicit release can free it in time.
    let slow = ["--lease-ttl-secs", "600", "--heartbeat-interval-secs", "1"];
    let mut a = EdgeProcess::start(&backbone, "edge-a", &slow);
    let b = EdgeProcess::start(&backbone, "edge-b", &slow);
    let store = leases(&backbone).await;

    let mut peer = PylnPeer::connect(&a, &backbone.node_id(), PEER_SECRET).await;
    peer.command("init").await;
    let peer_id = peer.node_id.clone();
    eventually("edge-a holds the lease", || async {
        holder_edge(&store, &backbone, &peer_id).await.as_deref() == Some("edge-a")
    })
    .await;

    let stopping = Instant::now();
    a.sigterm();
    let closed = peer.command("expect_close").await;
    assert_eq!(closed["event"], "closed");
    wait_exit(&mut a).await;
    assert!(
        stopping.elapsed() < Duration::from_secs(20),
        "took {:?}",
        stopping.elapsed()
    );
    assert_eq!(
        holder_edge(&store, &backbone, &peer_id).await,
        None,
        "lease released"
    );
    assert!(a.log().contains("edge stopped"), "{}", a.log());

    let mut moved = PylnPeer::connect(&b, &backbone.node_id(), PEER_SECRET).await;
    moved.command("init").await;
    eventually("edge-b holds the lease", || async {
        holder_edge(&store, &backbone, &peer_id).await.as_deref() == Some("edge-b")
    })
    .await;
    let listed = b.rpc("listpeers", json!({})).await;
    assert_eq!(listed["result"]["peers"][0]["edge"], "edge-b", "{listed}");
    moved.quit().await;
}

/// `getroute` through the edge's socket (pyln-client), answered by the gossip service over the
/// real mainnet snapshot, in Core Lightning's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getroute_through_the_edge_is_answered_by_the_gossip_service() {
    let backbone = Backbone::start(&["edge-a"]).await;
    let gossip = lnfleet_tests::cluster::start_gossip(0).await.unwrap();
    let url = format!("http://{}/", gossip.addr);
    let a = EdgeProcess::start(&backbone, "edge-a", &["--gossip-url", &url]);
    let (from, to) = gossip.hubs.clone();
    let route = pyln_rpc(
        &a.rpc_file,
        "getroute",
        Some(json!({"node_id": to, "amount_msat": 100_000_000, "riskfactor": 10, "fromid": from})),
    )
    .await;
    assert_eq!(route["ok"], true, "{route}");
    let hops = route["result"]["route"].as_array().unwrap();
    assert!(!hops.is_empty());
    assert_eq!(hops.last().unwrap()["id"], to);
    assert_eq!(hops.last().unwrap()["amount_msat"], 100_000_000);
    for hop in hops {
        assert_eq!(hop["style"], "tlv");
        assert!(hop["channel"].as_str().unwrap().contains('x'));
    }
    // Without fromid the route starts at our node id, which the mainnet graph does not have:
    // the gossip service's error comes back unchanged.
    let none = pyln_rpc(
        &a.rpc_file,
        "getroute",
        Some(json!({"node_id": to, "amount_msat": 1000, "riskfactor": 1})),
    )
    .await;
    assert_eq!(none["ok"], false, "{none}");
    assert_eq!(none["code"], -32602, "{none}");
    let message = none["message"].as_str().unwrap();
    assert!(message.contains(&backbone.node_id().to_string()), "{none}");
    // No route between real nodes for more than the network can carry: code 205.
    let too_much = pyln_rpc(
        &a.rpc_file,
        "getroute",
        Some(json!({"node_id": to, "amount_msat": "100000btc", "riskfactor": 1, "fromid": from})),
    )
    .await;
    assert_eq!(too_much["code"], 205, "{too_much}");
}
