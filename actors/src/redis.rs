//! Redis connections. A [`ConnectionManager`] reconnects by itself after a server restart, so
//! services hold one for their lifetime.

use std::time::Duration;

pub use ::redis::aio::ConnectionManager;
use ::redis::aio::ConnectionManagerConfig;
use ::redis::{Client, RedisError};

#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    #[error("invalid redis url {url}: {source}")]
    InvalidUrl {
        url: String,
        #[source]
        source: RedisError,
    },
    #[error("redis at {url} unreachable after {attempts} attempts: {source}")]
    Unreachable {
        url: String,
        attempts: u32,
        #[source]
        source: RedisError,
    },
}

/// Connects, retrying with a short backoff while the server comes up.
pub async fn connect(url: &str, attempts: u32) -> Result<ConnectionManager, RedisConnectError> {
    let client = Client::open(url).map_err(|source| RedisConnectError::InvalidUrl {
        url: url.to_owned(),
        source,
    })?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ConnectionManager::new_with_config(client.clone(), manager_config()).await {
            Ok(manager) => return Ok(manager),
            Err(source) if attempt >= attempts.max(1) => {
                return Err(RedisConnectError::Unreachable {
                    url: url.to_owned(),
                    attempts: attempt,
                    source,
                })
            }
            Err(error) => {
                tracing::debug!(%error, attempt, "redis not reachable yet");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
            }
        }
    }
}

/// Bounded waits: the library's defaults back off for minutes against a dead server, which
/// would hang startup instead of reporting it.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(500)
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(10))
}

/// `PING` → `PONG`: the health check every service's `/readyz` uses.
pub async fn ping(conn: &mut ConnectionManager) -> Result<(), RedisError> {
    let reply: String = ::redis::cmd("PING").query_async(conn).await?;
    if reply == "PONG" {
        Ok(())
    } else {
        Err(RedisError::from((
            ::redis::ErrorKind::ResponseError,
            "unexpected PING reply",
            reply,
        )))
    }
}
