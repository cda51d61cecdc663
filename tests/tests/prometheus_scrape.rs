//! A real Prometheus server (Debian's `prometheus`) scrapes the local cluster (the HSM, the gossip
//! service's routing API, two edges) and answers, through its HTTP API, a query for each
//! service's key metrics: what an operator's Prometheus would see.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use lnfleet_tests::cluster::{Cluster, ClusterPorts};
use lnfleet_tests::harness::{free_port, ServerProcess};
use lnfleet_tests::http::http_get;
use lnfleet_tests::peer::PeerConnection;
use lnfleet_wire::bolt1::Init;
use lnfleet_wire::features::Features;
use lnfleet_wire::noise::LocalStaticKey;
use lnfleet_wire::ChainHash;
use secp256k1::SecretKey;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);

/// One scrape job per service, with all of that service's targets.
fn scrape_config(jobs: &[(&str, Vec<SocketAddr>)]) -> String {
    let mut config = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
    );
    for (job, addrs) in jobs {
        let targets: Vec<String> = addrs.iter().map(|a| format!("'{a}'")).collect();
        config.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ));
    }
    config
}

/// The value of the first sample `query` returns, if any.
async fn query(prometheus: SocketAddr, query: &str) -> Option<f64> {
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={encoded}"))
        .await
        .ok()?;
    if status != 200 {
        return None;
    }
    let answer: Value = serde_json::from_str(&body).ok()?;
    answer["data"]["result"][0]["value"][1]
        .as_str()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_service_of_the_local_cluster() {
    let cluster = Cluster::start(ClusterPorts::default()).await.unwrap();
    // Some traffic, so the key metrics have samples: a routed request and a peer on an edge.
    cluster.gossip.demo_route("100000sat").await.unwrap();
    let key = LocalStaticKey::new(SecretKey::new(&mut secp256k1::rand::thread_rng()));
    let edge = &cluster.edges[0];
    let mut peer = PeerConnection::connect(edge.addrs.listen, &key, cluster.node_id, LIMIT)
        .await
        .unwrap();
    let ours = Init::new(Features::new(), vec![ChainHash::REGTEST], None);
    peer.exchange_init(&ours, LIMIT).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        ("hsm", vec![cluster.hsm.telemetry_addr]),
        ("gossip", vec![cluster.gossip.telemetry_addr]),
        (
            "edge",
            cluster.edges.iter().map(|e| e.addrs.telemetry).collect(),
        ),
    ];
    let targets: usize = jobs.iter().map(|(_, addrs)| addrs.len()).sum();
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, scrape_config(&jobs)).unwrap();
    let web = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let mut command = Command::new("prometheus");
    command
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"));
    let mut prometheus =
        ServerProcess::spawn("prometheus", command, dir.path().join("prometheus.log"))
            .expect("prometheus starts (scripts/setup.sh installs Debian's prometheus)");
    prometheus
        .wait_ready(LIMIT, || {
            std::net::TcpStream::connect_timeout(&web, Duration::from_millis(200)).is_ok()
        })
        .unwrap();

    let checks = [
        ("every target is up", "count(up == 1)", targets as f64),
        (
            "the hsm did the edge's handshake ecdh",
            r#"sum(lnfleet_hsm_requests_total{operation="ecdh",result="ok"})"#,
            1.0,
        ),
        (
            "the gossip service answered getroute",
            r#"sum(lnfleet_gossip_rpc_requests_total{method="getroute"})"#,
            1.0,
        ),
        (
            "an edge holds the peer",
            "sum(lnfleet_edge_peers_connected)",
            1.0,
        ),
        (
            "the edges' handshakes are counted",
            r#"sum(lnfleet_edge_peer_handshakes_total{outcome="ok"})"#,
            1.0,
        ),
    ];
    let deadline = Instant::now() + LIMIT;
    for (what, promql, at_least) in checks {
        loop {
            if query(web, promql).await.is_some_and(|v| v >= at_least) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus never saw: {what} ({promql})\n{}",
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    peer.shutdown().await;
}
