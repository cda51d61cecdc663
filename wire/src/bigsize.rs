//! BOLT 1 `BigSize` (a big-endian variant of Bitcoin's CompactSize) and truncated integers.

use crate::codec::{DecodeError, Reader};

/// Reads one canonically encoded BigSize.
pub fn read(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let prefix = r.read_u8()?;
    let (value, min) = match prefix {
        0xff => (r.read_u64()?, 0x1_0000_0000),
        0xfe => (r.read_u32()? as u64, 0x1_0000),
        0xfd => (r.read_u16()? as u64, 0xfd),
        n => return Ok(n as u64),
    };
    if value < min {
        return Err(DecodeError::NonCanonicalBigSize);
    }
    Ok(value)
}

/// Appends the canonical (shortest) encoding of `v`.
pub fn write(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0xfc => out.push(v as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Encoded length of `v` in bytes.
pub fn len(v: u64) -> usize {
    match v {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Decodes a truncated integer (`tu16`/`tu32`/`tu64`) occupying all of `bytes`: big-endian with
/// no leading zero bytes, at most `max_len` bytes.
pub fn decode_truncated(bytes: &[u8], max_len: usize) -> Result<u64, DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TruncatedIntTooLong {
            len: bytes.len(),
            max: max_len,
        });
    }
    if bytes.first() == Some(&0) {
        return Err(DecodeError::NonMinimalTruncatedInt);
    }
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
}

/// The minimal truncated encoding of `v` (zero is the empty string).
pub fn encode_truncated(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = (v.leading_zeros() / 8) as usize;
    bytes[skip..].to_vec()
}

pub fn decode_tu16(bytes: &[u8]) -> Result<u16, DecodeError> {
    decode_truncated(bytes, 2).map(|v| v as u16)
}

pub fn decode_tu32(bytes: &[u8]) -> Result<u32, DecodeError> {
    decode_truncated(bytes, 4).map(|v| v as u32)
}

pub fn decode_tu64(bytes: &[u8]) -> Result<u64, DecodeError> {
    decode_truncated(bytes, 8)
}

#[cfg(test)]
mod tests;
