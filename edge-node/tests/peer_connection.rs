//! A peer actor driven end to end over loopback TCP: the remote side is the test crate's BOLT 8
//! `PeerConnection` with a local static key on both sides.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use lnfleet_actors::telemetry::Metrics;
use lnfleet_edge::hooks::{PeerHandle, PeerHooks, PeerInfo};
use lnfleet_edge::listener::{connect, serve};
use lnfleet_edge::peer::channels::CHANNELS_NOT_SUPPORTED;
use lnfleet_edge::peer::session::SessionConfig;
use lnfleet_edge::peer::{PeerConfig, PeerEnv};
use lnfleet_edge::peers::Peers;
use lnfleet_tests::peer::{NodeKey, PeerConnection, PeerError};
use lnfleet_wire::bolt1::{Init, Ping, Pong};
use lnfleet_wire::channel::{OpenChannel, UpdateFee};
use lnfleet_wire::features::Features;
use lnfleet_wire::gossip::{EncodedShortIds, GossipTimestampFilter, QueryShortChannelIds};
use lnfleet_wire::message::Message;
use lnfleet_wire::noise::{InitiatorHandshake, LocalStaticKey, StaticKeyEcdh, ACT_TWO_LEN};
use lnfleet_wire::tlv::TlvStream;
use lnfleet_wire::{ChainHash, ChannelId, ShortChannelId, WireMessage};
use secp256k1::{PublicKey, Secp256k1, SecretKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

const LIMIT: Duration = Duration::from_secs(5);

fn key(byte: u8) -> LocalStaticKey {
    LocalStaticKey::new(SecretKey::from_slice(&[byte; 32]).unwrap())
}

fn node_id(key: &LocalStaticKey) -> PublicKey {
    NodeKey::node_id(key)
}

fn point(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[byte; 32]).unwrap(),
    )
}

/// Hooks that report everything on channels; gossip waits for a permit when gated.
#[derive(Clone)]
struct RecordingHooks {
    connected: mpsc::UnboundedSender<PeerInfo>,
    gossip: mpsc::UnboundedSender<Vec<u8>>,
    custom: mpsc::UnboundedSender<Vec<u8>>,
    disconnected: mpsc::UnboundedSender<PeerInfo>,
    gossip_gate: Option<Arc<Semaphore>>,
}

struct Recorded {
    connected: mpsc::UnboundedReceiver<PeerInfo>,
    gossip: mpsc::UnboundedReceiver<Vec<u8>>,
    custom: mpsc::UnboundedReceiver<Vec<u8>>,
    disconnected: mpsc::UnboundedReceiver<PeerInfo>,
}

fn recording_hooks(gossip_gate: Option<Arc<Semaphore>>) -> (RecordingHooks, Recorded) {
    let (connected, connected_rx) = mpsc::unbounded_channel();
    let (gossip, gossip_rx) = mpsc::unbounded_channel();
    let (custom, custom_rx) = mpsc::unbounded_channel();
    let (disconnected, disconnected_rx) = mpsc::unbounded_channel();
    (
        RecordingHooks {
            connected,
            gossip,
            custom,
            disconnected,
            gossip_gate,
        },
        Recorded {
            connected: connected_rx,
            gossip: gossip_rx,
            custom: custom_rx,
            disconnected: disconnected_rx,
        },
    )
}

impl PeerHooks for RecordingHooks {
    fn on_connected(&self, peer: &PeerHandle, _their_init: &Init) -> BoxFuture<'static, ()> {
        let _ = self.connected.send(peer.info().clone());
        async {}.boxed()
    }

    fn on_gossip(
        &self,
        _peer: &PeerHandle,
        _message: Message,
        raw: Vec<u8>,
    ) -> BoxFuture<'static, ()> {
        let gate = self.gossip_gate.clone();
        let sink = self.gossip.clone();
        async move {
            if let Some(gate) = gate {
                if let Ok(permit) = gate.acquire().await {
                    permit.forget();
                }
            }
            let _ = sink.send(raw);
        }
        .boxed()
    }

    fn on_custom_message(&self, _peer: &PeerHandle, raw: Vec<u8>) -> BoxFuture<'static, ()> {
        let _ = self.custom.send(raw);
        async {}.boxed()
    }

    fn on_disconnected(&self, peer: &PeerInfo) {
        let _ = self.disconnected.send(peer.clone());
    }
}

struct Edge {
    key: LocalStaticKey,
    addr: SocketAddr,
    env: Arc<PeerEnv>,
    metrics: Metrics,
    recorded: Recorded,
}

fn test_config() -> PeerConfig {
    PeerConfig {
        session: SessionConfig {
            chain: ChainHash::REGTEST,
            ..SessionConfig::default()
        },
        ..PeerConfig::default()
    }
}

async fn start_edge(config: PeerConfig, gossip_gate: Option<Arc<Semaphore>>) -> Edge {
    let (hooks, recorded) = recording_hooks(gossip_gate);
    let metrics = Metrics::new("edge").unwrap();
    let env = PeerEnv::new(config, Arc::new(hooks), &metrics, Peers::new()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let key = key(1);
    actix::spawn(serve(env.clone(), Arc::new(key.clone()), listener));
    Edge {
        key,
        addr,
        env,
        metrics,
        recorded,
    }
}

fn remote_init() -> Init {
    Init::new(Features::new(), vec![ChainHash::REGTEST], None)
}

/// Dials the edge as `remote` and exchanges `init`.
async fn dial(edge: &Edge, remote: &LocalStaticKey) -> (PeerConnection, Init) {
    let mut conn = PeerConnection::connect(edge.addr, remote, node_id(&edge.key), LIMIT)
        .await
        .unwrap();
    let theirs = conn.exchange_init(&remote_init(), LIMIT).await.unwrap();
    (conn, theirs)
}

async fn recv(conn: &mut PeerConnection) -> Message {
    tokio::time::timeout(LIMIT, conn.recv())
        .await
        .expect("a message in time")
        .expect("a message")
}

/// Waits for the edge to close: `recv` ends with the connection closed (or reset).
async fn expect_closed(conn: &mut PeerConnection) {
    loop {
        match tokio::time::timeout(LIMIT, conn.recv()).await {
            Err(_) => panic!("the edge did not close the connection"),
            Ok(Ok(_)) => continue,
            Ok(Err(PeerError::Closed | PeerError::Io(_))) => return,
            Ok(Err(other)) => panic!("unexpected error {other}"),
        }
    }
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("an event")
}

fn metric(metrics: &Metrics, line_start: &str) -> Option<f64> {
    metrics
        .encode_text()
        .lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[actix::test]
async fn init_exchange_announces_our_features_and_chain_and_registers_the_peer() {
    let mut edge = start_edge(test_config(), None).await;
    let remote = key(2);
    let (conn, theirs) = dial(&edge, &remote).await;
    assert_eq!(
        theirs.combined_features().iter().collect::<Vec<_>>(),
        vec![7]
    );
    assert_eq!(theirs.networks, Some(vec![ChainHash::REGTEST]));
    let info = next(&mut edge.recorded.connected).await;
    assert_eq!(info.peer_id, node_id(&remote));
    assert_eq!(info.local_node_id, node_id(&edge.key));
    assert!(info.inbound);
    let listed = edge.env.peers.list();
    assert_eq!(listed, vec![info.clone()]);
    assert!(edge
        .env
        .peers
        .get(&info.local_node_id, &info.peer_id)
        .is_some());
    assert_eq!(
        metric(&edge.metrics, "lnfleet_edge_peers_connected"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &edge.metrics,
            "lnfleet_edge_peer_handshakes_total{outcome=\"ok\"}"
        ),
        Some(1.0)
    );
    conn.shutdown().await;
    let gone = next(&mut edge.recorded.disconnected).await;
    assert_eq!(gone.connection_id, info.connection_id);
    assert!(edge.env.peers.is_empty());
    assert_eq!(
        metric(&edge.metrics, "lnfleet_edge_peers_connected"),
        Some(0.0)
    );
}

#[actix::test]
async fn init_requiring_an_unknown_feature_gets_an_error_and_is_counted() {
    let edge = start_edge(test_config(), None).await;
    let mut conn = PeerConnection::connect(edge.addr, &key(2), node_id(&edge.key), LIMIT)
        .await
        .unwrap();
    let demanding = Init::new(Features::from_iter([200]), vec![ChainHash::REGTEST], None);
    conn.exchange_init(&demanding, LIMIT).await.unwrap();
    let Message::Error(error) = recv(&mut conn).await else {
        panic!("expected error");
    };
    assert!(error.is_connection_wide());
    expect_closed(&mut conn).await;
    let label = "lnfleet_edge_peer_handshakes_total{outcome=\"unknown_required_feature\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}

#[actix::test]
async fn ping_gets_a_pong_with_num_pong_bytes() {
    let edge = start_edge(test_config(), None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    conn.send(&Ping::new(100, 10).into()).await.unwrap();
    assert_eq!(recv(&mut conn).await, Message::Pong(Pong::new(100)));
}

#[actix::test]
async fn ping_asking_65532_bytes_gets_no_pong() {
    let edge = start_edge(test_config(), None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    conn.send(&Ping::new(65532, 0).into()).await.unwrap();
    conn.send(&Ping::new(3, 0).into()).await.unwrap();
    // The first answer is the second ping's: the first got none.
    assert_eq!(recv(&mut conn).await, Message::Pong(Pong::new(3)));
}

#[actix::test]
async fn unknown_odd_message_reaches_the_custom_hook_and_the_connection_stays() {
    let mut edge = start_edge(test_config(), None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    let custom = vec![0x80, 0x01, b'h', b'i'];
    conn.send_raw(&custom).await.unwrap();
    assert_eq!(next(&mut edge.recorded.custom).await, custom);
    conn.send(&Ping::new(1, 0).into()).await.unwrap();
    assert_eq!(recv(&mut conn).await, Message::Pong(Pong::new(1)));
}

#[actix::test]
async fn unknown_even_message_gets_an_error_and_closes() {
    let mut edge = start_edge(test_config(), None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    conn.send_raw(&[0x80, 0x00, 1, 2]).await.unwrap();
    let Message::Error(error) = recv(&mut conn).await else {
        panic!("expected error");
    };
    assert!(error.is_connection_wide());
    expect_closed(&mut conn).await;
    next(&mut edge.recorded.disconnected).await;
    let label = "lnfleet_edge_peer_disconnects_total{reason=\"unknown_even_message\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}

/// Runs the initiator handshake by hand so the test can write raw ciphertext.
async fn raw_connect(
    edge: &Edge,
    local: &LocalStaticKey,
) -> (TcpStream, lnfleet_wire::noise::Encryptor) {
    let mut stream = TcpStream::connect(edge.addr).await.unwrap();
    let mut handshake = InitiatorHandshake::new(node_id(local), node_id(&edge.key));
    stream
        .write_all(&handshake.act_one().unwrap())
        .await
        .unwrap();
    let mut act_two = [0u8; ACT_TWO_LEN];
    stream.read_exact(&mut act_two).await.unwrap();
    let needs = handshake.process_act_two(&act_two).unwrap();
    let secret = StaticKeyEcdh::ecdh(local, &needs.point).unwrap();
    let (act_three, done) = handshake.complete_act_two(secret).unwrap();
    stream.write_all(&act_three).await.unwrap();
    let (encryptor, _decryptor) = done.transport.split();
    (stream, encryptor)
}

#[actix::test]
async fn corrupted_mac_closes_the_connection() {
    let mut edge = start_edge(test_config(), None).await;
    let (mut stream, mut encryptor) = raw_connect(&edge, &key(2)).await;
    let init = encryptor.encrypt_message(&remote_init().encode()).unwrap();
    stream.write_all(&init).await.unwrap();
    next(&mut edge.recorded.connected).await;
    let mut ping = encryptor
        .encrypt_message(&Ping::new(1, 0).encode())
        .unwrap();
    let last = ping.len() - 1;
    ping[last] ^= 0x01;
    stream.write_all(&ping).await.unwrap();
    next(&mut edge.recorded.disconnected).await;
    // The edge's side is closed: reading drains what it sent (its init) and then ends.
    let mut sink = Vec::new();
    let read = tokio::time::timeout(LIMIT, stream.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "the socket was not closed");
    let label = "lnfleet_edge_peer_disconnects_total{reason=\"transport\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}

#[actix::test]
async fn keepalive_ping_arrives_and_a_peer_that_never_pongs_is_dropped() {
    let mut config = test_config();
    config.session.ping_interval = Duration::from_millis(100);
    config.session.pong_timeout = Duration::from_millis(300);
    let mut edge = start_edge(config, None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    let Message::Ping(ping) = recv(&mut conn).await else {
        panic!("expected a keepalive ping");
    };
    let pinged = tokio::time::Instant::now();
    assert_eq!(
        ping.num_pong_bytes,
        SessionConfig::default().keepalive_pong_bytes
    );
    // No pong: the edge drops us after the timeout, not before.
    expect_closed(&mut conn).await;
    assert!(pinged.elapsed() >= Duration::from_millis(250));
    next(&mut edge.recorded.disconnected).await;
    let label = "lnfleet_edge_peer_disconnects_total{reason=\"pong_timeout\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}

#[actix::test]
async fn a_peer_that_answers_keepalive_pings_stays_connected() {
    let mut config = test_config();
    config.session.ping_interval = Duration::from_millis(50);
    config.session.pong_timeout = Duration::from_millis(150);
    let edge = start_edge(config, None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    for _ in 0..8 {
        let Message::Ping(ping) = recv(&mut conn).await else {
            panic!("expected a keepalive ping");
        };
        let pong = ping.response().unwrap();
        conn.send(&pong.into()).await.unwrap();
    }
    assert_eq!(edge.env.peers.len(), 1);
}

fn open_channel(temporary_channel_id: ChannelId) -> OpenChannel {
    OpenChannel {
        chain_hash: ChainHash::REGTEST,
        temporary_channel_id,
        funding_satoshis: 1_000_000,
        push_msat: 0,
        dust_limit_satoshis: 546,
        max_htlc_value_in_flight_msat: 1 << 40,
        channel_reserve_satoshis: 10_000,
        htlc_minimum_msat: 1,
        feerate_per_kw: 253,
        to_self_delay: 144,
        max_accepted_htlcs: 483,
        funding_pubkey: point(11),
        revocation_basepoint: point(12),
        payment_basepoint: point(13),
        delayed_payment_basepoint: point(14),
        htlc_basepoint: point(15),
        first_per_commitment_point: point(16),
        channel_flags: OpenChannel::ANNOUNCE_CHANNEL,
        upfront_shutdown_script: None,
        channel_type: None,
        extra_tlvs: TlvStream::new(),
    }
}

#[actix::test]
async fn open_channel_gets_an_error_on_its_temporary_channel_id() {
    let edge = start_edge(test_config(), None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    let temporary = ChannelId([0x42; 32]);
    conn.send(&open_channel(temporary).into()).await.unwrap();
    let Message::Error(error) = recv(&mut conn).await else {
        panic!("expected error");
    };
    assert_eq!(error.channel_id, temporary);
    assert_eq!(error.text(), CHANNELS_NOT_SUPPORTED);
    // A message for a channel we do not have: an error for it, and the connection stays.
    let unknown = ChannelId([0x43; 32]);
    let fee = UpdateFee {
        channel_id: unknown,
        feerate_per_kw: 253,
        extra_tlvs: TlvStream::new(),
    };
    conn.send(&fee.into()).await.unwrap();
    let Message::Error(error) = recv(&mut conn).await else {
        panic!("expected error");
    };
    assert_eq!(error.channel_id, unknown);
    conn.send(&Ping::new(2, 0).into()).await.unwrap();
    assert_eq!(recv(&mut conn).await, Message::Pong(Pong::new(2)));
}

fn timestamp_filter(first_timestamp: u32) -> GossipTimestampFilter {
    GossipTimestampFilter {
        chain_hash: ChainHash::REGTEST,
        first_timestamp,
        timestamp_range: u32::MAX,
    }
}

#[actix::test]
async fn gossip_reaches_the_gossip_hook_with_its_exact_bytes() {
    let mut edge = start_edge(test_config(), None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    let raw = timestamp_filter(7).encode();
    conn.send_raw(&raw).await.unwrap();
    assert_eq!(next(&mut edge.recorded.gossip).await, raw);
}

/// A query of `ids` short channel ids: big messages, to fill socket buffers quickly.
fn big_query(ids: u64) -> Vec<u8> {
    QueryShortChannelIds {
        chain_hash: ChainHash::REGTEST,
        short_ids: EncodedShortIds((1..=ids).map(ShortChannelId).collect()),
        query_flags: None,
        extra_tlvs: TlvStream::new(),
    }
    .encode()
}

#[actix::test]
async fn a_slow_gossip_hook_stops_reading_from_the_peer() {
    let gate = Arc::new(Semaphore::new(0));
    let mut edge = start_edge(test_config(), Some(gate.clone())).await;
    let (conn, _) = dial(&edge, &key(2)).await;
    let (_reader, mut writer) = conn.into_split();
    let message = big_query(8000); // ~64 KB
    const SENT: usize = 120; // ~7.7 MB, beyond what loopback buffers hold for an idle reader
    let sender = actix::spawn(async move {
        for _ in 0..SENT {
            writer.send_raw(&message).await.unwrap();
            // One runtime thread runs both sides: let the edge run between writes.
            tokio::task::yield_now().await;
        }
        writer
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The hook is blocked on its first message: the edge has read exactly that one, and the
    // sender is stuck because nothing drains the socket.
    let label = "lnfleet_edge_peer_messages_received_total{message=\"query_short_channel_ids\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
    assert!(edge.recorded.gossip.try_recv().is_err());
    assert!(!sender.is_finished(), "the peer could write everything");
    gate.add_permits(SENT);
    for _ in 0..SENT {
        next(&mut edge.recorded.gossip).await;
    }
    let _writer = tokio::time::timeout(LIMIT, sender).await.unwrap().unwrap();
    assert_eq!(metric(&edge.metrics, label), Some(SENT as f64));
}

#[actix::test]
async fn a_second_connection_from_the_same_peer_replaces_the_first() {
    let mut edge = start_edge(test_config(), None).await;
    let remote = key(2);
    let (mut first, _) = dial(&edge, &remote).await;
    let first_info = next(&mut edge.recorded.connected).await;
    let (mut second, _) = dial(&edge, &remote).await;
    let second_info = next(&mut edge.recorded.connected).await;
    assert_ne!(first_info.connection_id, second_info.connection_id);
    expect_closed(&mut first).await;
    let gone = next(&mut edge.recorded.disconnected).await;
    assert_eq!(gone.connection_id, first_info.connection_id);
    let live = edge.env.peers.list();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].connection_id, second_info.connection_id);
    second.send(&Ping::new(4, 0).into()).await.unwrap();
    assert_eq!(recv(&mut second).await, Message::Pong(Pong::new(4)));
}

#[actix::test]
async fn connect_dials_a_peer_and_runs_the_same_session() {
    let edge = start_edge(test_config(), None).await;
    let remote = key(3);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let remote_addr = listener.local_addr().unwrap();
    let remote_side = actix::spawn({
        let remote = remote.clone();
        async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut conn = PeerConnection::accept(stream, &remote, LIMIT)
                .await
                .unwrap();
            conn.exchange_init(&remote_init(), LIMIT).await.unwrap();
            conn.send(&Ping::new(9, 0).into()).await.unwrap();
            recv(&mut conn).await
        }
    });
    let handle = connect(&edge.env, &edge.key, node_id(&remote), remote_addr)
        .await
        .unwrap();
    assert!(!handle.info().inbound);
    assert_eq!(handle.peer_id(), node_id(&remote));
    let answer = tokio::time::timeout(LIMIT, remote_side)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, Message::Pong(Pong::new(9)));
}

#[actix::test]
async fn a_command_through_the_handle_reaches_the_peer_and_disconnect_notifies() {
    let edge = start_edge(test_config(), None).await;
    let remote = key(2);
    let (mut conn, _) = dial(&edge, &remote).await;
    let handle = loop {
        if let Some(handle) = edge.env.peers.get(&node_id(&edge.key), &node_id(&remote)) {
            break handle;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let custom = vec![0x80, 0x03, 9];
    handle.send(custom.clone()).await.unwrap();
    assert_eq!(recv(&mut conn).await.encode(), custom);
    handle.disconnect("maintenance", true).await.unwrap();
    let Message::Warning(warning) = recv(&mut conn).await else {
        panic!("expected warning");
    };
    assert_eq!(warning.text(), "maintenance");
    expect_closed(&mut conn).await;
}

#[actix::test]
async fn a_hook_blocking_longer_than_the_pong_timeout_does_not_drop_the_peer() {
    let mut config = test_config();
    config.session.ping_interval = Duration::from_millis(50);
    config.session.pong_timeout = Duration::from_millis(150);
    let gate = Arc::new(Semaphore::new(0));
    let mut edge = start_edge(config, Some(gate.clone())).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    let Message::Ping(ping) = recv(&mut conn).await else {
        panic!("expected a keepalive ping");
    };
    // The gossip blocks the reader before it can read our pong.
    conn.send_raw(&timestamp_filter(1).encode()).await.unwrap();
    conn.send(&ping.response().unwrap().into()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(edge.recorded.disconnected.try_recv().is_err());
    gate.add_permits(1);
    next(&mut edge.recorded.gossip).await;
    let Message::Ping(ping) = recv(&mut conn).await else {
        panic!("expected the next keepalive ping");
    };
    conn.send(&ping.response().unwrap().into()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(edge.recorded.disconnected.try_recv().is_err());
    assert_eq!(edge.env.peers.len(), 1);
}

#[actix::test]
async fn many_queued_messages_arrive_in_order() {
    let edge = start_edge(test_config(), None).await;
    let remote = key(2);
    let (mut conn, _) = dial(&edge, &remote).await;
    let handle = loop {
        if let Some(handle) = edge.env.peers.get(&node_id(&edge.key), &node_id(&remote)) {
            break handle;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let sent: Vec<Vec<u8>> = (0..500u16)
        .map(|i| {
            let mut framed = vec![0x80, 0x05];
            framed.extend_from_slice(&i.to_be_bytes());
            framed
        })
        .collect();
    let sender = {
        let sent = sent.clone();
        actix::spawn(async move {
            for framed in sent {
                handle.send(framed).await.unwrap();
            }
        })
    };
    for expected in &sent {
        assert_eq!(&recv(&mut conn).await.encode(), expected);
    }
    sender.await.unwrap();
    let label = "lnfleet_edge_peer_messages_sent_total{message=\"unknown_odd\"}";
    assert_eq!(metric(&edge.metrics, label), Some(500.0));
}

#[actix::test]
async fn a_handshake_that_never_comes_times_out_and_is_counted() {
    let mut config = test_config();
    config.handshake_timeout = Duration::from_millis(100);
    let edge = start_edge(config, None).await;
    let mut silent = TcpStream::connect(edge.addr).await.unwrap();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(LIMIT, silent.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "the edge kept a silent connection");
    let label = "lnfleet_edge_peer_handshakes_total{outcome=\"timeout\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}

#[actix::test]
async fn init_without_our_chain_gets_a_warning_and_closes() {
    let edge = start_edge(test_config(), None).await;
    let mut conn = PeerConnection::connect(edge.addr, &key(2), node_id(&edge.key), LIMIT)
        .await
        .unwrap();
    let mainnet_only = Init::new(Features::new(), vec![ChainHash::BITCOIN], None);
    conn.exchange_init(&mainnet_only, LIMIT).await.unwrap();
    assert!(matches!(recv(&mut conn).await, Message::Warning(_)));
    expect_closed(&mut conn).await;
    let label = "lnfleet_edge_peer_handshakes_total{outcome=\"no_common_chain\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}

#[actix::test]
async fn a_ping_flood_closes_the_connection() {
    let mut config = test_config();
    config.session.max_pings_per_window = 5;
    let mut edge = start_edge(config, None).await;
    let (mut conn, _) = dial(&edge, &key(2)).await;
    for _ in 0..6 {
        conn.send(&Ping::new(1, 0).into()).await.unwrap();
    }
    for _ in 0..5 {
        assert_eq!(recv(&mut conn).await, Message::Pong(Pong::new(1)));
    }
    assert!(matches!(recv(&mut conn).await, Message::Warning(_)));
    expect_closed(&mut conn).await;
    next(&mut edge.recorded.disconnected).await;
    let label = "lnfleet_edge_peer_disconnects_total{reason=\"ping_flood\"}";
    assert_eq!(metric(&edge.metrics, label), Some(1.0));
}
