//! The HSM client edges and the gossip service use: send a request, wait for its reply, retry
//! what the HSM calls transient with the same request id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::{Client, RedisError};
use lnfleet_wire::noise::{EcdhError, StaticKeyEcdh};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use secp256k1::PublicKey;
use tokio::runtime::Handle;

use super::auth::{self, ClientCredential, ReplyError};
use super::contract::{
    ChannelBasepoints, ChannelRef, ChannelSetupInfo, CommitmentInfo, HsmError, HsmRequest,
    HsmResponse, KeyError, MutualCloseInfo, PublicKeyBytes, RecoverableSignatureBytes,
    SignatureBytes, SignedHtlcTx,
};
use super::transport::{self, ReplyWaiter};
use crate::contracts;
use crate::redis::ConnectionManager;

#[derive(Debug, Clone)]
pub struct HsmClientConfig {
    /// How long one attempt waits for its reply.
    pub timeout: Duration,
    /// Further attempts after a transient failure (HSM `Transient`, or the Redis connection
    /// failing), each with the same request id. A timeout is not retried: the caller's time
    /// budget is spent, and it may [`HsmClient::call_with_id`] again with the same id.
    pub retries: u32,
    /// Pause before retry n is `n * retry_backoff`.
    pub retry_backoff: Duration,
    /// Requests waiting for a reply at once; more queue (each wait holds a Redis connection).
    pub max_in_flight: usize,
}

impl Default for HsmClientConfig {
    fn default() -> Self {
        HsmClientConfig {
            timeout: Duration::from_secs(5),
            retries: 2,
            retry_backoff: Duration::from_millis(50),
            max_in_flight: 64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HsmClientError {
    #[error("no hsm reply within {0:?}")]
    Timeout(Duration),
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error(transparent)]
    Hsm(#[from] HsmError),
    #[error("hsm protocol violation: {0}")]
    Protocol(String),
}

impl HsmClientError {
    /// Bounded metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            HsmClientError::Timeout(_) => "timeout",
            HsmClientError::Redis(_) => "redis",
            HsmClientError::Hsm(error) => error.kind(),
            HsmClientError::Protocol(_) => "protocol",
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            HsmClientError::Hsm(error) => error.is_retryable(),
            HsmClientError::Redis(error) => error.is_io_error() || error.is_connection_dropped(),
            HsmClientError::Timeout(_) | HsmClientError::Protocol(_) => false,
        }
    }
}

impl From<ReplyError> for HsmClientError {
    fn from(error: ReplyError) -> Self {
        HsmClientError::Protocol(error.to_string())
    }
}

impl From<KeyError> for HsmClientError {
    fn from(error: KeyError) -> Self {
        HsmClientError::Protocol(format!("hsm answered an invalid key: {error}"))
    }
}

/// `lnfleet_hsm_client_requests_total{operation, result}` and
/// `lnfleet_hsm_client_request_duration_seconds{operation}`. Register once per registry and
/// share between clients.
#[derive(Debug, Clone)]
pub struct HsmClientMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl HsmClientMetrics {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "lnfleet_hsm_client_requests_total",
                "HSM requests by operation and result (ok or the error kind)",
            ),
            &["operation", "result"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "lnfleet_hsm_client_request_duration_seconds",
                "Time from sending an HSM request to its final answer, retries included",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["operation"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(HsmClientMetrics { requests, duration })
    }

    fn observe(&self, operation: &str, result: &str, elapsed: Duration) {
        self.requests.with_label_values(&[operation, result]).inc();
        self.duration
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }
}

struct Inner {
    submit: ConnectionManager,
    waiter: ReplyWaiter,
    credential: ClientCredential,
    config: HsmClientConfig,
    metrics: HsmClientMetrics,
}

/// Talks to the HSM over Redis. Cheap to clone.
#[derive(Clone)]
pub struct HsmClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HsmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmClient")
            .field("client_id", &self.inner.credential.client_id())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HsmClient {
    /// `submit` sends requests (`XADD`, never blocks); `redis` opens the connections replies are
    /// awaited on.
    pub fn new(
        submit: ConnectionManager,
        redis: Client,
        credential: ClientCredential,
        config: HsmClientConfig,
        metrics: HsmClientMetrics,
    ) -> Self {
        let waiter = ReplyWaiter::new(redis, config.max_in_flight);
        HsmClient {
            inner: Arc::new(Inner {
                submit,
                waiter,
                credential,
                config,
                metrics,
            }),
        }
    }

    /// Connects to `url` (see [`crate::redis::connect`]) and builds the client.
    pub async fn connect(
        url: &str,
        credential: ClientCredential,
        config: HsmClientConfig,
        metrics: HsmClientMetrics,
    ) -> Result<Self, crate::redis::RedisConnectError> {
        let submit = crate::redis::connect(url, 5).await?;
        let redis =
            Client::open(url).map_err(|source| crate::redis::RedisConnectError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?;
        Ok(HsmClient::new(submit, redis, credential, config, metrics))
    }

    pub fn client_id(&self) -> &str {
        self.inner.credential.client_id()
    }

    /// Sends `request` and waits for the HSM's answer, retrying transient failures with the same
    /// request id so the HSM can recognise the retry and never act twice.
    pub async fn call(&self, request: HsmRequest) -> Result<HsmResponse, HsmClientError> {
        let request_id: [u8; 16] = secp256k1::rand::random();
        self.call_with_id(request, request_id).await
    }

    /// [`call`](Self::call) with a chosen request id: for a caller that persists the id to retry
    /// after its own restart.
    pub async fn call_with_id(
        &self,
        request: HsmRequest,
        request_id: [u8; 16],
    ) -> Result<HsmResponse, HsmClientError> {
        let operation = request.operation_name();
        let started = Instant::now();
        let payload = contracts::encode(&request);
        let mut attempt = 0u32;
        let result = loop {
            let result = self.attempt(request_id, &payload).await;
            match result {
                Err(error) if error.is_retryable() && attempt < self.inner.config.retries => {
                    attempt += 1;
                    tracing::debug!(
                        operation,
                        request_id = %hex::encode(request_id),
                        attempt,
                        %error,
                        "retrying hsm request"
                    );
                    tokio::time::sleep(self.inner.config.retry_backoff * attempt).await;
                }
                other => break other,
            }
        };
        let label = match &result {
            Ok(_) => "ok",
            Err(error) => error.kind(),
        };
        self.inner
            .metrics
            .observe(operation, label, started.elapsed());
        result
    }

    async fn attempt(
        &self,
        request_id: [u8; 16],
        payload: &[u8],
    ) -> Result<HsmResponse, HsmClientError> {
        let inner = &self.inner;
        // Sealed afresh each attempt: a new timestamp, the same id and payload.
        let envelope = inner
            .credential
            .seal_request(request_id, auth::now_ms(), payload.to_vec());
        let mut submit = inner.submit.clone();
        transport::submit(&mut submit, &contracts::encode(&envelope)).await?;
        let reply = inner
            .waiter
            .wait(
                inner.credential.client_id(),
                &request_id,
                inner.config.timeout,
            )
            .await?
            .ok_or(HsmClientError::Timeout(inner.config.timeout))?;
        let reply = inner.credential.open_reply(&reply, request_id)?;
        Ok(reply.outcome?)
    }

    pub async fn node_info(&self) -> Result<Vec<PublicKey>, HsmClientError> {
        match self.call(HsmRequest::NodeInfo).await? {
            HsmResponse::NodeInfo { node_ids } => Ok(node_ids
                .iter()
                .map(PublicKeyBytes::to_public_key)
                .collect::<Result<_, _>>()?),
            other => Err(unexpected("node_info", &other)),
        }
    }

    /// BOLT 8 ECDH with `node_id`'s static secret.
    pub async fn ecdh(
        &self,
        node_id: &PublicKey,
        point: &PublicKey,
    ) -> Result<[u8; 32], HsmClientError> {
        let request = HsmRequest::Ecdh {
            node_id: node_id.into(),
            point: point.into(),
        };
        match self.call(request).await? {
            HsmResponse::Ecdh { shared_secret } => Ok(shared_secret),
            other => Err(unexpected("ecdh", &other)),
        }
    }

    pub async fn sign_node_announcement(
        &self,
        node_id: &PublicKey,
        message: Vec<u8>,
    ) -> Result<SignatureBytes, HsmClientError> {
        let request = HsmRequest::SignNodeAnnouncement {
            node_id: node_id.into(),
            message,
        };
        self.single_signature("sign_node_announcement", request)
            .await
    }

    pub async fn sign_channel_update(
        &self,
        channel: ChannelRef,
        message: Vec<u8>,
    ) -> Result<SignatureBytes, HsmClientError> {
        let request = HsmRequest::SignChannelUpdate { channel, message };
        self.single_signature("sign_channel_update", request).await
    }

    /// `(node signature, bitcoin signature)` for a channel announcement.
    pub async fn sign_channel_announcement(
        &self,
        channel: ChannelRef,
        message: Vec<u8>,
    ) -> Result<(SignatureBytes, SignatureBytes), HsmClientError> {
        let request = HsmRequest::SignChannelAnnouncement {
            node_id: channel.node_id,
            channel,
            message,
        };
        self.signature_pair("sign_channel_announcement", request)
            .await
    }

    pub async fn sign_invoice(
        &self,
        node_id: &PublicKey,
        hrp: String,
        data_5bit: Vec<u8>,
    ) -> Result<RecoverableSignatureBytes, HsmClientError> {
        let request = HsmRequest::SignInvoice {
            node_id: node_id.into(),
            hrp,
            data_5bit,
        };
        self.recoverable_signature("sign_invoice", request).await
    }

    pub async fn sign_message(
        &self,
        node_id: &PublicKey,
        message: Vec<u8>,
    ) -> Result<RecoverableSignatureBytes, HsmClientError> {
        let request = HsmRequest::SignMessage {
            node_id: node_id.into(),
            message,
        };
        self.recoverable_signature("sign_message", request).await
    }

    pub async fn new_channel(
        &self,
        node_id: &PublicKey,
        peer_id: &PublicKey,
        channel_db_id: u64,
    ) -> Result<ChannelBasepoints, HsmClientError> {
        let request = HsmRequest::NewChannel {
            node_id: node_id.into(),
            peer_id: peer_id.into(),
            channel_db_id,
        };
        match self.call(request).await? {
            HsmResponse::ChannelBasepoints { basepoints } => Ok(basepoints),
            other => Err(unexpected("new_channel", &other)),
        }
    }

    pub async fn get_per_commitment_point(
        &self,
        channel: ChannelRef,
        commitment_number: u64,
    ) -> Result<PublicKey, HsmClientError> {
        let request = HsmRequest::GetPerCommitmentPoint {
            channel,
            commitment_number,
        };
        match self.call(request).await? {
            HsmResponse::PerCommitmentPoint { point } => Ok(point.to_public_key()?),
            other => Err(unexpected("get_per_commitment_point", &other)),
        }
    }

    /// `(node signature, bitcoin signature)` to send in `announcement_signatures`.
    pub async fn sign_announcement_signatures(
        &self,
        channel: ChannelRef,
        message: Vec<u8>,
    ) -> Result<(SignatureBytes, SignatureBytes), HsmClientError> {
        let request = HsmRequest::SignAnnouncementSignatures {
            node_id: channel.node_id,
            channel,
            message,
        };
        self.signature_pair("sign_announcement_signatures", request)
            .await
    }

    /// `(node signature, bitcoin signature)` answers.
    async fn signature_pair(
        &self,
        operation: &'static str,
        request: HsmRequest,
    ) -> Result<(SignatureBytes, SignatureBytes), HsmClientError> {
        match self.call(request).await? {
            HsmResponse::AnnouncementSignatures {
                node_signature,
                bitcoin_signature,
            } => Ok((node_signature, bitcoin_signature)),
            other => Err(unexpected(operation, &other)),
        }
    }

    /// Registers the channel's fixed parameters once it is funded.
    pub async fn setup_channel(
        &self,
        channel: ChannelRef,
        setup: ChannelSetupInfo,
    ) -> Result<(), HsmClientError> {
        self.done("setup_channel", HsmRequest::SetupChannel { channel, setup })
            .await
    }

    /// Hands the peer's signatures on our new commitment to the HSM; answers what
    /// `revoke_and_ack` carries: the revoked commitment's secret (none for commitment 0) and the
    /// next per-commitment point.
    pub async fn validate_commitment_and_revoke(
        &self,
        channel: ChannelRef,
        commitment_number: u64,
        info: CommitmentInfo,
        counterparty_signature: SignatureBytes,
        htlc_signatures: Vec<SignatureBytes>,
    ) -> Result<(Option<[u8; 32]>, PublicKey), HsmClientError> {
        let request = HsmRequest::ValidateCommitmentAndRevoke {
            channel,
            commitment_number,
            info,
            counterparty_signature,
            htlc_signatures,
        };
        match self.call(request).await? {
            HsmResponse::Revoked {
                old_secret,
                next_per_commitment_point,
                ..
            } => Ok((old_secret, next_per_commitment_point.to_public_key()?)),
            other => Err(unexpected("validate_commitment_and_revoke", &other)),
        }
    }

    /// Signatures for the peer's commitment and its HTLC transactions, for `commitment_signed`.
    pub async fn sign_counterparty_commitment(
        &self,
        channel: ChannelRef,
        commitment_number: u64,
        per_commitment_point: &PublicKey,
        info: CommitmentInfo,
    ) -> Result<(SignatureBytes, Vec<SignatureBytes>), HsmClientError> {
        let request = HsmRequest::SignCounterpartyCommitment {
            channel,
            commitment_number,
            per_commitment_point: per_commitment_point.into(),
            info,
        };
        match self.call(request).await? {
            HsmResponse::CommitmentSignatures {
                commitment_signature,
                htlc_signatures,
            } => Ok((commitment_signature, htlc_signatures)),
            other => Err(unexpected("sign_counterparty_commitment", &other)),
        }
    }

    /// The peer's `revoke_and_ack` secret for its commitment `commitment_number`.
    pub async fn validate_counterparty_revocation(
        &self,
        channel: ChannelRef,
        commitment_number: u64,
        secret: [u8; 32],
    ) -> Result<(), HsmClientError> {
        let request = HsmRequest::ValidateCounterpartyRevocation {
            channel,
            commitment_number,
            secret,
        };
        self.done("validate_counterparty_revocation", request).await
    }

    /// Our latest commitment and its HTLC transactions, signed, to broadcast.
    pub async fn sign_holder_commitment(
        &self,
        channel: ChannelRef,
        commitment_number: u64,
    ) -> Result<(Vec<u8>, Vec<SignedHtlcTx>), HsmClientError> {
        let request = HsmRequest::SignHolderCommitment {
            channel,
            commitment_number,
        };
        match self.call(request).await? {
            HsmResponse::HolderCommitment {
                commitment_tx,
                htlc_txs,
            } => Ok((commitment_tx, htlc_txs)),
            other => Err(unexpected("sign_holder_commitment", &other)),
        }
    }

    pub async fn set_shutdown_scripts(
        &self,
        channel: ChannelRef,
        holder_script: Vec<u8>,
        counterparty_script: Vec<u8>,
    ) -> Result<(), HsmClientError> {
        let request = HsmRequest::SetShutdownScripts {
            channel,
            holder_script,
            counterparty_script,
        };
        self.done("set_shutdown_scripts", request).await
    }

    /// The mutual close transaction the HSM built from `info`, and our signature on it.
    pub async fn sign_mutual_close(
        &self,
        channel: ChannelRef,
        info: MutualCloseInfo,
    ) -> Result<(Vec<u8>, SignatureBytes), HsmClientError> {
        match self
            .call(HsmRequest::SignMutualClose { channel, info })
            .await?
        {
            HsmResponse::MutualClose { tx, signature } => Ok((tx, signature)),
            other => Err(unexpected("sign_mutual_close", &other)),
        }
    }

    async fn done(
        &self,
        operation: &'static str,
        request: HsmRequest,
    ) -> Result<(), HsmClientError> {
        match self.call(request).await? {
            HsmResponse::Done => Ok(()),
            other => Err(unexpected(operation, &other)),
        }
    }

    async fn single_signature(
        &self,
        operation: &str,
        request: HsmRequest,
    ) -> Result<SignatureBytes, HsmClientError> {
        match self.call(request).await? {
            HsmResponse::Signature { signature } => Ok(signature),
            other => Err(unexpected(operation, &other)),
        }
    }

    async fn recoverable_signature(
        &self,
        operation: &str,
        request: HsmRequest,
    ) -> Result<RecoverableSignatureBytes, HsmClientError> {
        match self.call(request).await? {
            HsmResponse::RecoverableSignature { signature } => Ok(signature),
            other => Err(unexpected(operation, &other)),
        }
    }
}

fn unexpected(operation: &str, response: &HsmResponse) -> HsmClientError {
    // Only the variant name: a response may carry a secret (ECDH, revocation).
    let variant = format!("{response:?}");
    let variant = variant.split([' ', '{', '(']).next().unwrap_or_default();
    HsmClientError::Protocol(format!("{operation} answered with {variant}"))
}

/// BOLT 8's synchronous [`StaticKeyEcdh`] on top of the async client, for handshake code that
/// takes a `StaticKeyEcdh`.
///
/// Each `ecdh` blocks its thread on `Handle::block_on` until the HSM answers: call it from a
/// blocking thread (`tokio::task::spawn_blocking`, or a thread outside the runtime), never
/// from an async task, where `block_on` panics. Async code should instead drive the handshake's
/// explicit [`NeedsEcdh`](lnfleet_wire::noise::NeedsEcdh) step with [`HsmClient::ecdh`].
#[derive(Debug, Clone)]
pub struct BlockingEcdh {
    client: HsmClient,
    runtime: Handle,
    node_id: PublicKey,
}

impl BlockingEcdh {
    pub fn new(client: HsmClient, runtime: Handle, node_id: PublicKey) -> Self {
        BlockingEcdh {
            client,
            runtime,
            node_id,
        }
    }
}

impl StaticKeyEcdh for BlockingEcdh {
    fn node_id(&self) -> PublicKey {
        self.node_id
    }

    fn ecdh(&self, point: &PublicKey) -> Result<[u8; 32], EcdhError> {
        self.runtime
            .block_on(self.client.ecdh(&self.node_id, point))
            .map_err(HsmClientError::into_ecdh_error)
    }
}

impl HsmClientError {
    /// The BOLT 8 handshake's view: the HSM said no, or could not be asked.
    pub fn into_ecdh_error(self) -> EcdhError {
        match self {
            HsmClientError::Hsm(HsmError::PolicyReject { .. })
            | HsmClientError::Hsm(HsmError::Unauthorized { .. })
            | HsmClientError::Hsm(HsmError::Fatal { .. }) => EcdhError::Refused {
                reason: self.to_string(),
            },
            _ => EcdhError::SignerUnavailable {
                reason: self.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unexpected_response_is_reported_without_its_contents() {
        let error = unexpected(
            "node_info",
            &HsmResponse::Ecdh {
                shared_secret: [0xaa; 32],
            },
        );
        let printed = error.to_string();
        assert_eq!(
            printed,
            "hsm protocol violation: node_info answered with Ecdh"
        );
    }

    #[test]
    fn only_transient_hsm_errors_and_dropped_connections_are_retried() {
        let transient = HsmClientError::Hsm(HsmError::Transient {
            reason: "busy".into(),
        });
        assert!(transient.is_retryable());
        let policy = HsmClientError::Hsm(HsmError::PolicyReject { rule: "r".into() });
        assert!(!policy.is_retryable());
        assert_eq!(policy.kind(), "policy_reject");
        assert!(!HsmClientError::Timeout(Duration::from_secs(1)).is_retryable());
        let dropped = HsmClientError::Redis(RedisError::from((
            ::redis::ErrorKind::IoError,
            "connection reset",
        )));
        assert!(dropped.is_retryable());
    }

    #[test]
    fn metrics_register_once_per_registry() {
        let registry = Registry::new();
        let metrics = HsmClientMetrics::register(&registry).unwrap();
        metrics.observe("ecdh", "ok", Duration::from_millis(3));
        let names: Vec<_> = registry
            .gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "lnfleet_hsm_client_request_duration_seconds",
                "lnfleet_hsm_client_requests_total"
            ]
        );
        assert!(HsmClientMetrics::register(&registry).is_err());
    }
}
