//! An `EdgeNode` running in this process on a thread of its own (peer actors need an actix
//! system; the rest of a test or the cluster runs on tokio).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use lnfleet_actors::telemetry::{serve, Metrics, Readiness};
use lnfleet_edge::node::{EdgeConfig, EdgeNode};
use secp256k1::PublicKey;
use tokio::sync::oneshot;

/// Where a started edge can be reached.
#[derive(Debug, Clone)]
pub struct EdgeAddrs {
    pub node_id: PublicKey,
    pub listen: SocketAddr,
    pub telemetry: SocketAddr,
    pub rpc_file: Option<PathBuf>,
    pub rpc_http: Option<SocketAddr>,
}

/// A running edge; dropping it shuts the edge down (leases released, connections closed).
pub struct EdgeThread {
    pub edge_id: String,
    pub addrs: EdgeAddrs,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EdgeThread {
    /// Starts the edge and waits until it listens.
    pub async fn start(config: EdgeConfig) -> anyhow::Result<EdgeThread> {
        let edge_id = config.edge_id.clone();
        let (started_tx, started_rx) = oneshot::channel::<Result<EdgeAddrs, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("edge-{edge_id}"))
            .spawn(move || {
                actix::System::new().block_on(async move {
                    let started = async {
                        let metrics = Metrics::new("edge").map_err(|e| e.to_string())?;
                        let readiness = Readiness::new();
                        let telemetry = serve(
                            SocketAddr::from(([127, 0, 0, 1], 0)),
                            metrics.clone(),
                            readiness.clone(),
                        )
                        .map_err(|e| e.to_string())?;
                        let edge = EdgeNode::start(config, &metrics, &readiness)
                            .await
                            .map_err(|e| e.to_string())?;
                        Ok::<_, String>((edge, telemetry))
                    }
                    .await;
                    match started {
                        Ok((edge, telemetry)) => {
                            let addrs = EdgeAddrs {
                                node_id: edge.node_id(),
                                listen: edge.listen_addr(),
                                telemetry: telemetry.local_addr(),
                                rpc_file: edge.rpc_file().map(|p| p.to_owned()),
                                rpc_http: edge.http_rpc_addr(),
                            };
                            let _ = started_tx.send(Ok(addrs));
                            // Ignored error: a dropped sender means stop too.
                            let _ = stop_rx.await;
                            edge.shutdown(Duration::from_secs(10)).await;
                            drop(telemetry);
                        }
                        Err(error) => {
                            let _ = started_tx.send(Err(error));
                        }
                    }
                })
            })?;
        let addrs = started_rx
            .await
            .map_err(|_| anyhow::anyhow!("edge {edge_id} thread ended while starting"))?
            .map_err(|e| anyhow::anyhow!("edge {edge_id}: {e}"))?;
        Ok(EdgeThread {
            edge_id,
            addrs,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for EdgeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
