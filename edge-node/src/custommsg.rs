//! Custom peer messages (Core Lightning's `custommsg` hook and `sendcustommsg` RPC).
//!
//! Incoming: an unknown odd-typed message from a peer is published to `ln.custommsg` as a
//! [`CustomMessage`], keyed by the peer id so one peer's messages stay in order.
//! Outgoing: [`validate_sendcustommsg`] checks what an operator asks to send, with the rules
//! and error wording of Core Lightning's `sendcustommsg`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lnfleet_actors::contracts::{self, CustomMessage};
use lnfleet_actors::kafka::{KafkaError, Publisher};
use lnfleet_actors::topics;
use lnfleet_wire::message::{self, TypeDisposition, MAX_MESSAGE_LEN};

use crate::hooks::PeerHandle;

/// Why a `sendcustommsg` payload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomMsgError {
    #[error("msg: not a valid hex string")]
    NotHex,
    #[error("Message too short: a custom message needs at least its 2-byte type")]
    TooShort,
    #[error("Message too long: {len} bytes, at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("Cannot send messages of type {msg_type} ({name}). It is not possible to send messages that have a type managed internally since that might cause issues with the internal state tracking.")]
    HandledInternally { msg_type: u16, name: &'static str },
    #[error("Cannot send even-typed {msg_type} custom message. Currently custom messages are limited to odd-numbered message types, as even-numbered types might result in disconnections.")]
    EvenType { msg_type: u16 },
}

/// Checks a message (u16 type + payload) an operator wants to send to a peer.
pub fn validate_sendcustommsg(message: &[u8]) -> Result<Vec<u8>, CustomMsgError> {
    if message.len() > MAX_MESSAGE_LEN {
        return Err(CustomMsgError::TooLong {
            len: message.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    let msg_type = message::peek_type(message).map_err(|_| CustomMsgError::TooShort)?;
    if let Some(name) = message::type_name(msg_type) {
        return Err(CustomMsgError::HandledInternally { msg_type, name });
    }
    match message::disposition(msg_type) {
        TypeDisposition::IgnoreOrCustom => Ok(message.to_vec()),
        TypeDisposition::FailConnection => Err(CustomMsgError::EvenType { msg_type }),
        TypeDisposition::Known => Err(CustomMsgError::HandledInternally {
            msg_type,
            name: "known",
        }),
    }
}

/// [`validate_sendcustommsg`] for the RPC's hex string.
pub fn validate_sendcustommsg_hex(hex_message: &str) -> Result<Vec<u8>, CustomMsgError> {
    let bytes = hex::decode(hex_message.trim()).map_err(|_| CustomMsgError::NotHex)?;
    validate_sendcustommsg(&bytes)
}

/// Why an incoming custom message was not published.
#[derive(Debug, thiserror::Error)]
pub enum CustomRelayError {
    #[error("message type {0} is not an unknown odd type")]
    NotCustom(u16),
    #[error("message too short to have a type")]
    TooShort,
    #[error(transparent)]
    Kafka(#[from] KafkaError),
}

/// Counters of the custom-message relay.
#[derive(Debug, Default)]
pub struct CustomRelayStats {
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    pub refused: AtomicU64,
}

/// Publishes peers' custom messages to `ln.custommsg`.
pub struct CustomMessageRelay {
    publisher: Arc<Publisher>,
    edge_id: String,
    attempts: u32,
    stats: Arc<CustomRelayStats>,
}

impl CustomMessageRelay {
    pub fn new(publisher: Arc<Publisher>, edge_id: impl Into<String>) -> Self {
        CustomMessageRelay {
            publisher,
            edge_id: edge_id.into(),
            attempts: 5,
            stats: Arc::new(CustomRelayStats::default()),
        }
    }

    pub fn stats(&self) -> Arc<CustomRelayStats> {
        Arc::clone(&self.stats)
    }

    /// Publishes `raw` (u16 type + payload) from `peer`, retrying a failing broker a few times;
    /// the hook's caller awaits it, so a slow broker slows that peer.
    pub async fn publish(&self, peer: &PeerHandle, raw: Vec<u8>) -> Result<(), CustomRelayError> {
        let msg_type = message::peek_type(&raw).map_err(|_| {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            CustomRelayError::TooShort
        })?;
        if message::disposition(msg_type) != TypeDisposition::IgnoreOrCustom {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return Err(CustomRelayError::NotCustom(msg_type));
        }
        let info = peer.info();
        let key = hex::encode(info.peer_id.serialize());
        let payload = contracts::encode(&CustomMessage {
            node_id: info.local_node_id.serialize().to_vec(),
            peer_id: info.peer_id.serialize().to_vec(),
            edge_id: self.edge_id.clone(),
            received_at_ms: crate::gossip::relay::now_ms(),
            payload: raw,
        });
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self
                .publisher
                .publish(topics::CUSTOM_MESSAGES.name, key.as_bytes(), &payload)
                .await
            {
                Ok(_) => {
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(error) => {
                    self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                    if attempt >= self.attempts {
                        tracing::error!(peer = %info.peer_id, msg_type, %error, "custom message not published");
                        return Err(error.into());
                    }
                    tracing::warn!(peer = %info.peer_id, msg_type, %error, attempt, "custom message publish failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_unknown_types_pass_unchanged() {
        let message = [0x80, 0x01, 0xaa, 0xbb];
        assert_eq!(validate_sendcustommsg(&message), Ok(message.to_vec()));
        assert_eq!(validate_sendcustommsg_hex("8001aabb"), Ok(message.to_vec()));
        assert_eq!(validate_sendcustommsg(&[0xff, 0xff]), Ok(vec![0xff, 0xff]));
    }

    #[test]
    fn types_the_node_handles_are_refused_even_when_odd() {
        // 257: node_announcement (odd, but ours); 19: pong.
        for msg_type in [257u16, 19, 263, 265, 127] {
            let message = msg_type.to_be_bytes();
            assert!(
                matches!(
                    validate_sendcustommsg(&message),
                    Err(CustomMsgError::HandledInternally { msg_type: t, .. }) if t == msg_type
                ),
                "type {msg_type}"
            );
        }
    }

    #[test]
    fn even_types_short_long_and_bad_hex_are_refused() {
        assert_eq!(
            validate_sendcustommsg(&[0x80, 0x00, 1]),
            Err(CustomMsgError::EvenType { msg_type: 0x8000 })
        );
        assert_eq!(
            validate_sendcustommsg(&[0x80]),
            Err(CustomMsgError::TooShort)
        );
        assert_eq!(validate_sendcustommsg(&[]), Err(CustomMsgError::TooShort));
        let mut long = vec![0x80, 0x01];
        long.resize(MAX_MESSAGE_LEN, 0);
        assert!(validate_sendcustommsg(&long).is_ok());
        long.push(0);
        assert_eq!(
            validate_sendcustommsg(&long),
            Err(CustomMsgError::TooLong {
                len: MAX_MESSAGE_LEN + 1,
                max: MAX_MESSAGE_LEN
            })
        );
        assert_eq!(
            validate_sendcustommsg_hex("80zz"),
            Err(CustomMsgError::NotHex)
        );
    }
}
