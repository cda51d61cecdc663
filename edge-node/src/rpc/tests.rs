//! The dispatcher and both servers against a backend that records what it was asked.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use lnfleet_actors::telemetry::Metrics;
use secp256k1::PublicKey;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::types::{ConnectTarget, Connected, GetInfo, ListPeer, NetAddress, OurFeatures};
use super::unix::serve_unix;
use super::{RpcBackend, RpcDispatcher, RpcError};

const PEER: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

impl RpcBackend for Recorder {
    fn getinfo(&self) -> BoxFuture<'_, Result<GetInfo, RpcError>> {
        Box::pin(async {
            Ok(GetInfo {
                id: PEER.into(),
                alias: "lnfleet".into(),
                color: "3399ff".into(),
                num_peers: 0,
                num_pending_channels: 0,
                num_active_channels: 0,
                num_inactive_channels: 0,
                address: vec![],
                binding: vec![NetAddress::from(
                    "127.0.0.1:9735".parse::<std::net::SocketAddr>().unwrap(),
                )],
                version: "test".into(),
                blockheight: 0,
                network: "regtest".into(),
                fees_collected_msat: 0,
                lightning_dir: "/tmp".into(),
                our_features: OurFeatures::default(),
            })
        })
    }

    fn connect(&self, target: ConnectTarget) -> BoxFuture<'_, Result<Connected, RpcError>> {
        self.record(format!("connect {:?}", target.address));
        Box::pin(async move {
            Ok(Connected {
                id: target.id.to_string(),
                features: "".into(),
                direction: "out",
                address: NetAddress::from("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap()),
            })
        })
    }

    fn disconnect(&self, peer: PublicKey, force: bool) -> BoxFuture<'_, Result<(), RpcError>> {
        self.record(format!("disconnect {peer} {force}"));
        Box::pin(async { Err(RpcError::internal("Unknown peer")) })
    }

    fn listpeers(&self, peer: Option<PublicKey>) -> BoxFuture<'_, Result<Vec<ListPeer>, RpcError>> {
        self.record(format!("listpeers {peer:?}"));
        Box::pin(async { Ok(vec![]) })
    }

    fn sendcustommsg(
        &self,
        peer: PublicKey,
        message: Vec<u8>,
    ) -> BoxFuture<'_, Result<(), RpcError>> {
        self.record(format!("sendcustommsg {peer} {}", hex::encode(message)));
        Box::pin(async { Ok(()) })
    }

    fn getroute(&self, params: Map<String, Value>) -> BoxFuture<'_, Result<Value, RpcError>> {
        self.record(format!("getroute {}", Value::Object(params)));
        Box::pin(async { Ok(json!({"route": []})) })
    }
}

fn dispatcher() -> Arc<RpcDispatcher<Recorder>> {
    let metrics = Metrics::new("edge_rpc_test").unwrap();
    Arc::new(RpcDispatcher::new(Arc::new(Recorder::default()), &metrics).unwrap())
}

#[tokio::test]
async fn methods_parse_core_lightning_parameters_by_name_and_position() {
    let rpc = dispatcher();
    let a = rpc
        .handle(&json!({"jsonrpc":"2.0","id":"x:1","method":"sendcustommsg","params":{"node_id":PEER,"msg":"8001aa"}}))
        .await;
    assert_eq!(a["id"], "x:1");
    assert_eq!(
        a["result"]["status"],
        "Message sent to connectd for delivery"
    );
    let b = rpc
        .handle(&json!({"jsonrpc":"2.0","id":2,"method":"connect","params":[format!("{PEER}@127.0.0.1")]}))
        .await;
    assert_eq!(b["result"]["direction"], "out");
    let c = rpc
        .handle(&json!({"jsonrpc":"2.0","id":3,"method":"getroute","params":[PEER, 1000, 1]}))
        .await;
    assert_eq!(c["result"]["route"], json!([]));
    let calls = rpc.backend().calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![
            format!("sendcustommsg {PEER} 8001aa"),
            "connect Some(\"127.0.0.1:9735\")".to_owned(),
            format!(
                "getroute {}",
                json!({"id": PEER, "amount_msat": 1000, "riskfactor": 1})
            ),
        ]
    );
}

#[tokio::test]
async fn errors_carry_core_lightning_codes() {
    let rpc = dispatcher();
    let unknown = rpc.handle(&json!({"id":1,"method":"fly"})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    assert_eq!(unknown["error"]["message"], "Unknown command 'fly'");
    let bad = rpc
        .handle(&json!({"id":2,"method":"sendcustommsg","params":{"node_id":"zz","msg":"01"}}))
        .await;
    assert_eq!(bad["error"]["code"], -32602);
    let extra = rpc
        .handle(&json!({"id":3,"method":"getinfo","params":{"verbose":true}}))
        .await;
    assert_eq!(extra["error"]["code"], -32602);
    let failing = rpc
        .handle(&json!({"id":4,"method":"disconnect","params":{"id":PEER}}))
        .await;
    assert_eq!(failing["error"]["code"], -1);
    assert_eq!(failing["error"]["message"], "Unknown peer");
    let no_method = rpc.handle(&json!({"id":5})).await;
    assert_eq!(no_method["error"]["code"], -32600);
}

#[tokio::test]
async fn help_lists_every_method() {
    let rpc = dispatcher();
    let help = rpc.handle(&json!({"id":1,"method":"help"})).await;
    let commands: Vec<String> = help["result"]["help"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h["command"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    for method in [
        "getinfo",
        "connect",
        "disconnect",
        "listpeers",
        "sendcustommsg",
        "getroute",
        "help",
    ] {
        assert!(
            commands.contains(&method.to_owned()),
            "{method} missing from {commands:?}"
        );
    }
}

#[tokio::test]
async fn the_socket_answers_back_to_back_requests_each_ending_in_a_blank_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightning-rpc");
    let _server = serve_unix(&path, dispatcher()).unwrap();
    let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
    stream
        .write_all(br#"{"jsonrpc":"2.0","id":1,"method":"getinfo","params":{}}{"jsonrpc":"2.0","id":2,"method":"listpeers"}"#)
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while received.windows(2).filter(|w| w == b"\n\n").count() < 2 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "socket closed early");
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(received).unwrap();
    let answers: Vec<Value> = text
        .split("\n\n")
        .filter(|s| !s.is_empty())
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["result"]["id"], PEER);
    assert_eq!(answers[1]["id"], 2);
    assert_eq!(answers[1]["result"]["peers"], json!([]));

    // Garbage gets a parse error and the connection closes.
    stream.write_all(b"}{ nope").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut rest),
    )
    .await;
    let reply: Value = serde_json::from_slice(rest.strip_suffix(b"\n\n").unwrap()).unwrap();
    assert_eq!(reply["error"]["code"], -32700);
}
