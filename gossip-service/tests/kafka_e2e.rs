//! The whole gossip service on a real tansu broker, as deployed: one `gossip-service --role
//! validator` and two `--role router` replicas of the real binary. Signed gossip of a small
//! network goes into `ln.gossip.raw` as an edge would publish it; the validator accepts the good
//! messages and counts each bad one by reason; both replicas replay `ln.gossip.valid` into the
//! same graph, turn ready, and answer `getroute` identically; a payment failure published to
//! `ln.payments.outcomes` steers both replicas' next route around the failing channel.
//!
//! The network (fees in msat per direction; the X path is cheaper):
//!
//! ```text
//!      X
//!  1000/ \1000
//!    S     T ——1000—— U
//!  5000\ /5000
//!      Y
//! ```

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lnfleet_actors::contracts::payment::{failure_code, OutcomeHop, OutcomeResult, PaymentOutcome};
use lnfleet_actors::contracts::{self, RawGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher};
use lnfleet_actors::topics;
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_tests::harness::{free_port, KafkaBroker, ServerProcess};
use lnfleet_tests::http::{http_get, http_post_json};
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};
use serde_json::{json, Value};
use tempfile::TempDir;

const BINARY: &str = env!("CARGO_BIN_EXE_gossip-service");
const DEADLINE: Duration = Duration::from_secs(120);
const AMOUNT_MSAT: u64 = 500_000_000;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn scid(block: u32) -> ShortChannelId {
    ShortChannelId::new(block, 1, 0).unwrap()
}

/// One `gossip-service` process and its two listeners.
struct Service {
    process: ServerProcess,
    api: SocketAddr,
    telemetry: SocketAddr,
}

impl Service {
    /// Starts `--role role` with `extra` flags; its log goes to `<dir>/<replica>.log`.
    fn start(dir: &TempDir, brokers: &str, role: &str, replica: &str, extra: &[&str]) -> Service {
        let (api_port, metrics_port) = (free_port().unwrap(), free_port().unwrap());
        let mut command = Command::new(BINARY);
        command
            .args(["--kafka", brokers, "--role", role, "--replica-id", replica])
            .args(["--listen", &format!("127.0.0.1:{api_port}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .args(["--kafka-session-timeout-secs", "6"])
            .args(["--lag-poll-interval-secs", "1"])
            .args(extra)
            .env("RUST_LOG", "info");
        let log = dir.path().join(format!("{replica}.log"));
        let process = ServerProcess::spawn("gossip-service", command, log).unwrap();
        Service {
            process,
            api: SocketAddr::from(([127, 0, 0, 1], api_port)),
            telemetry: SocketAddr::from(([127, 0, 0, 1], metrics_port)),
        }
    }

    async fn metrics(&self) -> String {
        metrics_of(self.telemetry).await
    }

    async fn is_ready(&self) -> bool {
        matches!(http_get(self.telemetry, "/readyz").await, Ok((200, _)))
    }

    async fn getroute(&self, from: &str, to: &str) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "getroute",
                          "params": {"id": to, "fromid": from, "amount_msat": AMOUNT_MSAT,
                                     "riskfactor": 1, "fuzzpercent": 0}});
        let (status, text) = http_post_json(self.api, "/", &body.to_string())
            .await
            .unwrap();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Polls `condition` on this process until it holds, failing with its log at the deadline
    /// or when it exits.
    async fn eventually<F, Fut>(&mut self, what: &str, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            assert!(
                self.process.is_running(),
                "exited while waiting for {what}; log:\n{}",
                self.process.log()
            );
            if condition().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out: {what}; log:\n{}",
                self.process.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The `/metrics` text of a telemetry listener (empty while it does not answer).
async fn metrics_of(telemetry: SocketAddr) -> String {
    http_get(telemetry, "/metrics")
        .await
        .map(|(_, body)| body)
        .unwrap_or_default()
}

/// The value of the sample `name_and_labels` (exactly as exposed) in a metrics text.
fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(name_and_labels)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The sum of every sample of `name` (all label sets).
fn sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn rejected(metrics: &str, reason: &str) -> f64 {
    sample(
        metrics,
        &format!("lnfleet_gossip_gossip_rejected_total{{reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

/// The channels of a `getroute` reply, in order.
fn channels(reply: &Value) -> Vec<String> {
    reply["result"]["route"]
        .as_array()
        .unwrap_or_else(|| panic!("a route: {reply}"))
        .iter()
        .map(|hop| hop["channel"].as_str().unwrap().to_owned())
        .collect()
}

struct RawTopic {
    publisher: Publisher,
}

impl RawTopic {
    /// Publishes one message as an edge would; keyed by channel so a channel's messages stay
    /// in order on one partition.
    async fn send(&self, key: ShortChannelId, message: Vec<u8>) {
        let envelope = RawGossip {
            edge_id: "edge-e2e".into(),
            peer_id: vec![2; 33],
            received_at_ms: now_secs() * 1000,
            message,
        };
        self.publisher
            .publish(
                topics::GOSSIP_RAW.name,
                key.to_string().as_bytes(),
                &contracts::encode(&envelope),
            )
            .await
            .expect("broker acknowledges");
    }
}

// Node secrets.
const S: u8 = 0x11;
const X: u8 = 0x22;
const Y: u8 = 0x33;
const T: u8 = 0x44;
const U: u8 = 0x55;

fn node(secret: u8) -> String {
    hex::encode(lnfleet_tests::gossip::public(&lnfleet_tests::gossip::secret(secret)).serialize())
}

/// The channels S–X, X–T, S–Y, Y–T, T–U with their fee base (both directions).
fn network() -> [(SignedChannel, u32); 5] {
    [
        (
            SignedChannel::new(scid(700_001), [S, X], [0x61, 0x62]),
            1_000,
        ),
        (
            SignedChannel::new(scid(700_002), [X, T], [0x63, 0x64]),
            1_000,
        ),
        (
            SignedChannel::new(scid(700_003), [S, Y], [0x65, 0x66]),
            5_000,
        ),
        (
            SignedChannel::new(scid(700_004), [Y, T], [0x67, 0x68]),
            5_000,
        ),
        (
            SignedChannel::new(scid(700_005), [T, U], [0x69, 0x6a]),
            1_000,
        ),
    ]
}

/// Publishes every announcement and both updates of each channel; returns the updates'
/// timestamp (a minute ago).
async fn publish_network(raw: &RawTopic, network: &[(SignedChannel, u32)]) -> u32 {
    let timestamp = u32::try_from(now_secs() - 60).unwrap();
    for (channel, fee) in network {
        raw.send(channel.scid, channel.announcement().encode())
            .await;
        for direction in [0, 1] {
            let update = channel.update(direction, timestamp, *fee);
            raw.send(channel.scid, update.encode()).await;
        }
    }
    timestamp
}

/// The channels of the route `from` → `to` a service answers now, `None` without one.
async fn route_channels(api: SocketAddr, from: &str, to: &str) -> Option<Vec<String>> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "getroute",
                      "params": {"id": to, "fromid": from, "amount_msat": AMOUNT_MSAT,
                                 "riskfactor": 1, "fuzzpercent": 0}});
    let (_, text) = http_post_json(api, "/", &body.to_string()).await.ok()?;
    let reply: Value = serde_json::from_str(&text).ok()?;
    reply["result"]["route"]
        .as_array()?
        .iter()
        .map(|hop| hop["channel"].as_str().map(str::to_owned))
        .collect()
}

async fn started_broker() -> (KafkaBroker, KafkaConfig, RawTopic) {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "kafka-e2e-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &topics::ALL)
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    let raw = RawTopic {
        publisher: Publisher::new(&config).unwrap(),
    };
    (broker, config, raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_in_role_all_validates_routes_and_reports_lag() {
    let (broker, _config, raw) = started_broker().await;
    let network = network();
    publish_network(&raw, &network).await;
    let dir = tempfile::tempdir().unwrap();
    let mut service = Service::start(&dir, &broker.bootstrap(), "all", "all-1", &[]);
    let (from, to) = (node(S), node(U));
    let cheap: Vec<String> = [0, 1, 4]
        .iter()
        .map(|&i| network[i].0.scid.to_string())
        .collect();
    let api = service.api;
    let (from_ref, to_ref, cheap_ref) = (&from, &to, &cheap);
    service
        .eventually("the gossip is validated and routed over", || async move {
            route_channels(api, from_ref, to_ref).await.as_ref() == Some(cheap_ref)
        })
        .await;
    assert!(service.is_ready().await);
    let telemetry = service.telemetry;
    service
        .eventually("lag of all three topics reported as zero", || async move {
            let m = metrics_of(telemetry).await;
            ["ln.gossip.raw", "ln.gossip.valid", "ln.payments.outcomes"]
                .iter()
                .all(|topic| {
                    sample(
                        &m,
                        &format!("lnfleet_gossip_consumer_lag_records{{topic=\"{topic}\"}}"),
                    ) == Some(0.0)
                })
        })
        .await;
    let metrics = service.metrics().await;
    assert_eq!(
        sum(&metrics, "lnfleet_gossip_gossip_accepted_total"),
        15.0,
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_and_two_router_replicas_agree_and_learn_from_outcomes() {
    let (broker, config, raw) = started_broker().await;
    let brokers = broker.bootstrap();

    let network = network();
    let timestamp = publish_network(&raw, &network).await;
    let [(sx, _), (xt, _), (sy, _), (yt, _), (tu, _)] = &network;
    // Bad gossip, one of each kind.
    let mut forged = sx.update(0, timestamp + 10, 1_000);
    forged.fee_base_msat = 1; // changed after signing
    raw.send(sx.scid, forged.encode()).await;
    let other_chain = SignedChannel::new(scid(700_009), [0x71, 0x72], [0x73, 0x74]);
    let mut regtest_ann = other_chain.announcement();
    regtest_ann.chain_hash = ChainHash::REGTEST;
    other_chain.sign(&mut regtest_ann);
    raw.send(other_chain.scid, regtest_ann.encode()).await;
    raw.send(sx.scid, sx.update(1, timestamp - 30, 1_000).encode())
        .await;
    let never_announced = SignedChannel::new(scid(700_010), [0x75, 0x76], [0x77, 0x78]);
    raw.send(
        never_announced.scid,
        never_announced.update(0, timestamp, 1_000).encode(),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let mut validator = Service::start(
        &dir,
        &brokers,
        "validator",
        "validator-1",
        &["--pending-max-age-secs", "1"],
    );
    let telemetry = validator.telemetry;
    validator
        .eventually("the validator decided every record", || async move {
            let m = metrics_of(telemetry).await;
            sum(&m, "lnfleet_gossip_gossip_accepted_total") >= 15.0
                && sum(&m, "lnfleet_gossip_gossip_rejected_total") >= 4.0
        })
        .await;
    let metrics = validator.metrics().await;
    assert_eq!(
        sum(&metrics, "lnfleet_gossip_gossip_accepted_total"),
        15.0,
        "5 announcements + 10 updates\n{metrics}"
    );
    for reason in [
        "bad_signature",
        "wrong_chain",
        "stale_timestamp",
        "unknown_channel",
    ] {
        assert_eq!(rejected(&metrics, reason), 1.0, "{reason}\n{metrics}");
    }
    assert_eq!(
        sum(&metrics, "lnfleet_gossip_gossip_rejected_total"),
        4.0,
        "{metrics}"
    );
    assert!(validator.is_ready().await);

    // Two replicas, started after the validator published: ready means caught up with it.
    let mut replicas = [
        Service::start(&dir, &brokers, "router", "router-1", &[]),
        Service::start(&dir, &brokers, "router", "router-2", &[]),
    ];
    for replica in &mut replicas {
        let telemetry = replica.telemetry;
        replica
            .eventually("the replica turns ready", || async move {
                matches!(http_get(telemetry, "/readyz").await, Ok((200, _)))
            })
            .await;
        let (_, report) = http_get(telemetry, "/readyz").await.unwrap();
        for check in ["graph_loaded", "gossip_replay", "outcome_feed"] {
            assert!(report.contains(check), "{report}");
        }
    }
    let (from, to) = (node(S), node(U));
    let cheap = vec![
        sx.scid.to_string(),
        xt.scid.to_string(),
        tu.scid.to_string(),
    ];
    let detour = vec![
        sy.scid.to_string(),
        yt.scid.to_string(),
        tu.scid.to_string(),
    ];
    let first = replicas[0].getroute(&from, &to).await;
    assert_eq!(channels(&first), cheap, "{first}");
    assert_eq!(
        replicas[1].getroute(&from, &to).await["result"],
        first["result"]
    );
    for replica in &mut replicas {
        let telemetry = replica.telemetry;
        replica
            .eventually("the graph gauges show the network", || async move {
                let m = metrics_of(telemetry).await;
                sample(&m, "lnfleet_gossip_graph_channels") == Some(5.0)
                    && sample(&m, "lnfleet_gossip_graph_nodes") == Some(5.0)
            })
            .await;
    }

    // A garbage record, then the cheap route's middle hop failing for lack of liquidity.
    let outcomes = Publisher::new(&config).unwrap();
    outcomes
        .publish(
            topics::PAYMENT_OUTCOMES.name,
            b"edge-e2e",
            b"not an outcome",
        )
        .await
        .unwrap();
    let route: Vec<OutcomeHop> = first["result"]["route"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| OutcomeHop {
            scid: hop["channel"]
                .as_str()
                .unwrap()
                .parse::<ShortChannelId>()
                .unwrap()
                .0,
            direction: u8::try_from(hop["direction"].as_u64().unwrap()).unwrap(),
            amount_msat: hop["amount_msat"].as_u64().unwrap(),
        })
        .collect();
    let failure = PaymentOutcome {
        edge_id: "edge-e2e".into(),
        payment_hash: [9; 32],
        attempt_id: 1,
        at_ms: now_secs() * 1000,
        route,
        result: OutcomeResult::Failure {
            erring_hop: 1,
            code: failure_code::TEMPORARY_CHANNEL_FAILURE,
        },
    };
    outcomes
        .publish(
            topics::PAYMENT_OUTCOMES.name,
            b"edge-e2e",
            &contracts::encode(&failure),
        )
        .await
        .unwrap();

    for replica in &mut replicas {
        let telemetry = replica.telemetry;
        replica
            .eventually("the outcome is applied", || async move {
                let m = metrics_of(telemetry).await;
                sample(
                    &m,
                    r#"lnfleet_gossip_mission_control_outcomes_total{result="applied"}"#,
                ) == Some(1.0)
            })
            .await;
        let metrics = replica.metrics().await;
        assert_eq!(
            sample(
                &metrics,
                r#"lnfleet_gossip_mission_control_outcomes_total{result="malformed"}"#
            ),
            Some(1.0),
            "the garbage record is counted and skipped\n{metrics}"
        );
    }
    let second = replicas[0].getroute(&from, &to).await;
    assert_eq!(channels(&second), detour, "{second}");
    assert_eq!(
        replicas[1].getroute(&from, &to).await["result"],
        second["result"]
    );

    // Lag is polled and reaches zero on both topics.
    for replica in &mut replicas {
        let telemetry = replica.telemetry;
        replica
            .eventually("consumer lag reported as zero", || async move {
                let m = metrics_of(telemetry).await;
                ["ln.gossip.valid", "ln.payments.outcomes"]
                    .iter()
                    .all(|topic| {
                        sample(
                            &m,
                            &format!("lnfleet_gossip_consumer_lag_records{{topic=\"{topic}\"}}"),
                        ) == Some(0.0)
                    })
            })
            .await;
    }

    // SIGTERM stops a replica cleanly; the other keeps answering.
    let [first_replica, second_replica] = &mut replicas;
    let status = Command::new("kill")
        .args(["-TERM", &first_replica.process.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first_replica.process.is_running() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sigterm ignored:\n{}",
            first_replica.process.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = first_replica.process.log();
    assert!(
        log.contains("sigterm: stopping") && log.contains("gossip service stopped cleanly"),
        "{log}"
    );
    assert_eq!(channels(&second_replica.getroute(&from, &to).await), detour);
    assert!(validator.process.is_running());
}

/// Pruning stops and restarts the ingest loop every interval (it hands its validator back to
/// be pruned): gossip published across several such restarts is still all validated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_keeps_consuming_across_prune_passes() {
    let (broker, _config, raw) = started_broker().await;
    let network = network();
    let (first_half, second_half) = network.split_at(2);
    publish_network(&raw, first_half).await;
    let dir = tempfile::tempdir().unwrap();
    let brokers = broker.bootstrap();
    let replica = "pruning-validator";
    let mut service = Service::start(
        &dir,
        &brokers,
        "validator",
        replica,
        &["--prune-interval-secs", "1"],
    );
    let telemetry = service.telemetry;
    service
        .eventually("the first half is validated", || async move {
            let m = metrics_of(telemetry).await;
            sum(&m, "lnfleet_gossip_gossip_accepted_total") >= 6.0
        })
        .await;
    service
        .eventually("two prune passes run", || async move {
            let m = metrics_of(telemetry).await;
            sample(&m, "lnfleet_gossip_gossip_prune_runs_total").unwrap_or(0.0) >= 2.0
        })
        .await;
    publish_network(&raw, second_half).await;
    service
        .eventually("the second half is validated too", || async move {
            let m = metrics_of(telemetry).await;
            sum(&m, "lnfleet_gossip_gossip_accepted_total") >= 15.0
        })
        .await;
    let metrics = service.metrics().await;
    assert_eq!(
        sum(&metrics, "lnfleet_gossip_gossip_accepted_total"),
        15.0,
        "{metrics}"
    );
    // Nothing was consumed twice, and pruning (nothing is stale yet) removed nothing.
    assert_eq!(
        sum(&metrics, "lnfleet_gossip_gossip_rejected_total"),
        0.0,
        "{metrics}"
    );
}
