//! The edge registry on a real Redis: heartbeats, expiry, and finding a peer's edge.

mod cluster_common;

use std::time::Duration;

use cluster_common::{conn, eventually, key, redis};
use lnfleet_edge::cluster::registry::RECORD_VERSION;
use lnfleet_edge::cluster::{EdgeRecord, EdgeRegistry, LeaseStore, PeerPair};

fn record(edge: &str, peers: Vec<PeerPair>) -> EdgeRecord {
    EdgeRecord {
        version: RECORD_VERSION,
        node_ids: vec![key(1)],
        rpc_addr: Some("127.0.0.1:9835".into()),
        inbox: format!("edge:inbox:{edge}"),
        peers,
        started_at_ms: 1_700_000_000_000,
    }
}

#[tokio::test]
async fn an_edge_whose_heartbeat_stops_disappears_after_its_ttl() {
    let redis = redis();
    let registry = EdgeRegistry::new(conn(&redis).await);
    let ttl = Duration::from_millis(300);
    let pair = PeerPair {
        node: key(1),
        peer: key(2),
    };
    let record_a = record("edge-a", vec![pair]);
    let record_b = record("edge-b", Vec::new());
    registry
        .heartbeat("edge-a", &record_a, ttl)
        .await
        .expect("heartbeat");
    registry
        .heartbeat("edge-b", &record_b, ttl)
        .await
        .expect("heartbeat");

    let live = registry.list_live().await.expect("list");
    let mut ids: Vec<&str> = live.iter().map(|edge| edge.edge_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["edge-a", "edge-b"]);
    let listed_a = live
        .iter()
        .find(|edge| edge.edge_id == "edge-a")
        .map(|e| &e.record);
    assert_eq!(listed_a, Some(&record_a));

    // edge-b keeps beating, edge-a has stopped.
    let beating = {
        let registry = registry.clone();
        tokio::spawn(async move {
            loop {
                let _ = registry.heartbeat("edge-b", &record_b, ttl).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let gone = eventually(Duration::from_secs(3), || async {
        registry.list_live().await.is_ok_and(|live| {
            live.len() == 1 && live.first().is_some_and(|edge| edge.edge_id == "edge-b")
        })
    })
    .await;
    beating.abort();
    assert!(
        gone,
        "edge-a should be gone after its ttl, edge-b still live"
    );
    assert_eq!(registry.get("edge-a").await.expect("get"), None);

    let mut raw = conn(&redis).await;
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg("edge:live")
        .arg(0)
        .arg(-1)
        .query_async(&mut raw)
        .await
        .expect("zrange");
    assert_eq!(members, ["edge-b"], "the dead edge leaves the live set");
}

#[tokio::test]
async fn find_peer_answers_the_lease_holder_only_while_its_edge_is_live() {
    let redis = redis();
    let registry = EdgeRegistry::new(conn(&redis).await);
    let leases = LeaseStore::new(conn(&redis).await);
    let (node, peer) = (key(1), key(2));
    assert_eq!(
        registry
            .find_peer(&leases, &node, &peer)
            .await
            .expect("find"),
        None
    );

    let lease = leases
        .acquire(&node, &peer, "edge-a", 3, Duration::from_secs(30))
        .await
        .expect("acquire");
    // Held, but edge-a never registered: not reachable.
    assert_eq!(
        registry
            .find_peer(&leases, &node, &peer)
            .await
            .expect("find"),
        None
    );

    let record_a = record("edge-a", vec![PeerPair { node, peer }]);
    registry
        .heartbeat("edge-a", &record_a, Duration::from_secs(30))
        .await
        .expect("heartbeat");
    let found = registry
        .find_peer(&leases, &node, &peer)
        .await
        .expect("find")
        .expect("located");
    assert_eq!(found.holder, lease.holder());
    assert_eq!(found.record, record_a);

    registry.remove("edge-a").await.expect("remove");
    assert_eq!(
        registry
            .find_peer(&leases, &node, &peer)
            .await
            .expect("find"),
        None
    );
    assert!(registry.list_live().await.expect("list").is_empty());
}

#[tokio::test]
async fn a_record_that_does_not_decode_is_not_listed() {
    let redis = redis();
    let registry = EdgeRegistry::new(conn(&redis).await);
    let mut raw = conn(&redis).await;
    let () = redis::pipe()
        .cmd("SET")
        .arg("edge:registry:edge-x")
        .arg("{garbage")
        .ignore()
        .cmd("ZADD")
        .arg("edge:live")
        .arg(1)
        .arg("edge-x")
        .ignore()
        .query_async(&mut raw)
        .await
        .expect("write garbage");
    registry
        .heartbeat(
            "edge-a",
            &record("edge-a", Vec::new()),
            Duration::from_secs(30),
        )
        .await
        .expect("heartbeat");
    let live = registry.list_live().await.expect("list");
    let ids: Vec<&str> = live.iter().map(|edge| edge.edge_id.as_str()).collect();
    assert_eq!(ids, ["edge-a"]);
    assert!(live
        .iter()
        .all(|edge| edge.last_heartbeat_ms > 1_600_000_000_000));
}
