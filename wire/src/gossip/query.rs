//! Gossip queries: `query_short_channel_ids` (261), `reply_short_channel_ids_end` (262),
//! `query_channel_range` (263), `reply_channel_range` (264), `gossip_timestamp_filter` (265).
//!
//! Arrays in these messages carry an encoding byte first. Only `0` (uncompressed) is allowed:
//! `1` (zlib) is deprecated and MUST NOT be used, so it is rejected like any unknown encoding.

use crate::codec::{ChainHash, DecodeError, Reader, ShortChannelId, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// The only encoding the spec still allows: a plain array.
pub const ENCODING_UNCOMPRESSED: u8 = 0;
/// The deprecated zlib encoding, rejected on read.
pub const ENCODING_ZLIB_DEPRECATED: u8 = 1;

/// Why an encoded array is not acceptable, before it is attached to a field or TLV.
fn array_body(bytes: &[u8]) -> Result<&[u8], &'static str> {
    match bytes.split_first() {
        // No encoding byte at all: an empty array, as some senders write it.
        None => Ok(&[]),
        Some((&ENCODING_UNCOMPRESSED, body)) => Ok(body),
        Some((&ENCODING_ZLIB_DEPRECATED, _)) => Err("unsupported encoding (zlib is deprecated)"),
        Some(_) => Err("unsupported encoding"),
    }
}

fn put_encoded(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    out.put_u8(ENCODING_UNCOMPRESSED);
    body(out);
}

/// `encoded_short_ids`: short channel ids in ascending order, written uncompressed.
///
/// An empty field (no encoding byte) reads as an empty list and is written back with the
/// encoding byte, the form the spec asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedShortIds(pub Vec<ShortChannelId>);

impl EncodedShortIds {
    /// The most ids a `u16`-prefixed field holds (one byte goes to the encoding).
    pub const MAX_IDS: usize = (u16::MAX as usize - 1) / 8;

    /// Decodes the field's content (after its `u16` length).
    pub fn decode_field(bytes: &[u8]) -> Result<Self, DecodeError> {
        let invalid = |reason| DecodeError::InvalidValue {
            field: "encoded_short_ids",
            reason,
        };
        let body = array_body(bytes).map_err(invalid)?;
        if !body.len().is_multiple_of(8) {
            return Err(invalid("not a whole number of short_channel_ids"));
        }
        let mut r = Reader::new(body);
        let mut ids = Vec::with_capacity(body.len() / 8);
        while !r.is_empty() {
            ids.push(r.read_short_channel_id()?);
        }
        Ok(EncodedShortIds(ids))
    }

    /// The field's content: encoding byte then the ids. Keep at most [`Self::MAX_IDS`] ids.
    pub fn encode_field(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 * self.0.len());
        put_encoded(&mut out, |out| {
            for id in &self.0 {
                out.put_u64(id.0);
            }
        });
        out
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Self::decode_field(r.read_u16_prefixed()?)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed(&self.encode_field());
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes the known records merged with the unknown odd ones, in type order.
fn write_tlvs(
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

fn invalid_tlv(tlv_type: u64) -> impl Fn(&'static str) -> DecodeError {
    move |reason| DecodeError::InvalidTlv { tlv_type, reason }
}

/// `query_short_channel_ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryShortChannelIds {
    pub chain_hash: ChainHash,
    pub short_ids: EncodedShortIds,
    /// TLV 1 `query_flags`: one bitfield per id (see the `QUERY_FLAG_*` constants).
    pub query_flags: Option<Vec<u64>>,
    pub extra_tlvs: TlvStream,
}

impl QueryShortChannelIds {
    pub const QUERY_FLAG_CHANNEL_ANNOUNCEMENT: u64 = 1 << 0;
    pub const QUERY_FLAG_CHANNEL_UPDATE_1: u64 = 1 << 1;
    pub const QUERY_FLAG_CHANNEL_UPDATE_2: u64 = 1 << 2;
    pub const QUERY_FLAG_NODE_ANNOUNCEMENT_1: u64 = 1 << 3;
    pub const QUERY_FLAG_NODE_ANNOUNCEMENT_2: u64 = 1 << 4;

    const TLV_QUERY_FLAGS: u64 = 1;
}

impl WireMessage for QueryShortChannelIds {
    const TYPE: u16 = 261;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        self.short_ids.write(out);
        let flags = self.query_flags.as_ref().map(|flags| {
            let mut value = Vec::new();
            put_encoded(&mut value, |v| flags.iter().for_each(|&f| v.put_bigsize(f)));
            (Self::TLV_QUERY_FLAGS, value)
        });
        write_tlvs(out, &self.extra_tlvs, flags);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain_hash = r.read_chain_hash()?;
        let short_ids = EncodedShortIds::read(r)?;
        let mut extra_tlvs = TlvStream::read(r, &[Self::TLV_QUERY_FLAGS])?;
        let query_flags = match extra_tlvs.take(Self::TLV_QUERY_FLAGS) {
            None => None,
            Some(value) => {
                let invalid = invalid_tlv(Self::TLV_QUERY_FLAGS);
                let mut body = Reader::new(array_body(&value).map_err(&invalid)?);
                let mut flags = Vec::new();
                while !body.is_empty() {
                    flags.push(body.read_bigsize()?);
                }
                if flags.len() != short_ids.len() {
                    return Err(invalid("not one query flag per short_channel_id"));
                }
                Some(flags)
            }
        };
        Ok(QueryShortChannelIds {
            chain_hash,
            short_ids,
            query_flags,
            extra_tlvs,
        })
    }
}

/// `reply_short_channel_ids_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyShortChannelIdsEnd {
    pub chain_hash: ChainHash,
    /// False when the sender does not keep up-to-date information for this chain.
    pub full_information: bool,
}

fn read_bool(r: &mut Reader<'_>, field: &'static str) -> Result<bool, DecodeError> {
    match r.read_u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidValue {
            field,
            reason: "boolean byte is neither 0 nor 1",
        }),
    }
}

impl WireMessage for ReplyShortChannelIdsEnd {
    const TYPE: u16 = 262;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        out.put_u8(self.full_information as u8);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReplyShortChannelIdsEnd {
            chain_hash: r.read_chain_hash()?,
            full_information: read_bool(r, "full_information")?,
        })
    }
}

/// `query_channel_range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryChannelRange {
    pub chain_hash: ChainHash,
    pub first_blocknum: u32,
    pub number_of_blocks: u32,
    /// TLV 1 `query_option`: see the `QUERY_OPTION_*` constants.
    pub query_option: Option<u64>,
    pub extra_tlvs: TlvStream,
}

impl QueryChannelRange {
    pub const QUERY_OPTION_TIMESTAMPS: u64 = 1 << 0;
    pub const QUERY_OPTION_CHECKSUMS: u64 = 1 << 1;

    const TLV_QUERY_OPTION: u64 = 1;

    /// One past the last block asked for (computed in u64, so it cannot overflow).
    pub fn end_blocknum(&self) -> u64 {
        self.first_blocknum as u64 + self.number_of_blocks as u64
    }
}

impl WireMessage for QueryChannelRange {
    const TYPE: u16 = 263;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        out.put_u32(self.first_blocknum);
        out.put_u32(self.number_of_blocks);
        let option = self.query_option.map(|flags| {
            let mut value = Vec::new();
            value.put_bigsize(flags);
            (Self::TLV_QUERY_OPTION, value)
        });
        write_tlvs(out, &self.extra_tlvs, option);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain_hash = r.read_chain_hash()?;
        let first_blocknum = r.read_u32()?;
        let number_of_blocks = r.read_u32()?;
        let mut extra_tlvs = TlvStream::read(r, &[Self::TLV_QUERY_OPTION])?;
        let query_option = match extra_tlvs.take(Self::TLV_QUERY_OPTION) {
            None => None,
            Some(value) => {
                let mut body = Reader::new(&value);
                let flags = body.read_bigsize()?;
                if !body.is_empty() {
                    return Err(invalid_tlv(Self::TLV_QUERY_OPTION)("trailing bytes"));
                }
                Some(flags)
            }
        };
        Ok(QueryChannelRange {
            chain_hash,
            first_blocknum,
            number_of_blocks,
            query_option,
            extra_tlvs,
        })
    }
}

/// `channel_update_timestamps`: per channel, the timestamp of each side's latest update (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelUpdateTimestamps {
    pub node_1: u32,
    pub node_2: u32,
}

/// `channel_update_checksums`: per channel, the CRC32C of each side's latest update (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelUpdateChecksums {
    pub node_1: u32,
    pub node_2: u32,
}

/// Reads `(u32, u32)` pairs filling `body`, one per short channel id.
fn read_pairs(body: &[u8], expected: usize, tlv_type: u64) -> Result<Vec<(u32, u32)>, DecodeError> {
    let invalid = invalid_tlv(tlv_type);
    if !body.len().is_multiple_of(8) {
        return Err(invalid("not a whole number of u32 pairs"));
    }
    if body.len() / 8 != expected {
        return Err(invalid("not one entry per short_channel_id"));
    }
    let mut r = Reader::new(body);
    let mut pairs = Vec::with_capacity(expected);
    while !r.is_empty() {
        pairs.push((r.read_u32()?, r.read_u32()?));
    }
    Ok(pairs)
}

/// `reply_channel_range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyChannelRange {
    pub chain_hash: ChainHash,
    pub first_blocknum: u32,
    pub number_of_blocks: u32,
    pub sync_complete: bool,
    pub short_ids: EncodedShortIds,
    /// TLV 1 `timestamps_tlv`, one entry per id.
    pub timestamps: Option<Vec<ChannelUpdateTimestamps>>,
    /// TLV 3 `checksums_tlv`, one entry per id.
    pub checksums: Option<Vec<ChannelUpdateChecksums>>,
    pub extra_tlvs: TlvStream,
}

impl ReplyChannelRange {
    const TLV_TIMESTAMPS: u64 = 1;
    const TLV_CHECKSUMS: u64 = 3;

    /// One past the last block covered (computed in u64, so it cannot overflow).
    pub fn end_blocknum(&self) -> u64 {
        self.first_blocknum as u64 + self.number_of_blocks as u64
    }
}

impl WireMessage for ReplyChannelRange {
    const TYPE: u16 = 264;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        out.put_u32(self.first_blocknum);
        out.put_u32(self.number_of_blocks);
        out.put_u8(self.sync_complete as u8);
        self.short_ids.write(out);
        let timestamps = self.timestamps.as_ref().map(|entries| {
            let mut value = Vec::new();
            put_encoded(&mut value, |v| {
                for t in entries {
                    v.put_u32(t.node_1);
                    v.put_u32(t.node_2);
                }
            });
            (Self::TLV_TIMESTAMPS, value)
        });
        let checksums = self.checksums.as_ref().map(|entries| {
            let mut value = Vec::new();
            for c in entries {
                value.put_u32(c.node_1);
                value.put_u32(c.node_2);
            }
            (Self::TLV_CHECKSUMS, value)
        });
        write_tlvs(
            out,
            &self.extra_tlvs,
            timestamps.into_iter().chain(checksums),
        );
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain_hash = r.read_chain_hash()?;
        let first_blocknum = r.read_u32()?;
        let number_of_blocks = r.read_u32()?;
        let sync_complete = read_bool(r, "sync_complete")?;
        let short_ids = EncodedShortIds::read(r)?;
        let mut extra_tlvs = TlvStream::read(r, &[Self::TLV_TIMESTAMPS, Self::TLV_CHECKSUMS])?;
        let timestamps = match extra_tlvs.take(Self::TLV_TIMESTAMPS) {
            None => None,
            Some(value) => {
                let body = array_body(&value).map_err(invalid_tlv(Self::TLV_TIMESTAMPS))?;
                let pairs = read_pairs(body, short_ids.len(), Self::TLV_TIMESTAMPS)?;
                Some(
                    pairs
                        .into_iter()
                        .map(|(node_1, node_2)| ChannelUpdateTimestamps { node_1, node_2 })
                        .collect(),
                )
            }
        };
        let checksums = match extra_tlvs.take(Self::TLV_CHECKSUMS) {
            None => None,
            Some(value) => {
                let pairs = read_pairs(&value, short_ids.len(), Self::TLV_CHECKSUMS)?;
                Some(
                    pairs
                        .into_iter()
                        .map(|(node_1, node_2)| ChannelUpdateChecksums { node_1, node_2 })
                        .collect(),
                )
            }
        };
        Ok(ReplyChannelRange {
            chain_hash,
            first_blocknum,
            number_of_blocks,
            sync_complete,
            short_ids,
            timestamps,
            checksums,
            extra_tlvs,
        })
    }
}

/// `gossip_timestamp_filter`: which gossip (by timestamp) the sender wants from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipTimestampFilter {
    pub chain_hash: ChainHash,
    pub first_timestamp: u32,
    pub timestamp_range: u32,
}

impl GossipTimestampFilter {
    /// Whether gossip with this `timestamp` passes: `first <= t < first + range` (in u64, so a
    /// range reaching past `u32::MAX` does not wrap).
    pub fn admits(&self, timestamp: u32) -> bool {
        let t = timestamp as u64;
        let first = self.first_timestamp as u64;
        t >= first && t < first + self.timestamp_range as u64
    }
}

impl WireMessage for GossipTimestampFilter {
    const TYPE: u16 = 265;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        out.put_u32(self.first_timestamp);
        out.put_u32(self.timestamp_range);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(GossipTimestampFilter {
            chain_hash: r.read_chain_hash()?,
            first_timestamp: r.read_u32()?,
            timestamp_range: r.read_u32()?,
        })
    }
}
