//! The RPC on a UNIX socket (`--rpc-file`), framed as Core Lightning frames it.
//!
//! Each connection is served by one task; its requests are answered in order. The socket file is
//! created mode 0600 (Core Lightning's default `rpc-file-mode`): whoever can open it controls the
//! node.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::codes;
use super::framing::{frame_response, JsonStream};
use super::methods::{RpcBackend, RpcDispatcher};

/// The running socket server; dropping it stops accepting and removes the socket file.
pub struct UnixRpcServer {
    path: PathBuf,
    accept: JoinHandle<()>,
}

impl UnixRpcServer {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for UnixRpcServer {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `path` (replacing a stale socket file) and serves from a task of the current runtime.
pub fn serve_unix<B: RpcBackend>(
    path: &Path,
    dispatcher: Arc<RpcDispatcher<B>>,
) -> std::io::Result<UnixRpcServer> {
    if path.exists() {
        // A socket left by a killed process; a live one would still be bound by its owner and
        // Core Lightning refuses to start in that case, but one edge per rpc-file is the operator's
        // contract, so replacing is the useful behaviour here.
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    tracing::info!(path = %path.display(), "rpc socket listening");
    let accept = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let dispatcher = Arc::clone(&dispatcher);
                    tokio::spawn(serve_connection(stream, dispatcher));
                }
                Err(error) => {
                    tracing::warn!(%error, "rpc socket accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(UnixRpcServer {
        path: path.to_owned(),
        accept,
    })
}

async fn serve_connection<B: RpcBackend>(
    mut stream: UnixStream,
    dispatcher: Arc<RpcDispatcher<B>>,
) {
    let mut requests = JsonStream::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        loop {
            let request = match requests.next_value() {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(error) => {
                    let reply = json!({
                        "jsonrpc": "2.0",
                        "id": null,
                        "error": { "code": codes::JSONRPC2_PARSE_ERROR, "message": error.to_string() },
                    });
                    let _ = stream.write_all(&frame_response(&reply)).await;
                    return;
                }
            };
            let reply = dispatcher.handle(&request).await;
            if stream.write_all(&frame_response(&reply)).await.is_err() {
                return;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => requests.push(&buf[..n]),
        }
    }
}
