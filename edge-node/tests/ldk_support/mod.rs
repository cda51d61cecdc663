//! An LDK node for interop tests: a `PeerManager` whose routing handler is a real
//! `P2PGossipSync` over a regtest `NetworkGraph`, keys from a `KeysManager`, no channel or onion
//! handling, connected to the edge with `lightning-net-tokio`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lightning::bitcoin::secp256k1::PublicKey;
use lightning::bitcoin::Network;
use lightning::ln::msgs::{ChannelAnnouncement, ChannelUpdate};
use lightning::ln::peer_handler::{
    ErroringMessageHandler, IgnoringMessageHandler, PeerDetails, PeerManager,
};
use lightning::routing::gossip::{NetworkGraph, P2PGossipSync};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{KeysManager, NodeSigner, Recipient};
use lightning::util::logger::{Level, Logger, Record};
use lightning::util::ser::LengthReadable;
use lightning_net_tokio::SocketDescriptor;
use tokio::task::JoinHandle;

/// Keeps LDK's log lines (debug and above) so a failing test can show what LDK thought.
#[derive(Default)]
pub struct CapturedLog {
    lines: Mutex<Vec<String>>,
}

impl CapturedLog {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn dump(&self) -> String {
        self.lines().join("\n")
    }
}

impl Logger for CapturedLog {
    fn log(&self, record: Record) {
        if record.level < Level::Debug {
            return;
        }
        let line = format!(
            "{} {}:{} {}",
            record.level, record.module_path, record.line, record.args
        );
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
    }
}

pub type Graph = NetworkGraph<Arc<CapturedLog>>;
pub type GossipSync =
    P2PGossipSync<Arc<Graph>, Arc<dyn UtxoLookup + Send + Sync>, Arc<CapturedLog>>;
pub type LdkPeerManager = PeerManager<
    SocketDescriptor,
    ErroringMessageHandler,
    Arc<GossipSync>,
    IgnoringMessageHandler,
    Arc<CapturedLog>,
    IgnoringMessageHandler,
    Arc<KeysManager>,
    IgnoringMessageHandler,
>;

/// A routing-only LDK node on regtest.
pub struct LdkNode {
    pub node_id: PublicKey,
    pub graph: Arc<Graph>,
    pub peer_manager: Arc<LdkPeerManager>,
    pub log: Arc<CapturedLog>,
    timers: JoinHandle<()>,
}

impl LdkNode {
    /// A node from `seed`; `tick` is how often `timer_tick_occurred` runs (each tick LDK pings
    /// every peer whose last ping was answered, and drops one that did not answer).
    pub fn start(seed: [u8; 32], tick: Duration) -> LdkNode {
        let log = Arc::new(CapturedLog::default());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let keys = Arc::new(KeysManager::new(
            &seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let node_id = keys
            .get_node_id(Recipient::Node)
            .expect("a KeysManager has a node id");
        let graph = Arc::new(NetworkGraph::new(Network::Regtest, log.clone()));
        // No chain source: announcements are taken without a funding-output check.
        let gossip_sync = Arc::new(P2PGossipSync::new(
            graph.clone(),
            None::<Arc<dyn UtxoLookup + Send + Sync>>,
            log.clone(),
        ));
        let ephemeral: [u8; 32] = secp256k1::rand::random();
        let peer_manager = Arc::new(PeerManager::new_routing_only(
            gossip_sync,
            u32::try_from(now.as_secs()).unwrap_or(u32::MAX),
            &ephemeral,
            log.clone(),
            keys,
        ));
        let timers = tokio::spawn(drive_timers(peer_manager.clone(), tick));
        LdkNode {
            node_id,
            graph,
            peer_manager,
            log,
            timers,
        }
    }

    /// Opens an outbound connection; the returned task ends when the connection does.
    pub async fn connect(&self, peer: PublicKey, addr: SocketAddr) -> JoinHandle<()> {
        let connection =
            lightning_net_tokio::connect_outbound(self.peer_manager.clone(), peer, addr)
                .await
                .expect("tcp connect to the edge");
        tokio::spawn(connection)
    }

    pub fn peer(&self, node_id: &PublicKey) -> Option<PeerDetails> {
        self.peer_manager.peer_by_node_id(node_id)
    }

    pub fn has_channel(&self, scid: u64) -> bool {
        self.graph.read_only().channels().get(&scid).is_some()
    }

    /// Whether LDK holds `scid` with both directions' updates.
    pub fn has_channel_with_both_updates(&self, scid: u64) -> bool {
        self.graph
            .read_only()
            .channels()
            .get(&scid)
            .is_some_and(|c| c.one_to_two.is_some() && c.two_to_one.is_some())
    }

    /// Puts a signed announcement and its updates (BOLT framed: type then payload) into the
    /// graph, as if LDK had learned them: they are stored signed, so LDK relays them.
    pub fn learn(&self, announcement: &[u8], updates: &[Vec<u8>]) {
        let announcement: ChannelAnnouncement = parse(announcement);
        self.graph
            .update_channel_from_announcement_no_lookup(&announcement)
            .unwrap_or_else(|e| panic!("LDK refuses the announcement: {e:?}"));
        for update in updates {
            let update: ChannelUpdate = parse(update);
            self.graph
                .update_channel(&update)
                .unwrap_or_else(|e| panic!("LDK refuses the update: {e:?}"));
        }
    }
}

impl Drop for LdkNode {
    fn drop(&mut self) {
        self.peer_manager.disconnect_all_peers();
        self.timers.abort();
    }
}

/// A BOLT framed message (u16 type, payload) read into LDK's type.
fn parse<T: LengthReadable>(framed: &[u8]) -> T {
    let mut payload = framed.get(2..).expect("a framed message has a type");
    T::read_from_fixed_length_buffer(&mut payload)
        .unwrap_or_else(|e| panic!("LDK cannot read the message: {e:?}"))
}

/// What an LDK user's background processor does: events often, timer ticks at `tick`.
async fn drive_timers(peer_manager: Arc<LdkPeerManager>, tick: Duration) {
    let step = Duration::from_millis(100);
    let steps_per_tick = (tick.as_millis() / step.as_millis()).max(1);
    let mut steps = 0u128;
    let mut interval = tokio::time::interval(step);
    loop {
        interval.tick().await;
        peer_manager.process_events();
        steps += 1;
        if steps.is_multiple_of(steps_per_tick) {
            peer_manager.timer_tick_occurred();
        }
    }
}
