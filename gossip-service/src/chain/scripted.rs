//! A [`JsonRpcTransport`] that answers from recorded bitcoind responses.
//!
//! The file is a JSON array of calls; each names the method, the exact params, and either the
//! `result` bitcoind returned or its `error` object:
//!
//! ```json
//! [{"method": "getblockhash", "params": [800000], "result": "00000000…"},
//!  {"method": "getblockhash", "params": [999999], "error": {"code": -8, "message": "Block height out of range"}}]
//! ```
//!
//! A call with no recording fails with [`RpcError::NotRecorded`], so a test notices a lookup it
//! did not expect.

use std::path::Path;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;

use super::bitcoind::{JsonRpcErrorObject, JsonRpcTransport, RpcError};

/// One recorded call and bitcoind's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordedCall {
    pub method: String,
    pub params: Vec<Value>,
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub error: Option<JsonRpcErrorObject>,
}

/// Why a recording could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("reading recorded responses: {0}")]
    Io(#[from] std::io::Error),
    #[error("parsing recorded responses: {0}")]
    Json(#[from] serde_json::Error),
}

/// Serves [`RecordedCall`]s; logs every call it gets (`calls()`).
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    recorded: Vec<RecordedCall>,
    calls: Mutex<Vec<String>>,
}

impl ScriptedTransport {
    pub fn new(recorded: Vec<RecordedCall>) -> Self {
        ScriptedTransport {
            recorded,
            calls: Mutex::new(Vec::new()),
        }
    }

    pub fn from_json(json: &str) -> Result<Self, ScriptError> {
        Ok(Self::new(serde_json::from_str(json)?))
    }

    pub fn from_file(path: &Path) -> Result<Self, ScriptError> {
        Self::from_json(&std::fs::read_to_string(path)?)
    }

    /// Adds (or, being searched last-first, overrides) a recording: e.g. the funding output
    /// becoming spent.
    pub fn record(&mut self, call: RecordedCall) {
        self.recorded.push(call);
    }

    /// The calls served so far, as `method params`.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl JsonRpcTransport for ScriptedTransport {
    fn call(&self, method: &str, params: &[Value]) -> Result<Value, RpcError> {
        let shown = Value::Array(params.to_vec()).to_string();
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(format!("{method} {shown}"));
        }
        let recorded = self
            .recorded
            .iter()
            .rev()
            .find(|c| c.method == method && c.params == params)
            .ok_or_else(|| RpcError::NotRecorded {
                method: method.to_owned(),
                params: shown,
            })?;
        match &recorded.error {
            Some(err) => Err(RpcError::Server {
                code: err.code,
                message: err.message.clone(),
            }),
            None => Ok(recorded.result.clone()),
        }
    }

    /// Answers from memory.
    fn may_block(&self) -> bool {
        false
    }
}
