//! BOLT 1 TLV streams: `(BigSize type, BigSize length, value)*` with strictly increasing types.
//!
//! A stream is read against the set of types the reader knows. Unknown even types fail the
//! stream; unknown odd types are skipped by the protocol logic but kept here, so a message can be
//! re-encoded byte for byte and callers can still look at them.

use crate::bigsize;
use crate::codec::{DecodeError, Reader, WriteExt};

/// One TLV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlvRecord {
    pub tlv_type: u64,
    pub value: Vec<u8>,
}

/// A parsed TLV stream, records in strictly increasing type order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlvStream {
    records: Vec<TlvRecord>,
}

impl TlvStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads records until `r` is exhausted. `known` lists the types the caller understands.
    pub fn read(r: &mut Reader<'_>, known: &[u64]) -> Result<Self, DecodeError> {
        let mut records: Vec<TlvRecord> = Vec::new();
        while !r.is_empty() {
            let tlv_type = r.read_bigsize()?;
            let length = r.read_bigsize()?;
            if length > r.remaining() as u64 {
                return Err(DecodeError::TlvLengthOverflow {
                    tlv_type,
                    length,
                    available: r.remaining(),
                });
            }
            if let Some(prev) = records.last() {
                if tlv_type <= prev.tlv_type {
                    return Err(DecodeError::TlvNotIncreasing {
                        previous: prev.tlv_type,
                        next: tlv_type,
                    });
                }
            }
            let value = r.read_bytes(length as usize)?;
            if tlv_type % 2 == 0 && !known.contains(&tlv_type) {
                return Err(DecodeError::UnknownEvenTlv(tlv_type));
            }
            records.push(TlvRecord {
                tlv_type,
                value: value.to_vec(),
            });
        }
        Ok(TlvStream { records })
    }

    /// Parses a whole byte string as a TLV stream.
    pub fn decode(bytes: &[u8], known: &[u64]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(bytes), known)
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        for rec in &self.records {
            out.put_bigsize(rec.tlv_type);
            out.put_bigsize(rec.value.len() as u64);
            out.put_bytes(&rec.value);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    pub fn records(&self) -> &[TlvRecord] {
        &self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn get(&self, tlv_type: u64) -> Option<&[u8]> {
        self.position(tlv_type)
            .ok()
            .map(|i| self.records[i].value.as_slice())
    }

    /// Removes and returns a record's value; used to pull known records out, leaving the unknown.
    pub fn take(&mut self, tlv_type: u64) -> Option<Vec<u8>> {
        let i = self.position(tlv_type).ok()?;
        Some(self.records.remove(i).value)
    }

    /// Inserts or replaces a record, keeping the order.
    pub fn insert(&mut self, tlv_type: u64, value: Vec<u8>) {
        match self.position(tlv_type) {
            Ok(i) => self.records[i].value = value,
            Err(i) => self.records.insert(i, TlvRecord { tlv_type, value }),
        }
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.records
            .iter()
            .map(|r| bigsize::len(r.tlv_type) + bigsize::len(r.value.len() as u64) + r.value.len())
            .sum()
    }

    fn position(&self, tlv_type: u64) -> Result<usize, usize> {
        self.records.binary_search_by_key(&tlv_type, |r| r.tlv_type)
    }
}

#[cfg(test)]
mod tests;
