//! `ping` (type 18) and `pong` (type 19): keepalive and synthetic traffic.

use crate::codec::{DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// A `ping` asking for this many pong bytes or more gets no answer: such a `pong` would not fit
/// in a 65535-byte message (type 2 + `byteslen` 2 + 65531 bytes is the largest).
pub const NO_PONG_THRESHOLD: u16 = 65532;

/// The most `ignored` bytes a `ping` can carry: 65535 minus type, `num_pong_bytes`, `byteslen`.
pub const MAX_IGNORED_LEN: usize = super::MAX_MESSAGE_LEN - 2 - 2 - 2;

/// The most bytes a `pong` can carry: 65535 minus type and `byteslen`.
pub const MAX_PONG_LEN: usize = super::MAX_MESSAGE_LEN - 2 - 2;

/// Whether a node receiving a `ping` with this `num_pong_bytes` must answer it.
pub fn pong_is_expected(num_pong_bytes: u16) -> bool {
    num_pong_bytes < NO_PONG_THRESHOLD
}

/// The `ping` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub num_pong_bytes: u16,
    /// Padding; we send zeros, as the spec asks.
    pub ignored: Vec<u8>,
    pub extra_tlvs: TlvStream,
}

impl Ping {
    /// A ping asking for `num_pong_bytes`, padded with `padding` zero bytes (capped to fit).
    pub fn new(num_pong_bytes: u16, padding: u16) -> Self {
        Ping {
            num_pong_bytes,
            ignored: vec![0; usize::from(padding).min(MAX_IGNORED_LEN)],
            extra_tlvs: TlvStream::new(),
        }
    }

    /// The `pong` the spec requires in answer, or `None` when it says to ignore the ping.
    pub fn response(&self) -> Option<Pong> {
        pong_is_expected(self.num_pong_bytes).then(|| Pong::new(self.num_pong_bytes))
    }
}

impl WireMessage for Ping {
    const TYPE: u16 = 18;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_u16(self.num_pong_bytes);
        out.put_u16_prefixed(&self.ignored);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ping {
            num_pong_bytes: r.read_u16()?,
            ignored: r.read_u16_prefixed()?.to_vec(),
            extra_tlvs: TlvStream::read(r, &[])?,
        })
    }
}

/// The `pong` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    pub ignored: Vec<u8>,
    pub extra_tlvs: TlvStream,
}

impl Pong {
    /// A pong of `byteslen` zero bytes (capped at [`MAX_PONG_LEN`] so it fits a message).
    pub fn new(byteslen: u16) -> Self {
        Pong {
            ignored: vec![0; usize::from(byteslen).min(MAX_PONG_LEN)],
            extra_tlvs: TlvStream::new(),
        }
    }

    /// Whether this pong is the answer to a ping that asked for `num_pong_bytes`.
    pub fn answers(&self, num_pong_bytes: u16) -> bool {
        pong_is_expected(num_pong_bytes) && self.ignored.len() == usize::from(num_pong_bytes)
    }
}

impl WireMessage for Pong {
    const TYPE: u16 = 19;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed(&self.ignored);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Pong {
            ignored: r.read_u16_prefixed()?.to_vec(),
            extra_tlvs: TlvStream::read(r, &[])?,
        })
    }
}
