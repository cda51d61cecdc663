//! REST front end: `POST /v1/getroute` and `POST /v1/getroutes` with a JSON object of named
//! parameters; the answer is the method's JSON, an error is `{"code", "message"}` with 400
//! (bad parameters), 404 (no route) or 500 (our failure).

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::{ApiError, Method, RouterState, JSONRPC2_PARSE_ERROR};
use crate::router::JSONRPC2_INVALID_PARAMS;

pub(super) async fn getroute(state: web::Data<Arc<RouterState>>, body: web::Bytes) -> HttpResponse {
    answer(state, Method::GetRoute, body).await
}

pub(super) async fn getroutes(
    state: web::Data<Arc<RouterState>>,
    body: web::Bytes,
) -> HttpResponse {
    answer(state, Method::GetRoutes, body).await
}

async fn answer(
    state: web::Data<Arc<RouterState>>,
    method: Method,
    body: web::Bytes,
) -> HttpResponse {
    let outcome = match parse_object(&body) {
        Ok(params) if !method.is_long() => state.call(method, Some(&params)),
        Ok(params) => {
            let state = Arc::clone(&state);
            web::block(move || state.call(method, Some(&params)))
                .await
                .unwrap_or_else(|e| Err(ApiError::Internal(e.to_string())))
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(error) => {
            tracing::debug!(
                method = method.name(),
                code = error.code(),
                "rest request failed"
            );
            HttpResponse::build(error.http_status()).json(error.to_json())
        }
    }
}

/// The body must be a JSON object: parameters go by name.
fn parse_object(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        code: JSONRPC2_PARSE_ERROR,
        message: format!("parse error: {e}"),
    })?;
    if !value.is_object() {
        return Err(ApiError::BadRequest {
            code: JSONRPC2_INVALID_PARAMS,
            message: "the body should be a JSON object of named parameters".into(),
        });
    }
    Ok(value)
}
