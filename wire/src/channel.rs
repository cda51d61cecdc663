//! BOLT 2 channel messages: establishment (v1), normal operation, close, reestablish and
//! `start_batch`.
//!
//! Every message implements [`WireMessage`](crate::codec::WireMessage) and [`HasChannelId`].
//! Fields carry the spec's names. Each message ends with its BOLT 1 extension TLV stream: the
//! records the spec defines become typed `Option` fields, unknown odd records are kept in
//! `extra_tlvs` so a decoded message re-encodes byte for byte, and unknown even records fail the
//! decode.
//!
//! - [`establish`] holds `open_channel`, `accept_channel`, `funding_created`, `funding_signed`,
//!   `channel_ready`, and [`ChannelType`].
//! - [`update`] holds `update_add_htlc`, `update_fulfill_htlc`, `update_fail_htlc`,
//!   `update_fail_malformed_htlc`, `commitment_signed`, `revoke_and_ack`, `update_fee`.
//! - [`close`] holds `shutdown`, `closing_signed`, `closing_complete`, `closing_sig`.
//! - [`reestablish`] holds `channel_reestablish`.
//! - [`batch`] holds `start_batch` and the receiver-side [`BatchAssembler`].

use crate::codec::{ChannelId, DecodeError, Reader};
use crate::tlv::TlvStream;

pub mod batch;
pub mod close;
pub mod establish;
pub mod reestablish;
pub mod update;

#[cfg(test)]
mod tests;

pub use batch::{
    BatchAction, BatchAssembler, BatchError, BatchStep, StartBatch, StartBatchRejection,
    MAX_BATCH_SIZE,
};
pub use close::{ClosingComplete, ClosingSig, ClosingSigned, FeeRange, Shutdown};
pub use establish::{
    AcceptChannel, ChannelReady, ChannelType, FundingCreated, FundingSigned, OpenChannel,
};
pub use reestablish::{ChannelReestablish, MyCurrentFundingLocked, NextFunding};
pub use update::{
    AttributionData, BlindedPath, CommitmentSigned, RevokeAndAck, UpdateAddHtlc, UpdateFailHtlc,
    UpdateFailMalformedHtlc, UpdateFee, UpdateFulfillHtlc, ONION_PACKET_LEN,
};

/// The channel a message is about. Before `funding_signed` that is the `temporary_channel_id`.
pub trait HasChannelId {
    fn channel_id(&self) -> ChannelId;
}

/// Reads a message's extension stream, failing on unknown even types. The caller then `take`s
/// the records it knows, leaving the unknown odd ones for `extra_tlvs`.
fn read_extension(r: &mut Reader<'_>, known: &[u64]) -> Result<TlvStream, DecodeError> {
    TlvStream::read(r, known)
}

/// Writes the known records (already encoded) merged with the unknown ones, in type order.
fn write_extension(
    out: &mut Vec<u8>,
    extra: &TlvStream,
    known: impl IntoIterator<Item = (u64, Vec<u8>)>,
) {
    let mut stream = extra.clone();
    for (tlv_type, value) in known {
        stream.insert(tlv_type, value);
    }
    stream.write(out);
}

/// Parses a known record's value with `parse`, which must consume all of it. A value of the
/// wrong size is reported against its TLV type rather than as a bare end-of-input.
fn parse_record<T>(
    tlv_type: u64,
    value: &[u8],
    parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(value);
    let wrong_length = DecodeError::InvalidTlv {
        tlv_type,
        reason: "wrong length",
    };
    match parse(&mut r) {
        Ok(v) if r.is_empty() => Ok(v),
        Ok(_) | Err(DecodeError::UnexpectedEof { .. }) => Err(wrong_length),
        Err(e) => Err(e),
    }
}

/// Takes record `tlv_type` out of `stream` and parses it, if present.
fn take_record<T>(
    stream: &mut TlvStream,
    tlv_type: u64,
    parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    stream
        .take(tlv_type)
        .map(|value| parse_record(tlv_type, &value, parse))
        .transpose()
}

/// Implements [`HasChannelId`] for messages whose id field is named `field`.
macro_rules! impl_has_channel_id {
    ($($msg:ty => $field:ident),* $(,)?) => {
        $(impl $crate::channel::HasChannelId for $msg {
            fn channel_id(&self) -> $crate::codec::ChannelId {
                self.$field
            }
        })*
    };
}
use impl_has_channel_id;
