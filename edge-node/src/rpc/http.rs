//! The same methods over HTTP: JSON-RPC 2.0 on `POST /`, and `POST /v1/<method>` with the
//! parameters as the body (Core Lightning's clnrest shape: the result, or the error object with
//! a 4xx/5xx status).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::Value;

use super::methods::{RpcBackend, RpcDispatcher};
use super::{codes, RpcError};

/// The running HTTP server; dropping it stops it.
pub struct HttpRpcServer {
    local_addr: SocketAddr,
    handle: ServerHandle,
}

impl HttpRpcServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

impl Drop for HttpRpcServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Serves on `addr` from a task of the current tokio runtime.
pub fn serve_http<B: RpcBackend>(
    addr: SocketAddr,
    dispatcher: Arc<RpcDispatcher<B>>,
) -> std::io::Result<HttpRpcServer> {
    let listener = TcpListener::bind(addr)?;
    let local_addr = listener.local_addr()?;
    let data = web::Data::from(dispatcher);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/", web::post().to(json_rpc::<B>))
            .route("/v1/{method}", web::post().to(rest::<B>))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(addr = %local_addr, "rpc http listening");
    Ok(HttpRpcServer { local_addr, handle })
}

async fn json_rpc<B: RpcBackend>(
    dispatcher: web::Data<RpcDispatcher<B>>,
    body: web::Bytes,
) -> HttpResponse {
    match serde_json::from_slice::<Value>(&body) {
        Ok(request) => HttpResponse::Ok().json(dispatcher.handle(&request).await),
        Err(error) => HttpResponse::Ok().json(serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": { "code": codes::JSONRPC2_PARSE_ERROR, "message": format!("parse error: {error}") },
        })),
    }
}

async fn rest<B: RpcBackend>(
    dispatcher: web::Data<RpcDispatcher<B>>,
    method: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(params) => Some(params),
            Err(error) => {
                let error =
                    RpcError::new(codes::JSONRPC2_PARSE_ERROR, format!("parse error: {error}"));
                return HttpResponse::BadRequest().json(error.to_json());
            }
        }
    };
    match dispatcher.call(&method, params.as_ref()).await {
        Ok(result) => HttpResponse::Ok().json(result),
        Err(error) => {
            let status = match error.code {
                codes::JSONRPC2_METHOD_NOT_FOUND => actix_web::http::StatusCode::NOT_FOUND,
                codes::LIGHTNINGD => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                _ => actix_web::http::StatusCode::BAD_REQUEST,
            };
            HttpResponse::build(status).json(error.to_json())
        }
    }
}
