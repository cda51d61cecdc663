//! One error type for both front ends: JSON-RPC puts it in `error`, REST picks the HTTP status.

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use super::JSONRPC2_INTERNAL_ERROR;
use crate::router::{GetRoutesError, RouteError};

/// Why a routing call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    GetRoute(#[from] RouteError),
    #[error(transparent)]
    GetRoutes(#[from] GetRoutesError),
    /// A body that is not JSON, or not an object where one is needed.
    #[error("{message}")]
    BadRequest { code: i32, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        match self {
            ApiError::GetRoute(e) => e.code(),
            ApiError::GetRoutes(e) => e.code(),
            ApiError::BadRequest { code, .. } => *code,
            ApiError::Internal(_) => JSONRPC2_INTERNAL_ERROR,
        }
    }

    /// `{"code": .., "message": ..}`.
    pub fn to_json(&self) -> Value {
        json!({ "code": self.code(), "message": self.to_string() })
    }

    pub fn is_route_not_found(&self) -> bool {
        matches!(
            self,
            ApiError::GetRoute(RouteError::RouteNotFound)
                | ApiError::GetRoutes(GetRoutesError::RouteNotFound(_))
        )
    }

    /// 404 when no route exists, 400 for bad parameters, 500 only for our own failures.
    pub fn http_status(&self) -> StatusCode {
        match self {
            _ if self.is_route_not_found() => StatusCode::NOT_FOUND,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::GetRoute(_) | ApiError::GetRoutes(_) | ApiError::BadRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
        }
    }
}
