use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// Status code and body of one HTTP/1.1 GET, over a fresh connection.
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Whether connecting to `addr` is refused, retrying briefly while the accept thread exits.
async fn refuses_connections(addr: SocketAddr) -> bool {
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[tokio::test]
async fn endpoints_answer_over_http_and_stop_closes_the_port(
) -> Result<(), Box<dyn std::error::Error>> {
    let metrics = Metrics::new("edge")?;
    let connections = metrics.counter("peer_connections_total", "peer connections accepted")?;
    connections.inc_by(7);
    let readiness = Readiness::new();
    let replay = readiness.declare("graph_replay");
    readiness.set_ready("redis");

    let server = serve(loopback(), metrics.clone(), readiness.clone())?;
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    let (status, body) = get(addr, "/healthz").await?;
    assert_eq!((status, body.as_str()), (200, "ok"));

    let (status, body) = get(addr, "/readyz").await?;
    assert_eq!(status, 503);
    let report: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(report["ready"], false);
    assert_eq!(report["failing"], serde_json::json!(["graph_replay"]));

    replay.set_ready();
    let (status, body) = get(addr, "/readyz").await?;
    assert_eq!(status, 200);
    let report: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(report["ready"], true);
    assert_eq!(report["failing"], serde_json::json!([]));

    let (status, body) = get(addr, "/metrics").await?;
    assert_eq!(status, 200);
    assert!(body.contains("# TYPE lnfleet_edge_peer_connections_total counter"));
    assert!(body.contains("lnfleet_edge_peer_connections_total 7"));

    let (status, _) = get(addr, "/nope").await?;
    assert_eq!(status, 404);

    server.stop().await;
    assert!(TcpStream::connect(addr).await.is_err());
    Ok(())
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() -> Result<(), Box<dyn std::error::Error>> {
    let server = serve(loopback(), Metrics::new("hsm")?, Readiness::new())?;
    let addr = server.local_addr();
    assert_eq!(get(addr, "/healthz").await?.0, 200);
    drop(server);
    assert!(refuses_connections(addr).await);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_from_a_multi_threaded_runtime() -> Result<(), Box<dyn std::error::Error>> {
    let server = serve(loopback(), Metrics::new("gossip")?, Readiness::new())?;
    let (status, body) = get(server.local_addr(), "/readyz").await?;
    assert_eq!(status, 200, "no checks means ready: {body}");
    server.stop().await;
    Ok(())
}

#[test]
fn serve_outside_a_runtime_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
    let result = serve(loopback(), Metrics::new("edge")?, Readiness::new());
    assert!(matches!(result, Err(ServeError::NoRuntime)));
    Ok(())
}

#[tokio::test]
async fn binding_a_taken_port_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
    let first = serve(loopback(), Metrics::new("edge")?, Readiness::new())?;
    let second = serve(first.local_addr(), Metrics::new("edge")?, Readiness::new());
    assert!(matches!(second, Err(ServeError::Bind { .. })));
    first.stop().await;
    Ok(())
}
