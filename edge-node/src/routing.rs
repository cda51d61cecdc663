//! `getroute` for the node's RPC, answered by the central gossip service: the edge keeps no graph.
//!
//! The request goes to the gossip service's JSON-RPC endpoint as Core Lightning's `getroute`, with
//! `fromid` defaulting to our node id; its answer or its error (code and message, e.g. 205 for no
//! route) comes back unchanged.

use std::time::Duration;

use secp256k1::PublicKey;
use serde_json::{json, Map, Value};

use crate::rpc::{codes, RpcError};

/// A client of the gossip service's routing API.
#[derive(Clone)]
pub struct RouteClient {
    url: String,
    agent: ureq::Agent,
}

impl RouteClient {
    /// `url`: the gossip service's JSON-RPC endpoint, e.g. `http://gossip:9302/`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        RouteClient {
            url: url.into(),
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks for a route from `local` unless the caller named a `fromid`.
    pub async fn getroute(
        &self,
        local: PublicKey,
        mut params: Map<String, Value>,
    ) -> Result<Value, RpcError> {
        params
            .entry("fromid")
            .or_insert_with(|| Value::String(local.to_string()));
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": "getroute", "params": params });
        let client = self.clone();
        // ureq blocks; the routing service answers in about a millisecond, but a stalled one
        // must not hold an executor thread.
        let reply = tokio::task::spawn_blocking(move || client.post(&request))
            .await
            .map_err(|e| RpcError::internal(format!("route request task failed: {e}")))??;
        if let Some(error) = reply.get("error") {
            let code = error
                .get("code")
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(codes::LIGHTNINGD);
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("routing service error");
            return Err(RpcError::new(code, message));
        }
        reply
            .get("result")
            .cloned()
            .ok_or_else(|| RpcError::internal("routing service answered without a result"))
    }

    fn post(&self, request: &Value) -> Result<Value, RpcError> {
        let body = serde_json::to_vec(request).map_err(|e| RpcError::internal(e.to_string()))?;
        let unavailable =
            |e: ureq::Error| RpcError::internal(format!("routing service unavailable: {e}"));
        let mut response = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(unavailable)?;
        let text = response.body_mut().read_to_string().map_err(unavailable)?;
        serde_json::from_str(&text)
            .map_err(|e| RpcError::internal(format!("routing service sent invalid JSON: {e}")))
    }
}
