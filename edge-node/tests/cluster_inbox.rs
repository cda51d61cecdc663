//! Edge inboxes on a real Redis: requests, replies, timeouts and garbage.

mod cluster_common;

use std::time::{Duration, Instant};

use cluster_common::{conn, key, redis};
use lnfleet_actors::telemetry::Metrics;
use lnfleet_edge::cluster::inbox::{Envelope, ENVELOPE_VERSION};
use lnfleet_edge::cluster::{ClusterMetrics, EdgeCommand, Inbox, InboxClient, InboxError, Reply};
use lnfleet_tests::harness::RedisServer;

async fn client(redis: &RedisServer, edge: &str, metrics: &ClusterMetrics) -> InboxClient {
    let client = redis::Client::open(redis.url()).expect("url");
    InboxClient::new(edge, conn(redis).await, client, 4, Some(metrics.clone())).expect("client")
}

async fn inbox(redis: &RedisServer, edge: &str, metrics: &ClusterMetrics) -> Inbox {
    Inbox::new(edge, conn(redis).await, conn(redis).await, metrics.clone()).expect("inbox")
}

fn metrics() -> ClusterMetrics {
    ClusterMetrics::register(&Metrics::new("edge").expect("metrics")).expect("cluster metrics")
}

#[tokio::test]
async fn a_request_is_answered_through_the_target_inbox() {
    let redis = redis();
    let metrics_b = metrics();
    let mut inbox_b = inbox(&redis, "edge-b", &metrics_b).await;
    let server = tokio::spawn(async move {
        let incoming = inbox_b
            .next(Duration::from_secs(5))
            .await
            .expect("read")
            .expect("a command");
        let reply = match &incoming.command {
            EdgeCommand::SendCustomMessage { payload, .. } if payload == &[0x80, 0x01, 0x02] => {
                Reply::Ok
            }
            other => Reply::Failed {
                reason: format!("unexpected {other:?}"),
            },
        };
        inbox_b
            .replier()
            .reply(&incoming, &reply)
            .await
            .expect("reply");
        incoming
    });

    let client_a = client(&redis, "edge-a", &metrics()).await;
    let command = EdgeCommand::SendCustomMessage {
        node: key(1),
        peer: key(2),
        payload: vec![0x80, 0x01, 0x02],
    };
    let reply = client_a
        .request("edge-b", command.clone(), Duration::from_secs(5))
        .await
        .expect("reply");
    assert_eq!(reply, Reply::Ok);
    let incoming = server.await.expect("server task");
    assert_eq!(incoming.command, command);
    assert_eq!(incoming.from_edge, "edge-a");
    assert!(incoming.wants_reply);
    assert_eq!(
        metrics_b
            .inbox_commands
            .with_label_values(&["send_custom_message"])
            .get(),
        1
    );
}

#[tokio::test]
async fn a_request_to_a_dead_edge_times_out() {
    let redis = redis();
    let metrics_a = metrics();
    let client_a = client(&redis, "edge-a", &metrics_a).await;
    let started = Instant::now();
    let result = client_a
        .request(
            "edge-dead",
            EdgeCommand::Disconnect {
                node: key(1),
                peer: key(2),
            },
            Duration::from_millis(300),
        )
        .await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(InboxError::Timeout { ref target, .. }) if target == "edge-dead"),
        "{result:?}"
    );
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(metrics_a.inbox_request_timeouts.get(), 1);
}

#[tokio::test]
async fn garbage_in_an_inbox_is_skipped_and_counted() {
    let redis = redis();
    let metrics_b = metrics();
    let mut inbox_b = inbox(&redis, "edge-b", &metrics_b).await;
    let mut raw = conn(&redis).await;
    let good = Envelope {
        version: ENVELOPE_VERSION,
        request_id: "ab".repeat(16),
        from_edge: "edge-a".into(),
        wants_reply: true,
        deadline_ms: None,
        command: EdgeCommand::Disconnect {
            node: key(1),
            peer: key(2),
        },
    };
    let to_json = |envelope: &Envelope| serde_json::to_vec(envelope).expect("encode");
    let garbage: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        vec![0xff, 0x00, 0xfe],
        b"{}".to_vec(),
        to_json(&Envelope {
            version: 99,
            ..good.clone()
        }),
        // A sender that would make us write replies to an arbitrary key.
        to_json(&Envelope {
            from_edge: "x:y".into(),
            ..good.clone()
        }),
        br#"{"version":1,"request_id":"abababababababababababababababab","from_edge":"edge-a","wants_reply":false,"deadline_ms":null,"command":{"kind":"close_peer","node":"02zz","peer":"02","token":1}}"#.to_vec(),
    ];
    for entry in &garbage {
        let _: i64 = redis::cmd("RPUSH")
            .arg("edge:inbox:edge-b")
            .arg(entry.as_slice())
            .query_async(&mut raw)
            .await
            .expect("rpush");
    }
    let _: i64 = redis::cmd("RPUSH")
        .arg("edge:inbox:edge-b")
        .arg(to_json(&good))
        .query_async(&mut raw)
        .await
        .expect("rpush");

    let incoming = inbox_b
        .next(Duration::from_secs(2))
        .await
        .expect("read")
        .expect("the valid command after the garbage");
    assert_eq!(incoming.command, good.command);
    assert_eq!(metrics_b.inbox_garbled.get(), garbage.len() as u64);
    assert_eq!(
        inbox_b
            .next(Duration::from_millis(100))
            .await
            .expect("read"),
        None
    );
}

#[tokio::test]
async fn a_command_past_its_deadline_is_skipped_and_counted() {
    let redis = redis();
    let metrics_b = metrics();
    let mut inbox_b = inbox(&redis, "edge-b", &metrics_b).await;
    let expired = Envelope {
        version: ENVELOPE_VERSION,
        request_id: "cd".repeat(16),
        from_edge: "edge-a".into(),
        wants_reply: true,
        deadline_ms: Some(1),
        command: EdgeCommand::Connect {
            node: key(1),
            peer: key(2),
            addr: "127.0.0.1:9735".into(),
        },
    };
    let mut raw = conn(&redis).await;
    let _: i64 = redis::cmd("RPUSH")
        .arg("edge:inbox:edge-b")
        .arg(serde_json::to_vec(&expired).expect("encode"))
        .query_async(&mut raw)
        .await
        .expect("rpush");

    assert_eq!(
        inbox_b
            .next(Duration::from_millis(200))
            .await
            .expect("read"),
        None
    );
    assert_eq!(metrics_b.inbox_expired.get(), 1);
    assert_eq!(metrics_b.inbox_garbled.get(), 0);
}

#[tokio::test]
async fn a_fire_and_forget_command_arrives_without_a_reply_key() {
    let redis = redis();
    let metrics_b = metrics();
    let mut inbox_b = inbox(&redis, "edge-b", &metrics_b).await;
    let client_a = client(&redis, "edge-a", &metrics()).await;
    let close = EdgeCommand::ClosePeer {
        node: key(1),
        peer: key(2),
        token: 7,
    };
    let request_id = client_a.send("edge-b", close.clone()).await.expect("send");
    let incoming = inbox_b
        .next(Duration::from_secs(2))
        .await
        .expect("read")
        .expect("command");
    assert_eq!(incoming.command, close);
    assert_eq!(incoming.request_id, request_id);
    assert!(!incoming.wants_reply);
    // Answering a command that wanted no reply writes nothing.
    inbox_b
        .replier()
        .reply(&incoming, &Reply::Ok)
        .await
        .expect("reply");
    let mut raw = conn(&redis).await;
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("edge:reply:edge-a:{request_id}"))
        .query_async(&mut raw)
        .await
        .expect("exists");
    assert!(!exists);
}
