//! Interop with Core Lightning's Python implementation (pyln-proto): the BOLT 8 handshake, `init`
//! and `ping`/`pong` against lnfleet-wire on tokio, with pyln as initiator and as responder.
//! The Python side is `tests/interop/pyln_peer.py`; its interpreter comes from scripts/setup.sh.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use lnfleet_actors::hsm::{HsmClient, HsmClientConfig, HsmClientMetrics};
use lnfleet_tests::harness::{cache_dir, RedisServer};
use lnfleet_tests::hsm::{http_get, HsmClientSpec, RunningHsm};
use lnfleet_tests::peer::{
    serve_session, HsmNodeKey, NodeKey, PeerConnection, SessionConfig, SessionEnd,
};
use lnfleet_wire::bolt1::{Init, Ping};
use lnfleet_wire::features::Features;
use lnfleet_wire::message::Message;
use lnfleet_wire::noise::LocalStaticKey;
use lnfleet_wire::ChainHash;
use secp256k1::{PublicKey, SecretKey};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const LIMIT: Duration = Duration::from_secs(60);

fn python() -> PathBuf {
    let path = std::env::var_os("LNFLEET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("venv/bin/python"));
    assert!(
        path.is_file(),
        "python with pyln-proto not found at {}: run scripts/setup.sh",
        path.display()
    );
    path
}

fn pyln_peer(args: &[&str]) -> Child {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/pyln_peer.py");
    let child = Command::new(python())
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Stopped by pid when the test ends, whatever the outcome.
        .kill_on_drop(true)
        .spawn()
        .expect("python starts");
    if let (Some(dir), Some(pid)) = (std::env::var_os("LNFLEET_TEST_PIDDIR"), child.id()) {
        let _ = std::fs::write(
            PathBuf::from(dir).join(format!("{pid}.pid")),
            pid.to_string(),
        );
    }
    child
}

fn random_key() -> LocalStaticKey {
    LocalStaticKey::new(SecretKey::new(&mut secp256k1::rand::thread_rng()))
}

const REGTEST_HEX: &str = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f";

#[tokio::test]
async fn pyln_initiator_handshakes_with_the_loopback_node_and_gets_pongs_by_the_rules() {
    pyln_initiator_against(random_key()).await;
}

/// The same script, with the node key held by an hsm-service replica on a real Redis: pyln's
/// handshake succeeds although the node's secret is never in this process's node code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyln_initiator_handshakes_with_a_node_whose_key_is_in_the_hsm() {
    let redis = RedisServer::start().unwrap();
    let edge = HsmClientSpec::new("edge-1", &["ecdh"]);
    let hsm = RunningHsm::start(&redis.url(), "hsm-a", &[5; 32], &[0], &[&edge])
        .await
        .unwrap();
    let registry = prometheus::Registry::new();
    let client = HsmClient::connect(
        &redis.url(),
        edge.credential.clone(),
        HsmClientConfig::default(),
        HsmClientMetrics::register(&registry).unwrap(),
    )
    .await
    .unwrap();
    pyln_initiator_against(HsmNodeKey {
        client,
        node_id: hsm.node_ids[0],
    })
    .await;
    let (_, metrics) = http_get(hsm.telemetry_addr, "/metrics").await.unwrap();
    assert!(metrics.contains(r#"lnfleet_hsm_requests_total{operation="ecdh",result="ok"} 1"#));
}

async fn pyln_initiator_against(key: impl NodeKey + Clone) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let node_id = key.node_id();

    let session = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("pyln connects");
        let mut conn = PeerConnection::accept(stream, &key, LIMIT)
            .await
            .expect("handshake with pyln");
        serve_session(&mut conn, &SessionConfig::default()).await
    });

    let child = pyln_peer(&[
        "initiator",
        "--port",
        &port.to_string(),
        "--node-id",
        &node_id.to_string(),
    ]);
    let output = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .expect("pyln finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pyln failed: {stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one json line");
    assert_eq!(report["ok"], true);
    assert_eq!(report["closed_after_unknown_even"], true);
    assert_eq!(report["pongs"], serde_json::json!([10, 3, 4]));
    // pyln decoded our init, with its networks TLV naming regtest.
    assert!(report["remote_init"].to_string().contains(REGTEST_HEX));

    let (end, stats) = tokio::time::timeout(LIMIT, session).await.unwrap().unwrap();
    assert_eq!(end, SessionEnd::UnknownEvenMessage(32768));
    assert_eq!(stats.pongs_sent, vec![10, 3, 4]);
    assert_eq!(
        stats.pings_without_pong, 1,
        "ping asking 65532 bytes gets no pong"
    );
    assert_eq!(stats.unknown_odd_ignored, vec![32769]);
}

/// Reads messages until a pong arrives, answering pyln's pings and skipping its odd messages.
async fn next_pong(conn: &mut PeerConnection) -> usize {
    loop {
        match conn.recv().await.expect("connection stays up") {
            Message::Pong(pong) => return pong.ignored.len(),
            Message::Ping(ping) => {
                if let Some(pong) = ping.response() {
                    conn.send(&pong.into()).await.unwrap();
                }
            }
            Message::Unknown(_) => {}
            other => panic!("unexpected {}", other.name()),
        }
    }
}

#[tokio::test]
async fn lnfleet_initiator_handshakes_with_pyln_responder_and_both_sides_ping() {
    let mut child = pyln_peer(&["responder"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("pyln listens")
        .unwrap()
        .expect("a LISTENING line");
    let fields: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(fields.first(), Some(&"LISTENING"), "{first}");
    let port: u16 = fields[1].parse().unwrap();
    let pyln_id: PublicKey = fields[2].parse().unwrap();

    let key = random_key();
    let mut conn = PeerConnection::connect(("127.0.0.1", port), &key, pyln_id, LIMIT)
        .await
        .expect("handshake with pyln");
    assert_eq!(conn.remote_node_id(), pyln_id);
    let ours = Init::new(Features::new(), vec![ChainHash::REGTEST], None);
    let theirs = conn.exchange_init(&ours, LIMIT).await.expect("pyln's init");
    assert_eq!(theirs.networks, Some(vec![ChainHash::REGTEST]));
    // pyln sends features=0200: bit 9 (var_onion_optin, optional).
    assert!(theirs.combined_features().has_bit(9));

    conn.send(&Ping::new(10, 5).into()).await.unwrap();
    assert_eq!(next_pong(&mut conn).await, 10);
    conn.send(&Ping::new(65532, 0).into()).await.unwrap();
    conn.send(&Ping::new(3, 0).into()).await.unwrap();
    assert_eq!(next_pong(&mut conn).await, 3, "pyln sent no pong for 65532");

    // Keep serving pyln's script (its pings, its odd message) until it reports.
    let report = loop {
        tokio::select! {
            line = lines.next_line() => break line.unwrap().expect("pyln's report"),
            message = conn.recv() => match message.expect("connection stays up") {
                Message::Ping(ping) => {
                    if let Some(pong) = ping.response() {
                        conn.send(&pong.into()).await.unwrap();
                    }
                }
                Message::Unknown(unknown) => assert_eq!(unknown.msg_type, 32769),
                other => panic!("unexpected {}", other.name()),
            },
            _ = tokio::time::sleep(LIMIT) => panic!("pyln did not report"),
        }
    };
    let report: serde_json::Value = serde_json::from_str(&report).expect("json report");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["pongs"], serde_json::json!([10, 3, 4]));
    conn.shutdown().await;
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
