//! The methods, their parameter orders, and the dispatcher that turns one JSON-RPC request into
//! one answer. The edge implements [`RpcBackend`]; this module only parses, checks and shapes.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use lnfleet_actors::telemetry::{Metrics, MetricsError};
use prometheus::{HistogramVec, IntCounterVec};
use secp256k1::PublicKey;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::params::Params;
use super::types::{ConnectTarget, Connected, GetInfo, ListPeer};
use super::{codes, RpcError};

/// What the node does for the RPC. Every method may be answered by another edge (a peer held
/// elsewhere): the backend forwards, the RPC does not care.
pub trait RpcBackend: Send + Sync + 'static {
    fn getinfo(&self) -> BoxFuture<'_, Result<GetInfo, RpcError>>;
    fn connect(&self, target: ConnectTarget) -> BoxFuture<'_, Result<Connected, RpcError>>;
    fn disconnect(&self, peer: PublicKey, force: bool) -> BoxFuture<'_, Result<(), RpcError>>;
    fn listpeers(&self, peer: Option<PublicKey>) -> BoxFuture<'_, Result<Vec<ListPeer>, RpcError>>;
    /// `message` is the whole message, type included, not yet checked.
    fn sendcustommsg(
        &self,
        peer: PublicKey,
        message: Vec<u8>,
    ) -> BoxFuture<'_, Result<(), RpcError>>;
    /// `getroute` with its parameters by name, answered in Core Lightning's shape.
    fn getroute(&self, params: Map<String, Value>) -> BoxFuture<'_, Result<Value, RpcError>>;
}

/// A method: name, positional parameter order, one-line description for `help`.
struct Method {
    name: &'static str,
    params: &'static [&'static str],
    description: &'static str,
}

const METHODS: &[Method] = &[
    Method {
        name: "getinfo",
        params: &[],
        description: "Show information about this node.",
    },
    Method {
        name: "connect",
        params: &["id", "host", "port"],
        description: "Connect to {id} at {host} (which can end in ':port' if not default).",
    },
    Method {
        name: "disconnect",
        params: &["id", "force"],
        description: "Disconnect from {id} that has previously been connected to using connect.",
    },
    Method {
        name: "listpeers",
        params: &["id", "level"],
        description: "Show current peers, if {level} is set, include logs for {id}.",
    },
    Method {
        name: "sendcustommsg",
        params: &["node_id", "msg"],
        description: "Send a custom message {msg} (hex, type included) to the peer {node_id}.",
    },
    Method {
        name: "getroute",
        params: &[
            "id",
            "amount_msat",
            "riskfactor",
            "cltv",
            "fromid",
            "fuzzpercent",
            "exclude",
            "maxhops",
        ],
        description: "Show route to {id} for {amount_msat}, using {riskfactor} and optional {cltv} (default 9).",
    },
    Method {
        name: "help",
        params: &["command"],
        description: "List available commands, or give verbose help on one {command}.",
    },
];

/// Answers JSON-RPC requests for a backend.
pub struct RpcDispatcher<B> {
    backend: Arc<B>,
    metrics: RpcMetrics,
}

#[derive(Clone)]
struct RpcMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl<B: RpcBackend> RpcDispatcher<B> {
    pub fn new(backend: Arc<B>, metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(RpcDispatcher {
            backend,
            metrics: RpcMetrics {
                requests: metrics.counter_vec(
                    "rpc_requests_total",
                    "JSON-RPC requests by method and outcome",
                    &["method", "outcome"],
                )?,
                duration: metrics.histogram_vec(
                    "rpc_duration_seconds",
                    "Time to answer a JSON-RPC request, by method",
                    &["method"],
                    None,
                )?,
            },
        })
    }

    pub fn backend(&self) -> &Arc<B> {
        &self.backend
    }

    /// One request in, one response object out (never fails: errors are JSON-RPC errors).
    pub async fn handle(&self, request: &Value) -> Value {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            let error = RpcError::invalid_request("missing method");
            return json!({ "jsonrpc": "2.0", "id": id, "error": error.to_json() });
        };
        let label = METHODS
            .iter()
            .find(|m| m.name == method)
            .map_or("unknown", |m| m.name);
        let started = Instant::now();
        let outcome = self.call(method, request.get("params")).await;
        self.metrics
            .duration
            .with_label_values(&[label])
            .observe(started.elapsed().as_secs_f64());
        let result_label = if outcome.is_ok() { "ok" } else { "error" };
        self.metrics
            .requests
            .with_label_values(&[label, result_label])
            .inc();
        match outcome {
            Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
            Err(error) => {
                tracing::debug!(method, code = error.code, message = %error.message, "rpc error");
                json!({ "jsonrpc": "2.0", "id": id, "error": error.to_json() })
            }
        }
    }

    /// Runs one method with its raw parameters.
    pub async fn call(&self, method: &str, raw_params: Option<&Value>) -> Result<Value, RpcError> {
        let Some(spec) = METHODS.iter().find(|m| m.name == method) else {
            return Err(RpcError::new(
                codes::JSONRPC2_METHOD_NOT_FOUND,
                format!("Unknown command '{method}'"),
            ));
        };
        let params = Params::parse(raw_params, spec.params)?;
        let backend = &self.backend;
        match spec.name {
            "getinfo" => to_value(backend.getinfo().await?),
            "connect" => {
                let target = ConnectTarget::parse(
                    params.required_str("id")?,
                    params.optional_str("host")?,
                    params.optional_u16("port")?,
                )?;
                to_value(backend.connect(target).await?)
            }
            "disconnect" => {
                let peer = params.required_pubkey("id")?;
                let force = params.optional_bool("force")?.unwrap_or(false);
                backend.disconnect(peer, force).await?;
                Ok(json!({}))
            }
            "listpeers" => {
                let peer = params.optional_pubkey("id")?;
                if let Some(level) = params.get("level") {
                    level
                        .as_str()
                        .filter(|l| ["io", "debug", "info", "unusual", "broken"].contains(l))
                        .ok_or_else(|| {
                            RpcError::invalid_params("level: should be a valid log level")
                        })?;
                }
                let peers = backend.listpeers(peer).await?;
                Ok(json!({ "peers": peers }))
            }
            "sendcustommsg" => {
                let peer = params.required_pubkey("node_id")?;
                let message = params.required_hex("msg")?;
                backend.sendcustommsg(peer, message).await?;
                Ok(json!({ "status": "Message sent to connectd for delivery" }))
            }
            "getroute" => backend.getroute(params.into_map()).await,
            "help" => help(params.optional_str("command")?),
            _ => Err(RpcError::internal(format!(
                "method {method} has no handler"
            ))),
        }
    }
}

fn to_value(value: impl Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::internal(e.to_string()))
}

fn help(command: Option<&str>) -> Result<Value, RpcError> {
    let entry = |m: &Method| {
        let usage = m
            .params
            .iter()
            .map(|p| format!("[{p}]"))
            .collect::<Vec<_>>()
            .join(" ");
        json!({
            "command": format!("{} {}", m.name, usage).trim_end(),
            "category": "lnfleet",
            "description": m.description,
            "verbose": m.description,
        })
    };
    match command {
        None => Ok(json!({ "help": METHODS.iter().map(entry).collect::<Vec<_>>() })),
        Some(name) => METHODS
            .iter()
            .find(|m| m.name == name)
            .map(|m| json!({ "help": [entry(m)] }))
            .ok_or_else(|| {
                RpcError::new(
                    codes::JSONRPC2_METHOD_NOT_FOUND,
                    format!("Unknown command {name}"),
                )
            }),
    }
}
