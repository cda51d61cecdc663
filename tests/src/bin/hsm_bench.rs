//! `hsm-bench`: ECDH round trips through Redis to hsm-service replicas, beside the same ECDH
//! computed in process, in one run. Prints p50/p99 latency (sequential calls) and throughput
//! (concurrent calls) for one and two replicas.
//!
//! The replicas run in this process (the same library as the `hsm-service` binary) on a real
//! redis-server on loopback; every request crosses Redis twice (stream, reply list).

use std::time::{Duration, Instant};

use clap::Parser;
use lnfleet_tests::harness::RedisServer;
use lnfleet_tests::hsm::{connect_client, HsmClientSpec, RunningHsm};
use lnfleet_wire::noise::{LocalStaticKey, StaticKeyEcdh};
use secp256k1::{PublicKey, SecretKey, SECP256K1};

#[derive(Parser)]
#[command(about = "ECDH round trips through Redis to hsm-service, beside in-process ECDH")]
struct Args {
    /// Sequential calls for the latency figures.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Concurrent callers for the throughput figure.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Calls per concurrent caller.
    #[arg(long, default_value_t = 100)]
    per_caller: usize,
}

struct Figures {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn summarize(mut latencies: Vec<Duration>, per_second: f64) -> Figures {
    latencies.sort();
    Figures {
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        per_second,
    }
}

fn points(n: usize) -> Vec<PublicKey> {
    (0..n)
        .map(|i| {
            let mut bytes = [7u8; 32];
            bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            PublicKey::from_secret_key(SECP256K1, &SecretKey::from_slice(&bytes).expect("valid"))
        })
        .collect()
}

fn in_process(calls: usize) -> Figures {
    let key = LocalStaticKey::new(SecretKey::from_slice(&[0x42; 32]).expect("valid"));
    let points = points(calls);
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for point in &points {
        let t = Instant::now();
        std::hint::black_box(key.ecdh(point).expect("ecdh"));
        latencies.push(t.elapsed());
    }
    let per_second = calls as f64 / started.elapsed().as_secs_f64();
    summarize(latencies, per_second)
}

async fn through_hsm(redis: &RedisServer, replicas: usize, args: &Args) -> anyhow::Result<Figures> {
    let spec = HsmClientSpec::new("bench", &["ecdh"]);
    let mut running = Vec::new();
    for i in 0..replicas {
        let consumer = format!("hsm-{i}");
        running
            .push(RunningHsm::start(&redis.url(), &consumer, &[0x42; 32], &[0], &[&spec]).await?);
    }
    let node_id = running[0].node_ids[0];
    let client = connect_client(&redis.url(), &spec, Duration::from_secs(10)).await?;
    let points = points(args.calls);
    // Warm up connections and the replicas' stream reads.
    for point in points.iter().take(50) {
        client.ecdh(&node_id, point).await?;
    }
    let mut latencies = Vec::with_capacity(args.calls);
    for point in &points {
        let t = Instant::now();
        client.ecdh(&node_id, point).await?;
        latencies.push(t.elapsed());
    }
    let started = Instant::now();
    let mut callers = Vec::new();
    for c in 0..args.concurrency {
        let client = client.clone();
        let mine = crate::points(args.per_caller + c)[c..].to_vec();
        callers.push(tokio::spawn(async move {
            for point in &mine {
                client.ecdh(&node_id, point).await?;
            }
            anyhow::Ok(())
        }));
    }
    for caller in callers {
        caller.await??;
    }
    let total = args.concurrency * args.per_caller;
    let per_second = total as f64 / started.elapsed().as_secs_f64();
    drop(running);
    Ok(summarize(latencies, per_second))
}

fn row(name: &str, figures: &Figures) {
    println!(
        "| {name} | {:.3} ms | {:.3} ms | {:.0} /s |",
        figures.p50.as_secs_f64() * 1e3,
        figures.p99.as_secs_f64() * 1e3,
        figures.per_second
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let redis = tokio::task::spawn_blocking(RedisServer::start).await??;
    let one = through_hsm(&redis, 1, &args).await?;
    let two = through_hsm(&redis, 2, &args).await?;
    let local = in_process(args.calls);
    println!(
        "\nECDH: {} sequential calls (latency), {} callers x {} calls (throughput)\n",
        args.calls, args.concurrency, args.per_caller
    );
    println!("| path | p50 | p99 | throughput |");
    println!("|---|---|---|---|");
    row("in-process ECDH (anchor)", &local);
    row("hsm-service via Redis, 1 replica", &one);
    row("hsm-service via Redis, 2 replicas", &two);
    Ok(())
}
