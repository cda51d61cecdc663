//! `edge_load`: an edge under load, each figure beside its anchor in the same run.
//!
//! 1. Handshakes per second (connect, BOLT 8 handshake, `init` exchange, close) against a whole
//!    edge whose node key is in the remote HSM; anchors: the same against the bare peer layer
//!    with a local key, and the HSM's raw ECDH round-trip rate.
//! 2. Steady-state ping/pong throughput on one connection; anchor: the same BOLT 8 encryption and
//!    decryption done in process.
//! 3. RSS of the edge with many idle peers (1,000 by default; target ≤ 100 MiB).
//!
//! Redis, tansu and the HSM replica run under this process; the edge runs in a child process
//! (this same executable, `EDGE_LOAD_CHILD=edge`), so its RSS is its own and the clients never
//! share its thread. `EDGE_LOAD_CHILD=local` is the anchor: `listener::serve` with a
//! `LocalStaticKey` on a bare `PeerEnv`. A child exits when its stdin closes.
//!
//! Knobs (environment): `EDGE_LOAD_SECS` (handshake phase, 10), `EDGE_LOAD_CONCURRENCY` (32),
//! `EDGE_LOAD_PEERS` (1000), `EDGE_LOAD_THROUGHPUT_SECS` (3 per size), `EDGE_LOAD_PING_SIZES`
//! (`64,1024,16384`), `EDGE_LOAD_WINDOW` (pings in flight, 32).
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use futures::future::BoxFuture;
use futures::FutureExt;
use lnfleet_actors::hsm::{ClientCredential, HsmClientConfig};
use lnfleet_actors::kafka::KafkaConfig;
use lnfleet_actors::telemetry::{Metrics, Readiness};
use lnfleet_edge::hooks::{PeerHandle, PeerHooks, PeerInfo};
use lnfleet_edge::node::{EdgeConfig, EdgeNode};
use lnfleet_edge::peer::{PeerConfig, PeerEnv};
use lnfleet_edge::peers::Peers;
use lnfleet_tests::harness::{KafkaBroker, RedisServer};
use lnfleet_tests::hsm::{connect_client, HsmClientSpec, RunningHsm};
use lnfleet_tests::peer::PeerConnection;
use lnfleet_wire::bolt1::{Init, Ping};
use lnfleet_wire::features::Features;
use lnfleet_wire::message::{peek_type, Message};
use lnfleet_wire::noise::{
    InitiatorHandshake, LocalStaticKey, ResponderHandshake, StaticKeyEcdh, Transport,
};
use lnfleet_wire::{ChainHash, WireMessage};
use secp256k1::{PublicKey, SecretKey};
use tokio::sync::Semaphore;

const LIMIT: Duration = Duration::from_secs(30);
const PONG_TYPE: u16 = 19;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    match std::env::var("EDGE_LOAD_CHILD").as_deref() {
        Ok("edge") => child_edge(),
        Ok("local") => child_local(),
        _ => parent(),
    }
}

// ---------------------------------------------------------------- children

/// The peer config both children use: regtest, and no ping-flood limit, since the throughput
/// phase pings as fast as the edge answers (a zero window keeps the flood tracker empty).
fn bench_peer_config() -> PeerConfig {
    let mut peer = PeerConfig::default();
    peer.session.chain = ChainHash::REGTEST;
    peer.session.ping_flood_window = Duration::ZERO;
    peer.session.max_pings_per_window = usize::MAX;
    peer
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} not set"))
}

/// Tells the parent where to connect, then runs until stdin closes.
async fn announce_and_wait(addr: SocketAddr, node_id: PublicKey) -> anyhow::Result<()> {
    println!("listening {addr} {node_id}");
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        let _ = tx.send(());
    });
    let _ = rx.await;
    Ok(())
}

fn child_edge() -> anyhow::Result<()> {
    let key: [u8; 32] = hex::decode(required("EDGE_LOAD_HSM_KEY")?)?
        .try_into()
        .map_err(|_| anyhow!("hsm key must be 32 bytes"))?;
    let config = EdgeConfig {
        edge_id: "bench-edge".into(),
        listen: "127.0.0.1:0".parse()?,
        node_id: None,
        chain: ChainHash::REGTEST,
        network: "regtest".into(),
        redis_url: required("EDGE_LOAD_REDIS")?,
        kafka: KafkaConfig::new(required("EDGE_LOAD_KAFKA")?, "edge-bench"),
        hsm_credential: ClientCredential::new(&required("EDGE_LOAD_HSM_ID")?, key)?,
        hsm: HsmClientConfig::default(),
        gossip_url: "http://127.0.0.1:9/".into(),
        rpc_file: None,
        rpc_listen: None,
        alias: "bench".into(),
        peer: bench_peer_config(),
        lease_ttl: Duration::from_secs(15),
        heartbeat_interval: Duration::from_secs(5),
    };
    actix::System::new().block_on(async move {
        let metrics = Metrics::new("edge")?;
        let readiness = Readiness::new();
        let edge = EdgeNode::start(config, &metrics, &readiness).await?;
        announce_and_wait(edge.listen_addr(), edge.node_id()).await?;
        edge.shutdown(Duration::from_secs(2)).await;
        Ok(())
    })
}

/// Hooks that do nothing: the bare peer layer.
struct NoHooks;

impl PeerHooks for NoHooks {
    fn on_connected(&self, _peer: &PeerHandle, _their_init: &Init) -> BoxFuture<'static, ()> {
        async {}.boxed()
    }

    fn on_gossip(
        &self,
        _peer: &PeerHandle,
        _message: Message,
        _raw: Vec<u8>,
    ) -> BoxFuture<'static, ()> {
        async {}.boxed()
    }

    fn on_custom_message(&self, _peer: &PeerHandle, _raw: Vec<u8>) -> BoxFuture<'static, ()> {
        async {}.boxed()
    }

    fn on_disconnected(&self, _peer: &PeerInfo) {}
}

fn child_local() -> anyhow::Result<()> {
    let secret: [u8; 32] = hex::decode(required("EDGE_LOAD_LOCAL_SECRET")?)?
        .try_into()
        .map_err(|_| anyhow!("secret must be 32 bytes"))?;
    let key = LocalStaticKey::new(SecretKey::from_slice(&secret)?);
    actix::System::new().block_on(async move {
        let metrics = Metrics::new("edge")?;
        let env = PeerEnv::new(
            bench_peer_config(),
            Arc::new(NoHooks),
            &metrics,
            Peers::new(),
        )?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let node_id = StaticKeyEcdh::node_id(&key);
        let accept = actix::spawn(lnfleet_edge::listener::serve(env, Arc::new(key), listener));
        announce_and_wait(addr, node_id).await?;
        accept.abort();
        Ok(())
    })
}

/// A child process running one listener.
struct Listener {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    node_id: PublicKey,
}

impl Listener {
    fn spawn(mode: &str, vars: &[(&str, String)]) -> anyhow::Result<Listener> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .env("EDGE_LOAD_CHILD", mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut words = line.split_whitespace().skip(1);
        let (Some(addr), Some(node_id)) = (words.next(), words.next()) else {
            let _ = child.kill();
            return Err(anyhow!("{mode} child did not start: {line:?}"));
        };
        Ok(Listener {
            child,
            stdin,
            addr: addr.parse()?,
            node_id: node_id.parse()?,
        })
    }

    fn rss_kib(&self) -> u64 {
        status_kib(&format!("/proc/{}/status", self.child.id()), "VmRSS:")
    }

    /// CPU time the child has used, all threads, user + system: a figure that holds on a busy
    /// machine, where wall-clock rates drift.
    fn cpu(&self) -> Duration {
        cpu_time(self.child.id())
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

fn cpu_time(pid: u32) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|text| {
            // Fields after the command name, which is in parentheses and may hold spaces:
            // utime and stime are the 12th and 13th of them.
            let rest = text.rsplit_once(')')?.1.to_owned();
            let fields: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            Some(fields.iter().sum::<u64>())
        })
        .unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn open_files_limit() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("Max open files"))
                .map(|line| {
                    line.split_whitespace()
                        .skip(3)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("/")
                })
        })
        .unwrap_or_else(|| "unknown".into())
}

// ---------------------------------------------------------------- clients

fn remote_init() -> Init {
    Init::new(Features::new(), vec![ChainHash::REGTEST], None)
}

fn random_key() -> LocalStaticKey {
    LocalStaticKey::new(SecretKey::new(&mut secp256k1::rand::thread_rng()))
}

/// Handshake and `init` exchange as a fresh node.
async fn dial(addr: SocketAddr, remote: PublicKey) -> anyhow::Result<PeerConnection> {
    let key = random_key();
    let mut conn = PeerConnection::connect(addr, &key, remote, LIMIT).await?;
    conn.exchange_init(&remote_init(), LIMIT).await?;
    Ok(conn)
}

struct Latencies {
    count: usize,
    failures: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn summarize(mut latencies: Vec<Duration>, failures: u64, elapsed: Duration) -> Latencies {
    latencies.sort();
    Latencies {
        count: latencies.len(),
        failures,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

/// `concurrency` clients each connecting, exchanging `init` and closing, until `duration` ends.
async fn handshakes(
    addr: SocketAddr,
    remote: PublicKey,
    concurrency: usize,
    duration: Duration,
) -> Latencies {
    let started = Instant::now();
    let end = started + duration;
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let failures = failures.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                match dial(addr, remote).await {
                    Ok(conn) => {
                        latencies.push(t.elapsed());
                        conn.shutdown().await;
                    }
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_default());
    }
    summarize(all, failures.load(Ordering::Relaxed), started.elapsed())
}

fn points(n: usize) -> Vec<PublicKey> {
    (0..n)
        .map(|_| random_key())
        .map(|key| StaticKeyEcdh::node_id(&key))
        .collect()
}

/// The HSM's ECDH alone: `concurrency` callers for `duration`.
async fn hsm_ecdh(
    redis_url: &str,
    spec: &HsmClientSpec,
    node_id: PublicKey,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Latencies> {
    let client = connect_client(redis_url, spec, Duration::from_secs(10)).await?;
    let points = Arc::new(points(256));
    let started = Instant::now();
    let end = started + duration;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let client = client.clone();
        let points = points.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut i = c;
            while Instant::now() < end {
                let point = points[i % points.len()];
                i += 1;
                let t = Instant::now();
                match client.ecdh(&node_id, &point).await {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(_) => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (latencies, failed) = task.await?;
        all.extend(latencies);
        failures += failed;
    }
    Ok(summarize(all, failures, started.elapsed()))
}

fn local_ecdh(duration: Duration) -> Latencies {
    let key = random_key();
    let points = points(256);
    let started = Instant::now();
    let mut latencies = Vec::new();
    while started.elapsed() < duration {
        for point in &points {
            let t = Instant::now();
            let _ = std::hint::black_box(key.ecdh(point));
            latencies.push(t.elapsed());
        }
    }
    summarize(latencies, 0, started.elapsed())
}

struct Throughput {
    round_trips: u64,
    /// The edge process's CPU time over the run (zero for the in-process anchor).
    edge_cpu: Duration,
    per_second: f64,
    mb_per_second: f64,
}

/// One connection: pings of `size` padding asking `size` pong bytes, at most `window` in
/// flight, for `duration`. Counts answered pings and framed bytes both ways.
async fn ping_stream(
    addr: SocketAddr,
    remote: PublicKey,
    size: u16,
    window: usize,
    duration: Duration,
) -> anyhow::Result<Throughput> {
    let conn = dial(addr, remote).await?;
    let (mut reader, mut writer) = conn.into_split();
    let ping = Ping::new(size, size).encode();
    let ping_len = ping.len() as u64;
    let credit = Arc::new(Semaphore::new(window.max(1)));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let end = started + duration;
    let sending = {
        let credit = credit.clone();
        let sent = sent.clone();
        async move {
            // Counted before sending, and one ping more after the end, so the reader always
            // has a pong to wake for once the time is up.
            loop {
                credit.acquire().await?.forget();
                sent.fetch_add(1, Ordering::Relaxed);
                writer.send_raw(&ping).await?;
                if Instant::now() >= end {
                    break;
                }
            }
            anyhow::Ok(writer)
        }
    };
    let receiving = async {
        let mut pongs = 0u64;
        let mut pong_bytes = 0u64;
        loop {
            let raw = tokio::time::timeout(LIMIT, reader.recv_raw()).await??;
            if peek_type(&raw).ok() == Some(PONG_TYPE) {
                pongs += 1;
                pong_bytes += raw.len() as u64;
                credit.add_permits(1);
            }
            if Instant::now() >= end && pongs >= sent.load(Ordering::Relaxed) {
                return anyhow::Ok((pongs, pong_bytes));
            }
        }
    };
    let (writer, (pongs, pong_bytes)) = tokio::try_join!(sending, receiving)?;
    let elapsed = started.elapsed().as_secs_f64();
    writer.shutdown().await;
    let bytes = pongs * ping_len + pong_bytes;
    Ok(Throughput {
        round_trips: pongs,
        edge_cpu: Duration::ZERO,
        per_second: pongs as f64 / elapsed,
        mb_per_second: bytes as f64 / elapsed / 1e6,
    })
}

/// A handshaken pair of transports in process.
fn noise_pair() -> anyhow::Result<(Transport, Transport)> {
    let (a, b) = (random_key(), random_key());
    let mut initiator =
        InitiatorHandshake::new(StaticKeyEcdh::node_id(&a), StaticKeyEcdh::node_id(&b));
    let mut responder = ResponderHandshake::new(StaticKeyEcdh::node_id(&b));
    let act_one = initiator.act_one()?;
    let act_two = responder.process_act_one_with(&act_one, &b)?;
    let (act_three, done) = initiator.process_act_two_with(&act_two, &a)?;
    let other = responder.process_act_three(&act_three)?;
    Ok((done.transport, other.transport))
}

/// The same ping and pong encrypted and decrypted in process, both ends on one thread.
fn noise_round_trips(size: u16, duration: Duration) -> anyhow::Result<Throughput> {
    let (mut client, mut edge) = noise_pair()?;
    let ping = Ping::new(size, size).encode();
    let pong = Ping::new(size, size)
        .response()
        .map(|pong| pong.encode())
        .ok_or_else(|| anyhow!("ping without pong"))?;
    let started = Instant::now();
    let mut round_trips = 0u64;
    while started.elapsed() < duration {
        for _ in 0..64 {
            let wire = client.encrypt_message(&ping)?;
            edge.feed(&wire);
            let got = edge.next_message()?.ok_or_else(|| anyhow!("no ping"))?;
            let wire = edge.encrypt_message(std::hint::black_box(&pong))?;
            client.feed(&wire);
            let back = client.next_message()?.ok_or_else(|| anyhow!("no pong"))?;
            std::hint::black_box((got, back));
            round_trips += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let bytes = round_trips * (ping.len() + pong.len()) as u64;
    Ok(Throughput {
        round_trips,
        edge_cpu: Duration::ZERO,
        per_second: round_trips as f64 / elapsed,
        mb_per_second: bytes as f64 / elapsed / 1e6,
    })
}

struct Rss {
    before_kib: u64,
    after_kib: u64,
    opened: usize,
    failures: usize,
}

/// Opens `peers` idle connections (`concurrency` dialling at once), waits for the listener to
/// settle, and reads its RSS before and after; returns the connections so they stay open.
async fn idle_peers(
    listener: &Listener,
    peers: usize,
    concurrency: usize,
) -> (Rss, Vec<PeerConnection>) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_kib = listener.rss_kib();
    let (addr, remote) = (listener.addr, listener.node_id);
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(peers);
    for _ in 0..peers {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            dial(addr, remote).await.ok()
        }));
    }
    let mut open = Vec::with_capacity(peers);
    for task in tasks {
        if let Ok(Some(conn)) = task.await {
            open.push(conn);
        }
    }
    // Leases and registrations happen after `init`: give them time to land.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = Rss {
        before_kib,
        after_kib: listener.rss_kib(),
        opened: open.len(),
        failures: peers - open.len(),
    };
    (rss, open)
}

// ---------------------------------------------------------------- the run

fn hsm_child_vars(
    redis: &RedisServer,
    kafka: &KafkaBroker,
    spec: &HsmClientSpec,
) -> Vec<(&'static str, String)> {
    vec![
        ("EDGE_LOAD_REDIS", redis.url()),
        ("EDGE_LOAD_KAFKA", kafka.bootstrap()),
        ("EDGE_LOAD_HSM_ID", spec.credential.client_id().to_owned()),
        ("EDGE_LOAD_HSM_KEY", hex::encode(spec.key)),
    ]
}

fn local_child_vars() -> Vec<(&'static str, String)> {
    let secret: [u8; 32] = secp256k1::rand::random();
    vec![("EDGE_LOAD_LOCAL_SECRET", hex::encode(secret))]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `cargo test --all-targets` runs benches without `--bench` as a smoke test: keep that run small.
fn smoke_test_run() -> bool {
    !std::env::args().any(|arg| arg == "--bench")
}

fn parent() -> anyhow::Result<()> {
    let smoke = smoke_test_run();
    let secs: u64 = env_or("EDGE_LOAD_SECS", if smoke { 1 } else { 10 });
    let concurrency: usize = env_or("EDGE_LOAD_CONCURRENCY", if smoke { 2 } else { 32 });
    let peers: usize = env_or("EDGE_LOAD_PEERS", if smoke { 20 } else { 1000 });
    let throughput_secs: u64 = env_or("EDGE_LOAD_THROUGHPUT_SECS", if smoke { 1 } else { 3 });
    let window: usize = env_or("EDGE_LOAD_WINDOW", 32);
    let sizes: Vec<u16> = std::env::var("EDGE_LOAD_PING_SIZES")
        .unwrap_or_else(|_| "64,1024,16384".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let duration = Duration::from_secs(secs);
    let throughput_duration = Duration::from_secs(throughput_secs);

    println!("open files limit (soft/hard): {}", open_files_limit());
    let redis = RedisServer::start()?;
    let kafka = KafkaBroker::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let spec = HsmClientSpec::new("edge-bench", &["ecdh", "node_info"]);
    let hsm = runtime.block_on(RunningHsm::start(
        &redis.url(),
        "hsm-0",
        &[0x42; 32],
        &[0],
        &[&spec],
    ))?;
    let hsm_node_id = hsm.node_ids[0];

    // 3 first, on fresh children: RSS with idle peers.
    let edge = Listener::spawn("edge", &hsm_child_vars(&redis, &kafka, &spec))?;
    let local = Listener::spawn("local", &local_child_vars())?;
    let client_before = status_kib("/proc/self/status", "VmRSS:");
    let (edge_rss, open) = runtime.block_on(idle_peers(&edge, peers, concurrency));
    let client_after = status_kib("/proc/self/status", "VmRSS:");
    drop(open);
    let (local_rss, open) = runtime.block_on(idle_peers(&local, peers, concurrency));
    drop(open);
    std::thread::sleep(Duration::from_secs(2));

    // 1: handshakes.
    let cpu = edge.cpu();
    let edge_hs = runtime.block_on(handshakes(edge.addr, edge.node_id, concurrency, duration));
    let edge_hs_cpu = edge.cpu().saturating_sub(cpu);
    let cpu = local.cpu();
    let local_hs = runtime.block_on(handshakes(local.addr, local.node_id, concurrency, duration));
    let local_hs_cpu = local.cpu().saturating_sub(cpu);
    let ecdh = runtime.block_on(hsm_ecdh(
        &redis.url(),
        &spec,
        hsm_node_id,
        concurrency,
        Duration::from_secs(3),
    ))?;
    let in_process_ecdh = local_ecdh(Duration::from_secs(1));

    // 2: throughput per connection.
    let mut throughput = Vec::new();
    for &size in &sizes {
        let cpu = edge.cpu();
        let mut through_edge = runtime.block_on(ping_stream(
            edge.addr,
            edge.node_id,
            size,
            window,
            throughput_duration,
        ))?;
        through_edge.edge_cpu = edge.cpu().saturating_sub(cpu);
        let anchor = noise_round_trips(size, Duration::from_secs(1))?;
        throughput.push((size, through_edge, anchor));
    }

    println!("\n## Handshakes ({concurrency} concurrent clients, {secs} s each; connect + BOLT 8 + init + close)\n");
    println!(
        "| path | handshakes | failures | per second | p50 | p99 | listener CPU per handshake |"
    );
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, l: &Latencies, cpu: Option<Duration>| {
        let per = cpu
            .map(|cpu| format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / l.count.max(1) as f64))
            .unwrap_or_default();
        println!(
            "| {name} | {} | {} | {:.0} /s | {:.2} ms | {:.2} ms | {per} |",
            l.count,
            l.failures,
            l.per_second,
            ms(l.p50),
            ms(l.p99)
        )
    };
    row(
        "edge, node key in the remote HSM",
        &edge_hs,
        Some(edge_hs_cpu),
    );
    row(
        "anchor: bare peer layer, local key",
        &local_hs,
        Some(local_hs_cpu),
    );
    row("anchor: HSM ECDH alone (via Redis)", &ecdh, None);
    row("anchor: ECDH in process (1 thread)", &in_process_ecdh, None);

    println!("\n## Throughput, one connection (ping + pong, {window} pings in flight, {throughput_secs} s per size)\n");
    println!("| ping padding = pong bytes | edge round trips/s | edge MB/s (both ways) | edge CPU per round trip | anchor: in-process noise round trips/s | anchor MB/s | anchor time per round trip (both ends, 1 thread) |");
    println!("|---|---|---|---|---|---|---|");
    for (size, edge_t, anchor) in &throughput {
        println!(
            "| {size} B | {:.0} /s ({} total) | {:.1} | {:.1} µs | {:.0} /s | {:.1} | {:.1} µs |",
            edge_t.per_second,
            edge_t.round_trips,
            edge_t.mb_per_second,
            edge_t.edge_cpu.as_secs_f64() * 1e6 / edge_t.round_trips.max(1) as f64,
            anchor.per_second,
            anchor.mb_per_second,
            1e6 / anchor.per_second.max(1.0)
        );
    }

    println!("\n## RSS with {peers} idle peers (target ≤ 100 MiB)\n");
    println!("| process | peers open | failures | RSS before | RSS after | per peer |");
    println!("|---|---|---|---|---|---|");
    let rss_row = |name: &str, r: &Rss| {
        let per_peer = (r.after_kib.saturating_sub(r.before_kib)) as f64 / r.opened.max(1) as f64;
        println!(
            "| {name} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} KiB |",
            r.opened,
            r.failures,
            mib(r.before_kib),
            mib(r.after_kib),
            per_peer
        )
    };
    rss_row("edge (HSM key, leases, gossip, RPC)", &edge_rss);
    rss_row("anchor: bare peer layer, local key", &local_rss);
    println!(
        "| bench clients (this process, for reference) | {} | | {:.1} MiB | {:.1} MiB | |",
        edge_rss.opened,
        mib(client_before),
        mib(client_after)
    );
    drop(edge);
    drop(local);
    drop(hsm);
    Ok(())
}
