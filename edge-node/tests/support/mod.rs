//! A small cluster for edge tests: real Redis, real tansu with the topics, an hsm-service replica
//! (in-process, on the real Redis) holding the node key, and `edge-node` processes started from
//! the built binary, each with its RPC socket, HTTP RPC and telemetry on free ports.

#![allow(dead_code)] // each test file uses a different part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lnfleet_actors::kafka::{ensure_topics, KafkaConfig};
use lnfleet_actors::topics;
use lnfleet_tests::harness::{cache_dir, free_port, KafkaBroker, RedisServer, ServerProcess};
use lnfleet_tests::hsm::{HsmClientSpec, RunningHsm};
use secp256k1::PublicKey;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

pub const LIMIT: Duration = Duration::from_secs(60);

/// Redis, tansu and the HSM, shared by the edges of one test.
pub struct Backbone {
    pub redis: RedisServer,
    pub kafka: KafkaBroker,
    pub hsm: RunningHsm,
    pub clients: Vec<HsmClientSpec>,
    pub dir: tempfile::TempDir,
}

impl Backbone {
    /// `edge_ids`: one HSM client each, allowed `ecdh` and `node_info` only.
    pub async fn start(edge_ids: &[&str]) -> Backbone {
        let specs: Vec<(&str, &[&'static str])> = edge_ids
            .iter()
            .map(|id| (*id, &["ecdh", "node_info"][..]))
            .collect();
        Backbone::start_with_permissions(&specs).await
    }

    /// Each edge's HSM client with the permissions given.
    pub async fn start_with_permissions(edges: &[(&str, &[&'static str])]) -> Backbone {
        let redis = RedisServer::start().expect("redis starts");
        let kafka = KafkaBroker::start().expect("tansu starts");
        let config = KafkaConfig::new(kafka.bootstrap(), "edge-test-setup");
        ensure_topics(&config, &topics::ALL)
            .await
            .expect("topics created");
        let clients: Vec<HsmClientSpec> = edges
            .iter()
            .map(|(id, permissions)| HsmClientSpec::new(id, permissions))
            .collect();
        let refs: Vec<&HsmClientSpec> = clients.iter().collect();
        let hsm = RunningHsm::start(&redis.url(), "hsm-edge-test", &[7; 32], &[0], &refs)
            .await
            .expect("hsm starts");
        Backbone {
            redis,
            kafka,
            hsm,
            clients,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn node_id(&self) -> PublicKey {
        self.hsm.node_ids[0]
    }

    pub fn kafka_config(&self, client: &str) -> KafkaConfig {
        let mut config = KafkaConfig::new(self.kafka.bootstrap(), client);
        config.session_timeout = Duration::from_secs(6);
        config
    }

    fn client(&self, edge_id: &str) -> &HsmClientSpec {
        self.clients
            .iter()
            .find(|c| c.credential.client_id() == edge_id)
            .expect("an hsm client for this edge")
    }
}

/// One `edge-node` process.
pub struct EdgeProcess {
    pub edge_id: String,
    pub process: ServerProcess,
    pub listen: SocketAddr,
    pub telemetry: SocketAddr,
    pub rpc_http: SocketAddr,
    pub rpc_file: PathBuf,
}

impl EdgeProcess {
    /// Starts an edge on regtest and waits for its `/readyz`.
    pub fn start(backbone: &Backbone, edge_id: &str, extra: &[&str]) -> EdgeProcess {
        let dir = backbone.dir.path().join(edge_id);
        std::fs::create_dir_all(&dir).expect("edge dir");
        let key_file = dir.join("hsm-client.key");
        std::fs::write(&key_file, hex::encode(backbone.client(edge_id).key)).expect("key file");
        let port = |what| {
            SocketAddr::from((
                [127, 0, 0, 1],
                free_port().unwrap_or_else(|e| panic!("{what}: {e}")),
            ))
        };
        let listen = port("listen");
        let telemetry = port("telemetry");
        let rpc_http = port("rpc http");
        let rpc_file = dir.join("lightning-rpc");
        let mut command = Command::new(env!("CARGO_BIN_EXE_edge-node"));
        command
            .arg("--edge-id")
            .arg(edge_id)
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--network")
            .arg("regtest")
            .arg("--redis-url")
            .arg(backbone.redis.url())
            .arg("--kafka")
            .arg(backbone.kafka.bootstrap())
            .arg("--kafka-session-timeout-secs")
            .arg("6")
            .arg("--hsm-client-id")
            .arg(edge_id)
            .arg("--hsm-client-key-file")
            .arg(&key_file)
            .arg("--rpc-file")
            .arg(&rpc_file)
            .arg("--rpc-listen")
            .arg(rpc_http.to_string())
            .arg("--metrics-listen")
            .arg(telemetry.to_string())
            .args(extra)
            .env("RUST_LOG", "info,lnfleet_edge=debug");
        let mut process =
            ServerProcess::spawn("edge-node", command, dir.join("edge.log")).expect("edge spawns");
        process
            .wait_ready(LIMIT, || {
                blocking_get(telemetry, "/readyz").is_some_and(|(status, _)| status == 200)
            })
            .unwrap_or_else(|e| panic!("edge {edge_id} not ready: {e}"));
        EdgeProcess {
            edge_id: edge_id.to_owned(),
            process,
            listen,
            telemetry,
            rpc_http,
            rpc_file,
        }
    }

    /// One JSON-RPC call over the socket, as Core Lightning frames it; the whole response.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let request =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut stream = tokio::net::UnixStream::connect(&self.rpc_file)
            .await
            .expect("rpc socket");
        stream
            .write_all(request.to_string().as_bytes())
            .await
            .expect("rpc write");
        let mut reader = BufReader::new(stream);
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(LIMIT, reader.read_line(&mut line))
                .await
                .expect("rpc answer in time")
                .expect("rpc read");
            assert!(n > 0, "rpc socket closed before the answer ended");
            if line == "\n" && !text.is_empty() {
                break;
            }
            text.push_str(&line);
        }
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("rpc answer {text:?}: {e}"))
    }

    pub fn metrics(&self) -> String {
        blocking_get(self.telemetry, "/metrics")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

/// A sample of `name` (with labels, exactly as exposed), if present.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// `GET` on a blocking socket (for wait loops that are not async).
pub fn blocking_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// Polls `check` until it holds, failing the test after `LIMIT`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + LIMIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn python() -> PathBuf {
    let path = std::env::var_os("LNFLEET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("venv/bin/python"));
    assert!(
        path.is_file(),
        "python with pyln not found at {}: run scripts/setup.sh",
        path.display()
    );
    path
}

fn interop_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop")
        .join(name)
}

/// pyln-client (Core Lightning's RPC client, unchanged) calling `method` on `rpc_file`.
pub async fn pyln_rpc(rpc_file: &Path, method: &str, params: Option<Value>) -> Value {
    let mut command = tokio::process::Command::new(python());
    command
        .arg(interop_script("pyln_rpc.py"))
        .arg(rpc_file)
        .arg(method);
    if let Some(params) = params {
        command.arg(params.to_string());
    }
    let output = tokio::time::timeout(LIMIT, command.kill_on_drop(true).output())
        .await
        .expect("pyln-client in time")
        .expect("pyln-client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pyln-client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("pyln-client said {stdout:?}: {e}"))
}

/// A pyln-proto peer driven line by line (tests/interop/pyln_edge_peer.py).
pub struct PylnPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    pub node_id: String,
}

impl PylnPeer {
    /// Connects to an edge as initiator; `secret` fixes the peer's node id (hex, 32 bytes).
    pub async fn connect(edge: &EdgeProcess, edge_node_id: &PublicKey, secret: &str) -> PylnPeer {
        let mut peer = PylnPeer::spawn(&[
            "initiator",
            "--port",
            &edge.listen.port().to_string(),
            "--node-id",
            &edge_node_id.to_string(),
            "--secret",
            secret,
        ]);
        let connected = peer.event().await;
        assert_eq!(connected["event"], "connected", "{connected}");
        peer.node_id = connected["node_id"].as_str().unwrap_or_default().to_owned();
        peer
    }

    /// Listens for one connection; returns the peer and its port.
    pub async fn listen(secret: &str) -> (PylnPeer, u16) {
        let mut peer = PylnPeer::spawn(&["responder", "--secret", secret]);
        let listening = peer.event().await;
        assert_eq!(listening["event"], "listening", "{listening}");
        peer.node_id = listening["node_id"].as_str().unwrap_or_default().to_owned();
        let port = listening["port"].as_u64().expect("port") as u16;
        (peer, port)
    }

    fn spawn(args: &[&str]) -> PylnPeer {
        let mut child = tokio::process::Command::new(python())
            .arg(interop_script("pyln_edge_peer.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python starts");
        if let (Some(dir), Some(pid)) = (std::env::var_os("LNFLEET_TEST_PIDDIR"), child.id()) {
            let _ = std::fs::write(
                PathBuf::from(dir).join(format!("{pid}.pid")),
                pid.to_string(),
            );
        }
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        PylnPeer {
            child,
            stdin,
            stdout,
            node_id: String::new(),
        }
    }

    /// The next event line.
    pub async fn event(&mut self) -> Value {
        let line = tokio::time::timeout(LIMIT, self.stdout.next_line())
            .await
            .expect("pyln peer answers in time")
            .expect("pyln peer output")
            .expect("pyln peer still running");
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_ne!(event["event"], "error", "pyln peer failed: {event}");
        event
    }

    /// Sends one command and returns its event.
    pub async fn command(&mut self, command: &str) -> Value {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("pyln peer stdin");
        self.event().await
    }

    pub async fn quit(mut self) {
        let _ = self.stdin.write_all(b"quit\n").await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}
