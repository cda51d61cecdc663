//! The HSM transport against a real redis-server: the client in lnfleet-actors, and a small HSM
//! loop built here from `RequestStream` and `Authenticator` that answers NodeInfo and Ecdh with an
//! in-process key (the real signer lives in hsm-service).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lnfleet_actors::hsm::auth::{AuthConfig, AuthError, Authenticator, ClientCredential, Verdict};
use lnfleet_actors::hsm::contract::{HsmError, HsmReply, HsmRequest, HsmResponse, Permission};
use lnfleet_actors::hsm::transport::{RequestStream, StreamEntry};
use lnfleet_actors::hsm::{
    BlockingEcdh, HsmClient, HsmClientConfig, HsmClientError, HsmClientMetrics,
};
use lnfleet_actors::redis as lnredis;
use lnfleet_tests::harness::RedisServer;
use lnfleet_wire::noise::{InitiatorHandshake, LocalStaticKey, ResponderHandshake, StaticKeyEcdh};
use secp256k1::SecretKey;

const REPLY_TTL: Duration = Duration::from_secs(30);

fn hsm_key() -> LocalStaticKey {
    LocalStaticKey::new(SecretKey::from_slice(&[0x11; 32]).unwrap())
}

fn edge_credential() -> ClientCredential {
    ClientCredential::new("edge-0", [7; 32]).unwrap()
}

fn authenticator() -> Arc<Authenticator> {
    let mut auth = Authenticator::new(AuthConfig::default());
    auth.register(&edge_credential(), [Permission::NodeInfo, Permission::Ecdh]);
    let gossip = ClientCredential::new("gossip", [9; 32]).unwrap();
    auth.register(&gossip, [Permission::NodeInfo]);
    Arc::new(auth)
}

/// How the test HSM treats a fresh request.
#[derive(Clone, Copy)]
enum Behaviour {
    Answer,
    /// Answer `Transient` the first time a request id is seen, then the real answer.
    TransientFirst,
}

/// What the test HSM answers with its in-process key.
fn answer(key: &LocalStaticKey, request: &HsmRequest) -> Result<HsmResponse, HsmError> {
    match request {
        HsmRequest::NodeInfo => Ok(HsmResponse::NodeInfo {
            node_ids: vec![key.node_id().into()],
        }),
        HsmRequest::Ecdh { node_id, point } => {
            if node_id.0 != key.node_id().serialize() {
                return Err(HsmError::Fatal {
                    reason: "unknown node".into(),
                });
            }
            let point = point.to_public_key().map_err(|error| HsmError::Fatal {
                reason: error.to_string(),
            })?;
            let shared_secret = key.ecdh(&point).map_err(|error| HsmError::Fatal {
                reason: error.to_string(),
            })?;
            Ok(HsmResponse::Ecdh { shared_secret })
        }
        _ => Err(HsmError::Fatal {
            reason: "not implemented by the test hsm".into(),
        }),
    }
}

struct TestHsm {
    auth: Arc<Authenticator>,
    key: LocalStaticKey,
    behaviour: Behaviour,
    /// Request ids in the order they were served (fresh or duplicate).
    seen: Arc<Mutex<Vec<[u8; 16]>>>,
    refusals: Arc<Mutex<Vec<&'static str>>>,
}

impl TestHsm {
    fn new(behaviour: Behaviour) -> Self {
        TestHsm {
            auth: authenticator(),
            key: hsm_key(),
            behaviour,
            seen: Arc::default(),
            refusals: Arc::default(),
        }
    }

    /// Serves one stream entry: verify, answer (or refuse), reply, ack.
    async fn serve(&self, stream: &mut RequestStream, entry: &StreamEntry) {
        match self.auth.verify(&entry.envelope) {
            Ok(verdict) => {
                let duplicate = matches!(verdict, Verdict::Duplicate(_));
                let request = verdict.request();
                self.seen.lock().unwrap().push(request.request_id);
                let outcome = match self.behaviour {
                    Behaviour::TransientFirst if !duplicate => Err(HsmError::Transient {
                        reason: "storage busy".into(),
                    }),
                    // This test HSM has no idempotency store; NodeInfo and Ecdh are pure.
                    _ => answer(&self.key, &request.request),
                };
                let reply = HsmReply {
                    request_id: request.request_id,
                    outcome,
                };
                let sealed = self.auth.seal_reply(&request.client_id, &reply).unwrap();
                stream
                    .reply(&request.client_id, &request.request_id, &sealed)
                    .await
                    .unwrap();
            }
            Err(error) => {
                self.refusals.lock().unwrap().push(error.kind());
                if let Some((client_id, request_id)) = error.reply_target() {
                    let reply = HsmReply {
                        request_id,
                        outcome: Err(unauthorized(&error)),
                    };
                    if let Some(sealed) = self.auth.seal_reply(client_id, &reply) {
                        stream.reply(client_id, &request_id, &sealed).await.unwrap();
                    }
                }
            }
        }
        stream.ack(&entry.id).await.unwrap();
    }
}

fn unauthorized(error: &AuthError) -> HsmError {
    HsmError::Unauthorized {
        reason: error.kind().into(),
    }
}

/// Runs the test HSM as consumer `consumer` until the task is aborted.
async fn spawn_hsm(
    url: &str,
    hsm: Arc<TestHsm>,
    consumer: &'static str,
) -> tokio::task::JoinHandle<()> {
    let conn = lnredis::connect(url, 20).await.unwrap();
    let mut stream = RequestStream::open(conn, REPLY_TTL).await.unwrap();
    tokio::spawn(async move {
        loop {
            let entries = stream
                .read(consumer, 16, Duration::from_millis(200))
                .await
                .unwrap();
            for entry in &entries {
                hsm.serve(&mut stream, entry).await;
            }
        }
    })
}

async fn client(
    url: &str,
    credential: ClientCredential,
    config: HsmClientConfig,
) -> (HsmClient, prometheus::Registry) {
    let registry = prometheus::Registry::new();
    let metrics = HsmClientMetrics::register(&registry).unwrap();
    let client = HsmClient::connect(url, credential, config, metrics)
        .await
        .unwrap();
    (client, registry)
}

fn counter(registry: &prometheus::Registry, operation: &str, result: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == "lnfleet_hsm_client_requests_total")
        .flat_map(|family| family.get_metric())
        .filter(|metric| {
            let labels: Vec<_> = metric
                .get_label()
                .iter()
                .map(|label| (label.name(), label.value()))
                .collect();
            labels.contains(&("operation", operation)) && labels.contains(&("result", result))
        })
        .map(|metric| metric.get_counter().value() as u64)
        .sum()
}

async fn reply_keys(url: &str) -> Vec<String> {
    let mut conn = lnredis::connect(url, 5).await.unwrap();
    redis::cmd("KEYS")
        .arg("hsm:reply:*")
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_info_and_ecdh_are_answered_through_redis() {
    let server = RedisServer::start().unwrap();
    let hsm = Arc::new(TestHsm::new(Behaviour::Answer));
    let task = spawn_hsm(&server.url(), hsm.clone(), "hsm-0").await;
    let (client, registry) =
        client(&server.url(), edge_credential(), HsmClientConfig::default()).await;

    let node_ids = client.node_info().await.unwrap();
    assert_eq!(node_ids, vec![hsm_key().node_id()]);

    let peer = LocalStaticKey::new(SecretKey::from_slice(&[0x22; 32]).unwrap());
    let shared = client
        .ecdh(&hsm_key().node_id(), &peer.node_id())
        .await
        .unwrap();
    assert_eq!(
        shared,
        peer.ecdh(&hsm_key().node_id()).unwrap(),
        "ecdh is symmetric"
    );

    assert_eq!(counter(&registry, "node_info", "ok"), 1);
    assert_eq!(counter(&registry, "ecdh", "ok"), 1);
    assert!(
        reply_keys(&server.url()).await.is_empty(),
        "replies are consumed"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_do_not_block_each_other() {
    let server = RedisServer::start().unwrap();
    let hsm = Arc::new(TestHsm::new(Behaviour::Answer));
    let task = spawn_hsm(&server.url(), hsm, "hsm-0").await;
    let (client, _registry) =
        client(&server.url(), edge_credential(), HsmClientConfig::default()).await;
    let started = Instant::now();
    let calls = (0..20).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.node_info().await })
    });
    for call in futures_join(calls).await {
        assert_eq!(call.unwrap().unwrap(), vec![hsm_key().node_id()]);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    task.abort();
}

async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await);
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_wrong_key_is_refused_and_gets_no_reply() {
    let server = RedisServer::start().unwrap();
    let hsm = Arc::new(TestHsm::new(Behaviour::Answer));
    let task = spawn_hsm(&server.url(), hsm.clone(), "hsm-0").await;
    let impostor = ClientCredential::new("edge-0", [8; 32]).unwrap();
    let config = HsmClientConfig {
        timeout: Duration::from_millis(500),
        ..HsmClientConfig::default()
    };
    let (client, registry) = client(&server.url(), impostor, config).await;

    match client.node_info().await {
        Err(HsmClientError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(*hsm.refusals.lock().unwrap(), vec!["bad_tag"]);
    assert!(hsm.seen.lock().unwrap().is_empty(), "nothing was served");
    assert!(
        reply_keys(&server.url()).await.is_empty(),
        "no reply was written"
    );
    assert_eq!(counter(&registry, "node_info", "timeout"), 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_permission_gets_unauthorized() {
    let server = RedisServer::start().unwrap();
    let hsm = Arc::new(TestHsm::new(Behaviour::Answer));
    let task = spawn_hsm(&server.url(), hsm.clone(), "hsm-0").await;
    let gossip = ClientCredential::new("gossip", [9; 32]).unwrap();
    let (client, registry) = client(&server.url(), gossip, HsmClientConfig::default()).await;

    let peer = LocalStaticKey::new(SecretKey::from_slice(&[0x22; 32]).unwrap());
    match client.ecdh(&hsm_key().node_id(), &peer.node_id()).await {
        Err(HsmClientError::Hsm(HsmError::Unauthorized { reason })) => {
            assert_eq!(reason, "missing_permission")
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
    assert_eq!(counter(&registry, "ecdh", "unauthorized"), 1);
    // What it may ask still works.
    assert_eq!(client.node_info().await.unwrap(), vec![hsm_key().node_id()]);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_times_out_when_no_hsm_runs() {
    let server = RedisServer::start().unwrap();
    let config = HsmClientConfig {
        timeout: Duration::from_millis(300),
        retries: 3,
        ..HsmClientConfig::default()
    };
    let (client, registry) = client(&server.url(), edge_credential(), config).await;
    let started = Instant::now();
    match client.node_info().await {
        Err(HsmClientError::Timeout(timeout)) => assert_eq!(timeout, Duration::from_millis(300)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "timeouts are not retried: {elapsed:?}"
    );
    assert_eq!(counter(&registry, "node_info", "timeout"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_error_is_retried_with_the_same_request_id() {
    let server = RedisServer::start().unwrap();
    let hsm = Arc::new(TestHsm::new(Behaviour::TransientFirst));
    let task = spawn_hsm(&server.url(), hsm.clone(), "hsm-0").await;
    let (client, registry) =
        client(&server.url(), edge_credential(), HsmClientConfig::default()).await;

    assert_eq!(client.node_info().await.unwrap(), vec![hsm_key().node_id()]);
    let seen = hsm.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one transient answer, one retry");
    assert_eq!(seen[0], seen[1], "the retry carries the same request id");
    assert_eq!(counter(&registry, "node_info", "ok"), 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_replicas_request_is_claimed_and_served_by_another() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let hsm = TestHsm::new(Behaviour::Answer);
    let mut replica_a = RequestStream::open(lnredis::connect(&url, 20).await.unwrap(), REPLY_TTL)
        .await
        .unwrap();
    let mut replica_b = RequestStream::open(lnredis::connect(&url, 20).await.unwrap(), REPLY_TTL)
        .await
        .unwrap();
    let (client, _registry) = client(&url, edge_credential(), HsmClientConfig::default()).await;
    let call = tokio::spawn(async move { client.node_info().await });

    // Replica A takes the request and "crashes": no reply, no ack.
    let mut taken = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while taken.is_empty() && Instant::now() < deadline {
        taken = replica_a
            .read("hsm-a", 16, Duration::from_millis(200))
            .await
            .unwrap();
    }
    assert_eq!(taken.len(), 1);
    // B sees nothing new on the stream: the entry is pending on A.
    assert!(replica_b
        .read("hsm-b", 16, Duration::from_millis(50))
        .await
        .unwrap()
        .is_empty());
    // Not idle long enough yet.
    assert!(replica_b
        .claim_stale("hsm-b", Duration::from_secs(60), 16)
        .await
        .unwrap()
        .is_empty());

    tokio::time::sleep(Duration::from_millis(300)).await;
    let claimed = replica_b
        .claim_stale("hsm-b", Duration::from_millis(200), 16)
        .await
        .unwrap();
    assert_eq!(claimed, taken, "B claims exactly A's pending entry");
    hsm.serve(&mut replica_b, &claimed[0]).await;

    assert_eq!(call.await.unwrap().unwrap(), vec![hsm_key().node_id()]);
    // Acknowledged: nothing left to claim.
    assert!(replica_b
        .claim_stale("hsm-b", Duration::ZERO, 16)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bolt8_handshake_completes_with_the_static_key_in_the_hsm() {
    let server = RedisServer::start().unwrap();
    let hsm = Arc::new(TestHsm::new(Behaviour::Answer));
    let task = spawn_hsm(&server.url(), hsm.clone(), "hsm-0").await;
    let (client, _registry) =
        client(&server.url(), edge_credential(), HsmClientConfig::default()).await;
    let our_node_id = hsm_key().node_id();
    let signer = BlockingEcdh::new(
        client.clone(),
        tokio::runtime::Handle::current(),
        our_node_id,
    );
    let peer = LocalStaticKey::new(SecretKey::from_slice(&[0x22; 32]).unwrap());

    let outcome = tokio::task::spawn_blocking(move || {
        // We dial the peer: our `se` ECDH (act three) goes to the HSM.
        let mut initiator = InitiatorHandshake::new(signer.node_id(), peer.node_id());
        let mut responder = ResponderHandshake::new(peer.node_id());
        let act_one = initiator.act_one().unwrap();
        let act_two = responder.process_act_one_with(&act_one, &peer).unwrap();
        let (act_three, ours) = initiator.process_act_two_with(&act_two, &signer).unwrap();
        let theirs = responder.process_act_three(&act_three).unwrap();
        assert_eq!(theirs.remote_node_id, our_node_id);
        let (mut our_tx, _) = ours.transport.split();
        let (_, mut their_rx) = theirs.transport.split();
        their_rx.feed(&our_tx.encrypt_message(b"init").unwrap());
        assert_eq!(their_rx.next_message().unwrap().unwrap(), b"init");

        // The peer dials us: our `es` ECDH (act one) goes to the HSM.
        let mut initiator = InitiatorHandshake::new(peer.node_id(), our_node_id);
        let mut responder = ResponderHandshake::new(our_node_id);
        let act_one = initiator.act_one().unwrap();
        let act_two = responder.process_act_one_with(&act_one, &signer).unwrap();
        let (act_three, _theirs) = initiator.process_act_two_with(&act_two, &peer).unwrap();
        responder
            .process_act_three(&act_three)
            .unwrap()
            .remote_node_id
    })
    .await
    .unwrap();
    let peer_node_id = LocalStaticKey::new(SecretKey::from_slice(&[0x22; 32]).unwrap()).node_id();
    assert_eq!(
        outcome, peer_node_id,
        "we learned the dialling peer's node id"
    );
    assert_eq!(
        hsm.seen.lock().unwrap().len(),
        2,
        "two ecdh requests reached the hsm"
    );

    // The async path: the handshake's explicit NeedsEcdh step answered by HsmClient::ecdh.
    let peer = LocalStaticKey::new(SecretKey::from_slice(&[0x33; 32]).unwrap());
    let mut initiator = InitiatorHandshake::new(peer.node_id(), our_node_id);
    let mut responder = ResponderHandshake::new(our_node_id);
    let act_one = initiator.act_one().unwrap();
    let needs = responder.process_act_one(&act_one).unwrap();
    let shared = client.ecdh(&our_node_id, &needs.point).await.unwrap();
    let act_two = responder.complete_act_one(shared).unwrap();
    let (act_three, _) = initiator.process_act_two_with(&act_two, &peer).unwrap();
    let done = responder.process_act_three(&act_three).unwrap();
    assert_eq!(done.remote_node_id, peer.node_id());
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_nobody_collects_expires() {
    let server = RedisServer::start().unwrap();
    let mut conn = lnredis::connect(&server.url(), 20).await.unwrap();
    let mut stream = RequestStream::open(conn.clone(), Duration::from_secs(7))
        .await
        .unwrap();
    // Opening twice (a second replica) is fine: BUSYGROUP is ignored.
    RequestStream::open(conn.clone(), REPLY_TTL).await.unwrap();
    stream.reply("edge-0", &[1; 16], b"late").await.unwrap();
    let key = lnfleet_actors::hsm::transport::reply_key("edge-0", &[1; 16]);
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=7_000).contains(&ttl_ms), "ttl {ttl_ms}");
}
