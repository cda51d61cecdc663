//! Messages that carry a `channel_id`, dispatched to the channel they belong to. The edge runs
//! no channels yet, so the map is empty in practice; what it does already is answer the peer as
//! BOLT 1 and 2 say: an `open_channel` gets an `error` on its `temporary_channel_id`, and a
//! channel message for a channel we do not have gets an `error` for that channel only.

use std::collections::HashMap;

use lnfleet_wire::bolt1::ErrorMessage;
use lnfleet_wire::message::Message;
use lnfleet_wire::{ChannelId, WireMessage};

use super::session::Action;

/// The text of our reply to `open_channel`.
pub const CHANNELS_NOT_SUPPORTED: &str = "channels are not supported yet";
/// The text of our reply to a message for a channel we do not have.
pub const UNKNOWN_CHANNEL: &str = "unknown channel";

/// One channel's message handler (state machines arrive with channel support).
pub trait ChannelHandler: Send {
    /// A message for this channel; returns what the connection must do.
    fn handle(&mut self, message: Message) -> Vec<Action>;
}

/// The channels of one connection, by channel id.
#[derive(Default)]
pub struct Channels {
    by_id: HashMap<ChannelId, Box<dyn ChannelHandler>>,
}

impl Channels {
    pub fn new() -> Self {
        Channels::default()
    }

    pub fn insert(&mut self, id: ChannelId, handler: Box<dyn ChannelHandler>) {
        self.by_id.insert(id, handler);
    }

    pub fn remove(&mut self, id: &ChannelId) -> bool {
        self.by_id.remove(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Routes a message that has a channel id (connection-wide `error`s are the session's).
    pub fn dispatch(&mut self, message: Message) -> Vec<Action> {
        if let Message::OpenChannel(open) = &message {
            // BOLT 2: the receiver may fail the channel by sending `error`; errors before
            // funding_created use the temporary id. Silence would leave the opener waiting.
            tracing::info!("open_channel refused: channels are not supported");
            return vec![reply_error(
                open.temporary_channel_id,
                CHANNELS_NOT_SUPPORTED,
            )];
        }
        let Some(id) = message.channel_id() else {
            return Vec::new();
        };
        if let Message::Error(_) = &message {
            // BOLT 1: an error fails the channel it names; for no such channel it is ignored.
            let Some(mut handler) = self.by_id.remove(&id) else {
                tracing::debug!("error for an unknown channel ignored");
                return Vec::new();
            };
            return handler.handle(message);
        }
        if let Message::Warning(_) = &message {
            return Vec::new();
        }
        if let Some(handler) = self.by_id.get_mut(&id) {
            return handler.handle(message);
        }
        // BOLT 1: reply with `error` for the unknown channel to messages of types 32-255; the
        // connection and its other channels stay.
        if (32..=255).contains(&message.msg_type()) {
            tracing::debug!(
                message = message.name(),
                "message for an unknown channel answered with error"
            );
            return vec![reply_error(id, UNKNOWN_CHANNEL)];
        }
        Vec::new()
    }
}

fn reply_error(id: ChannelId, text: &str) -> Action {
    Action::Send(ErrorMessage::new(id, text).encode())
}
