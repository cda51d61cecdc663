//! Two edges serving the same node id on one real Redis.

mod cluster_common;

use std::sync::Arc;
use std::time::Duration;

use cluster_common::{eventually, key, peer_info, redis};
use lnfleet_actors::telemetry::Metrics;
use lnfleet_edge::cluster::{
    ClosePeerDecision, ClusterConfig, ClusterHandles, ClusterMember, EdgeCommand, InboxDecision,
    Replaced, Reply, Route,
};
use lnfleet_tests::harness::RedisServer;

fn fast_config(edge: &str) -> ClusterConfig {
    ClusterConfig {
        lease_ttl: Duration::from_millis(600),
        renew_interval: Duration::from_millis(100),
        heartbeat_ttl: Duration::from_millis(600),
        heartbeat_interval: Duration::from_millis(100),
        request_timeout: Duration::from_secs(2),
        ..ClusterConfig::new(edge, vec![key(1)])
    }
}

async fn member(redis: &RedisServer, edge: &str) -> (ClusterMember, ClusterHandles) {
    let metrics = Metrics::new("edge").expect("metrics");
    ClusterMember::start(fast_config(edge), &redis.url(), &metrics)
        .await
        .expect("member starts")
}

#[tokio::test]
async fn a_stolen_lease_sends_close_peer_with_the_new_token_to_the_old_edge() {
    let redis = redis();
    let (edge_a, mut handles_a) = member(&redis, "edge-a").await;
    let (edge_b, _handles_b) = member(&redis, "edge-b").await;
    let (node, peer) = (key(1), key(2));

    let on_a = edge_a
        .on_peer_connected(&peer_info(node, peer, 1))
        .await
        .expect("connect a");
    assert_eq!(on_a.replaced, Replaced::Nobody);
    let on_b = edge_b
        .on_peer_connected(&peer_info(node, peer, 7))
        .await
        .expect("connect b");
    assert!(on_b.lease.token > on_a.lease.token);
    assert_eq!(
        on_b.replaced,
        Replaced::Remote {
            holder: on_a.lease.holder(),
            notified: true
        }
    );
    assert_eq!(edge_b.metrics().lease_steals.get(), 1);

    let incoming = handles_a
        .inbox
        .next(Duration::from_secs(2))
        .await
        .expect("read")
        .expect("close_peer");
    assert_eq!(incoming.from_edge, "edge-b");
    assert_eq!(
        incoming.command,
        EdgeCommand::ClosePeer {
            node,
            peer,
            token: on_b.lease.token
        }
    );
    // A late ClosePeer older than B's own connection does not close it.
    assert_eq!(
        edge_b.on_close_peer(&node, &peer, on_a.lease.token),
        ClosePeerDecision::Keep { connection_id: 7 }
    );
    assert_eq!(
        edge_a.on_close_peer(&node, &peer, on_b.lease.token),
        ClosePeerDecision::Close { connection_id: 1 }
    );
    assert_eq!(edge_a.held_lease(&node, &peer), None);
    assert_eq!(edge_a.metrics().leases_held.get(), 0);
    assert_eq!(
        edge_a.on_close_peer(&node, &peer, on_b.lease.token),
        ClosePeerDecision::NotHeld
    );
    // The old connection's disconnect releases nothing: the lease is B's.
    assert!(!edge_a
        .on_peer_disconnected(&peer_info(node, peer, 1))
        .await
        .expect("disconnect"));
    let holder = edge_a.leases().holder(&node, &peer).await.expect("holder");
    assert_eq!(holder, Some(on_b.lease.holder()));
}

#[tokio::test]
async fn a_newer_local_connection_reports_the_older_one_for_closing() {
    let redis = redis();
    let (edge_a, _handles) = member(&redis, "edge-a").await;
    let (node, peer) = (key(1), key(2));
    let first = edge_a
        .on_peer_connected(&peer_info(node, peer, 1))
        .await
        .expect("connect");
    let second = edge_a
        .on_peer_connected(&peer_info(node, peer, 2))
        .await
        .expect("connect");
    assert_eq!(
        second.replaced,
        Replaced::Local {
            connection_id: 1,
            token: first.lease.token
        }
    );
    assert_eq!(edge_a.held_lease(&node, &peer), Some(second.lease.clone()));
    assert!(!edge_a
        .on_peer_disconnected(&peer_info(node, peer, 1))
        .await
        .expect("disconnect"));
    assert!(edge_a
        .on_peer_disconnected(&peer_info(node, peer, 2))
        .await
        .expect("disconnect"));
    assert_eq!(
        edge_a.leases().holder(&node, &peer).await.expect("holder"),
        None
    );
    assert_eq!(edge_a.metrics().leases_held.get(), 0);
}

#[tokio::test]
async fn requests_route_locally_or_to_the_edge_holding_the_peer() {
    let redis = redis();
    let (edge_a, _handles_a) = member(&redis, "edge-a").await;
    let (edge_b, handles_b) = member(&redis, "edge-b").await;
    let edge_b = Arc::new(edge_b);
    let (node, peer) = (key(1), key(2));
    edge_b
        .on_peer_connected(&peer_info(node, peer, 5))
        .await
        .expect("connect");

    // Edge B's inbox loop: answers from its own lease table, as the peer layer would.
    let mut inbox_b = handles_b.inbox;
    let server = {
        let edge_b = edge_b.clone();
        tokio::spawn(async move {
            while let Ok(Some(incoming)) = inbox_b.next(Duration::from_secs(5)).await {
                let reply = match edge_b.decide(&incoming) {
                    InboxDecision::RunOn { connection_id: 5 } => Reply::Ok,
                    InboxDecision::Reply(reply) => reply,
                    other => Reply::Failed {
                        reason: format!("unexpected decision {other:?}"),
                    },
                };
                let _ = inbox_b.replier().reply(&incoming, &reply).await;
            }
        })
    };

    let send = EdgeCommand::SendCustomMessage {
        node,
        peer,
        payload: vec![0x80, 0x01],
    };
    let routed = edge_a
        .route_request(&node, &peer, send.clone())
        .await
        .expect("route");
    assert_eq!(
        routed,
        Route::Forwarded {
            edge_id: "edge-b".into(),
            reply: Reply::Ok
        }
    );
    let local = edge_b
        .route_request(&node, &peer, send)
        .await
        .expect("route");
    assert_eq!(local, Route::Local { connection_id: 5 });
    // Forwarded to the lease holder, which no longer has the peer: its answer comes back.
    edge_b.on_close_peer(&node, &peer, u64::MAX);
    let gone = EdgeCommand::Disconnect { node, peer };
    let routed = edge_a
        .route_request(&node, &peer, gone)
        .await
        .expect("route");
    assert_eq!(
        routed,
        Route::Forwarded {
            edge_id: "edge-b".into(),
            reply: Reply::PeerNotConnected
        }
    );
    let nowhere = EdgeCommand::Disconnect { node, peer: key(9) };
    let unknown = edge_a
        .route_request(&node, &key(9), nowhere)
        .await
        .expect("route");
    assert_eq!(unknown, Route::NotConnected);
    server.abort();
}

#[tokio::test]
async fn the_renew_loop_reports_a_lease_taken_behind_its_back() {
    let redis = redis();
    let (edge_a, mut handles_a) = member(&redis, "edge-a").await;
    let (node, peer) = (key(1), key(2));
    let connected = edge_a
        .on_peer_connected(&peer_info(node, peer, 4))
        .await
        .expect("connect");

    // Renewals keep it well past its 600 ms ttl.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        edge_a.leases().holder(&node, &peer).await.expect("holder"),
        Some(connected.lease.holder())
    );

    let thief = edge_a
        .leases()
        .acquire(&node, &peer, "edge-x", 1, Duration::from_secs(30))
        .await
        .expect("acquire");
    let lost = tokio::time::timeout(Duration::from_secs(2), handles_a.lost_leases.recv())
        .await
        .expect("lost within the deadline")
        .expect("channel open");
    assert_eq!(lost.connection_id, 4);
    assert_eq!(lost.token, connected.lease.token);
    assert!(thief.token > lost.token);
    assert_eq!(edge_a.held_lease(&node, &peer), None);
    assert_eq!(edge_a.metrics().leases_lost.get(), 1);
}

#[tokio::test]
async fn heartbeats_publish_held_peers_and_shutdown_leaves_the_cluster() {
    let redis = redis();
    let (edge_a, _handles) = member(&redis, "edge-a").await;
    let (node, peer) = (key(1), key(2));
    edge_a
        .on_peer_connected(&peer_info(node, peer, 1))
        .await
        .expect("connect");

    let registry = edge_a.registry().clone();
    let published = eventually(Duration::from_secs(2), || async {
        registry
            .get("edge-a")
            .await
            .ok()
            .flatten()
            .is_some_and(|record| {
                record
                    .peers
                    .iter()
                    .any(|pair| pair.node == node && pair.peer == peer)
                    && record.node_ids == vec![key(1)]
            })
    })
    .await;
    assert!(published, "the heartbeat should list the held peer");

    let leases = edge_a.leases().clone();
    edge_a.shutdown().await.expect("shutdown");
    assert_eq!(registry.get("edge-a").await.expect("get"), None);
    assert_eq!(leases.holder(&node, &peer).await.expect("holder"), None);
}

#[tokio::test]
async fn a_dropped_member_disappears_after_its_heartbeat_ttl() {
    let redis = redis();
    let (edge_a, _handles_a) = member(&redis, "edge-a").await;
    let (edge_b, _handles_b) = member(&redis, "edge-b").await;
    let registry = edge_b.registry().clone();
    let both = registry.list_live().await.expect("list").len();
    assert_eq!(both, 2);
    drop(edge_a);
    let gone = eventually(Duration::from_secs(3), || async {
        registry.list_live().await.is_ok_and(|live| {
            live.iter()
                .map(|edge| edge.edge_id.as_str())
                .collect::<Vec<_>>()
                == ["edge-b"]
        })
    })
    .await;
    assert!(
        gone,
        "edge-a's record should expire once its heartbeat task stops"
    );
}

#[tokio::test]
async fn inbox_commands_are_decided_from_held_leases() {
    let redis = redis();
    let (edge_a, mut handles_a) = member(&redis, "edge-a").await;
    let (edge_b, _handles_b) = member(&redis, "edge-b").await;
    let (node, peer) = (key(1), key(2));
    edge_a
        .on_peer_connected(&peer_info(node, peer, 3))
        .await
        .expect("connect");
    let client_b = edge_b.inbox_client();

    let connect = EdgeCommand::Connect {
        node,
        peer,
        addr: "10.0.0.1:9735".into(),
    };
    client_b.send("edge-a", connect).await.expect("send");
    let connect_other = EdgeCommand::Connect {
        node,
        peer: key(4),
        addr: "10.0.0.4:9735".into(),
    };
    client_b.send("edge-a", connect_other).await.expect("send");
    // B takes the lease: A is told to close connection 3.
    edge_b
        .on_peer_connected(&peer_info(node, peer, 8))
        .await
        .expect("connect");

    let mut decisions = Vec::new();
    for _ in 0..3 {
        let incoming = handles_a
            .inbox
            .next(Duration::from_secs(2))
            .await
            .expect("read")
            .expect("command");
        decisions.push(edge_a.decide(&incoming));
    }
    assert_eq!(
        decisions,
        [
            InboxDecision::Reply(Reply::Ok),
            InboxDecision::Dial {
                addr: "10.0.0.4:9735".into()
            },
            InboxDecision::Close { connection_id: 3 },
        ]
    );
    assert_eq!(
        edge_a
            .metrics()
            .inbox_commands
            .with_label_values(&["connect"])
            .get(),
        2
    );
}
