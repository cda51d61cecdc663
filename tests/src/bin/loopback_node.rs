//! A BOLT 8 node on loopback built from lnfleet-wire: handshake, `init`, ping/pong by the
//! `num_pong_bytes` rules, unknown odd messages ignored, unknown even ones close the connection.
//! It holds its key in memory, so it is for development and interop tests only.

use std::net::SocketAddr;

use clap::Parser;
use lnfleet_tests::peer::{run_loopback_node, SessionConfig};
use lnfleet_wire::noise::{LocalStaticKey, StaticKeyEcdh};
use lnfleet_wire::ChainHash;
use secp256k1::SecretKey;

#[derive(Parser)]
#[command(about = "A development BOLT 8 node on loopback (lnfleet-wire + tokio)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9735")]
    listen: SocketAddr,
    /// Node secret as 64 hex characters; a random one when absent.
    #[arg(long, env = "LNFLEET_LOOPBACK_SECRET", hide_env_values = true)]
    secret_hex: Option<String>,
    /// Chain announced in `init`'s `networks`: regtest or bitcoin.
    #[arg(long, default_value = "regtest")]
    chain: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let secret = match &args.secret_hex {
        Some(text) => SecretKey::from_slice(&hex::decode(text)?)?,
        None => SecretKey::new(&mut secp256k1::rand::thread_rng()),
    };
    let chain = match args.chain.as_str() {
        "regtest" => ChainHash::REGTEST,
        "bitcoin" => ChainHash::BITCOIN,
        other => anyhow::bail!("unknown chain {other:?}: use regtest or bitcoin"),
    };
    let key = LocalStaticKey::new(secret);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!("loopback node {}@{addr}", key.node_id());
    let config = SessionConfig {
        chain,
        ..SessionConfig::default()
    };
    run_loopback_node(listener, key, config).await?;
    Ok(())
}
