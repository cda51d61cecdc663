//! The cluster's backbones, for real: a tansu broker and a redis-server on loopback, driven
//! through lnfleet-actors' adapters.

use std::time::Duration;

use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher, Subscriber};
use lnfleet_actors::{redis as lnredis, topics};
use lnfleet_tests::harness::{KafkaBroker, RedisServer};

fn pid_alive(pid: u32) -> bool {
    // A reaped process leaves no /proc entry.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn redis_adapter_talks_to_a_real_server_and_the_server_stops_on_drop() {
    let server = RedisServer::start().expect("redis-server starts");
    let pid = server.pid();
    let mut conn = lnredis::connect(&server.url(), 20).await.expect("connects");
    lnredis::ping(&mut conn).await.expect("PING answers PONG");

    let _: () = redis::cmd("SET")
        .arg("lnfleet:test")
        .arg("value")
        .query_async(&mut conn)
        .await
        .unwrap();
    let value: String = redis::cmd("GET")
        .arg("lnfleet:test")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(value, "value");

    drop(conn);
    assert!(pid_alive(pid));
    drop(server);
    assert!(
        !pid_alive(pid),
        "redis-server {pid} still running after drop"
    );
}

#[tokio::test]
async fn redis_connect_reports_an_unreachable_server() {
    let port = lnfleet_tests::harness::free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}/");
    match lnredis::connect(&url, 2).await {
        Err(lnredis::RedisConnectError::Unreachable { attempts: 2, .. }) => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("connected to a port nobody listens on"),
    }
    assert!(matches!(
        lnredis::connect("not a url", 1).await,
        Err(lnredis::RedisConnectError::InvalidUrl { .. })
    ));
}

#[tokio::test]
async fn raw_gossip_goes_through_a_real_broker_in_a_consumer_group() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "backbone-test");
    config.session_timeout = Duration::from_secs(6);

    kafka::ensure_topics(&config, &topics::ALL)
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    // A second run finds them all and changes nothing.
    kafka::ensure_topics(&config, &topics::ALL)
        .await
        .expect("ensure_topics is idempotent");

    let publisher = Publisher::new(&config).unwrap();
    let sent: Vec<RawGossip> = (0..5u8)
        .map(|i| RawGossip {
            edge_id: "edge-a".into(),
            peer_id: vec![2 + i % 2; 33],
            received_at_ms: 1_700_000_000_000 + u64::from(i),
            message: vec![1, 2, i],
        })
        .collect();
    for (i, gossip) in sent.iter().enumerate() {
        let (partition, offset) = publisher
            .publish(
                topics::GOSSIP_RAW.name,
                format!("key-{i}").as_bytes(),
                &contracts::encode(gossip),
            )
            .await
            .expect("broker acknowledges");
        assert!((0..topics::GOSSIP_RAW.partitions).contains(&partition));
        assert!(offset >= 0);
    }

    // What a replaying consumer must reach: every partition's end offset, five records in all.
    let ends = kafka::end_offsets(&config, topics::GOSSIP_RAW.name, Duration::from_secs(10))
        .expect("watermarks");
    assert_eq!(ends.len(), topics::GOSSIP_RAW.partitions as usize);
    assert_eq!(
        ends.iter().map(|(_, end)| end).sum::<i64>(),
        sent.len() as i64
    );

    let subscriber = Subscriber::new(&config, "validators", &[topics::GOSSIP_RAW.name]).unwrap();
    let mut received = Vec::new();
    while received.len() < sent.len() {
        let record = tokio::time::timeout(Duration::from_secs(60), subscriber.next())
            .await
            .unwrap_or_else(|_| panic!("only {} records arrived", received.len()))
            .expect("consumes");
        assert_eq!(record.topic, topics::GOSSIP_RAW.name);
        let payload = record.payload.expect("records carry a payload");
        received.push(contracts::decode::<RawGossip>(&payload).expect("decodes"));
    }
    // Partitions interleave; compare as sets.
    received.sort_by_key(|g| g.received_at_ms);
    assert_eq!(received, sent);

    let pid = broker.pid();
    drop(broker);
    assert!(!pid_alive(pid), "tansu {pid} still running after drop");
}
