//! The mainnet graph snapshot of `data/lngraph` (Core Lightning's `gossmap-compress` format).
//!
//! Two files: a gzip stream of BigSize numbers describing every channel (see
//! `data/lngraph/README.md`), and an xz text map `index:pubkey_hex:alias` from node index to
//! node id. Loading never panics: every malformed input is a [`SnapshotError`].
//!
//! # Direction
//!
//! The compressed file lists each channel as (start node, end node), where the start is simply
//! whichever endpoint the encoder visited first (nodes with more channels first). That order is
//! *not* the BOLT 7 order: in the real snapshot about half of the start nodes have the higher
//! pubkey. The per-direction values, however, are written in BOLT 7 order (the encoder reads its
//! `half[dir]`, where `dir` is the `channel_flags` direction bit). We checked this against the
//! data: with "direction 0 = lower pubkey" 92 % of each node's outgoing halves share its most
//! common `cltv_expiry_delta` (nodes use one policy), against 59 % with "direction 0 = start node".
//! (Core Lightning's own decompressor uses the latter and so swaps the policies of half the
//! channels.) We therefore sort each channel's endpoints by pubkey when loading:
//! [`SnapshotChannel::nodes`]`[0]` is BOLT 7 `node_id_1` (the lower pubkey) and `halves[0]` is the
//! half it announces (it forwards from `nodes[0]` to `nodes[1]`).

mod node_map;
mod parse;
#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::Path;

use lnfleet_wire::ShortChannelId;
use tracing::{debug, info};

pub use node_map::parse_node_map;
pub use parse::{parse_compressed, RawChannels, HEADER};

/// Largest decompressed size we accept for either file: the real ones are 1.3 MB and 2 MB, so this
/// only stops a decompression bomb from exhausting memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("channel file is not valid gzip: {0}")]
    BadGzip(std::io::Error),
    #[error("node map is not valid xz: {0}")]
    BadXz(String),
    #[error("{what} decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes")]
    TooLarge { what: &'static str },
    #[error("channel file does not start with the GOSSMAP_COMPRESSv1 header")]
    BadHeader,
    #[error("channel file is truncated while reading {section}")]
    Truncated { section: &'static str },
    #[error("non-canonical bigsize while reading {section}")]
    NonCanonicalBigSize { section: &'static str },
    #[error("{0} trailing bytes after the last index")]
    TrailingBytes(usize),
    #[error("{section}: index {index} out of range (limit {limit})")]
    IndexOutOfRange {
        section: &'static str,
        index: u64,
        limit: u64,
    },
    #[error("{field} of channel {channel} direction {direction} is {value}, too large")]
    ValueTooLarge {
        field: &'static str,
        channel: usize,
        direction: usize,
        value: u64,
    },
    #[error("channel {channel} has the same node {node} at both ends")]
    SelfChannel { channel: usize, node: u32 },
    #[error("node map line {line}: {reason}")]
    BadNodeMapLine { line: usize, reason: &'static str },
    #[error("node map line {line}: bad pubkey hex")]
    BadPubkeyHex { line: usize },
    #[error("node map lists pubkey of node {node} twice")]
    DuplicatePubkey { node: u32 },
}

/// One node of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotNode {
    /// Compressed secp256k1 public key (the BOLT 7 node id). Only the 02/03 prefix is checked:
    /// the curve check is left to whoever signs or verifies with it.
    pub pubkey: [u8; 33],
    /// Alias as announced, decoded lossily (aliases may hold any bytes).
    pub alias: String,
}

/// One direction of a channel, as its `channel_update` would state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HalfChannel {
    /// False when the snapshot lists the half as disabled; its fields are then all zero.
    pub enabled: bool,
    pub htlc_minimum_msat: u64,
    pub htlc_maximum_msat: u64,
    pub fee_base_msat: u32,
    pub fee_proportional_millionths: u32,
    pub cltv_expiry_delta: u16,
}

impl HalfChannel {
    /// Whether a router may use this half. Besides disabled halves, one enabled half in the real
    /// snapshot carries a zero `cltv_expiry_delta` (every field zero: a placeholder, not a
    /// policy). A zero delta leaves the forwarding node no time to claim upstream, so no router
    /// should use it; this is how the README counts 65,809 usable halves of 65,810 enabled ones.
    pub fn is_usable(&self) -> bool {
        self.enabled && self.cltv_expiry_delta != 0
    }
}

/// One channel of the snapshot, its endpoints in BOLT 7 order (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotChannel {
    /// Synthetic id `ix0x0`: block = the channel's position in the file.
    pub scid: ShortChannelId,
    /// `[node_id_1, node_id_2]` as node indices; `nodes[0]` has the lower pubkey.
    pub nodes: [u32; 2],
    pub capacity_sat: u64,
    /// `halves[d]` is announced by `nodes[d]` and forwards towards `nodes[1 - d]`.
    pub halves: [HalfChannel; 2],
}

/// The whole snapshot: nodes by index, channels by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub nodes: Vec<SnapshotNode>,
    pub channels: Vec<SnapshotChannel>,
}

impl Snapshot {
    /// Reads and decodes both files. Long work (about 70 ms in release on the real files, most of it xz):
    /// call it off the async executor.
    pub fn load(compressed_path: &Path, node_map_path: &Path) -> Result<Self, SnapshotError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| SnapshotError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let compressed = read(compressed_path)?;
        let node_map = read(node_map_path)?;
        Self::from_bytes(&compressed, &node_map)
    }

    /// Decodes a snapshot from the bytes of the gzip channel file and the xz node map.
    pub fn from_bytes(compressed_gz: &[u8], node_map_xz: &[u8]) -> Result<Self, SnapshotError> {
        let channel_bytes = gunzip(compressed_gz)?;
        let node_map_text = unxz(node_map_xz)?;
        info!(
            channel_bytes = channel_bytes.len(),
            node_map_bytes = node_map_text.len(),
            "snapshot decompressed"
        );
        let nodes = parse_node_map(&node_map_text)?;
        let raw = parse_compressed(&channel_bytes, nodes.len())?;
        let channels = assemble_channels(&raw, &nodes)?;
        info!(
            nodes = nodes.len(),
            channels = channels.len(),
            "snapshot loaded"
        );
        Ok(Snapshot { nodes, channels })
    }

    /// Number of halves a router may use ([`HalfChannel::is_usable`]).
    pub fn usable_half_channels(&self) -> usize {
        self.channels
            .iter()
            .flat_map(|c| c.halves.iter())
            .filter(|h| h.is_usable())
            .count()
    }
}

/// Decompresses the gzip channel file, refusing more than [`MAX_DECOMPRESSED_BYTES`].
pub fn gunzip(compressed_gz: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed_gz)
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(SnapshotError::BadGzip)?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(SnapshotError::TooLarge {
            what: "channel file",
        });
    }
    Ok(out)
}

/// Decompresses the xz node map, refusing more than [`MAX_DECOMPRESSED_BYTES`].
pub fn unxz(node_map_xz: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let mut input = std::io::BufReader::new(node_map_xz);
    let mut out = LimitedWriter {
        buf: Vec::new(),
        limit: MAX_DECOMPRESSED_BYTES as usize,
    };
    match lzma_rs::xz_decompress(&mut input, &mut out) {
        Ok(()) => Ok(out.buf),
        Err(_) if out.buf.len() > out.limit => Err(SnapshotError::TooLarge { what: "node map" }),
        Err(e) => Err(SnapshotError::BadXz(e.to_string())),
    }
}

/// A `Vec` writer that fails once it would grow past `limit` (lzma-rs has no output limit).
struct LimitedWriter {
    buf: Vec<u8>,
    limit: usize,
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            self.buf.extend_from_slice(data);
            return Err(std::io::Error::other("decompressed size limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Turns the decoded tables into channels: sorts endpoints into BOLT 7 order, resolves the
/// htlc_maximum shorthands and checks field widths.
fn assemble_channels(
    raw: &RawChannels,
    nodes: &[SnapshotNode],
) -> Result<Vec<SnapshotChannel>, SnapshotError> {
    let count = raw.channel_count();
    let progress_step = (count / 10).max(1);
    let mut channels = Vec::with_capacity(count);
    for i in 0..count {
        if i % progress_step == 0 {
            debug!(done = i, total = count, "assembling snapshot channels");
        }
        channels.push(assemble_channel(raw, nodes, i)?);
    }
    Ok(channels)
}

fn assemble_channel(
    raw: &RawChannels,
    nodes: &[SnapshotNode],
    i: usize,
) -> Result<SnapshotChannel, SnapshotError> {
    let (start, end) = raw.endpoints(i);
    let pubkey = |n: u32| nodes.get(n as usize).map(|node| node.pubkey);
    let (start_key, end_key) = match (pubkey(start), pubkey(end)) {
        (Some(s), Some(e)) => (s, e),
        _ => {
            return Err(SnapshotError::IndexOutOfRange {
                section: "channel endpoints",
                index: u64::from(start.max(end)),
                limit: nodes.len() as u64,
            })
        }
    };
    if start_key == end_key {
        return Err(SnapshotError::SelfChannel {
            channel: i,
            node: start,
        });
    }
    let node_ids = if start_key < end_key {
        [start, end]
    } else {
        [end, start]
    };
    // The block field of a short_channel_id has 24 bits; parse_compressed bounds the count.
    let scid = ShortChannelId::new(i as u32, 0, 0).ok_or(SnapshotError::IndexOutOfRange {
        section: "channel count",
        index: i as u64,
        limit: 1 << 24,
    })?;
    let capacity_sat = raw.capacity_sat(i);
    let halves = [
        assemble_half(raw, i, 0, capacity_sat)?,
        assemble_half(raw, i, 1, capacity_sat)?,
    ];
    Ok(SnapshotChannel {
        scid,
        nodes: node_ids,
        capacity_sat,
        halves,
    })
}

fn assemble_half(
    raw: &RawChannels,
    channel: usize,
    direction: usize,
    capacity_sat: u64,
) -> Result<HalfChannel, SnapshotError> {
    let v = raw.half_values(channel, direction);
    let enabled = !raw.is_disabled(channel, direction);
    let too_large = |field, value| SnapshotError::ValueTooLarge {
        field,
        channel,
        direction,
        value,
    };
    let capacity_msat = capacity_sat
        .checked_mul(1000)
        .ok_or(too_large("capacity_sat", capacity_sat))?;
    // The encoder writes 0 for every field of a disabled half, so the shorthands only apply to
    // enabled ones. 0.99 × capacity is computed as the encoder did (f64, truncated) so the value
    // matches the original update to the millisatoshi.
    let htlc_maximum_msat = match (enabled, v.htlc_max) {
        (true, 0) => capacity_msat,
        (true, 1) => (capacity_msat as f64 * 0.99) as u64,
        (_, other) => other,
    };
    Ok(HalfChannel {
        enabled,
        htlc_minimum_msat: v.htlc_min,
        htlc_maximum_msat,
        fee_base_msat: u32::try_from(v.fee_base).map_err(|_| too_large("fee_base", v.fee_base))?,
        fee_proportional_millionths: u32::try_from(v.fee_ppm)
            .map_err(|_| too_large("fee_ppm", v.fee_ppm))?,
        cltv_expiry_delta: u16::try_from(v.cltv_delta)
            .map_err(|_| too_large("cltv_delta", v.cltv_delta))?,
    })
}
