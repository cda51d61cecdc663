//! `start_batch` and the receiver-side batching rule (BOLT 2, "Batching channel messages").
//!
//! A sender announces `start_batch(channel_id, batch_size, message_type = 132)` and then sends
//! exactly `batch_size` `commitment_signed` messages for that channel, nothing in between (today
//! only splicing does this: one `commitment_signed` per pending funding transaction).
//!
//! [`BatchAssembler`] is the sans-IO receiver: feed it every decoded message in order and it says
//! whether the message stands alone, belongs to the batch in progress, completes it, or breaks
//! the rule. Holding the member messages is left to the caller.

use super::{impl_has_channel_id, read_extension, take_record, write_extension};
use crate::channel::update::CommitmentSigned;
use crate::codec::{ChannelId, DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// Largest `batch_size` a receiver accepts (a DoS bound on queued messages).
pub const MAX_BATCH_SIZE: u16 = 20;

const MESSAGE_TYPE: u64 = 1;

/// `start_batch` (type 127).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartBatch {
    pub channel_id: ChannelId,
    pub batch_size: u16,
    /// TLV 1: the type of every message in the batch; the only one defined is 132.
    pub message_type: Option<u16>,
    pub extra_tlvs: TlvStream,
}

impl StartBatch {
    /// The only batch the spec defines: `batch_size` `commitment_signed` messages.
    pub fn commitment_signed(channel_id: ChannelId, batch_size: u16) -> Self {
        StartBatch {
            channel_id,
            batch_size,
            message_type: Some(CommitmentSigned::TYPE),
            extra_tlvs: TlvStream::new(),
        }
    }

    /// Checks the receiver's requirements. The message type is checked first: a batch of a type
    /// we do not know is ignored whatever its size, so a future, larger kind of batch does not
    /// get old nodes to drop the connection.
    pub fn validate(&self) -> Result<(), StartBatchRejection> {
        if self.message_type != Some(CommitmentSigned::TYPE) {
            return Err(StartBatchRejection::UnsupportedMessageType(
                self.message_type,
            ));
        }
        if self.batch_size <= 1 {
            return Err(StartBatchRejection::BatchSizeTooSmall(self.batch_size));
        }
        if self.batch_size > MAX_BATCH_SIZE {
            return Err(StartBatchRejection::BatchSizeTooLarge(self.batch_size));
        }
        Ok(())
    }
}

impl WireMessage for StartBatch {
    const TYPE: u16 = 127;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u16(self.batch_size);
        let message_type = self
            .message_type
            .map(|t| (MESSAGE_TYPE, t.to_be_bytes().to_vec()));
        write_extension(out, &self.extra_tlvs, message_type);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let batch_size = r.read_u16()?;
        let mut stream = read_extension(r, &[MESSAGE_TYPE])?;
        let message_type = take_record(&mut stream, MESSAGE_TYPE, |v| v.read_u16())?;
        Ok(StartBatch {
            channel_id,
            batch_size,
            message_type,
            extra_tlvs: stream,
        })
    }
}

impl_has_channel_id! {
    StartBatch => channel_id,
}

/// What the spec tells a receiver to do about a rule broken around batching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    /// Ignore the `start_batch`; process the messages that follow one by one.
    Ignore,
    /// Ignore the `start_batch`, and SHOULD send a `warning`.
    IgnoreAndWarn,
    /// MUST send a `warning` and close the connection, or send an `error` and fail the channel.
    WarnAndDisconnectOrFailChannel,
}

/// Why a `start_batch` does not open a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StartBatchRejection {
    #[error("start_batch message_type is {0:?}, not commitment_signed (132)")]
    UnsupportedMessageType(Option<u16>),
    #[error("start_batch batch_size {0} is not greater than 1")]
    BatchSizeTooSmall(u16),
    #[error("start_batch batch_size {0} exceeds the limit of 20")]
    BatchSizeTooLarge(u16),
}

impl StartBatchRejection {
    pub fn action(&self) -> BatchAction {
        match self {
            StartBatchRejection::UnsupportedMessageType(_) => BatchAction::Ignore,
            StartBatchRejection::BatchSizeTooSmall(_) => BatchAction::IgnoreAndWarn,
            StartBatchRejection::BatchSizeTooLarge(_) => {
                BatchAction::WarnAndDisconnectOrFailChannel
            }
        }
    }
}

/// A broken batch. For every variant the spec says: send a `warning` and close the connection,
/// or send an `error` and fail the channel ([`BatchAction::WarnAndDisconnectOrFailChannel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("start_batch batch_size {batch_size} exceeds the limit of 20")]
    TooLarge {
        channel_id: ChannelId,
        batch_size: u16,
    },
    #[error("message for another channel ({actual:?}) inside a batch")]
    WrongChannel {
        channel_id: ChannelId,
        actual: Option<ChannelId>,
    },
    #[error("message type {actual} inside a batch of type {expected}")]
    WrongMessageType {
        channel_id: ChannelId,
        expected: u16,
        actual: u16,
    },
    #[error("start_batch inside a batch")]
    NestedStartBatch { channel_id: ChannelId },
}

impl BatchError {
    /// The channel the broken batch was for (the one to fail, if failing the channel).
    pub fn channel_id(&self) -> ChannelId {
        match self {
            BatchError::TooLarge { channel_id, .. }
            | BatchError::WrongChannel { channel_id, .. }
            | BatchError::WrongMessageType { channel_id, .. }
            | BatchError::NestedStartBatch { channel_id } => *channel_id,
        }
    }

    pub fn action(&self) -> BatchAction {
        BatchAction::WarnAndDisconnectOrFailChannel
    }
}

/// Where a message stands with respect to batching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStep {
    /// No batch in progress: process the message on its own.
    Single,
    /// The `start_batch` opened a batch of the next `batch_size` messages.
    Started {
        channel_id: ChannelId,
        batch_size: u16,
    },
    /// The `start_batch` was ignored as the spec says; see [`StartBatchRejection::action`].
    StartIgnored(StartBatchRejection),
    /// Message `index` (from 0) of the batch, not the last: hold it.
    Member { index: u16, batch_size: u16 },
    /// The last message of the batch: process it together with the held ones.
    Completed {
        channel_id: ChannelId,
        batch_size: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenBatch {
    channel_id: ChannelId,
    message_type: u16,
    batch_size: u16,
    received: u16,
}

/// Sans-IO tracker of the batch rule on one connection.
///
/// Call [`on_start_batch`](Self::on_start_batch) for each `start_batch` and
/// [`on_message`](Self::on_message) for every other message, in the order received. Messages
/// without a channel id (`ping`, gossip, ...) count as "not for the specified channel" inside a
/// batch: the sender MUST NOT send anything in between. After an error the assembler is idle
/// again, though the caller is expected to drop the connection or fail the channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchAssembler {
    open: Option<OpenBatch>,
}

impl BatchAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// The batch in progress: its channel and how many messages are still due.
    pub fn in_progress(&self) -> Option<(ChannelId, u16)> {
        self.open
            .map(|b| (b.channel_id, b.batch_size.saturating_sub(b.received)))
    }

    pub fn on_start_batch(&mut self, start: &StartBatch) -> Result<BatchStep, BatchError> {
        if let Some(open) = self.open.take() {
            return Err(BatchError::NestedStartBatch {
                channel_id: open.channel_id,
            });
        }
        match start.validate() {
            Ok(()) => {
                self.open = Some(OpenBatch {
                    channel_id: start.channel_id,
                    message_type: CommitmentSigned::TYPE,
                    batch_size: start.batch_size,
                    received: 0,
                });
                Ok(BatchStep::Started {
                    channel_id: start.channel_id,
                    batch_size: start.batch_size,
                })
            }
            Err(StartBatchRejection::BatchSizeTooLarge(batch_size)) => Err(BatchError::TooLarge {
                channel_id: start.channel_id,
                batch_size,
            }),
            Err(ignored) => Ok(BatchStep::StartIgnored(ignored)),
        }
    }

    /// Any message other than `start_batch`, given by its type and its channel id (`None` for
    /// messages that have none). A `start_batch` type here inside a batch is a nested batch.
    pub fn on_message(
        &mut self,
        message_type: u16,
        channel_id: Option<ChannelId>,
    ) -> Result<BatchStep, BatchError> {
        let Some(mut open) = self.open.take() else {
            return Ok(BatchStep::Single);
        };
        if message_type == StartBatch::TYPE {
            return Err(BatchError::NestedStartBatch {
                channel_id: open.channel_id,
            });
        }
        if channel_id != Some(open.channel_id) {
            return Err(BatchError::WrongChannel {
                channel_id: open.channel_id,
                actual: channel_id,
            });
        }
        if message_type != open.message_type {
            return Err(BatchError::WrongMessageType {
                channel_id: open.channel_id,
                expected: open.message_type,
                actual: message_type,
            });
        }
        let index = open.received;
        open.received += 1;
        if open.received >= open.batch_size {
            return Ok(BatchStep::Completed {
                channel_id: open.channel_id,
                batch_size: open.batch_size,
            });
        }
        self.open = Some(open);
        Ok(BatchStep::Member {
            index,
            batch_size: open.batch_size,
        })
    }
}
