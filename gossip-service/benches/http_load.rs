//! The routing API under load: [`api::serve`] in-process on a free loopback port with the real
//! snapshot graph, then N concurrent keep-alive clients (one blocking `ureq` agent per thread)
//! sending JSON-RPC `getroute` for random pairs of the largest strongly connected component,
//! for `HTTP_LOAD_SECS` (default 10) per concurrency level (`HTTP_LOAD_CLIENTS`, default
//! `16,32,64`). Prints requests/s, p50, p99 and errors per level.
//!
//! Anchor: the same requests answered by [`RouterState::handle`] called directly on one thread
//! (no HTTP, no thread hop), so the figure to read is what serving adds on top of the route
//! search. The clients run on the same machine, so they take CPU from the server.
//!
//! Run: `cargo bench -p lnfleet-gossip --bench http_load`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lnfleet_actors::telemetry::Metrics;
use lnfleet_gossip::api::{self, RouterState};
use lnfleet_gossip::graph::{Graph, NodeIndex};
use serde_json::{json, Value};

#[path = "../tests/support/sample.rs"]
mod sample;

use sample::{largest_scc, percentile, real_graph, smoke_test_run, Rng};

/// Distinct request bodies the clients cycle through.
const BODIES: usize = 4096;

fn main() {
    let smoke = smoke_test_run();
    let seconds: u64 = env_or("HTTP_LOAD_SECS", if smoke { "1" } else { "10" })
        .parse()
        .unwrap_or(10);
    let levels: Vec<usize> = env_or("HTTP_LOAD_CLIENTS", if smoke { "2" } else { "16,32,64" })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    let graph = real_graph();
    let component = largest_scc(&graph);
    println!(
        "graph: {} nodes, {} channels; largest strongly connected component: {} \
         nodes",
        graph.node_count(),
        graph.channel_count(),
        component.len(),
    );
    let requests = getroute_requests(&graph, &component);
    let bodies: Vec<String> = requests.iter().map(Value::to_string).collect();

    let metrics = Metrics::new("gossip_bench").expect("fresh registry");
    let state = Arc::new(RouterState::new(graph, &metrics).expect("metrics register once"));
    anchor_direct(&state, &requests);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = runtime
        .block_on(async { api::serve(SocketAddr::from(([127, 0, 0, 1], 0)), state.clone()) })
        .expect("api binds a free loopback port");
    let url = format!("http://{}/", server.local_addr());

    // Warm-up: connections, the server's worker threads and blocking pools.
    let _ = load(&url, &bodies, 8, Duration::from_millis(500));
    for clients in levels {
        let result = load(&url, &bodies, clients, Duration::from_secs(seconds));
        result.print(clients);
    }
    runtime.block_on(server.stop());
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Random distinct pairs of the component, amounts 1 sat to 100k sat (log-uniform-ish).
fn getroute_requests(graph: &Graph, component: &[NodeIndex]) -> Vec<Value> {
    let mut rng = Rng(0x6874_7470_6c6f_6164);
    let mut out = Vec::with_capacity(BODIES);
    while out.len() < BODIES {
        let (a, b) = (
            component[rng.below(component.len())],
            component[rng.below(component.len())],
        );
        if a == b {
            continue;
        }
        let amount_msat = 1_000 * 10u64.pow(rng.below(6) as u32);
        let hex_id = |n: NodeIndex| hex::encode(graph.node_id(n).expect("component node"));
        out.push(json!({
            "jsonrpc": "2.0", "id": out.len(), "method": "getroute",
            "params": {"id": hex_id(b), "amount_msat": amount_msat, "riskfactor": 10,
                       "fromid": hex_id(a)},
        }));
    }
    out
}

/// The handler without HTTP, one thread, for two seconds.
fn anchor_direct(state: &RouterState, requests: &[Value]) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut routed = 0;
    for request in requests.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        let t = Instant::now();
        let reply = state.handle(request);
        latencies.push(t.elapsed());
        routed += usize::from(reply.get("result").is_some());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "anchor: handler called directly, 1 thread: {:.0} req/s, p50 {:?}, p99 {:?} ({} of {} \
         routed)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        routed,
        latencies.len(),
    );
}

/// What one concurrency level measured.
#[derive(Default)]
struct LoadResult {
    latencies: Vec<Duration>,
    /// JSON-RPC answers with a `result` (a route).
    routed: usize,
    /// JSON-RPC answers with an `error` (no route for that amount): served, not failures.
    rpc_errors: usize,
    /// Transport failures, non-200 statuses and bodies that are not JSON-RPC.
    errors: usize,
    elapsed: Duration,
}

impl LoadResult {
    fn print(&self, clients: usize) {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rate = sorted.len() as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let (p50, p99) = (percentile(&sorted, 50.0), percentile(&sorted, 99.0));
        let met = rate >= 2_000.0 && p99 <= Duration::from_millis(20) && self.errors == 0;
        println!(
            "{clients:>3} clients: {rate:>7.0} req/s, p50 {p50:>9.2?}, p99 {p99:>9.2?}, max \
             {:>9.2?}; {} routed, {} rpc errors (no route), {} errors; target >= 2000 req/s, \
             p99 <= 20 ms: {}",
            sorted.last().copied().unwrap_or_default(),
            self.routed,
            self.rpc_errors,
            self.errors,
            if met { "met" } else { "NOT met" },
        );
    }
}

/// `clients` threads, each with its own agent (one keep-alive connection), for `duration`.
fn load(url: &str, bodies: &[String], clients: usize, duration: Duration) -> LoadResult {
    let barrier = std::sync::Barrier::new(clients);
    let started = Instant::now();
    let results: Vec<LoadResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    client_loop(url, bodies, client, duration)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let elapsed = started.elapsed();
    results
        .into_iter()
        .fold(LoadResult::default(), |mut total, r| {
            total.latencies.extend(r.latencies);
            total.routed += r.routed;
            total.rpc_errors += r.rpc_errors;
            total.errors += r.errors;
            total.elapsed = elapsed;
            total
        })
}

fn client_loop(url: &str, bodies: &[String], client: usize, duration: Duration) -> LoadResult {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(1)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut result = LoadResult::default();
    let deadline = Instant::now() + duration;
    // Each client starts at its own offset so they do not ask the same pair at once.
    let mut i = client * 997;
    while Instant::now() < deadline {
        let body = &bodies[i % bodies.len()];
        i += 1;
        let t = Instant::now();
        let reply = agent
            .post(url)
            .header("content-type", "application/json")
            .send(body.as_str())
            .and_then(|mut response| {
                let status = response.status().as_u16();
                response.body_mut().read_to_string().map(|b| (status, b))
            });
        let latency = t.elapsed();
        match reply {
            Ok((200, text)) => match serde_json::from_str::<Value>(&text) {
                Ok(v) if v.get("result").is_some() => result.routed += 1,
                Ok(v) if v.get("error").is_some() => result.rpc_errors += 1,
                _ => result.errors += 1,
            },
            _ => result.errors += 1,
        }
        result.latencies.push(latency);
    }
    result
}
