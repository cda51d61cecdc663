//! [`HttpTransport`]: bitcoind JSON-RPC over HTTP with Basic auth, on `ureq` (blocking).
//!
//! bitcoind answers RPC errors with HTTP 500 (404 for an unknown method) and a JSON-RPC body,
//! so non-2xx statuses are read, not turned into errors: the `error` object is the answer.
//! Only 401/403 (bad credentials) and bodies that are not JSON-RPC become transport errors.
//!
//! Every call blocks the calling thread for up to the configured timeout: callers on an async
//! executor move it off (see [`super::ChainSource::may_block`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::bitcoind::{
    JsonRpcRequest, JsonRpcResponse, JsonRpcTransport, RpcCredentials, RpcError,
};

/// Largest response body read: `getblock HASH 1` of a full mainnet block is well under 1 MB.
const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// The default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an [`HttpTransport`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpTransportError {
    #[error("reading rpc cookie file {path}: {source}")]
    CookieFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rpc cookie file {path} is not user:password")]
    BadCookie { path: PathBuf },
}

/// A [`JsonRpcTransport`] POSTing to bitcoind's RPC URL (e.g. `http://127.0.0.1:8332/`).
pub struct HttpTransport {
    agent: ureq::Agent,
    url: String,
    /// The `Authorization` header value; never logged.
    authorization: String,
    next_id: AtomicU64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// `timeout` bounds each whole call (connect, send, wait, read).
    pub fn new(url: impl Into<String>, credentials: &RpcCredentials, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        let user_password = format!("{}:{}", credentials.user, credentials.password);
        HttpTransport {
            agent: ureq::Agent::new_with_config(config),
            url: url.into(),
            authorization: format!("Basic {}", base64(user_password.as_bytes())),
            next_id: AtomicU64::new(1),
        }
    }

    /// Reads bitcoind's `.cookie` file (rewritten on every bitcoind start: build the transport
    /// again after a bitcoind restart).
    pub fn from_cookie_file(
        url: impl Into<String>,
        cookie_path: &Path,
        timeout: Duration,
    ) -> Result<Self, HttpTransportError> {
        let contents = std::fs::read_to_string(cookie_path).map_err(|source| {
            HttpTransportError::CookieFile {
                path: cookie_path.to_owned(),
                source,
            }
        })?;
        let credentials = RpcCredentials::from_cookie(&contents).ok_or_else(|| {
            HttpTransportError::BadCookie {
                path: cookie_path.to_owned(),
            }
        })?;
        Ok(Self::new(url, &credentials, timeout))
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl JsonRpcTransport for HttpTransport {
    fn call(&self, method: &str, params: &[Value]) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&JsonRpcRequest::new(id, method, params)).map_err(|e| {
            RpcError::Transport {
                reason: format!("encoding request: {e}"),
            }
        })?;
        let mut response = self
            .agent
            .post(&self.url)
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .send(&body[..])
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RpcError::Unauthorized);
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(transport_error)?;
        match JsonRpcResponse::parse(&body) {
            Ok(parsed) => parsed.into_result(),
            // A proxy's or bitcoind's own non-JSON error page (e.g. 503 while warming up).
            Err(_) if !(200..300).contains(&status) => Err(RpcError::Transport {
                reason: format!("http status {status}"),
            }),
            Err(malformed) => Err(malformed),
        }
    }
}

fn transport_error(error: ureq::Error) -> RpcError {
    match error {
        ureq::Error::Timeout(which) => RpcError::Timeout {
            reason: which.to_string(),
        },
        other => RpcError::Transport {
            reason: other.to_string(),
        },
    }
}

/// Standard base64 with padding (RFC 4648), for the Basic auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |index: u32| char::from(ALPHABET[(index & 63) as usize]);
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [0, 1, 2].map(|i| chunk.get(i).copied().map_or(0, u32::from));
        let triple = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
        out.push(symbol(triple >> 18));
        out.push(symbol(triple >> 12));
        out.push(if chunk.len() > 1 {
            symbol(triple >> 6)
        } else {
            '='
        });
        out.push(if chunk.len() > 2 { symbol(triple) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
