//! Moving HSM requests and replies through Redis.
//!
//! Key shapes (all constants or built here, nowhere else):
//!
//! | key | type | written by | read by |
//! |---|---|---|---|
//! | `hsm:requests` ([`REQUEST_STREAM`]) | stream, one field `envelope` ([`ENVELOPE_FIELD`]) holding an encoded `RequestEnvelope`; trimmed to about [`REQUEST_STREAM_MAX_LEN`] entries | clients (`XADD`) | HSM replicas, consumer group `hsm` ([`CONSUMER_GROUP`]) |
//! | `hsm:reply:<client id>:<request id hex>` ([`reply_key`]) | list holding one encoded `ReplyEnvelope`, expiring after the server's reply TTL | the HSM replica that served the request (`RPUSH` + `EXPIRE`) | the waiting client (`BLPOP`) |
//!
//! Every replica reads the stream through the consumer group, so each request goes to one of
//! them. An entry is acknowledged once answered; one that stays pending (its replica crashed) is
//! taken over by another replica with [`RequestStream::claim_stale`] (`XAUTOCLAIM`). A request
//! can therefore be served twice; the request id makes that harmless (see `auth`).
//!
//! Blocking reads (`XREADGROUP BLOCK`, `BLPOP`) hold their connection for the whole wait, so each
//! runs on a connection of its own: the server's [`RequestStream`] should be given a connection
//! nothing else uses, and the client's [`ReplyWaiter`] keeps a small pool of them.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, MultiplexedConnection};
use ::redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use ::redis::{AsyncConnectionConfig, Client, RedisError, Value};
use tokio::sync::{Mutex, Semaphore};

/// The stream every HSM request goes through.
pub const REQUEST_STREAM: &str = "hsm:requests";
/// The consumer group the HSM replicas share.
pub const CONSUMER_GROUP: &str = "hsm";
/// The stream entry's only field.
pub const ENVELOPE_FIELD: &str = "envelope";
/// Approximate stream length kept (`XADD MAXLEN ~`): requests are answered within seconds, the
/// tail is only for debugging, and an unbounded stream would eat Redis memory.
pub const REQUEST_STREAM_MAX_LEN: usize = 100_000;
/// Prefix of the per-request reply lists.
pub const REPLY_KEY_PREFIX: &str = "hsm:reply:";

/// `hsm:reply:<client id>:<request id hex>`. Client ids are checked to be key-safe
/// (`auth::validate_client_id`).
pub fn reply_key(client_id: &str, request_id: &[u8; 16]) -> String {
    format!("{REPLY_KEY_PREFIX}{client_id}:{}", hex::encode(request_id))
}

/// One request as read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The stream entry id, to [`RequestStream::ack`] once answered.
    pub id: String,
    /// The encoded `RequestEnvelope`; empty if the entry lacks the field (then it fails to
    /// decode and is refused like any malformed request).
    pub envelope: Vec<u8>,
}

fn entry_from(stream_id: StreamId) -> StreamEntry {
    let envelope = match stream_id.map.get(ENVELOPE_FIELD) {
        Some(Value::BulkString(bytes)) => bytes.clone(),
        _ => Vec::new(),
    };
    StreamEntry {
        id: stream_id.id,
        envelope,
    }
}

/// The HSM replica's end of the request stream.
#[derive(Clone)]
pub struct RequestStream {
    conn: ConnectionManager,
    reply_ttl: Duration,
}

impl std::fmt::Debug for RequestStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestStream")
            .field("reply_ttl", &self.reply_ttl)
            .finish_non_exhaustive()
    }
}

impl RequestStream {
    /// Creates the consumer group (and the stream) if needed. `reply_ttl` is how long an answer
    /// waits for its client; `read` blocks on `conn`, so give it a connection of its own, and keep
    /// `block` below the connection's response timeout.
    pub async fn open(
        mut conn: ConnectionManager,
        reply_ttl: Duration,
    ) -> Result<Self, RedisError> {
        let created: Result<(), RedisError> = ::redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(REQUEST_STREAM)
            .arg(CONSUMER_GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Ok(()) => {}
            // Another replica made it first.
            Err(error) if error.code() == Some("BUSYGROUP") => {}
            Err(error) => return Err(error),
        }
        Ok(RequestStream { conn, reply_ttl })
    }

    /// Up to `count` new requests for `consumer`, waiting up to `block` for the first.
    pub async fn read(
        &mut self,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, RedisError> {
        let reply: Option<StreamReadReply> = ::redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(CONSUMER_GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(duration_ms(block).max(1))
            .arg("STREAMS")
            .arg(REQUEST_STREAM)
            .arg(">")
            .query_async(&mut self.conn)
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|key| key.ids)
            .map(entry_from)
            .collect())
    }

    /// Marks an entry answered, so no other replica claims it.
    pub async fn ack(&mut self, entry_id: &str) -> Result<(), RedisError> {
        let _acked: u64 = ::redis::cmd("XACK")
            .arg(REQUEST_STREAM)
            .arg(CONSUMER_GROUP)
            .arg(entry_id)
            .query_async(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Takes over up to `count` entries another consumer read but has not acknowledged for at
    /// least `min_idle` (it crashed or hangs), to serve them as `consumer`.
    pub async fn claim_stale(
        &mut self,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, RedisError> {
        let reply: StreamAutoClaimReply = ::redis::cmd("XAUTOCLAIM")
            .arg(REQUEST_STREAM)
            .arg(CONSUMER_GROUP)
            .arg(consumer)
            .arg(duration_ms(min_idle))
            .arg("0-0")
            .arg("COUNT")
            .arg(count.max(1))
            .query_async(&mut self.conn)
            .await?;
        Ok(reply.claimed.into_iter().map(entry_from).collect())
    }

    /// Hands an encoded `ReplyEnvelope` to the client waiting on `client_id`/`request_id`. The list
    /// expires after the reply TTL if nobody takes it (the client gave up).
    pub async fn reply(
        &mut self,
        client_id: &str,
        request_id: &[u8; 16],
        reply: &[u8],
    ) -> Result<(), RedisError> {
        let key = reply_key(client_id, request_id);
        let () = ::redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&key)
            .arg(reply)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(duration_ms(self.reply_ttl).max(1))
            .ignore()
            .query_async(&mut self.conn)
            .await?;
        Ok(())
    }
}

/// Appends an encoded `RequestEnvelope` to the request stream (client side).
pub async fn submit(conn: &mut ConnectionManager, envelope: &[u8]) -> Result<String, RedisError> {
    ::redis::cmd("XADD")
        .arg(REQUEST_STREAM)
        .arg("MAXLEN")
        .arg("~")
        .arg(REQUEST_STREAM_MAX_LEN)
        .arg("*")
        .arg(ENVELOPE_FIELD)
        .arg(envelope)
        .query_async(conn)
        .await
}

/// Waits for replies on connections of its own (`BLPOP` blocks the connection it runs on), at
/// most `max_waiting` at once: further callers queue for a slot (backpressure rather than an
/// unbounded number of connections).
pub struct ReplyWaiter {
    client: Client,
    idle: Mutex<Vec<MultiplexedConnection>>,
    slots: Semaphore,
    max_idle: usize,
}

impl std::fmt::Debug for ReplyWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyWaiter")
            .field("available_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl ReplyWaiter {
    pub fn new(client: Client, max_waiting: usize) -> Self {
        let max_waiting = max_waiting.max(1);
        ReplyWaiter {
            client,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(max_waiting),
            max_idle: max_waiting,
        }
    }

    /// The reply to `client_id`/`request_id`, or `None` if none came within `timeout`.
    pub async fn wait(
        &self,
        client_id: &str,
        request_id: &[u8; 16],
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, RedisError> {
        let _slot =
            self.slots.acquire().await.map_err(|_| {
                RedisError::from((::redis::ErrorKind::IoError, "reply waiter closed"))
            })?;
        let mut conn = match self.idle.lock().await.pop() {
            Some(conn) => conn,
            None => {
                let config =
                    AsyncConnectionConfig::new().set_connection_timeout(Duration::from_secs(2));
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?
            }
        };
        // BLPOP's timeout is in seconds with decimals (Redis >= 6); 0 would mean forever.
        let seconds = timeout.as_secs_f64().max(0.001);
        let mut blpop = ::redis::cmd("BLPOP");
        blpop.arg(reply_key(client_id, request_id)).arg(seconds);
        let blpop = blpop.query_async::<Option<(String, Vec<u8>)>>(&mut conn);
        // BLPOP ends the wait itself; the outer bound only catches a link that went silent.
        let popped = tokio::time::timeout(timeout + DEAD_LINK_GRACE, blpop)
            .await
            .map_err(|_| {
                RedisError::from((::redis::ErrorKind::IoError, "redis stopped answering BLPOP"))
            })??;
        // Only a connection that answered goes back to the pool.
        let mut idle = self.idle.lock().await;
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
        Ok(popped.map(|(_, reply)| reply))
    }
}

/// How long past its own timeout a `BLPOP` may take before its connection is presumed dead.
const DEAD_LINK_GRACE: Duration = Duration::from_secs(2);

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_keys_name_the_client_and_the_request_in_hex() {
        let mut request_id = [0u8; 16];
        request_id[0] = 0xab;
        request_id[15] = 0x01;
        assert_eq!(
            reply_key("edge-0", &request_id),
            "hsm:reply:edge-0:ab000000000000000000000000000001"
        );
    }
}
