//! hsm-service end to end: a replica on a real Redis answers an `HsmClient` for ECDH, gossip,
//! invoice and message signatures, refuses what policy and permissions forbid, and counts it all
//! on `/metrics`.

use std::time::Duration;

use lnfleet_actors::hsm::{
    ChannelBasepoints, ChannelRef, ChannelSetupInfo, HsmClient, HsmClientConfig, HsmClientError,
    HsmClientMetrics, HsmError, RequestStream,
};
use lnfleet_hsm::service::StreamConfig;
use lnfleet_hsm::{verify_message, Derivation, Seed};
use lnfleet_tests::harness::RedisServer;
use lnfleet_tests::hsm::{connect_client, http_get, HsmClientSpec, RunningHsm};
use lnfleet_wire::gossip::ChannelUpdate;
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};
use secp256k1::{PublicKey, SecretKey, SECP256K1};

const SEED: [u8; 32] = [0x42; 32];

async fn client(redis: &RedisServer, spec: &HsmClientSpec) -> HsmClient {
    connect_client(&redis.url(), spec, Duration::from_secs(5))
        .await
        .unwrap()
}

fn unsigned_update(direction: u8) -> ChannelUpdate {
    ChannelUpdate {
        signature: secp256k1::ecdsa::Signature::from_compact(&[1; 64]).unwrap(),
        chain_hash: ChainHash::REGTEST,
        short_channel_id: ShortChannelId::new(800_000, 1, 0).unwrap(),
        timestamp: 1_700_000_000,
        message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
        channel_flags: direction,
        cltv_expiry_delta: 40,
        htlc_minimum_msat: 1_000,
        fee_base_msat: 1_000,
        fee_proportional_millionths: 100,
        htlc_maximum_msat: 1_000_000_000,
        excess_data: vec![],
    }
}

/// A plausible setup; the counterparty keys only need to be valid points here.
fn channel_setup(counterparty_keys: ChannelBasepoints) -> ChannelSetupInfo {
    ChannelSetupInfo {
        holder_is_opener: true,
        funding_txid: [3; 32],
        funding_output_index: 0,
        funding_amount_sat: 500_000,
        anchors: true,
        holder_selected_contest_delay: 144,
        counterparty_selected_contest_delay: 144,
        holder_dust_limit_sat: 546,
        counterparty_dust_limit_sat: 546,
        counterparty_keys,
        holder_upfront_shutdown_script: None,
        counterparty_upfront_shutdown_script: None,
    }
}

fn policy_rule(result: Result<impl std::fmt::Debug, HsmClientError>) -> String {
    match result {
        Err(HsmClientError::Hsm(HsmError::PolicyReject { rule })) => rule,
        other => panic!("expected a policy reject, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsm_replica_signs_for_its_nodes_and_refuses_the_rest() {
    let redis = RedisServer::start().unwrap();
    let edge = HsmClientSpec::new(
        "edge-1",
        &["node_info", "ecdh", "message_signing", "channel_signing"],
    );
    let gossip = HsmClientSpec::new("gossip-1", &["gossip_signing", "invoice_signing"]);
    let hsm = RunningHsm::start(&redis.url(), "hsm-a", &SEED, &[0, 1], &[&edge, &gossip])
        .await
        .unwrap();
    let edge_client = client(&redis, &edge).await;
    let gossip_client = client(&redis, &gossip).await;

    // The node ids are the ones the documented derivation gives for the seed.
    let derivation = Derivation::new(&Seed::from_bytes(&SEED).unwrap());
    let node_secret = derivation.node_secret(0);
    let node_id = PublicKey::from_secret_key(SECP256K1, &node_secret);
    let mut served = edge_client.node_info().await.unwrap();
    served.sort();
    let mut expected = hsm.node_ids.clone();
    expected.sort();
    assert_eq!(served, expected);
    assert!(served.contains(&node_id));

    // ECDH: what a peer with `peer_secret` computes on its side.
    let peer_secret = SecretKey::from_slice(&[7; 32]).unwrap();
    let peer_point = PublicKey::from_secret_key(SECP256K1, &peer_secret);
    let shared = edge_client.ecdh(&node_id, &peer_point).await.unwrap();
    let theirs = secp256k1::ecdh::SharedSecret::new(&node_id, &peer_secret).secret_bytes();
    assert_eq!(shared, theirs);

    // signmessage: the recoverable signature recovers our node id.
    let signed = edge_client
        .sign_message(&node_id, b"hello lnfleet".to_vec())
        .await
        .unwrap();
    let recoverable = signed.to_recoverable_signature().unwrap();
    let zbase = lnfleet_hsm::encode_signed_message(&recoverable);
    assert_eq!(verify_message(b"hello lnfleet", &zbase).unwrap(), node_id);

    // channel_update for our side verifies with the wire crate; the peer's side is refused.
    let peer_id = PublicKey::from_secret_key(SECP256K1, &SecretKey::from_slice(&[9; 32]).unwrap());
    let our_direction = u8::from(node_id.serialize() > peer_id.serialize());
    let channel = ChannelRef {
        node_id: node_id.into(),
        peer_id: peer_id.into(),
        channel_db_id: 1,
    };
    // Gossip for a channel the HSM does not hold is refused; once set up, it is signed.
    assert_eq!(
        policy_rule(
            gossip_client
                .sign_channel_update(channel, unsigned_update(our_direction).encode())
                .await
        ),
        "unknown_channel"
    );
    let theirs = edge_client
        .new_channel(&peer_id, &node_id, 99)
        .await
        .expect_err("the peer's node is not served here");
    assert!(matches!(
        theirs,
        HsmClientError::Hsm(HsmError::PolicyReject { .. })
    ));
    let ours = edge_client
        .new_channel(&node_id, &peer_id, 1)
        .await
        .unwrap();
    edge_client
        .setup_channel(channel, channel_setup(ours))
        .await
        .unwrap();
    let mut update = unsigned_update(our_direction);
    let signature = gossip_client
        .sign_channel_update(channel, update.encode())
        .await
        .unwrap();
    update.signature = signature.to_signature().unwrap();
    update
        .verify_with(&node_id)
        .expect("hsm signature verifies");
    let wrong_side = gossip_client
        .sign_channel_update(channel, unsigned_update(1 - our_direction).encode())
        .await;
    assert_eq!(policy_rule(wrong_side), "channel_update_direction");

    // A node this HSM does not serve.
    let stranger = PublicKey::from_secret_key(SECP256K1, &SecretKey::from_slice(&[3; 32]).unwrap());
    assert_eq!(
        policy_rule(edge_client.ecdh(&stranger, &peer_point).await),
        "node_not_served"
    );

    // Permissions: the edge may not sign gossip, the gossip service may not do ECDH.
    let refused = edge_client
        .sign_channel_update(channel, unsigned_update(our_direction).encode())
        .await;
    assert!(
        matches!(
            refused,
            Err(HsmClientError::Hsm(HsmError::Unauthorized { .. }))
        ),
        "{refused:?}"
    );
    let refused = gossip_client.ecdh(&node_id, &peer_point).await;
    assert!(matches!(
        refused,
        Err(HsmClientError::Hsm(HsmError::Unauthorized { .. }))
    ));

    // Malformed input is a typed error, not a crash: the replica keeps serving.
    let garbage = gossip_client
        .sign_channel_update(channel, vec![1, 2, 3])
        .await;
    assert!(matches!(
        garbage,
        Err(HsmClientError::Hsm(HsmError::Fatal { .. }))
    ));
    assert!(edge_client.node_info().await.is_ok());

    // Everything above is on /metrics; the replica is ready.
    let (status, body) = http_get(hsm.telemetry_addr, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"lnfleet_hsm_requests_total{operation="ecdh",result="ok"} 1"#),
        "{body}"
    );
    assert!(body.contains(r#"lnfleet_hsm_policy_rejects_total{rule="node_not_served"} 2"#));
    assert!(body.contains(r#"lnfleet_hsm_auth_refusals_total{reason="missing_permission"} 2"#));
    assert!(body.contains("lnfleet_hsm_request_duration_seconds_bucket"));
    let (status, _) = http_get(hsm.telemetry_addr, "/readyz").await.unwrap();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_unknown_to_the_hsm_gets_no_answer() {
    let redis = RedisServer::start().unwrap();
    let known = HsmClientSpec::new("edge-1", &["node_info"]);
    let _hsm = RunningHsm::start(&redis.url(), "hsm-a", &SEED, &[0], &[&known])
        .await
        .unwrap();
    let stranger = HsmClientSpec::new("edge-x", &["node_info"]);
    let registry = prometheus::Registry::new();
    let config = HsmClientConfig {
        timeout: Duration::from_millis(800),
        ..HsmClientConfig::default()
    };
    let client = HsmClient::connect(
        &redis.url(),
        stranger.credential.clone(),
        config,
        HsmClientMetrics::register(&registry).unwrap(),
    )
    .await
    .unwrap();
    assert!(matches!(
        client.node_info().await,
        Err(HsmClientError::Timeout(_))
    ));
}

/// A replica that read a request and died before answering leaves it pending; a live replica
/// claims it (`XAUTOCLAIM`) and the waiting client gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_left_by_a_dead_replica_is_claimed_and_answered() {
    let redis = RedisServer::start().unwrap();
    let edge = HsmClientSpec::new("edge-1", &["node_info"]);
    let conn = lnfleet_actors::redis::connect(&redis.url(), 10)
        .await
        .unwrap();
    let mut dead = RequestStream::open(conn, Duration::from_secs(60))
        .await
        .unwrap();

    let edge_client = connect_client(&redis.url(), &edge, Duration::from_secs(20))
        .await
        .unwrap();
    let waiting = tokio::spawn(async move { edge_client.node_info().await });
    let taken = loop {
        let entries = dead
            .read("dead-replica", 1, Duration::from_millis(200))
            .await
            .unwrap();
        if !entries.is_empty() {
            break entries;
        }
    };
    assert_eq!(
        taken.len(),
        1,
        "the dead replica holds the request, unanswered"
    );

    let mut config = StreamConfig::new(redis.url(), "live-replica");
    config.claim_idle = Duration::from_millis(500);
    config.claim_every = Duration::from_millis(200);
    let store = tempfile::tempdir().unwrap();
    let _live = RunningHsm::start_with_config(
        config,
        &SEED,
        &[0],
        &[&edge],
        &store.path().join("hsm.redb"),
    )
    .await
    .unwrap();
    let nodes = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("answered after the claim")
        .unwrap()
        .unwrap();
    assert_eq!(nodes.len(), 1);
}
