//! The `hsm-service` binary as an operator runs it: configuration errors are reported clearly,
//! and with a seed, a client registry and a store it serves clients on a real Redis.

use std::process::{Command, Stdio};
use std::time::Duration;

use lnfleet_tests::harness::{free_port, RedisServer, ServerProcess};
use lnfleet_tests::hsm::{connect_client, http_get, HsmClientSpec};

const BINARY: &str = env!("CARGO_BIN_EXE_hsm-service");

fn run_to_end(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env_remove("LNFLEET_HSM_SEED")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.success(), text)
}

#[test]
fn configuration_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients.json");
    std::fs::write(
        &clients,
        r#"[{"id": "edge-1", "key_hex": "abcd", "permissions": []}]"#,
    )
    .unwrap();
    let store = dir.path().join("hsm.redb");
    let (clients, store) = (clients.to_str().unwrap(), store.to_str().unwrap());

    let (ok, text) = run_to_end(&["--clients", clients, "--store", store], &[]);
    assert!(!ok);
    assert!(
        text.contains("LNFLEET_HSM_SEED"),
        "missing seed named: {text}"
    );

    let seed = "11".repeat(32);
    let env = [("LNFLEET_HSM_SEED", seed.as_str())];
    let (ok, text) = run_to_end(&["--clients", clients, "--store", store], &env);
    assert!(!ok);
    assert!(text.contains("edge-1") && text.contains("64 hex"), "{text}");
    // The seed never appears in what the binary prints.
    assert!(!text.contains(&seed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_registered_clients_on_redis() {
    let redis = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = HsmClientSpec::new("edge-1", &["node_info", "ecdh"]);
    let registry = format!(
        r#"[{{"id": "edge-1", "key_hex": "{}", "permissions": ["node_info", "ecdh"]}}]"#,
        hex::encode(spec.key)
    );
    let clients = dir.path().join("clients.json");
    std::fs::write(&clients, registry).unwrap();
    let metrics_port = free_port().unwrap();
    let mut command = Command::new(BINARY);
    command
        .arg("--redis-url")
        .arg(redis.url())
        .arg("--clients")
        .arg(&clients)
        .arg("--store")
        .arg(dir.path().join("hsm.redb"))
        .arg("--node-index")
        .arg("0,3")
        .arg("--metrics-listen")
        .arg(format!("127.0.0.1:{metrics_port}"))
        .env("LNFLEET_HSM_SEED", "22".repeat(32));
    let mut hsm = ServerProcess::spawn("hsm-service", command, dir.path().join("hsm.log")).unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], metrics_port));
    hsm.wait_ready(Duration::from_secs(20), || {
        std::net::TcpStream::connect(addr).is_ok()
    })
    .unwrap();

    let client = connect_client(&redis.url(), &spec, Duration::from_secs(5))
        .await
        .unwrap();
    let nodes = client.node_info().await.unwrap();
    assert_eq!(nodes.len(), 2, "serves node indices 0 and 3");
    let (status, _) = http_get(addr, "/readyz").await.unwrap();
    assert_eq!(status, 200);
    let (_, metrics) = http_get(addr, "/metrics").await.unwrap();
    assert!(metrics.contains(r#"lnfleet_hsm_requests_total{operation="node_info",result="ok"} 1"#));
    assert!(
        !hsm.log().contains(&"22".repeat(32)),
        "the seed is never logged"
    );
}
