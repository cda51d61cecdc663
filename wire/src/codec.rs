//! Reader and writer primitives shared by every message codec, and the [`WireMessage`] trait.
//!
//! Decoding never panics: every read is bounds-checked and returns a [`DecodeError`].

use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;

use crate::bigsize;

/// Why a byte string is not a valid Lightning message (or part of one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unexpected end of input: needed {needed} bytes, {available} available")]
    UnexpectedEof { needed: usize, available: usize },
    #[error("bigsize is not canonically encoded")]
    NonCanonicalBigSize,
    #[error("truncated integer is not minimally encoded")]
    NonMinimalTruncatedInt,
    #[error("truncated integer of {len} bytes does not fit in {max} bytes")]
    TruncatedIntTooLong { len: usize, max: usize },
    #[error("tlv types not strictly increasing: {previous} then {next}")]
    TlvNotIncreasing { previous: u64, next: u64 },
    #[error("tlv record {tlv_type} has length {length} but only {available} bytes remain")]
    TlvLengthOverflow {
        tlv_type: u64,
        length: u64,
        available: usize,
    },
    #[error("unknown even tlv type {0}")]
    UnknownEvenTlv(u64),
    #[error("tlv record {tlv_type} is malformed: {reason}")]
    InvalidTlv { tlv_type: u64, reason: &'static str },
    #[error("invalid public key")]
    InvalidPublicKey,
    #[error("invalid signature encoding")]
    InvalidSignature,
    #[error("unknown even message type {0}")]
    UnknownEvenMessage(u16),
    #[error("expected message type {expected}, got {actual}")]
    WrongMessageType { expected: u16, actual: u16 },
    #[error("invalid value for {field}: {reason}")]
    InvalidValue {
        field: &'static str,
        reason: &'static str,
    },
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

/// A bounds-checked cursor over a borrowed byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless everything was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    pub fn read_bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::UnexpectedEof {
                needed: n,
                available: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Everything not read yet.
    pub fn read_rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.read_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.read_array::<1>()?[0])
    }

    pub fn read_u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.read_array()?))
    }

    pub fn read_u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.read_array()?))
    }

    pub fn read_u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.read_array()?))
    }

    pub fn read_bigsize(&mut self) -> Result<u64, DecodeError> {
        bigsize::read(self)
    }

    /// A `u16` length followed by that many bytes.
    pub fn read_u16_prefixed(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.read_u16()? as usize;
        self.read_bytes(len)
    }

    /// A 33-byte compressed point, checked to be on the curve.
    pub fn read_pubkey(&mut self) -> Result<PublicKey, DecodeError> {
        let bytes = self.read_bytes(33)?;
        PublicKey::from_slice(bytes).map_err(|_| DecodeError::InvalidPublicKey)
    }

    /// A 64-byte compact ECDSA signature (`r || s`), checked to be in range.
    pub fn read_signature(&mut self) -> Result<Signature, DecodeError> {
        let bytes = self.read_bytes(64)?;
        Signature::from_compact(bytes).map_err(|_| DecodeError::InvalidSignature)
    }

    pub fn read_channel_id(&mut self) -> Result<ChannelId, DecodeError> {
        Ok(ChannelId(self.read_array()?))
    }

    pub fn read_chain_hash(&mut self) -> Result<ChainHash, DecodeError> {
        Ok(ChainHash(self.read_array()?))
    }

    pub fn read_short_channel_id(&mut self) -> Result<ShortChannelId, DecodeError> {
        Ok(ShortChannelId(self.read_u64()?))
    }
}

/// Big-endian writers for `Vec<u8>`; writing to memory cannot fail.
pub trait WriteExt {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_bytes(&mut self, v: &[u8]);
    fn put_bigsize(&mut self, v: u64);
    /// Writes a `u16` length then the bytes. Callers keep `v` under 65536 bytes (the message limit).
    fn put_u16_prefixed(&mut self, v: &[u8]);
    fn put_pubkey(&mut self, v: &PublicKey);
    fn put_signature(&mut self, v: &Signature);
}

impl WriteExt for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bytes(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
    fn put_bigsize(&mut self, v: u64) {
        bigsize::write(self, v);
    }
    fn put_u16_prefixed(&mut self, v: &[u8]) {
        debug_assert!(v.len() <= u16::MAX as usize);
        self.put_u16(v.len() as u16);
        self.extend_from_slice(v);
    }
    fn put_pubkey(&mut self, v: &PublicKey) {
        self.extend_from_slice(&v.serialize());
    }
    fn put_signature(&mut self, v: &Signature) {
        self.extend_from_slice(&v.serialize_compact());
    }
}

/// A Lightning message with a fixed BOLT type number.
///
/// `read_payload` must consume the whole payload, extension TLV stream included; `decode`
/// rejects anything left over.
pub trait WireMessage: Sized {
    const TYPE: u16;

    fn write_payload(&self, out: &mut Vec<u8>);

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Type (u16) followed by the payload.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u16(Self::TYPE);
        self.write_payload(&mut out);
        out
    }

    /// Parses a whole framed message (type + payload) of this type.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let actual = r.read_u16()?;
        if actual != Self::TYPE {
            return Err(DecodeError::WrongMessageType {
                expected: Self::TYPE,
                actual,
            });
        }
        let msg = Self::read_payload(&mut r)?;
        r.finish()?;
        Ok(msg)
    }
}

/// A 32-byte channel id (BOLT 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub [u8; 32]);

impl ChannelId {
    /// The all-zero id, which in `error`/`warning` means "every channel".
    pub const ALL: ChannelId = ChannelId([0; 32]);

    /// BOLT 2: the funding txid (in internal byte order) XORed with the big-endian output index.
    pub fn from_funding_outpoint(txid: [u8; 32], output_index: u16) -> Self {
        let mut id = txid;
        id[30] ^= (output_index >> 8) as u8;
        id[31] ^= (output_index & 0xff) as u8;
        ChannelId(id)
    }
}

/// A 32-byte chain hash: the genesis block hash in internal (wire) byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// Bitcoin mainnet genesis block hash, as it appears on the wire.
    pub const BITCOIN: ChainHash = ChainHash([
        0x6f, 0xe2, 0x8c, 0x0a, 0xb6, 0xf1, 0xb3, 0x72, 0xc1, 0xa6, 0xa2, 0x46, 0xae, 0x63, 0xf7,
        0x4f, 0x93, 0x1e, 0x83, 0x65, 0xe1, 0x5a, 0x08, 0x9c, 0x68, 0xd6, 0x19, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ]);
    /// Bitcoin regtest genesis block hash, as it appears on the wire.
    pub const REGTEST: ChainHash = ChainHash([
        0x06, 0x22, 0x6e, 0x46, 0x11, 0x1a, 0x0b, 0x59, 0xca, 0xaf, 0x12, 0x60, 0x43, 0xeb, 0x5b,
        0xbf, 0x28, 0xc3, 0x4f, 0x3a, 0x5e, 0x33, 0x2a, 0x1f, 0xc7, 0xb2, 0xb7, 0x3c, 0xf1, 0x88,
        0x91, 0x0f,
    ]);
}

/// A `short_channel_id`: block height (3 bytes), transaction index (3 bytes), output index (2 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortChannelId(pub u64);

impl ShortChannelId {
    /// `None` when a field does not fit its width (block and tx index: 24 bits).
    pub fn new(block: u32, tx_index: u32, output_index: u16) -> Option<Self> {
        if block >= 1 << 24 || tx_index >= 1 << 24 {
            return None;
        }
        Some(ShortChannelId(
            ((block as u64) << 40) | ((tx_index as u64) << 16) | output_index as u64,
        ))
    }
    pub fn block(&self) -> u32 {
        (self.0 >> 40) as u32
    }
    pub fn tx_index(&self) -> u32 {
        ((self.0 >> 16) & 0xff_ffff) as u32
    }
    pub fn output_index(&self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

/// Core Lightning's human-readable form: `BLOCKxTXxOUT`.
impl std::fmt::Display for ShortChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}x{}x{}",
            self.block(),
            self.tx_index(),
            self.output_index()
        )
    }
}

/// Why a `BLOCKxTXxOUT` string is not a short channel id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid short_channel_id {0:?}: expected BLOCKxTXxOUT")]
pub struct ParseShortChannelIdError(pub String);

impl std::str::FromStr for ShortChannelId {
    type Err = ParseShortChannelIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseShortChannelIdError(s.to_owned());
        let mut parts = s.split('x');
        let (Some(b), Some(t), Some(o), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        let block = b.parse().map_err(|_| err())?;
        let tx = t.parse().map_err(|_| err())?;
        let out = o.parse().map_err(|_| err())?;
        ShortChannelId::new(block, tx, out).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_eof_instead_of_panicking() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.read_u16().unwrap(), 0x0102);
        assert_eq!(
            r.read_u16(),
            Err(DecodeError::UnexpectedEof {
                needed: 2,
                available: 1
            })
        );
    }

    #[test]
    fn short_channel_id_round_trips_through_its_text_form() {
        let scid = ShortChannelId::new(539268, 845, 1).unwrap();
        assert_eq!(scid.to_string(), "539268x845x1");
        assert_eq!("539268x845x1".parse::<ShortChannelId>().unwrap(), scid);
        assert!("1x2".parse::<ShortChannelId>().is_err());
        assert!("16777216x0x0".parse::<ShortChannelId>().is_err());
    }

    #[test]
    fn channel_id_xors_output_index_into_the_last_two_bytes() {
        let id = ChannelId::from_funding_outpoint([0xff; 32], 0x0102);
        assert_eq!(id.0[30], 0xfe);
        assert_eq!(id.0[31], 0xfd);
    }
}
