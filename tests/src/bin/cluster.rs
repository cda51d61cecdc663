//! `lnfleet-cluster`: the local cluster on loopback (the README's first command runs it).

use clap::Parser;
use lnfleet_tests::cluster::{Cluster, ClusterPorts};

#[derive(Parser)]
#[command(about = "Start lnfleet's local cluster on loopback")]
struct Args {
    /// Redis port (0: any free port).
    #[arg(long, default_value_t = 0)]
    redis_port: u16,
    /// Kafka broker port (0: any free port).
    #[arg(long, default_value_t = 0)]
    kafka_port: u16,
    /// The first edge's BOLT 8 port (0: any free port).
    #[arg(long, default_value_t = 0)]
    node_port: u16,
    /// gossip-service JSON-RPC port (0: any free port).
    #[arg(long, default_value_t = 0)]
    gossip_port: u16,
    /// Start, check every part end to end, stop, and exit with the result.
    #[arg(long)]
    check: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rdkafka=warn".into()),
        )
        .init();
    let args = Args::parse();
    let cluster = Cluster::start(ClusterPorts {
        redis: args.redis_port,
        kafka: args.kafka_port,
        node: args.node_port,
        gossip: args.gossip_port,
    })
    .await?;
    println!("\nlnfleet local cluster\n{}", cluster.describe());
    let (from, to) = &cluster.gossip.hubs;
    println!("live getroute, 100000 sat from {from} to {to}:");
    let reply = cluster.gossip.demo_route("100000sat").await?;
    println!("{}\n", serde_json::to_string_pretty(&reply["result"])?);
    println!(
        "try: curl -s http://{}/ -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getroute\",\"params\":{{\"id\":\"{to}\",\"amount_msat\":\"100000sat\",\"riskfactor\":10,\"fromid\":\"{from}\"}}}}'\n",
        cluster.gossip.addr
    );
    if args.check {
        cluster.check().await?;
        println!("cluster check passed");
        return Ok(());
    }
    println!("running; Ctrl-C stops everything");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    Ok(())
}
