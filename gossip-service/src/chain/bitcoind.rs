//! A [`ChainSource`] asking bitcoind over JSON-RPC.
//!
//! The lookup of `BLOCKxTXxOUT` is three calls, none needing `-txindex`:
//! `getblockhash BLOCK` → `getblock HASH 1` (the txid list) → `getrawtransaction TXID true HASH`
//! (the outputs). Spentness is `gettxout TXID OUT false`: `null` means not in the confirmed UTXO
//! set. The HTTP side is a [`JsonRpcTransport`] so tests can serve recorded responses
//! ([`super::ScriptedTransport`]) and the service can plug in its HTTP client.

use std::fmt;

use lnfleet_wire::codec::ShortChannelId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ChainError, ChainSource, FundingCheck, FundingOutput};

/// bitcoind's `RPC_INVALID_PARAMETER`: what `getblockhash` answers for a height above the tip.
pub const RPC_INVALID_PARAMETER: i64 = -8;
/// bitcoind's `RPC_INVALID_ADDRESS_OR_KEY`: unknown block or transaction.
pub const RPC_INVALID_ADDRESS_OR_KEY: i64 = -5;

/// Why one JSON-RPC call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The request never got a JSON-RPC answer (connection refused, timeout, HTTP 5xx).
    #[error("transport: {reason}")]
    Transport { reason: String },
    /// No answer within the transport's timeout.
    #[error("timed out: {reason}")]
    Timeout { reason: String },
    /// HTTP 401: the credentials are wrong.
    #[error("unauthorized: check the rpc credentials")]
    Unauthorized,
    /// bitcoind answered with an `error` object.
    #[error("bitcoind error {code}: {message}")]
    Server { code: i64, message: String },
    /// The body is not a JSON-RPC response.
    #[error("malformed response: {reason}")]
    Malformed { reason: String },
    /// A scripted transport has no recorded response for this call.
    #[error("no recorded response for {method} {params}")]
    NotRecorded { method: String, params: String },
}

/// One JSON-RPC call to bitcoind. Implementations do the HTTP POST (with
/// [`RpcCredentials`] as Basic auth) and map the body with [`JsonRpcResponse::into_result`].
pub trait JsonRpcTransport {
    fn call(&self, method: &str, params: &[Value]) -> Result<Value, RpcError>;

    /// Whether [`JsonRpcTransport::call`] waits on the network (true unless the transport
    /// answers from memory).
    fn may_block(&self) -> bool {
        true
    }
}

impl<T: JsonRpcTransport + ?Sized> JsonRpcTransport for &T {
    fn call(&self, method: &str, params: &[Value]) -> Result<Value, RpcError> {
        (**self).call(method, params)
    }

    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

/// `rpcuser`/`rpcpassword` (or the `.cookie` file's `__cookie__:<hex>`). The password is never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcCredentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for RpcCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcCredentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl RpcCredentials {
    /// Parses bitcoind's cookie file contents (`user:password`).
    pub fn from_cookie(contents: &str) -> Option<Self> {
        let (user, password) = contents.trim().split_once(':')?;
        Some(RpcCredentials {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// The request body bitcoind expects (JSON-RPC 1.0 style, as `bitcoin-cli` sends).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonRpcRequest<'a> {
    pub jsonrpc: &'static str,
    pub id: u64,
    pub method: &'a str,
    pub params: &'a [Value],
}

impl<'a> JsonRpcRequest<'a> {
    pub fn new(id: u64, method: &'a str, params: &'a [Value]) -> Self {
        JsonRpcRequest {
            jsonrpc: "1.0",
            id,
            method,
            params,
        }
    }
}

/// bitcoind's `error` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonRpcErrorObject {
    pub code: i64,
    pub message: String,
}

/// The response body: exactly one of `result` and `error` is meaningful. `result` may be
/// `null` legitimately (`gettxout` of a spent output).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JsonRpcResponse {
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub error: Option<JsonRpcErrorObject>,
    #[serde(default)]
    pub id: Value,
}

impl JsonRpcResponse {
    /// Parses a response body.
    pub fn parse(body: &[u8]) -> Result<Self, RpcError> {
        serde_json::from_slice(body).map_err(|e| RpcError::Malformed {
            reason: e.to_string(),
        })
    }

    pub fn into_result(self) -> Result<Value, RpcError> {
        match self.error {
            Some(err) => Err(RpcError::Server {
                code: err.code,
                message: err.message,
            }),
            None => Ok(self.result),
        }
    }
}

/// [`ChainSource`] backed by bitcoind.
#[derive(Debug, Clone)]
pub struct BitcoindChainSource<T> {
    transport: T,
}

/// Where a scid's transaction is: its block hash and txid (hex, as bitcoind prints them).
struct Located {
    block_hash: String,
    txid: String,
}

impl<T: JsonRpcTransport> BitcoindChainSource<T> {
    pub fn new(transport: T) -> Self {
        BitcoindChainSource { transport }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    fn call(&self, method: &'static str, params: &[Value]) -> Result<Value, ChainError> {
        self.transport
            .call(method, params)
            .map_err(|source| ChainError::Rpc { method, source })
    }

    /// Resolves block height and tx index; `None` when either does not exist.
    fn locate(&self, scid: ShortChannelId) -> Result<Option<Located>, ChainError> {
        let block_hash = match self.call("getblockhash", &[json!(scid.block())]) {
            Ok(Value::String(hash)) => hash,
            Ok(other) => return Err(unexpected("getblockhash", "not a string", &other)),
            Err(ChainError::Rpc {
                source: RpcError::Server { code, .. },
                ..
            }) if code == RPC_INVALID_PARAMETER => return Ok(None),
            Err(e) => return Err(e),
        };
        let block = self.call("getblock", &[json!(block_hash), json!(1)])?;
        let Some(txids) = block.get("tx").and_then(Value::as_array) else {
            return Err(unexpected("getblock", "no tx array", &block));
        };
        let Some(txid) = txids.get(scid.tx_index() as usize) else {
            return Ok(None);
        };
        let Some(txid) = txid.as_str() else {
            return Err(unexpected("getblock", "txid not a string", txid));
        };
        Ok(Some(Located {
            block_hash,
            txid: txid.to_owned(),
        }))
    }
}

fn unexpected(method: &'static str, what: &str, value: &Value) -> ChainError {
    let mut shown = value.to_string();
    shown.truncate(120);
    ChainError::UnexpectedResponse {
        method,
        reason: format!("{what}: {shown}"),
    }
}

/// bitcoind prints amounts as BTC with 8 decimals; converts to satoshis exactly enough (the
/// f64 error is far below half a satoshi for any amount up to 21M BTC).
fn btc_to_sat(value: &Value) -> Option<u64> {
    let btc = value.as_f64()?;
    if !btc.is_finite() || !(0.0..=21_000_000.0).contains(&btc) {
        return None;
    }
    Some((btc * 100_000_000.0).round() as u64)
}

impl<T: JsonRpcTransport> ChainSource for BitcoindChainSource<T> {
    fn funding_output(&self, scid: ShortChannelId) -> Result<FundingCheck, ChainError> {
        let Some(located) = self.locate(scid)? else {
            return Ok(FundingCheck::NotFound);
        };
        let tx = self.call(
            "getrawtransaction",
            &[json!(located.txid), json!(true), json!(located.block_hash)],
        )?;
        if tx.get("txid").and_then(Value::as_str) != Some(located.txid.as_str()) {
            return Err(unexpected("getrawtransaction", "txid differs", &tx));
        }
        let Some(outputs) = tx.get("vout").and_then(Value::as_array) else {
            return Err(unexpected("getrawtransaction", "no vout array", &tx));
        };
        let wanted = u64::from(scid.output_index());
        let Some(output) = outputs
            .iter()
            .find(|o| o.get("n").and_then(Value::as_u64) == Some(wanted))
        else {
            return Ok(FundingCheck::NotFound);
        };
        let script_pubkey = output
            .get("scriptPubKey")
            .and_then(|s| s.get("hex"))
            .and_then(Value::as_str)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| unexpected("getrawtransaction", "bad scriptPubKey", output))?;
        let value_sat = output
            .get("value")
            .and_then(btc_to_sat)
            .ok_or_else(|| unexpected("getrawtransaction", "bad value", output))?;
        // Absent only if the block was just reorganised out: zero then.
        let confirmations = tx
            .get("confirmations")
            .and_then(Value::as_u64)
            .map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX));
        Ok(FundingCheck::Found(FundingOutput {
            script_pubkey,
            value_sat,
            confirmations,
        }))
    }

    fn is_spent(&self, scid: ShortChannelId) -> Result<bool, ChainError> {
        let Some(located) = self.locate(scid)? else {
            return Ok(true);
        };
        // include_mempool = false: only a confirmed spend closes the channel.
        let out = self.call(
            "gettxout",
            &[
                json!(located.txid),
                json!(scid.output_index()),
                json!(false),
            ],
        )?;
        match out {
            Value::Null => Ok(true),
            Value::Object(_) => Ok(false),
            other => Err(unexpected("gettxout", "neither null nor object", &other)),
        }
    }

    fn may_block(&self) -> bool {
        self.transport.may_block()
    }
}
