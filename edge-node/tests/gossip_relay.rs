//! The edge's relays against a real tansu broker: gossip from a peer lands on `ln.gossip.raw`
//! as a `RawGossip` carrying the exact bytes and the peer it came from; an unknown odd message
//! lands on `ln.custommsg` keyed by the peer.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use lnfleet_actors::contracts::{self, CustomMessage, RawGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Record, Subscriber};
use lnfleet_actors::topics;
use lnfleet_edge::custommsg::{CustomMessageRelay, CustomRelayError};
use lnfleet_edge::gossip::relay::GossipRelay;
use lnfleet_edge::hooks::{PeerCommand, PeerHandle, PeerInfo};
use lnfleet_tests::gossip::{public, secret, SignedChannel};
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::gossip::GossipTimestampFilter;
use lnfleet_wire::message::Message;
use lnfleet_wire::{ChainHash, ShortChannelId};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(60);

fn peer(byte: u8) -> (PeerHandle, mpsc::Receiver<PeerCommand>) {
    let (tx, rx) = mpsc::channel(64);
    let info = PeerInfo {
        peer_id: public(&secret(byte)),
        local_node_id: public(&secret(0x77)),
        connection_id: u64::from(byte),
        remote_addr: "127.0.0.1:9735".parse().unwrap(),
        inbound: true,
        their_features: Vec::new(),
        connected_at_ms: 0,
    };
    (PeerHandle::new(info, tx), rx)
}

async fn read_records(subscriber: &Subscriber, count: usize) -> Vec<Record> {
    let mut records = Vec::new();
    while records.len() < count {
        let record = tokio::time::timeout(WAIT, subscriber.next())
            .await
            .expect("records arrive in time")
            .expect("consumer works");
        records.push(record);
    }
    records
}

async fn broker_with_topics() -> (KafkaBroker, KafkaConfig) {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "edge-relay-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW, topics::CUSTOM_MESSAGES])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    (broker, config)
}

#[tokio::test]
async fn relayed_gossip_reaches_ln_gossip_raw_with_its_origin_and_exact_bytes() {
    let (_broker, config) = broker_with_topics().await;
    let publisher = Arc::new(Publisher::new(&config).unwrap());
    // A window of 2 with 4 messages: publish must wait for acks part of the time.
    let relay = GossipRelay::new(publisher, "edge-7", 2);
    let (handle, _rx) = peer(0x42);

    let channel = SignedChannel::from_seed(ShortChannelId::new(800_000, 5, 1).unwrap(), 0x10);
    let messages = vec![
        Message::ChannelAnnouncement(channel.announcement()),
        Message::ChannelUpdate(channel.update(0, 1_700_000_000, 1)),
        Message::ChannelUpdate(channel.update(1, 1_700_000_001, 1)),
        Message::NodeAnnouncement(channel.node_announcement(0, 1_700_000_002)),
    ];
    let mut sent = BTreeMap::new();
    for message in messages {
        let raw = message.encode();
        relay
            .publish(handle.peer_id(), &message, raw.clone())
            .await
            .expect("broadcast gossip is relayed");
        sent.insert(raw, message);
    }
    // Queries are not relayed.
    let not_broadcast = Message::GossipTimestampFilter(GossipTimestampFilter {
        chain_hash: ChainHash::BITCOIN,
        first_timestamp: 0,
        timestamp_range: 1,
    });
    assert!(relay
        .publish(handle.peer_id(), &not_broadcast, not_broadcast.encode())
        .await
        .is_err());
    relay.flush().await;
    assert_eq!(relay.stats().published.load(Ordering::Relaxed), 4);

    let subscriber = Subscriber::new(&config, "raw-reader", &[topics::GOSSIP_RAW.name]).unwrap();
    let records = read_records(&subscriber, 4).await;
    let mut channel_partitions = Vec::new();
    for record in records {
        let raw: RawGossip = contracts::decode(&record.payload.unwrap()).unwrap();
        assert_eq!(raw.edge_id, "edge-7");
        assert_eq!(raw.peer_id, handle.peer_id().serialize().to_vec());
        assert!(raw.received_at_ms > 1_700_000_000_000);
        let message = sent
            .remove(&raw.message)
            .expect("exact bytes of a sent message");
        let key = String::from_utf8(record.key.unwrap()).unwrap();
        match message {
            Message::NodeAnnouncement(ann) => assert_eq!(key, format!("n/{}", ann.node_id)),
            _ => {
                assert_eq!(key, "c/800000x5x1");
                channel_partitions.push(record.partition);
            }
        }
    }
    assert!(sent.is_empty());
    channel_partitions.dedup();
    assert_eq!(channel_partitions.len(), 1, "one channel, one partition");
}

#[tokio::test]
async fn custom_messages_reach_ln_custommsg_keyed_by_peer() {
    let (_broker, config) = broker_with_topics().await;
    let publisher = Arc::new(Publisher::new(&config).unwrap());
    let relay = CustomMessageRelay::new(publisher, "edge-3");
    let (handle, _rx) = peer(0x43);

    let custom = vec![0x80, 0x01, 0xde, 0xad];
    relay.publish(&handle, custom.clone()).await.unwrap();
    // A type the node handles itself is not a custom message.
    let pong = vec![0x00, 0x13, 0x00, 0x00];
    assert!(matches!(
        relay.publish(&handle, pong).await,
        Err(CustomRelayError::NotCustom(19))
    ));

    let subscriber =
        Subscriber::new(&config, "custom-reader", &[topics::CUSTOM_MESSAGES.name]).unwrap();
    let records = read_records(&subscriber, 1).await;
    let record = &records[0];
    assert_eq!(
        record.key.as_deref(),
        Some(hex::encode(handle.peer_id().serialize()).as_bytes())
    );
    let message: CustomMessage = contracts::decode(record.payload.as_deref().unwrap()).unwrap();
    assert_eq!(message.payload, custom);
    assert_eq!(message.edge_id, "edge-3");
    assert_eq!(message.peer_id, handle.peer_id().serialize().to_vec());
    assert_eq!(message.node_id, public(&secret(0x77)).serialize().to_vec());
}
