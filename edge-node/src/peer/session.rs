//! The per-connection policy of BOLT 1, without I/O: what to do with the peer's `init`, with each
//! message it sends, and when to ping. The actor in [`crate::peer`] feeds it bytes and the time,
//! and carries out the [`Action`]s it returns, so every rule here is tested without a socket.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use lnfleet_wire::bolt1::{ErrorMessage, Init, Ping, Warning};
use lnfleet_wire::features::{Feature, FeatureIncompatibility, Features};
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::{ChainHash, ChannelId, DecodeError, WireMessage};

use super::channels::Channels;

/// The feature bits an edge announces: only what the edge implements. Gossip queries are served
/// by the edge's gossip module; BOLT 1 and 8 have no feature bits; there are no channels yet.
pub fn edge_features() -> Features {
    Features::new().with_optional(Feature::GossipQueries)
}

/// How a connection behaves.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// What we announce in `init`, and so the only bits we understand when a peer requires them.
    pub features: Features,
    /// The chain we serve, sent in `networks` and required among the peer's `networks`.
    pub chain: ChainHash,
    /// We send a keepalive `ping` this often.
    pub ping_interval: Duration,
    /// A keepalive `ping` whose `pong` has not come within this is a dead connection.
    pub pong_timeout: Duration,
    /// More than `max_pings_per_window` pings within `ping_flood_window` closes the connection
    /// (BOLT 1: far more than one ping per 30 seconds may be treated as a fault).
    pub ping_flood_window: Duration,
    pub max_pings_per_window: usize,
    /// `num_pong_bytes` of our keepalive pings.
    pub keepalive_pong_bytes: u16,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            features: edge_features(),
            chain: ChainHash::BITCOIN,
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(20),
            ping_flood_window: Duration::from_secs(60),
            max_pings_per_window: 10,
            keepalive_pong_bytes: 8,
        }
    }
}

/// Why a connection ended. [`CloseReason::label`] is a bounded metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    #[error("peer requires feature bit {0}, which we do not understand")]
    UnknownRequiredFeature(u32),
    #[error("peer's features lack a dependency: {0}")]
    MissingFeatureDependency(String),
    #[error("peer's networks have no chain in common with ours")]
    NoCommonChain,
    #[error("peer sent unknown even message type {0}")]
    UnknownEvenMessage(u16),
    #[error("peer sent a malformed message: {0}")]
    Malformed(String),
    #[error("peer sent an error for all channels: {0}")]
    PeerError(String),
    #[error("no pong within the timeout")]
    PongTimeout,
    #[error("pong of {got} bytes does not answer our ping of {expected}")]
    PongMismatch { expected: u16, got: usize },
    #[error("peer pings too often")]
    PingFlood,
    #[error("peer closed the connection")]
    PeerClosed,
    #[error("transport: {0}")]
    Transport(String),
    #[error("disconnect requested: {0}")]
    Requested(String),
}

impl CloseReason {
    pub fn label(&self) -> &'static str {
        match self {
            CloseReason::UnknownRequiredFeature(_) => "unknown_required_feature",
            CloseReason::MissingFeatureDependency(_) => "missing_feature_dependency",
            CloseReason::NoCommonChain => "no_common_chain",
            CloseReason::UnknownEvenMessage(_) => "unknown_even_message",
            CloseReason::Malformed(_) => "malformed_message",
            CloseReason::PeerError(_) => "peer_error",
            CloseReason::PongTimeout => "pong_timeout",
            CloseReason::PongMismatch { .. } => "pong_mismatch",
            CloseReason::PingFlood => "ping_flood",
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::Transport(_) => "transport",
            CloseReason::Requested(_) => "requested",
        }
    }
}

/// What the connection must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write one framed message to the peer.
    Send(Vec<u8>),
    /// Hand a BOLT 7 message to the gossip hook; read nothing more until it completes.
    Gossip { message: Box<Message>, raw: Vec<u8> },
    /// Hand an unknown odd message to the custom-message hook.
    Custom(Vec<u8>),
    /// Close after writing what was queued before.
    Close(CloseReason),
}

/// The peer's `init` obliges us to close; `farewell` (framed) is sent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRejection {
    pub reason: CloseReason,
    pub farewell: Vec<u8>,
}

/// One connection's state after `init`.
pub struct Session {
    config: SessionConfig,
    channels: Channels,
    /// Our keepalive ping waiting for its pong: `(num_pong_bytes, sent at)`.
    outstanding_ping: Option<(u16, Instant)>,
    last_ping_sent: Instant,
    recent_pings: VecDeque<Instant>,
}

impl Session {
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        Session {
            config,
            channels: Channels::new(),
            outstanding_ping: None,
            last_ping_sent: now,
            recent_pings: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn channels_mut(&mut self) -> &mut Channels {
        &mut self.channels
    }

    /// The `init` we send: our features and our one chain.
    pub fn our_init(config: &SessionConfig) -> Init {
        Init::new(config.features.clone(), vec![config.chain], None)
    }

    /// The `init` receiver rules of BOLT 1.
    pub fn check_their_init(config: &SessionConfig, theirs: &Init) -> Result<(), InitRejection> {
        if let Err(incompatible) = theirs.combined_features().check_peer(&config.features) {
            let reason = match incompatible {
                FeatureIncompatibility::UnknownRequired(bit) => {
                    CloseReason::UnknownRequiredFeature(bit)
                }
                other @ FeatureIncompatibility::MissingDependency(..) => {
                    CloseReason::MissingFeatureDependency(other.to_string())
                }
            };
            let farewell = ErrorMessage::connection_wide(&reason.to_string()).encode();
            return Err(InitRejection { reason, farewell });
        }
        // BOLT 1 lets us close on no common chain; a warning says why without failing channels.
        let shares_chain = theirs
            .networks
            .as_ref()
            .is_none_or(|networks| networks.contains(&config.chain));
        if !shares_chain {
            let reason = CloseReason::NoCommonChain;
            let farewell = Warning::connection_wide(&reason.to_string()).encode();
            return Err(InitRejection { reason, farewell });
        }
        Ok(())
    }

    /// One framed message from the peer.
    pub fn on_received(&mut self, raw: Vec<u8>, now: Instant) -> Vec<Action> {
        let message = match message::decode(&raw) {
            Ok(message) => message,
            Err(DecodeError::UnknownEvenMessage(msg_type)) => {
                return fail_connection(CloseReason::UnknownEvenMessage(msg_type));
            }
            Err(error) => {
                let reason = CloseReason::Malformed(error.to_string());
                let warning = Warning::connection_wide(&reason.to_string()).encode();
                return vec![Action::Send(warning), Action::Close(reason)];
            }
        };
        match message {
            Message::Ping(ping) => self.on_ping(&ping, now),
            Message::Pong(pong) => self.on_pong(pong.ignored.len()),
            Message::Unknown(_) => vec![Action::Custom(raw)],
            Message::Warning(warning) => {
                tracing::info!(warning = %warning, "peer sent a warning");
                Vec::new()
            }
            Message::Error(error) if error.is_connection_wide() => {
                tracing::info!(error = %error, "peer sent an error for all channels");
                vec![Action::Close(CloseReason::PeerError(error.text()))]
            }
            Message::Init(_) => {
                tracing::info!("peer sent a second init; ignored");
                Vec::new()
            }
            // announcement_signatures belongs to one channel between us, not to the gossip flow.
            Message::AnnouncementSignatures(_) => self.channels.dispatch(message),
            message if message.is_gossip() => vec![Action::Gossip {
                message: Box::new(message),
                raw,
            }],
            message if message.channel_id().is_some() => self.channels.dispatch(message),
            other => {
                // peer_storage and peer_storage_retrieval: we do not offer option_provide_storage.
                tracing::debug!(message = other.name(), "ignored message");
                Vec::new()
            }
        }
    }

    fn on_ping(&mut self, ping: &Ping, now: Instant) -> Vec<Action> {
        self.recent_pings.push_back(now);
        while let Some(oldest) = self.recent_pings.front() {
            if now.saturating_duration_since(*oldest) <= self.config.ping_flood_window {
                break;
            }
            self.recent_pings.pop_front();
        }
        if self.recent_pings.len() > self.config.max_pings_per_window {
            let reason = CloseReason::PingFlood;
            let warning = Warning::connection_wide(&reason.to_string()).encode();
            return vec![Action::Send(warning), Action::Close(reason)];
        }
        match ping.response() {
            Some(pong) => vec![Action::Send(pong.encode())],
            None => Vec::new(),
        }
    }

    fn on_pong(&mut self, byteslen: usize) -> Vec<Action> {
        let Some((expected, _)) = self.outstanding_ping else {
            tracing::debug!(byteslen, "unsolicited pong ignored");
            return Vec::new();
        };
        if byteslen != usize::from(expected) {
            return vec![Action::Close(CloseReason::PongMismatch {
                expected,
                got: byteslen,
            })];
        }
        self.outstanding_ping = None;
        Vec::new()
    }

    /// Keepalive: a ping every `ping_interval`, and close when one goes unanswered.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        if let Some((_, sent_at)) = self.outstanding_ping {
            if now.saturating_duration_since(sent_at) >= self.config.pong_timeout {
                // BOLT 1: close, but do not fail channels, so no error message.
                return vec![Action::Close(CloseReason::PongTimeout)];
            }
            return Vec::new();
        }
        if now.saturating_duration_since(self.last_ping_sent) < self.config.ping_interval {
            return Vec::new();
        }
        self.last_ping_sent = now;
        let num_pong_bytes = self.config.keepalive_pong_bytes;
        // A ping asking for no pong could not be timed; it is still a keepalive.
        if message_expects_pong(num_pong_bytes) {
            self.outstanding_ping = Some((num_pong_bytes, now));
        }
        vec![Action::Send(Ping::new(num_pong_bytes, 0).encode())]
    }

    /// The connection read nothing for `paused` on our side (a hook applying backpressure): a
    /// pong may have sat unread, so the keepalive deadlines move back by that much.
    pub fn reading_paused_for(&mut self, paused: Duration) {
        if let Some((_, sent_at)) = self.outstanding_ping.as_mut() {
            *sent_at = sent_at.checked_add(paused).unwrap_or(*sent_at);
        }
        self.last_ping_sent = self
            .last_ping_sent
            .checked_add(paused)
            .unwrap_or(self.last_ping_sent);
    }

    /// Whether a keepalive pong is awaited.
    pub fn awaiting_pong(&self) -> bool {
        self.outstanding_ping.is_some()
    }
}

fn message_expects_pong(num_pong_bytes: u16) -> bool {
    lnfleet_wire::bolt1::pong_is_expected(num_pong_bytes)
}

/// BOLT 1 "fail the connection": an `error` for all channels, then close.
fn fail_connection(reason: CloseReason) -> Vec<Action> {
    let error = ErrorMessage::new(ChannelId::ALL, &reason.to_string()).encode();
    vec![Action::Send(error), Action::Close(reason)]
}

#[cfg(test)]
mod tests;
