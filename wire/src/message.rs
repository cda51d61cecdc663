//! Message framing (BOLT 1): a big-endian `u16` type followed by the payload, and the
//! unknown-message rule.
//!
//! Unknown **even** types fail decoding ([`DecodeError::UnknownEvenMessage`]): the caller must
//! fail the connection. Unknown **odd** types decode to [`Message::Unknown`]: the caller ignores
//! them or hands them to the custom-message path (`custommsg`).

use crate::bolt1::{ErrorMessage, Init, PeerStorage, PeerStorageRetrieval, Ping, Pong, Warning};
use crate::channel::{
    AcceptChannel, ChannelReady, ChannelReestablish, ClosingComplete, ClosingSig, ClosingSigned,
    CommitmentSigned, FundingCreated, FundingSigned, HasChannelId, OpenChannel, RevokeAndAck,
    Shutdown, StartBatch, UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc, UpdateFee,
    UpdateFulfillHtlc,
};
use crate::codec::{ChannelId, DecodeError, Reader, WireMessage, WriteExt};
use crate::gossip::{
    AnnouncementSignatures, ChannelAnnouncement, ChannelUpdate, GossipTimestampFilter,
    NodeAnnouncement, QueryChannelRange, QueryShortChannelIds, ReplyChannelRange,
    ReplyShortChannelIdsEnd,
};

/// The largest Lightning message (type included) a transport can carry.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// A message whose type this crate does not know. Only odd types get here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMessage {
    pub msg_type: u16,
    pub payload: Vec<u8>,
}

macro_rules! messages {
    ($($variant:ident($ty:ty) = $name:literal),* $(,)?) => {
        /// Every message lnfleet decodes, plus unknown odd ones.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Message {
            $($variant($ty),)*
            Unknown(UnknownMessage),
        }

        impl Message {
            /// The BOLT type number.
            pub fn msg_type(&self) -> u16 {
                match self {
                    $(Message::$variant(_) => <$ty as WireMessage>::TYPE,)*
                    Message::Unknown(m) => m.msg_type,
                }
            }

            /// The spec's name of the message; a bounded set, usable as a metric label.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Message::$variant(_) => $name,)*
                    Message::Unknown(_) => "unknown_odd",
                }
            }

            /// Type followed by payload.
            pub fn encode(&self) -> Vec<u8> {
                match self {
                    $(Message::$variant(m) => m.encode(),)*
                    Message::Unknown(m) => {
                        let mut out = Vec::with_capacity(2 + m.payload.len());
                        out.put_u16(m.msg_type);
                        out.put_bytes(&m.payload);
                        out
                    }
                }
            }

            fn read_known(msg_type: u16, r: &mut Reader<'_>) -> Option<Result<Message, DecodeError>> {
                $(
                    if msg_type == <$ty as WireMessage>::TYPE {
                        return Some(<$ty as WireMessage>::read_payload(r).map(Message::$variant));
                    }
                )*
                None
            }
        }

        /// The spec name of a known type number, `None` for types this crate does not know.
        pub fn type_name(msg_type: u16) -> Option<&'static str> {
            $(
                if msg_type == <$ty as WireMessage>::TYPE {
                    return Some($name);
                }
            )*
            None
        }

        $(
            impl From<$ty> for Message {
                fn from(m: $ty) -> Self {
                    Message::$variant(m)
                }
            }
        )*
    };
}

messages! {
    Warning(Warning) = "warning",
    PeerStorage(PeerStorage) = "peer_storage",
    PeerStorageRetrieval(PeerStorageRetrieval) = "peer_storage_retrieval",
    Init(Init) = "init",
    Error(ErrorMessage) = "error",
    Ping(Ping) = "ping",
    Pong(Pong) = "pong",
    OpenChannel(OpenChannel) = "open_channel",
    AcceptChannel(AcceptChannel) = "accept_channel",
    FundingCreated(FundingCreated) = "funding_created",
    FundingSigned(FundingSigned) = "funding_signed",
    ChannelReady(ChannelReady) = "channel_ready",
    Shutdown(Shutdown) = "shutdown",
    ClosingSigned(ClosingSigned) = "closing_signed",
    ClosingComplete(ClosingComplete) = "closing_complete",
    ClosingSig(ClosingSig) = "closing_sig",
    StartBatch(StartBatch) = "start_batch",
    UpdateAddHtlc(UpdateAddHtlc) = "update_add_htlc",
    UpdateFulfillHtlc(UpdateFulfillHtlc) = "update_fulfill_htlc",
    UpdateFailHtlc(UpdateFailHtlc) = "update_fail_htlc",
    CommitmentSigned(CommitmentSigned) = "commitment_signed",
    RevokeAndAck(RevokeAndAck) = "revoke_and_ack",
    UpdateFee(UpdateFee) = "update_fee",
    UpdateFailMalformedHtlc(UpdateFailMalformedHtlc) = "update_fail_malformed_htlc",
    ChannelReestablish(ChannelReestablish) = "channel_reestablish",
    ChannelAnnouncement(ChannelAnnouncement) = "channel_announcement",
    NodeAnnouncement(NodeAnnouncement) = "node_announcement",
    ChannelUpdate(ChannelUpdate) = "channel_update",
    AnnouncementSignatures(AnnouncementSignatures) = "announcement_signatures",
    QueryShortChannelIds(QueryShortChannelIds) = "query_short_channel_ids",
    ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd) = "reply_short_channel_ids_end",
    QueryChannelRange(QueryChannelRange) = "query_channel_range",
    ReplyChannelRange(ReplyChannelRange) = "reply_channel_range",
    GossipTimestampFilter(GossipTimestampFilter) = "gossip_timestamp_filter",
}

/// Decodes one framed message. Unknown even types are an error (fail the connection); unknown
/// odd types come back as [`Message::Unknown`].
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader::new(bytes);
    let msg_type = r.read_u16()?;
    let Some(parsed) = Message::read_known(msg_type, &mut r) else {
        if msg_type % 2 == 0 {
            return Err(DecodeError::UnknownEvenMessage(msg_type));
        }
        return Ok(Message::Unknown(UnknownMessage { msg_type, payload: r.read_rest().to_vec() }));
    };
    let msg = parsed?;
    r.finish()?;
    Ok(msg)
}

/// Reads just the type of a framed message without decoding the payload.
pub fn peek_type(bytes: &[u8]) -> Result<u16, DecodeError> {
    Reader::new(bytes).read_u16()
}

/// What a node must do with a message it received, by type alone (BOLT 1 "it's ok to be odd").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeDisposition {
    /// A type this crate decodes.
    Known,
    /// Unknown and odd: ignore it, or hand it to the custom-message path.
    IgnoreOrCustom,
    /// Unknown and even: the sender requires something we do not understand; fail the connection.
    FailConnection,
}

/// Classifies a message type by the unknown-message rule.
pub fn disposition(msg_type: u16) -> TypeDisposition {
    match (type_name(msg_type), msg_type % 2) {
        (Some(_), _) => TypeDisposition::Known,
        (None, 1) => TypeDisposition::IgnoreOrCustom,
        (None, _) => TypeDisposition::FailConnection,
    }
}

impl Message {
    /// The channel this message is about, for dispatch on a connection that carries many channels.
    /// `error`/`warning` with the all-zero id mean every channel and also return it.
    pub fn channel_id(&self) -> Option<ChannelId> {
        Some(match self {
            Message::Error(m) => m.channel_id,
            Message::Warning(m) => m.channel_id,
            Message::OpenChannel(m) => m.channel_id(),
            Message::AcceptChannel(m) => m.channel_id(),
            Message::FundingCreated(m) => m.channel_id(),
            Message::FundingSigned(m) => m.channel_id(),
            Message::ChannelReady(m) => m.channel_id(),
            Message::Shutdown(m) => m.channel_id(),
            Message::ClosingSigned(m) => m.channel_id(),
            Message::ClosingComplete(m) => m.channel_id(),
            Message::ClosingSig(m) => m.channel_id(),
            Message::StartBatch(m) => m.channel_id(),
            Message::UpdateAddHtlc(m) => m.channel_id(),
            Message::UpdateFulfillHtlc(m) => m.channel_id(),
            Message::UpdateFailHtlc(m) => m.channel_id(),
            Message::CommitmentSigned(m) => m.channel_id(),
            Message::RevokeAndAck(m) => m.channel_id(),
            Message::UpdateFee(m) => m.channel_id(),
            Message::UpdateFailMalformedHtlc(m) => m.channel_id(),
            Message::ChannelReestablish(m) => m.channel_id(),
            Message::AnnouncementSignatures(m) => m.channel_id,
            _ => return None,
        })
    }

    /// BOLT 7 gossip (broadcast or query), which edges forward to the gossip service.
    pub fn is_gossip(&self) -> bool {
        (256..=265).contains(&self.msg_type())
    }
}
