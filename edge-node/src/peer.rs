//! One actix actor per peer connection.
//!
//! After the handshake and the `init` exchange ([`establish`]), a connection is three parts:
//! - a **reader task** that reads one message, asks the actor what to do with it, carries that
//!   out (queue replies, await the gossip or custom-message hook) and only then reads the next:
//!   a slow hook stops reading from the socket, which is the backpressure to the peer;
//! - the **actor**, owning the sans-IO [`session::Session`] (ping rules, keepalive, channel
//!   dispatch) and the keepalive timer;
//! - a **writer task** draining the connection's bounded command queue (the [`PeerHandle`]'s),
//!   so everything written to the peer, ours or the edge's, goes through one bounded queue.
//!
//! Runtime: peer actors run inside an actix `System` (the edge's `main` is one, since its RPC is
//! actix-web; tests use `#[actix::test]`). Everything else talks to a connection through its
//! [`PeerHandle`] (a tokio mpsc, usable from any runtime) and the [`Peers`] registry, so plain
//! tokio code never needs actix. [`establish`] refuses with [`EstablishError::NoActixSystem`]
//! rather than panic when called outside one.

pub mod channels;
pub mod session;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use lnfleet_actors::telemetry::{Metrics, MetricsError};
use lnfleet_wire::bolt1::{Init, Warning};
use lnfleet_wire::message::type_name;
use lnfleet_wire::WireMessage;
use prometheus::{IntCounter, IntCounterVec, IntGauge};
use secp256k1::PublicKey;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::hooks::{PeerCommand, PeerHandle, PeerHooks, PeerInfo};
use crate::peers::Peers;
use crate::transport::{PeerConnection, PeerError, PeerReader, PeerWriter};
use session::{Action, CloseReason, Session, SessionConfig};

/// How every connection of an edge behaves.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    pub session: SessionConfig,
    /// The BOLT 8 handshake must finish within this.
    pub handshake_timeout: Duration,
    /// The peer's `init` must arrive within this after the handshake.
    pub init_timeout: Duration,
    /// Capacity of each connection's outbound queue, in messages (each up to 64 KiB, so this
    /// bounds per-peer memory at about 16 MiB by default).
    pub outbound_queue: usize,
    /// Inbound handshakes in progress at once; the accept loop waits beyond it.
    pub max_pending_handshakes: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            session: SessionConfig::default(),
            handshake_timeout: Duration::from_secs(10),
            init_timeout: Duration::from_secs(10),
            outbound_queue: 256,
            max_pending_handshakes: 256,
        }
    }
}

/// The peer layer's metrics (`lnfleet_<service>_...`).
#[derive(Clone)]
pub struct PeerMetrics {
    pub peers_connected: IntGauge,
    /// `outcome` is `ok` or why the handshake or `init` failed.
    pub handshakes: IntCounterVec,
    pub disconnects: IntCounterVec,
    pub messages_received: IntCounterVec,
    pub messages_sent: IntCounterVec,
    pub received_bytes: IntCounter,
    pub sent_bytes: IntCounter,
    /// Messages waiting in outbound queues, all connections together (sampled by the writers).
    pub outbound_queued: IntGauge,
}

impl PeerMetrics {
    pub fn new(metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(PeerMetrics {
            peers_connected: metrics.gauge("peers_connected", "live peer connections")?,
            handshakes: metrics.counter_vec(
                "peer_handshakes_total",
                "handshake and init exchanges by outcome",
                &["outcome"],
            )?,
            disconnects: metrics.counter_vec(
                "peer_disconnects_total",
                "closed connections by reason",
                &["reason"],
            )?,
            messages_received: metrics.counter_vec(
                "peer_messages_received_total",
                "messages received from peers by type",
                &["message"],
            )?,
            messages_sent: metrics.counter_vec(
                "peer_messages_sent_total",
                "messages sent to peers by type",
                &["message"],
            )?,
            received_bytes: metrics.counter(
                "peer_received_bytes_total",
                "decrypted message bytes received from peers",
            )?,
            sent_bytes: metrics.counter(
                "peer_sent_bytes_total",
                "message bytes sent to peers before encryption",
            )?,
            outbound_queued: metrics.gauge(
                "peer_outbound_queued_messages",
                "messages waiting in peer outbound queues",
            )?,
        })
    }
}

/// A bounded metric label for a framed message.
pub fn message_label(raw: &[u8]) -> &'static str {
    match lnfleet_wire::message::peek_type(raw) {
        Ok(msg_type) => type_name(msg_type).unwrap_or(if msg_type % 2 == 1 {
            "unknown_odd"
        } else {
            "unknown_even"
        }),
        Err(_) => "malformed",
    }
}

/// What every connection of an edge shares: one per edge process, for all its local node ids
/// ([`PeerEnv::new`] registers the metrics, so a second one on the same [`Metrics`] fails; build
/// the struct directly to share a [`PeerMetrics`]).
///
/// Hooks see `on_connected` first from the connection's reader, and `on_disconnected` once when
/// the actor stops; a connection closed within moments of starting may get `on_disconnected`
/// without `on_connected`.
pub struct PeerEnv {
    pub config: PeerConfig,
    pub hooks: Arc<dyn PeerHooks>,
    pub metrics: PeerMetrics,
    pub peers: Peers,
}

impl PeerEnv {
    pub fn new(
        config: PeerConfig,
        hooks: Arc<dyn PeerHooks>,
        metrics: &Metrics,
        peers: Peers,
    ) -> Result<Arc<Self>, MetricsError> {
        Ok(Arc::new(PeerEnv {
            config,
            hooks,
            metrics: PeerMetrics::new(metrics)?,
            peers,
        }))
    }
}

/// Why a connection did not become a live peer.
#[derive(Debug, thiserror::Error)]
pub enum EstablishError {
    #[error(transparent)]
    Transport(#[from] PeerError),
    #[error("init refused: {0}")]
    Rejected(CloseReason),
    #[error("peer actors need an actix system on this thread")]
    NoActixSystem,
}

impl EstablishError {
    /// A bounded metric label.
    pub fn label(&self) -> &'static str {
        match self {
            EstablishError::Transport(PeerError::Io(_)) => "io",
            EstablishError::Transport(PeerError::Handshake(_)) => "handshake",
            EstablishError::Transport(PeerError::Transport(_)) => "transport",
            EstablishError::Transport(PeerError::Decode(_)) => "malformed_init",
            EstablishError::Transport(PeerError::Timeout(_)) => "timeout",
            EstablishError::Transport(PeerError::Closed) => "closed",
            EstablishError::Transport(PeerError::NoInit(_)) => "no_init",
            EstablishError::Rejected(reason) => reason.label(),
            EstablishError::NoActixSystem => "no_actix_system",
        }
    }
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Exchanges `init` on a handshaken connection, applies BOLT 1's `init` rules, registers the
/// connection (replacing an older one with the same peer) and starts its actor.
pub async fn establish(
    env: &Arc<PeerEnv>,
    mut conn: PeerConnection,
    local_node_id: PublicKey,
    remote_addr: SocketAddr,
    inbound: bool,
) -> Result<PeerHandle, EstablishError> {
    if actix::Arbiter::try_current().is_none() {
        return Err(EstablishError::NoActixSystem);
    }
    let config = &env.config.session;
    let theirs = conn
        .exchange_init(&Session::our_init(config), env.config.init_timeout)
        .await?;
    if let Err(rejection) = Session::check_their_init(config, &theirs) {
        let _ = conn.send_raw(&rejection.farewell).await;
        conn.shutdown().await;
        return Err(EstablishError::Rejected(rejection.reason));
    }
    let (commands, queue) = mpsc::channel(env.config.outbound_queue.max(1));
    let info = PeerInfo {
        peer_id: conn.remote_node_id(),
        local_node_id,
        connection_id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        remote_addr,
        inbound,
        their_features: theirs.combined_features().to_wire_bytes(),
        connected_at_ms: now_ms(),
    };
    let handle = PeerHandle::new(info, commands);
    if let Some(older) = env.peers.insert(handle.clone()) {
        tracing::info!(
            peer = %older.peer_id(),
            old_connection = older.connection_id(),
            new_connection = handle.connection_id(),
            "newer connection replaces the older one"
        );
        actix::spawn(async move {
            let _ = older
                .disconnect("replaced by a newer connection", false)
                .await;
        });
    }
    let (reader, writer) = conn.into_split();
    let actor = PeerActor {
        env: env.clone(),
        session: Session::new(config.clone(), tokio::time::Instant::now().into_std()),
        handle: handle.clone(),
        pending: Some(Pending {
            reader,
            writer,
            queue,
            their_init: theirs,
        }),
        tasks: Vec::new(),
        close_reason: None,
        reader_in_hook: None,
    };
    actor.start();
    Ok(handle)
}

/// The halves handed to the tasks when the actor starts.
struct Pending {
    reader: PeerReader,
    writer: PeerWriter,
    queue: mpsc::Receiver<PeerCommand>,
    their_init: Init,
}

/// Owns one connection's session and keepalive.
struct PeerActor {
    env: Arc<PeerEnv>,
    session: Session,
    handle: PeerHandle,
    pending: Option<Pending>,
    tasks: Vec<JoinHandle<()>>,
    close_reason: Option<CloseReason>,
    /// Since when the reader awaits a hook, reading nothing, pongs included: keepalive pauses.
    reader_in_hook: Option<std::time::Instant>,
}

/// The reader task finished the hooks of its last message and reads on.
#[derive(Message)]
#[rtype(result = "()")]
struct HooksDone;

/// A framed message the reader task received; the reply is what the reader must do with it.
#[derive(Message)]
#[rtype(result = "Vec<Action>")]
struct Received(Vec<u8>);

/// The reader or writer task ended; the connection is over.
#[derive(Message)]
#[rtype(result = "()")]
struct TaskEnded(CloseReason);

impl Actor for PeerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let info = self.handle.info();
        tracing::info!(
            peer = %info.peer_id,
            local = %info.local_node_id,
            connection = info.connection_id,
            inbound = info.inbound,
            addr = %info.remote_addr,
            "peer connected"
        );
        self.env.metrics.peers_connected.inc();
        let Some(pending) = self.pending.take() else {
            ctx.stop();
            return;
        };
        let addr = ctx.address();
        self.tasks.push(actix::spawn(write_loop(
            pending.writer,
            pending.queue,
            addr.clone(),
            self.env.metrics.clone(),
        )));
        self.tasks.push(actix::spawn(read_loop(
            pending.reader,
            addr,
            self.handle.clone(),
            self.env.clone(),
            pending.their_init,
        )));
        let config = self.session.config();
        let tick = (config.ping_interval.min(config.pong_timeout) / 4)
            .clamp(Duration::from_millis(5), Duration::from_secs(1));
        ctx.run_interval(tick, |actor, ctx| actor.keepalive(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        let info = self.handle.info();
        let reason = self
            .close_reason
            .take()
            .unwrap_or(CloseReason::Requested("actor stopped".into()));
        self.env.metrics.peers_connected.dec();
        self.env
            .metrics
            .disconnects
            .with_label_values(&[reason.label()])
            .inc();
        self.env
            .peers
            .remove(&info.local_node_id, &info.peer_id, info.connection_id);
        tracing::info!(
            peer = %info.peer_id,
            connection = info.connection_id,
            reason = %reason,
            "peer disconnected"
        );
        self.env.hooks.on_disconnected(info);
    }
}

impl PeerActor {
    fn note_close(&mut self, reason: CloseReason) {
        if self.close_reason.is_none() {
            self.close_reason = Some(reason);
        }
    }

    fn keepalive(&mut self, ctx: &mut Context<Self>) {
        if self.reader_in_hook.is_some() {
            return;
        }
        let now = tokio::time::Instant::now().into_std();
        for action in self.session.on_tick(now) {
            match action {
                // A full queue means the peer is not draining what we send: the ping is dropped
                // but still awaited, so such a peer times out like a silent one.
                Action::Send(framed) => {
                    let _ = self.handle.try_send(framed);
                }
                Action::Close(reason) => {
                    tracing::info!(connection = self.handle.connection_id(), reason = %reason, "closing");
                    self.note_close(reason);
                    ctx.stop();
                }
                Action::Gossip { .. } | Action::Custom(_) => {}
            }
        }
    }
}

impl Handler<Received> for PeerActor {
    type Result = Vec<Action>;

    fn handle(&mut self, Received(raw): Received, _ctx: &mut Self::Context) -> Vec<Action> {
        let metrics = &self.env.metrics;
        metrics
            .messages_received
            .with_label_values(&[message_label(&raw)])
            .inc();
        metrics.received_bytes.inc_by(raw.len() as u64);
        let now = tokio::time::Instant::now().into_std();
        let actions = self.session.on_received(raw, now);
        if let Some(reason) = actions.iter().find_map(|action| match action {
            Action::Close(reason) => Some(reason.clone()),
            _ => None,
        }) {
            tracing::info!(connection = self.handle.connection_id(), reason = %reason, "closing");
            self.note_close(reason);
        }
        if actions
            .iter()
            .any(|action| matches!(action, Action::Gossip { .. } | Action::Custom(_)))
        {
            self.reader_in_hook = Some(now);
        }
        actions
    }
}

impl Handler<HooksDone> for PeerActor {
    type Result = ();

    fn handle(&mut self, _: HooksDone, _ctx: &mut Self::Context) {
        if let Some(since) = self.reader_in_hook.take() {
            let now = tokio::time::Instant::now().into_std();
            self.session
                .reading_paused_for(now.saturating_duration_since(since));
        }
    }
}

impl Handler<TaskEnded> for PeerActor {
    type Result = ();

    fn handle(&mut self, TaskEnded(reason): TaskEnded, ctx: &mut Self::Context) {
        self.note_close(reason);
        ctx.stop();
    }
}

fn close_reason_for(error: PeerError) -> CloseReason {
    match error {
        PeerError::Closed => CloseReason::PeerClosed,
        PeerError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            CloseReason::PeerClosed
        }
        other => CloseReason::Transport(other.to_string()),
    }
}

/// Reads one message at a time and finishes handling it (replies queued, hooks awaited) before
/// reading the next.
async fn read_loop(
    mut reader: PeerReader,
    actor: Addr<PeerActor>,
    handle: PeerHandle,
    env: Arc<PeerEnv>,
    their_init: Init,
) {
    env.hooks.on_connected(&handle, &their_init).await;
    loop {
        let raw = match reader.recv_raw().await {
            Ok(raw) => raw,
            Err(error) => {
                actor.do_send(TaskEnded(close_reason_for(error)));
                return;
            }
        };
        let Ok(actions) = actor.send(Received(raw)).await else {
            return;
        };
        let mut ran_hook = false;
        for action in actions {
            match action {
                Action::Send(framed) => {
                    if handle.send(framed).await.is_err() {
                        return;
                    }
                }
                Action::Gossip { message, raw } => {
                    env.hooks.on_gossip(&handle, *message, raw).await;
                    ran_hook = true;
                }
                Action::Custom(raw) => {
                    env.hooks.on_custom_message(&handle, raw).await;
                    ran_hook = true;
                }
                Action::Close(reason) => {
                    // Through the queue, so replies queued before are written first.
                    let _ = handle.disconnect(reason.to_string(), false).await;
                    return;
                }
            }
        }
        if ran_hook {
            actor.do_send(HooksDone);
        }
    }
}

/// At most this many queued messages, or about this many bytes, go out in one write.
const MAX_BATCH_MESSAGES: usize = 64;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Writes queued messages in order, batching what is already queued; a `Disconnect` flushes, closes and ends the connection.
async fn write_loop(
    mut writer: PeerWriter,
    mut queue: mpsc::Receiver<PeerCommand>,
    actor: Addr<PeerActor>,
    metrics: PeerMetrics,
) {
    let mut share = QueuedShare {
        gauge: metrics.outbound_queued.clone(),
        reported: 0,
    };
    // A Disconnect met while gathering a batch waits here for its turn.
    let mut held: Option<PeerCommand> = None;
    let end = loop {
        let command = match held.take() {
            Some(command) => command,
            None => match queue.recv().await {
                Some(command) => command,
                None => break CloseReason::Requested("every handle dropped".into()),
            },
        };
        match command {
            PeerCommand::Send(first) => {
                // Whatever else is already queued goes out in the same write.
                let mut batch_bytes = first.len();
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH_MESSAGES && batch_bytes < MAX_BATCH_BYTES {
                    match queue.try_recv() {
                        Ok(PeerCommand::Send(framed)) => {
                            batch_bytes += framed.len();
                            batch.push(framed);
                        }
                        Ok(other) => {
                            held = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                share.report(queue.len() as i64);
                let slices: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                if let Err(error) = writer.send_batch(&slices).await {
                    break close_reason_for(error);
                }
                for framed in &batch {
                    metrics
                        .messages_sent
                        .with_label_values(&[message_label(framed)])
                        .inc();
                }
                metrics.sent_bytes.inc_by(batch_bytes as u64);
            }
            PeerCommand::Disconnect { reason, notify } => {
                if notify {
                    let warning = Warning::connection_wide(&reason).encode();
                    let _ = writer.send_raw(&warning).await;
                }
                writer.shutdown().await;
                break CloseReason::Requested(reason);
            }
        }
    };
    drop(share);
    actor.do_send(TaskEnded(end));
}

/// This writer's share of the outbound-queue gauge, given back however the writer ends (an
/// aborted task included).
struct QueuedShare {
    gauge: IntGauge,
    reported: i64,
}

impl QueuedShare {
    fn report(&mut self, depth: i64) {
        self.gauge.add(depth - self.reported);
        self.reported = depth;
    }
}

impl Drop for QueuedShare {
    fn drop(&mut self) {
        self.gauge.sub(self.reported);
    }
}
