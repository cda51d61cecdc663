//! The `hsm-service` binary killed with SIGKILL, idle and in the middle of a burst of requests,
//! then restarted on the same store: every request is answered (by the restarted replica, or
//! when the client retries it with the same request id), answers stay consistent with the keys,
//! and a revoked commitment is never signed.
//!
//! A's HSM is the real binary on its own Redis; B, the channel's other end, is an in-process
//! replica on a second Redis. Claim timings are short (`--claim-idle-ms 500`), so the restarted
//! replica takes back what its killed self left pending within a second.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lnfleet_actors::hsm::{
    ChannelBasepoints, CommitmentInfo, HsmClient, HsmClientConfig, HsmClientError,
    HsmClientMetrics, HsmRequest, HsmResponse, PublicKeyBytes,
};
use lnfleet_hsm::{ChannelKeyId, KeySource, Seed, Signer};
use lnfleet_tests::harness::{free_port, RedisServer, ServerProcess};
use lnfleet_tests::hsm::{connect_client, http_get, HsmClientSpec, RunningHsm};
use lnfleet_tests::hsm_channel::{self as channel, policy_rule, Side, FUNDING_SAT};
use secp256k1::{PublicKey, Secp256k1, SecretKey};

const BINARY: &str = env!("CARGO_BIN_EXE_hsm-service");
const SEED_A: [u8; 32] = [0xa1; 32];
const BURST: usize = 200;
/// The replica is killed once this many burst requests have been answered.
const KILL_AFTER_ANSWERS: usize = 40;

const PERMISSIONS: &[&str] = &["node_info", "ecdh", "channel_signing", "unilateral_close"];

/// A's replica as an operator runs it: the binary on `store`, claiming stale entries fast.
struct BinaryHsm {
    dir: PathBuf,
    redis_url: String,
    store: PathBuf,
    clients: PathBuf,
    starts: usize,
}

impl BinaryHsm {
    fn new(dir: &Path, redis: &RedisServer, spec: &HsmClientSpec) -> Self {
        let registry = serde_json::json!([{
            "id": spec.credential.client_id(),
            "key_hex": hex::encode(spec.key),
            "permissions": PERMISSIONS,
        }]);
        let clients = dir.join("clients.json");
        std::fs::write(&clients, registry.to_string()).unwrap();
        BinaryHsm {
            dir: dir.to_owned(),
            redis_url: redis.url(),
            store: dir.join("hsm.redb"),
            clients,
            starts: 0,
        }
    }

    /// Starts the binary (always the same consumer name and store) and waits until it serves
    /// the stream.
    async fn start(&mut self) -> ServerProcess {
        self.starts += 1;
        let metrics_port = free_port().unwrap();
        let mut command = Command::new(BINARY);
        command
            .arg("--redis-url")
            .arg(&self.redis_url)
            .arg("--clients")
            .arg(&self.clients)
            .arg("--store")
            .arg(&self.store)
            .arg("--consumer")
            .arg("hsm-a")
            .arg("--claim-idle-ms")
            .arg("500")
            .arg("--claim-every-ms")
            .arg("200")
            .arg("--metrics-listen")
            .arg(format!("127.0.0.1:{metrics_port}"))
            .env("LNFLEET_HSM_SEED", hex::encode(SEED_A));
        let log = self.dir.join(format!("hsm-{}.log", self.starts));
        let mut process = ServerProcess::spawn("hsm-service", command, log).unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], metrics_port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(process.is_running(), "hsm exited: {}", process.log());
            if let Ok((200, _)) = http_get(addr, "/readyz").await {
                return process;
            }
            assert!(
                Instant::now() < deadline,
                "hsm not ready: {}",
                process.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// SIGKILL, no chance to finish a write or say goodbye; then reaped.
fn sigkill(process: ServerProcess) {
    let status = Command::new("kill")
        .arg("-9")
        .arg(process.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    drop(process);
}

async fn client(redis_url: &str, spec: &HsmClientSpec, timeout: Duration) -> HsmClient {
    connect_client(redis_url, spec, timeout).await.unwrap()
}

/// Commitment state with `b_msat` moved to B, as the holder (`holder_is_a`) sees it.
fn view(b_msat: u64, holder_is_a: bool) -> CommitmentInfo {
    channel::view(FUNDING_SAT * 1000 - b_msat, b_msat, &[], holder_is_a)
}

/// `signer` signs `holder`'s commitment `n`, `holder` revokes n − 1 and `signer` takes the
/// secret.
async fn commit(signer: &Side, holder: &Side, n: u64, b_msat: u64, holder_is_a: bool) {
    let (secret, _) = channel::commit(
        signer,
        holder,
        n,
        view(b_msat, !holder_is_a),
        view(b_msat, holder_is_a),
    )
    .await;
    if let Some(secret) = secret {
        signer
            .client
            .validate_counterparty_revocation(signer.channel, n - 1, secret)
            .await
            .unwrap();
    }
}

/// One burst request with the id the test keeps, and the answer it must get (`None` for the
/// revocation, whose secret is checked by B's HSM instead).
struct Expected {
    id: [u8; 16],
    request: HsmRequest,
    answer: Option<HsmResponse>,
}

/// The burst's one state change: A validates commitment 3 and revokes 2, while being killed.
const REVOKE_AT: usize = 60;

fn basepoints(signer: &Signer, node: PublicKey, peer: PublicKey, db_id: u64) -> ChannelBasepoints {
    let keys = signer
        .channel_public_keys(&ChannelKeyId {
            node_id: node,
            peer_id: peer,
            channel_db_id: db_id,
        })
        .unwrap();
    ChannelBasepoints {
        funding_pubkey: (&keys.funding_pubkey).into(),
        revocation_basepoint: (&keys.revocation_basepoint).into(),
        payment_basepoint: (&keys.payment_basepoint).into(),
        delayed_payment_basepoint: (&keys.delayed_payment_basepoint).into(),
        htlc_basepoint: (&keys.htlc_basepoint).into(),
    }
}

/// 200 mixed requests; every answer is derived independently of the replica under test (keys
/// from the seed, points asked before the burst). Request `REVOKE_AT` is `revoke`.
fn burst(a: &Side, node_b: PublicKey, points: &[PublicKey], revoke: HsmRequest) -> Vec<Expected> {
    let secp = Secp256k1::new();
    let local = Signer::new(KeySource::Derived(Seed::from_bytes(&SEED_A).unwrap()), [0]).unwrap();
    let node_a = a.channel.node_id.to_public_key().unwrap();
    (0..BURST)
        .map(|i| {
            let id: [u8; 16] = secp256k1::rand::random();
            if i == REVOKE_AT {
                return Expected {
                    id,
                    request: revoke.clone(),
                    answer: None,
                };
            }
            let (request, answer) = match i % 4 {
                0 => {
                    let secret = SecretKey::from_slice(&[(i as u8) | 1; 32]).unwrap();
                    let point = PublicKey::from_secret_key(&secp, &secret);
                    let shared_secret = local.ecdh(&node_a, &point).unwrap();
                    (
                        HsmRequest::Ecdh {
                            node_id: (&node_a).into(),
                            point: (&point).into(),
                        },
                        HsmResponse::Ecdh { shared_secret },
                    )
                }
                1 => {
                    let n = (i / 4) % points.len();
                    (
                        HsmRequest::GetPerCommitmentPoint {
                            channel: a.channel,
                            commitment_number: n as u64,
                        },
                        HsmResponse::PerCommitmentPoint {
                            point: (&points[n]).into(),
                        },
                    )
                }
                2 => (
                    HsmRequest::NodeInfo,
                    HsmResponse::NodeInfo {
                        node_ids: vec![PublicKeyBytes::from(&node_a)],
                    },
                ),
                _ => {
                    let db_id = 1_000 + i as u64;
                    (
                        HsmRequest::NewChannel {
                            node_id: (&node_a).into(),
                            peer_id: (&node_b).into(),
                            channel_db_id: db_id,
                        },
                        HsmResponse::ChannelBasepoints {
                            basepoints: basepoints(&local, node_a, node_b, db_id),
                        },
                    )
                }
            };
            Expected {
                id,
                request,
                answer: Some(answer),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_hsm_loses_no_request_and_never_signs_a_revoked_state() {
    let started = Instant::now();
    let (redis_a, redis_b) = (RedisServer::start().unwrap(), RedisServer::start().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let spec_a = HsmClientSpec::new("edge-1", PERMISSIONS);
    let spec_b = HsmClientSpec::new("edge-1", PERMISSIONS);
    let mut binary = BinaryHsm::new(dir.path(), &redis_a, &spec_a);
    let hsm_a = binary.start().await;
    let hsm_b = RunningHsm::start(&redis_b.url(), "hsm-b", &[0xb2; 32], &[0], &[&spec_b])
        .await
        .unwrap();
    let a_client = client(&redis_a.url(), &spec_a, Duration::from_secs(5)).await;
    let node_a = a_client.node_info().await.unwrap()[0];
    let node_b = hsm_b.node_ids[0];
    let (a, b) = channel::sides(
        a_client,
        node_a,
        client(&redis_b.url(), &spec_b, Duration::from_secs(5)).await,
        node_b,
    );
    channel::open(&a, &b).await.unwrap();
    commit(&b, &a, 0, 0, true).await;
    commit(&a, &b, 0, 0, false).await;
    commit(&b, &a, 1, 10_000_000, true).await;
    commit(&b, &a, 2, 25_000_000, true).await;
    let mut points = Vec::new();
    for n in 0..5 {
        points.push(
            a.client
                .get_per_commitment_point(a.channel, n)
                .await
                .unwrap(),
        );
    }

    // Killed while idle: the next request after the restart is served, the state is intact.
    sigkill(hsm_a);
    let hsm_a = binary.start().await;
    assert_eq!(a.client.node_info().await.unwrap(), vec![node_a]);
    assert_eq!(
        policy_rule(a.client.sign_holder_commitment(a.channel, 1).await),
        "no_sign_revoked_commitment"
    );
    let idle_kill_done = started.elapsed();

    // Killed in the middle of a burst: short per-attempt timeouts, so what the dead replica
    // held fails fast on the client and is retried below with its own id.
    let burst_client = {
        let registry = prometheus::Registry::new();
        HsmClient::connect(
            &redis_a.url(),
            spec_a.credential.clone(),
            HsmClientConfig {
                timeout: Duration::from_millis(1_500),
                ..HsmClientConfig::default()
            },
            HsmClientMetrics::register(&registry).unwrap(),
        )
        .await
        .unwrap()
    };
    // B signs A's commitment 3 now; A validates it (and revokes 2) inside the burst.
    let (signature_3, htlc_signatures_3) = b
        .client
        .sign_counterparty_commitment(b.channel, 3, &points[3], view(40_000_000, false))
        .await
        .unwrap();
    let revoke_2 = HsmRequest::ValidateCommitmentAndRevoke {
        channel: a.channel,
        commitment_number: 3,
        info: view(40_000_000, true),
        counterparty_signature: signature_3,
        htlc_signatures: htlc_signatures_3,
    };
    let expected = Arc::new(burst(&a, node_b, &points, revoke_2));
    let answered = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..BURST)
        .map(|i| {
            let (client, expected, answered) = (
                burst_client.clone(),
                Arc::clone(&expected),
                Arc::clone(&answered),
            );
            tokio::spawn(async move {
                let Expected { id, request, .. } = &expected[i];
                let result = client.call_with_id(request.clone(), *id).await;
                if result.is_ok() {
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                result
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while answered.load(Ordering::SeqCst) < KILL_AFTER_ANSWERS {
        assert!(Instant::now() < deadline, "the burst is not being served");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sigkill(hsm_a);
    let answered_at_kill = answered.load(Ordering::SeqCst);

    let mut failed = Vec::new();
    let mut answers = vec![None; BURST];
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(answer) => answers[i] = Some(answer),
            Err(HsmClientError::Timeout(_)) => failed.push(i),
            Err(other) => panic!("request {i}: only timeouts are expected, got {other}"),
        }
    }
    assert!(
        !failed.is_empty(),
        "the kill landed after the burst ({answered_at_kill} answered at the kill)"
    );

    // Restart on the same store; retry every failed request with its own id until answered.
    let hsm_a = binary.start().await;
    let restarted = Instant::now();
    for &i in &failed {
        let Expected { id, request, .. } = &expected[i];
        let mut attempts = 0;
        let got = loop {
            attempts += 1;
            match burst_client.call_with_id(request.clone(), *id).await {
                Ok(got) => break got,
                Err(HsmClientError::Timeout(_)) if attempts < 5 => continue,
                Err(other) => panic!("request {i} retried {attempts} times: {other}"),
            }
        };
        answers[i] = Some(got);
    }
    let retried_in = restarted.elapsed();
    for (i, (answer, expected)) in answers.iter().zip(expected.iter()).enumerate() {
        if let Some(expected) = &expected.answer {
            assert_eq!(answer.as_ref(), Some(expected), "request {i}");
        }
    }

    // The revocation happened exactly once, with the right secret: B's HSM accepts it for
    // commitment 2, and asking again under the same id gives the same answer.
    let Some(HsmResponse::Revoked {
        revoked_number: Some(2),
        old_secret: Some(secret_2),
        next_per_commitment_point,
    }) = &answers[REVOKE_AT]
    else {
        panic!(
            "expected the revocation of commitment 2, got {:?}",
            answers[REVOKE_AT]
        );
    };
    assert_eq!(next_per_commitment_point, &PublicKeyBytes::from(&points[4]));
    b.client
        .validate_counterparty_revocation(b.channel, 2, *secret_2)
        .await
        .unwrap();
    let again = a
        .client
        .call_with_id(expected[REVOKE_AT].request.clone(), expected[REVOKE_AT].id)
        .await
        .unwrap();
    assert_eq!(Some(again), answers[REVOKE_AT]);

    // Stateful answers stay stable: asking a burst channel's keys again gives the same keys.
    for i in (3..BURST).step_by(4) {
        let db_id = 1_000 + i as u64;
        let keys = a.client.new_channel(&node_a, &node_b, db_id).await.unwrap();
        assert_eq!(
            Some(HsmResponse::ChannelBasepoints { basepoints: keys }),
            expected[i].answer
        );
    }

    // No revoked state is ever signed, the latest one is.
    for revoked in [0, 1, 2] {
        assert_eq!(
            policy_rule(a.client.sign_holder_commitment(a.channel, revoked).await),
            "no_sign_revoked_commitment"
        );
    }
    let (tx, htlc_txs) = a.client.sign_holder_commitment(a.channel, 3).await.unwrap();
    assert!(!tx.is_empty());
    assert!(htlc_txs.is_empty());
    eprintln!(
        "idle kill and restart done at {idle_kill_done:?}; burst killed after \
         {answered_at_kill}/{BURST} answers; {} retried and answered in {retried_in:?} \
         (restarted replica claimed stale entries: {}); total {:?}",
        failed.len(),
        hsm_a.log().contains("claimed stale requests"),
        started.elapsed()
    );
    drop(hsm_b);
}
