//! The node's JSON-RPC, compatible with Core Lightning's: the same socket framing, method names,
//! parameter names (by name or by position), answer shapes and error codes, so `lightning-cli`
//! style tools and pyln-client work unchanged.
//!
//! - [`framing`]: requests as a JSON stream, each answer followed by `"\n\n"`.
//! - [`params`]: parameters by name or in Core Lightning's positional order.
//! - [`methods`]: the dispatcher and the [`RpcBackend`] the edge implements.
//! - [`unix`]: the UNIX socket server (`--rpc-file`).
//! - [`http`]: the same dispatcher over HTTP POST.

pub mod framing;
pub mod http;
pub mod methods;
pub mod params;
pub mod types;
pub mod unix;

use serde_json::{json, Value};

pub use methods::{RpcBackend, RpcDispatcher};
pub use types::{ConnectTarget, Connected, GetInfo, ListPeer, NetAddress, OurFeatures};

/// Core Lightning's error codes (common/jsonrpc_errors.h) that these methods answer with.
pub mod codes {
    /// A generic failure inside the node.
    pub const LIGHTNINGD: i32 = -1;
    pub const JSONRPC2_PARSE_ERROR: i32 = -32700;
    pub const JSONRPC2_INVALID_REQUEST: i32 = -32600;
    pub const JSONRPC2_METHOD_NOT_FOUND: i32 = -32601;
    pub const JSONRPC2_INVALID_PARAMS: i32 = -32602;
    /// `getroute`: no route.
    pub const PAY_ROUTE_NOT_FOUND: i32 = 205;
    /// `connect`: no address known for the peer.
    pub const CONNECT_NO_KNOWN_ADDRESS: i32 = 400;
    /// `connect`: every address failed.
    pub const CONNECT_ALL_ADDRESSES_FAILED: i32 = 401;
    /// `connect`: the peer disconnected during the connection.
    pub const CONNECT_DISCONNECTED_DURING: i32 = 402;
}

/// A JSON-RPC error as Core Lightning returns it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        RpcError::new(codes::JSONRPC2_INVALID_PARAMS, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        RpcError::new(codes::JSONRPC2_INVALID_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        RpcError::new(codes::LIGHTNINGD, message)
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => json!({ "code": self.code, "message": self.message, "data": data }),
            None => json!({ "code": self.code, "message": self.message }),
        }
    }
}

#[cfg(test)]
mod tests;
