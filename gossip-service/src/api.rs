//! The routing API over HTTP POST:
//! - Core Lightning style JSON-RPC 2.0 on `/`: methods `getroute` (parameters by name or by
//!   position) and `getroutes` (see [`crate::router::getroutes`]);
//! - REST on `/v1/getroute` and `/v1/getroutes`: a JSON object with the same parameter names,
//!   the same JSON answer, and errors as `{"code", "message"}` with a 4xx status ([`rest`]).
//!
//! Both answer from the shared graph and mission control.

mod error;
mod getroutes_params;
mod rest;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use lnfleet_actors::telemetry::{Metrics, MetricsError};
use lnfleet_wire::ShortChannelId;
use prometheus::{HistogramVec, IntCounterVec};
use serde_json::{json, Value};

use crate::graph::Graph;
use crate::liquidity::{LiquidityBounds, LiquidityView};
use crate::mission_control::{MissionControl, MissionControlConfig};
use crate::router::{getroute, getroutes, Exclusion, GetRouteRequest, RouteError};

pub use error::ApiError;
pub use getroutes_params::parse_getroutes;

/// JSON-RPC 2.0: the method does not exist (Core Lightning answers the same code).
pub const JSONRPC2_METHOD_NOT_FOUND: i32 = -32601;
/// JSON-RPC 2.0: the request is not a JSON-RPC request.
pub const JSONRPC2_INVALID_REQUEST: i32 = -32600;
/// JSON-RPC 2.0: the body is not JSON.
pub const JSONRPC2_PARSE_ERROR: i32 = -32700;
/// JSON-RPC 2.0: the server failed.
pub const JSONRPC2_INTERNAL_ERROR: i32 = -32603;

/// What every request handler reads.
pub struct RouterState {
    pub graph: RwLock<Graph>,
    pub mission_control: RwLock<MissionControl>,
    metrics: ApiMetrics,
}

#[derive(Clone)]
struct ApiMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    not_found: IntCounterVec,
}

/// The routing methods, as both front ends name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    GetRoute,
    GetRoutes,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::GetRoute => "getroute",
            Method::GetRoutes => "getroutes",
        }
    }

    /// Whether a call can take long enough to stall the other connections of an HTTP worker.
    /// `getroute` takes about a millisecond: it runs on the worker itself, which saves a thread
    /// hop per request. `getroutes` (tens of milliseconds) goes to the blocking pool.
    fn is_long(self) -> bool {
        matches!(self, Method::GetRoutes)
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "getroute" => Some(Method::GetRoute),
            "getroutes" => Some(Method::GetRoutes),
            _ => None,
        }
    }
}

impl RouterState {
    pub fn new(graph: Graph, metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(RouterState {
            graph: RwLock::new(graph),
            mission_control: RwLock::new(MissionControl::new(MissionControlConfig::default())),
            metrics: ApiMetrics {
                requests: metrics.counter_vec(
                    "rpc_requests_total",
                    "Routing requests by method and result",
                    &["method", "result"],
                )?,
                duration: metrics.histogram_vec(
                    "rpc_duration_seconds",
                    "Time to answer a routing request, by method",
                    &["method"],
                    Some(vec![
                        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1,
                    ]),
                )?,
                not_found: metrics.counter_vec(
                    "routes_not_found_total",
                    "Routing requests answered with route not found, by method",
                    &["method"],
                )?,
            },
        })
    }

    /// Answers one JSON-RPC request object.
    pub fn handle(&self, request: &Value) -> Value {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            return error_reply(id, JSONRPC2_INVALID_REQUEST, "missing method");
        };
        let Some(method) = Method::from_name(method) else {
            self.metrics
                .requests
                .with_label_values(&["unknown", "error"])
                .inc();
            return error_reply(
                id,
                JSONRPC2_METHOD_NOT_FOUND,
                &format!("Unknown command '{method}'"),
            );
        };
        match self.call(method, request.get("params")) {
            Ok(value) => json!({ "jsonrpc": "2.0", "id": id, "result": value }),
            Err(error) => json!({ "jsonrpc": "2.0", "id": id, "error": error.to_json() }),
        }
    }

    /// Runs one routing method on `params` (an object, or for JSON-RPC an array), timing it
    /// and counting the outcome.
    pub fn call(&self, method: Method, params: Option<&Value>) -> Result<Value, ApiError> {
        let started = Instant::now();
        let outcome = match method {
            Method::GetRoute => self.getroute(params),
            Method::GetRoutes => self.getroutes(params),
        };
        let label = method.name();
        self.metrics
            .duration
            .with_label_values(&[label])
            .observe(started.elapsed().as_secs_f64());
        let result = if outcome.is_ok() { "ok" } else { "error" };
        self.metrics
            .requests
            .with_label_values(&[label, result])
            .inc();
        if outcome.as_ref().is_err_and(ApiError::is_route_not_found) {
            self.metrics.not_found.with_label_values(&[label]).inc();
        }
        outcome
    }

    /// Runs `search` with the graph and mission control's view as of now.
    fn with_view<T>(&self, search: impl FnOnce(&Graph, &DynView<'_>) -> T) -> T {
        let graph = self.graph.read().unwrap_or_else(|p| p.into_inner());
        let mission = self
            .mission_control
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let view = mission.view(now_ms, |scid, direction| {
            graph
                .half_channel(scid, direction)
                .map(|edge| edge.capacity_sat().saturating_mul(1000))
        });
        search(&graph, &DynView(&view))
    }

    fn getroute(&self, params: Option<&Value>) -> Result<Value, ApiError> {
        let request = parse_getroute(params)?;
        let route = self.with_view(|graph, view| getroute(graph, view, &request))?;
        serde_json::to_value(route).map_err(|e| ApiError::Internal(e.to_string()))
    }

    fn getroutes(&self, params: Option<&Value>) -> Result<Value, ApiError> {
        let request = parse_getroutes(params)?;
        let routes = self.with_view(|graph, view| getroutes(graph, view, &request))?;
        serde_json::to_value(routes).map_err(|e| ApiError::Internal(e.to_string()))
    }
}

/// Mission control's view behind a trait object, so one helper serves both searches.
struct DynView<'a>(&'a dyn LiquidityView);

impl LiquidityView for DynView<'_> {
    fn bounds(&self, scid: ShortChannelId, direction: u8) -> Option<LiquidityBounds> {
        self.0.bounds(scid, direction)
    }
}

fn error_reply(id: Value, code: i32, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

const POSITIONAL: [&str; 8] = [
    "id",
    "amount_msat",
    "riskfactor",
    "cltv",
    "fromid",
    "fuzzpercent",
    "exclude",
    "maxhops",
];

fn invalid(param: &'static str, reason: &str) -> RouteError {
    RouteError::InvalidParams {
        param,
        reason: reason.into(),
    }
}

/// A parameter by name, or at its place in `positional` when the parameters are an array, as Core
/// Lightning accepts them; `null` counts as absent.
pub(crate) fn param<'a>(
    params: Option<&'a Value>,
    positional: &[&str],
    name: &str,
) -> Option<&'a Value> {
    match params {
        Some(Value::Object(map)) => map.get(name),
        Some(Value::Array(list)) => positional
            .iter()
            .position(|p| *p == name)
            .and_then(|i| list.get(i)),
        _ => None,
    }
    .filter(|v| !v.is_null())
}

/// A node id parameter: 33 bytes as hex.
pub(crate) fn node_id(value: Option<&Value>) -> Option<[u8; 33]> {
    value
        .and_then(Value::as_str)
        .and_then(|text| hex::decode(text).ok())
        .and_then(|bytes| bytes.try_into().ok())
}

/// Core Lightning's `getroute` parameters, by name or in its positional order.
pub fn parse_getroute(params: Option<&Value>) -> Result<GetRouteRequest, RouteError> {
    let get = |name: &'static str| param(params, &POSITIONAL, name);
    let node = |name: &'static str| -> Result<[u8; 33], RouteError> {
        node_id(get(name)).ok_or_else(|| invalid(name, "a node id (66 hex characters)"))
    };
    let id = node("id")?;
    let fromid = node("fromid")?;
    let amount_msat = get("amount_msat").and_then(parse_msat).ok_or_else(|| {
        invalid(
            "amount_msat",
            "a msat amount (number, or string with msat/sat/btc)",
        )
    })?;
    let riskfactor = get("riskfactor")
        .and_then(Value::as_f64)
        .filter(|r| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| invalid("riskfactor", "a non-negative number"))?;
    let mut request = GetRouteRequest::new(fromid, id, amount_msat, riskfactor);
    if let Some(cltv) = get("cltv") {
        request.cltv = cltv
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| invalid("cltv", "a 32-bit unsigned integer"))?;
    }
    if let Some(fuzz) = get("fuzzpercent") {
        request.fuzzpercent = fuzz
            .as_f64()
            .filter(|f| (0.0..=100.0).contains(f))
            .ok_or_else(|| invalid("fuzzpercent", "a number between 0 and 100"))?;
    }
    if let Some(exclude) = get("exclude") {
        let list = exclude
            .as_array()
            .ok_or_else(|| invalid("exclude", "an array of scid/direction or node ids"))?;
        request.exclude = list
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| invalid("exclude", "an array of strings"))?
                    .parse::<Exclusion>()
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(maxhops) = get("maxhops") {
        request.maxhops = maxhops
            .as_u64()
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(|| invalid("maxhops", "a 32-bit unsigned integer"))?;
    }
    Ok(request)
}

/// `1000`, `"1000msat"`, `"10sat"`, `"0.001btc"` → msat.
fn parse_msat(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let text = value.as_str()?;
    if let Some(n) = text.strip_suffix("msat") {
        return n.parse().ok();
    }
    if let Some(n) = text.strip_suffix("sat") {
        return n.parse::<u64>().ok()?.checked_mul(1000);
    }
    if let Some(n) = text.strip_suffix("btc") {
        let btc: f64 = n.parse().ok()?;
        let msat = (btc * 100_000_000_000.0).round();
        return (msat.is_finite() && msat >= 0.0 && msat < u64::MAX as f64).then_some(msat as u64);
    }
    text.parse().ok()
}

async fn rpc_handler(state: web::Data<Arc<RouterState>>, body: web::Bytes) -> HttpResponse {
    let request = match serde_json::from_slice::<Value>(&body) {
        Ok(request) => request,
        Err(error) => {
            return HttpResponse::Ok().json(error_reply(
                Value::Null,
                JSONRPC2_PARSE_ERROR,
                &format!("parse error: {error}"),
            ))
        }
    };
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .and_then(Method::from_name);
    if !method.is_some_and(Method::is_long) {
        return HttpResponse::Ok().json(state.handle(&request));
    }
    let state = Arc::clone(&state);
    let reply = web::block(move || state.handle(&request))
        .await
        .unwrap_or_else(|_| error_reply(Value::Null, JSONRPC2_INTERNAL_ERROR, "internal error"));
    HttpResponse::Ok().json(reply)
}

/// The running HTTP server; dropping it stops it.
pub struct ApiServer {
    local_addr: SocketAddr,
    handle: ServerHandle,
}

impl ApiServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Serves the JSON-RPC and REST API on `addr` from a task of the current tokio runtime.
pub fn serve(addr: SocketAddr, state: Arc<RouterState>) -> std::io::Result<ApiServer> {
    let listener = TcpListener::bind(addr)?;
    let local_addr = listener.local_addr()?;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/", web::post().to(rpc_handler))
            .route("/v1/getroute", web::post().to(rest::getroute))
            .route("/v1/getroutes", web::post().to(rest::getroutes))
    })
    // One worker per core: `getroute` runs on the workers (see `Method::is_long`).
    .workers(std::thread::available_parallelism().map_or(2, usize::from))
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(addr = %local_addr, "routing api listening");
    Ok(ApiServer { local_addr, handle })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_core_lightning_forms() {
        assert_eq!(parse_msat(&json!(1500)), Some(1500));
        assert_eq!(parse_msat(&json!("1500msat")), Some(1500));
        assert_eq!(parse_msat(&json!("15sat")), Some(15_000));
        assert_eq!(parse_msat(&json!("0.001btc")), Some(100_000_000));
        assert_eq!(parse_msat(&json!("-3sat")), None);
        assert_eq!(parse_msat(&json!("lots")), None);
    }

    #[test]
    fn parameters_by_name_and_by_position_agree() {
        let a = "02".to_owned() + &"11".repeat(32);
        let b = "03".to_owned() + &"22".repeat(32);
        let named = json!({"id": a, "amount_msat": "10sat", "riskfactor": 1, "fromid": b,
                           "cltv": 18, "exclude": ["103x1x0/1"], "maxhops": 5});
        let positional = json!([a, 10_000, 1.0, 18, b, null, ["103x1x0/1"], 5]);
        let by_name = parse_getroute(Some(&named)).unwrap();
        assert_eq!(by_name, parse_getroute(Some(&positional)).unwrap());
        assert_eq!(by_name.amount_msat, 10_000);
        assert_eq!(by_name.cltv, 18);
        assert_eq!(by_name.maxhops, 5);
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        let a = "02".to_owned() + &"11".repeat(32);
        for (params, name) in [
            (
                json!({"amount_msat": 1, "riskfactor": 1, "fromid": a}),
                "id",
            ),
            (
                json!({"id": a, "amount_msat": "x", "riskfactor": 1, "fromid": a}),
                "amount_msat",
            ),
            (
                json!({"id": a, "amount_msat": 1, "riskfactor": -1, "fromid": a}),
                "riskfactor",
            ),
            (
                json!({"id": a, "amount_msat": 1, "riskfactor": 1, "fromid": "zz"}),
                "fromid",
            ),
            (
                json!({"id": a, "amount_msat": 1, "riskfactor": 1, "fromid": a, "exclude": "x"}),
                "exclude",
            ),
        ] {
            let error = parse_getroute(Some(&params)).unwrap_err();
            assert_eq!(error.code(), -32602);
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
