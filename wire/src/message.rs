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
        return Ok(Message::Unknown(UnknownMessage {
            msg_type,
            payload: r.read_rest().to_vec(),
        }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt1::Ping;
    use crate::channel::UpdateFee;
    use crate::tlv::TlvStream;
    use proptest::prelude::*;

    /// Every message type the spec defines (BOLT 1, 2, 7) as of this crate's spec snapshot.
    const SPEC_TYPES: &[u16] = &[
        1, 7, 9, 16, 17, 18, 19, 32, 33, 34, 35, 36, 38, 39, 40, 41, 127, 128, 130, 131, 132, 133,
        134, 135, 136, 256, 257, 258, 259, 261, 262, 263, 264, 265,
    ];

    #[test]
    fn every_spec_type_is_known_with_its_name() {
        for &t in SPEC_TYPES {
            assert!(type_name(t).is_some(), "type {t} unknown");
            assert_eq!(disposition(t), TypeDisposition::Known);
        }
        assert_eq!(type_name(127), Some("start_batch"));
        assert_eq!(type_name(258), Some("channel_update"));
    }

    #[test]
    fn unknown_odd_message_is_kept_for_the_custom_message_path() {
        let raw = [0x80, 0x01, b'h', b'i'];
        let msg = decode(&raw).unwrap();
        assert_eq!(
            msg,
            Message::Unknown(UnknownMessage {
                msg_type: 32769,
                payload: b"hi".to_vec()
            })
        );
        assert_eq!(msg.encode(), raw);
        assert_eq!(msg.name(), "unknown_odd");
        assert_eq!(disposition(32769), TypeDisposition::IgnoreOrCustom);
    }

    #[test]
    fn unknown_even_message_fails_the_connection() {
        assert_eq!(
            decode(&[0x80, 0x00, 1, 2]),
            Err(DecodeError::UnknownEvenMessage(32768))
        );
        assert_eq!(disposition(32768), TypeDisposition::FailConnection);
        // Gaps inside the known ranges are unknown too.
        assert_eq!(disposition(260), TypeDisposition::FailConnection);
    }

    #[test]
    fn too_short_for_a_type_is_an_error() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0x00]).is_err());
        assert!(peek_type(&[0x01]).is_err());
        assert_eq!(peek_type(&[0x01, 0x02, 0xff]), Ok(258));
    }

    #[test]
    fn known_message_with_trailing_garbage_after_its_tlvs_is_an_error() {
        // ping: num_pong_bytes=1, ignored len 0, then a TLV stream with an unknown even type 2.
        assert_eq!(
            decode(&[0, 18, 0, 1, 0, 0, 2, 0]),
            Err(DecodeError::UnknownEvenTlv(2))
        );
    }

    #[test]
    fn channel_messages_dispatch_by_channel_id_and_others_do_not() {
        let id = ChannelId([7; 32]);
        let fee: Message = UpdateFee {
            channel_id: id,
            feerate_per_kw: 253,
            extra_tlvs: TlvStream::new(),
        }
        .into();
        assert_eq!(fee.channel_id(), Some(id));
        assert_eq!(fee.name(), "update_fee");
        let ping: Message = Ping::new(1, 0).into();
        assert_eq!(ping.channel_id(), None);
        assert!(!ping.is_gossip());
    }

    #[test]
    fn gossip_is_recognised_by_type() {
        let raw = {
            let mut v = vec![0x01, 0x09]; // gossip_timestamp_filter (265)
            v.extend_from_slice(&[0; 32]);
            v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
            v
        };
        let msg = decode(&raw).unwrap();
        assert!(msg.is_gossip());
        assert_eq!(msg.encode(), raw);
    }

    proptest! {
        /// Arbitrary payloads under every known type: decoding never panics, and whatever decodes
        /// survives re-encoding.
        #[test]
        fn any_payload_under_a_known_type_decodes_to_a_stable_message(
            index in 0..SPEC_TYPES.len(),
            payload in proptest::collection::vec(any::<u8>(), 0..1600),
        ) {
            let mut raw = SPEC_TYPES[index].to_be_bytes().to_vec();
            raw.extend_from_slice(&payload);
            if let Ok(msg) = decode(&raw) {
                prop_assert_eq!(msg.msg_type(), SPEC_TYPES[index]);
                prop_assert_eq!(decode(&msg.encode()).unwrap(), msg);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&raw);
        }
    }
}
