//! The HSM as a service: requests from the Redis stream, authenticated, answered by the
//! [`ChannelSigner`] (keys, policy, durable state), replied to the asking client, acked.
//! Entries a crashed replica left pending are claimed and served (`XAUTOCLAIM`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lnfleet_actors::hsm::{
    AuthError, AuthMetrics, Authenticator, HsmError, HsmReply, HsmRequest, HsmResponse,
    RequestStream, StreamEntry, Verdict,
};
use lnfleet_actors::redis as lnredis;
use lnfleet_actors::telemetry::{Metrics, MetricsError, ReadinessCheck};
use prometheus::{HistogramVec, IntCounterVec};
use tokio::sync::watch;

use crate::channels::ChannelSigner;
use crate::dispatch::dispatch;

/// How one replica consumes the request stream.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub redis_url: String,
    /// This replica's consumer name in the group; unique per replica.
    pub consumer: String,
    /// How long a reply waits for its client before Redis drops it.
    pub reply_ttl: Duration,
    /// Pending entries idle this long belong to a dead replica and are claimed.
    pub claim_idle: Duration,
    /// How often to look for such entries.
    pub claim_every: Duration,
}

impl StreamConfig {
    pub fn new(redis_url: impl Into<String>, consumer: impl Into<String>) -> Self {
        StreamConfig {
            redis_url: redis_url.into(),
            consumer: consumer.into(),
            reply_ttl: Duration::from_secs(60),
            claim_idle: Duration::from_secs(15),
            claim_every: Duration::from_secs(5),
        }
    }
}

/// The HSM's metrics: requests by operation and result, latency, refusals by rule.
#[derive(Clone)]
pub struct HsmMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    policy_rejects: IntCounterVec,
    auth: AuthMetrics,
}

impl HsmMetrics {
    pub fn register(metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(HsmMetrics {
            requests: metrics.counter_vec(
                "requests_total",
                "Authorised requests answered, by operation and result",
                &["operation", "result"],
            )?,
            duration: metrics.histogram_vec(
                "request_duration_seconds",
                "Time to answer an authorised request, by operation",
                &["operation"],
                Some(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
                ]),
            )?,
            policy_rejects: metrics.counter_vec(
                "policy_rejects_total",
                "Requests the validating policy refused, by rule",
                &["rule"],
            )?,
            // lnfleet_hsm_auth_refusals_total{reason}
            auth: AuthMetrics::register(metrics.registry()).map_err(|source| {
                MetricsError::Prometheus {
                    name: "lnfleet_hsm_auth_refusals_total".into(),
                    source,
                }
            })?,
        })
    }
}

/// One HSM replica's request handling.
pub struct HsmService {
    /// One lock for the keys, the policy and the store: channel operations must see each other's
    /// state changes in order, and signing is microseconds next to the store's fsync.
    core: Arc<Mutex<ChannelSigner>>,
    auth: Authenticator,
    metrics: HsmMetrics,
}

impl HsmService {
    pub fn new(core: ChannelSigner, auth: Authenticator, metrics: HsmMetrics) -> Self {
        HsmService {
            core: Arc::new(Mutex::new(core)),
            auth,
            metrics,
        }
    }

    /// Serves the stream until `shutdown` turns true. Redis failures flip `redis_ready` and are
    /// retried; they never end the loop.
    pub async fn run(
        self: Arc<Self>,
        config: StreamConfig,
        redis_ready: ReadinessCheck,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut last_claim = Instant::now();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut stream = match open_stream(&config).await {
                Ok(stream) => stream,
                Err(error) => {
                    redis_ready.set_not_ready(Some(&error));
                    tracing::warn!(%error, "request stream unavailable, retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            };
            redis_ready.set_ready();
            tracing::info!(consumer = %config.consumer, "serving hsm requests");
            loop {
                if last_claim.elapsed() >= config.claim_every {
                    last_claim = Instant::now();
                    match stream
                        .claim_stale(&config.consumer, config.claim_idle, 32)
                        .await
                    {
                        Ok(entries) => {
                            if !entries.is_empty() {
                                tracing::info!(count = entries.len(), "claimed stale requests");
                            }
                            self.serve_all(&mut stream, &entries).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "claiming stale requests failed");
                            break;
                        }
                    }
                }
                let read = tokio::select! {
                    read = stream.read(&config.consumer, 32, Duration::from_millis(500)) => read,
                    _ = shutdown.changed() => return,
                };
                match read {
                    Ok(entries) => self.serve_all(&mut stream, &entries).await,
                    Err(error) => {
                        redis_ready.set_not_ready(Some(&error.to_string()));
                        tracing::warn!(%error, "reading the request stream failed");
                        break;
                    }
                }
            }
        }
    }

    async fn serve_all(&self, stream: &mut RequestStream, entries: &[StreamEntry]) {
        for entry in entries {
            if let Err(error) = self.serve(stream, entry).await {
                // Not acked: the entry stays pending and is claimed again later.
                tracing::warn!(%error, entry = %entry.id, "replying failed");
            }
        }
    }

    /// Verify, answer (or refuse), reply, ack.
    async fn serve(
        &self,
        stream: &mut RequestStream,
        entry: &StreamEntry,
    ) -> Result<(), redis::RedisError> {
        let verdict = match self.auth.verify(&entry.envelope) {
            Ok(verdict) => verdict,
            Err(error) => {
                self.refuse(stream, &error).await?;
                return stream.ack(&entry.id).await;
            }
        };
        if matches!(verdict, Verdict::Duplicate(_)) {
            tracing::debug!("duplicate request id, answering again");
        }
        let request = verdict.request();
        let operation = request.request.operation_name();
        let started = Instant::now();
        let outcome = self
            .answer(&request.client_id, request.request_id, &request.request)
            .await;
        let result = match &outcome {
            Ok(_) => "ok",
            Err(error) => error.kind(),
        };
        if let Err(HsmError::PolicyReject { rule }) = &outcome {
            self.metrics.policy_rejects.with_label_values(&[rule]).inc();
            tracing::info!(client = %request.client_id, operation, rule, "policy reject");
        }
        self.metrics
            .requests
            .with_label_values(&[operation, result])
            .inc();
        self.metrics
            .duration
            .with_label_values(&[operation])
            .observe(started.elapsed().as_secs_f64());
        let reply = HsmReply {
            request_id: request.request_id,
            outcome,
        };
        if let Some(sealed) = self.auth.seal_reply(&request.client_id, &reply) {
            stream
                .reply(&request.client_id, &request.request_id, &sealed)
                .await?;
        }
        stream.ack(&entry.id).await
    }

    /// The answer to an authorised request, computed off the async executor (the store syncs
    /// to disk before it returns).
    pub async fn answer(
        &self,
        client_id: &str,
        request_id: [u8; 16],
        request: &HsmRequest,
    ) -> Result<HsmResponse, HsmError> {
        let core = Arc::clone(&self.core);
        let client_id = client_id.to_owned();
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave half-written state: the store commits
            // whole transactions or nothing.
            let mut core = core.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            dispatch(&mut core, &client_id, request_id, &request)
        })
        .await
        .unwrap_or_else(|error| {
            Err(HsmError::Transient {
                reason: format!("signing task failed: {error}"),
            })
        })
    }

    /// Counts a refusal and, when the request was authentic (its tag verified), tells the client.
    async fn refuse(
        &self,
        stream: &mut RequestStream,
        error: &AuthError,
    ) -> Result<(), redis::RedisError> {
        self.metrics.auth.record(error);
        tracing::info!(reason = error.kind(), "request refused");
        let Some((client_id, request_id)) = error.reply_target() else {
            return Ok(());
        };
        let reply = HsmReply {
            request_id,
            outcome: Err(HsmError::Unauthorized {
                reason: error.kind().into(),
            }),
        };
        if let Some(sealed) = self.auth.seal_reply(client_id, &reply) {
            stream.reply(client_id, &request_id, &sealed).await?;
        }
        Ok(())
    }
}

async fn open_stream(config: &StreamConfig) -> Result<RequestStream, String> {
    let conn = lnredis::connect(&config.redis_url, 3)
        .await
        .map_err(|e| e.to_string())?;
    RequestStream::open(conn, config.reply_ttl)
        .await
        .map_err(|e| e.to_string())
}
