//! Decoding of the decompressed channel file into its tables (no interpretation yet).

use lnfleet_wire::codec::{DecodeError, Reader};

use super::SnapshotError;

/// The 19-byte magic at the start of the decompressed channel file (with its NUL).
pub const HEADER: &[u8; 19] = b"GOSSMAP_COMPRESSv1\0";

/// The tables of the channel file, every index already checked against its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawChannels {
    start: Vec<u32>,
    end: Vec<u32>,
    /// Indexed by `2 * channel + direction`.
    disabled: Vec<bool>,
    capacity: ValueTable,
    htlc_min: ValueTable,
    htlc_max: ValueTable,
    fee_base: ValueTable,
    fee_ppm: ValueTable,
    cltv_delta: ValueTable,
}

/// The raw per-direction numbers, before the htlc_maximum shorthands are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHalf {
    pub htlc_min: u64,
    pub htlc_max: u64,
    pub fee_base: u64,
    pub fee_ppm: u64,
    pub cltv_delta: u64,
}

/// Distinct values, then one index into them per channel (or per half-channel).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ValueTable {
    values: Vec<u64>,
    indices: Vec<u32>,
}

impl ValueTable {
    /// Indices were checked at parse time; a miss (impossible) reads as 0 rather than panicking.
    fn get(&self, i: usize) -> u64 {
        self.indices
            .get(i)
            .and_then(|&ix| self.values.get(ix as usize))
            .copied()
            .unwrap_or(0)
    }
}

impl RawChannels {
    pub fn channel_count(&self) -> usize {
        self.start.len()
    }

    /// (start node, end node) in file order, which is not BOLT 7 order.
    pub fn endpoints(&self, channel: usize) -> (u32, u32) {
        (
            self.start.get(channel).copied().unwrap_or(0),
            self.end.get(channel).copied().unwrap_or(0),
        )
    }

    pub fn is_disabled(&self, channel: usize, direction: usize) -> bool {
        self.disabled
            .get(2 * channel + direction)
            .copied()
            .unwrap_or(true)
    }

    pub fn capacity_sat(&self, channel: usize) -> u64 {
        self.capacity.get(channel)
    }

    pub fn half_values(&self, channel: usize, direction: usize) -> RawHalf {
        let h = 2 * channel + direction;
        RawHalf {
            htlc_min: self.htlc_min.get(h),
            htlc_max: self.htlc_max.get(h),
            fee_base: self.fee_base.get(h),
            fee_ppm: self.fee_ppm.get(h),
            cltv_delta: self.cltv_delta.get(h),
        }
    }
}

/// Decodes the decompressed channel file. `node_count` bounds the endpoint indices. The buffer
/// must be consumed exactly.
pub fn parse_compressed(bytes: &[u8], node_count: usize) -> Result<RawChannels, SnapshotError> {
    let mut r = Reader::new(bytes);
    let header = r
        .read_bytes(HEADER.len())
        .map_err(|_| SnapshotError::BadHeader)?;
    if header != HEADER {
        return Err(SnapshotError::BadHeader);
    }

    let count = read(&mut r, "channel count")?;
    // Each channel takes at least two bytes (its endpoints) and its index becomes the 24-bit
    // block number of a synthetic short_channel_id. Checking both before allocating keeps a
    // forged count from reserving gigabytes.
    if count >= 1 << 24 {
        return Err(SnapshotError::IndexOutOfRange {
            section: "channel count",
            index: count,
            limit: 1 << 24,
        });
    }
    let count = count as usize;
    if count.saturating_mul(2) > r.remaining() {
        return Err(SnapshotError::Truncated {
            section: "channel endpoints",
        });
    }
    let start = read_indices(&mut r, count, node_count as u64, "channel start nodes")?;
    let end = read_indices(&mut r, count, node_count as u64, "channel end nodes")?;

    let half_count = 2 * count;
    let mut disabled = vec![false; half_count];
    loop {
        let half = read(&mut r, "disabled half-channels")?;
        match disabled.get_mut(half as usize) {
            Some(flag) if half < half_count as u64 => *flag = true,
            _ => break, // any value >= 2N terminates the list
        }
    }

    let capacity = read_table(&mut r, count, "capacities")?;
    let htlc_min = read_table(&mut r, half_count, "htlc_min")?;
    let htlc_max = read_table(&mut r, half_count, "htlc_max")?;
    let fee_base = read_table(&mut r, half_count, "fee_base")?;
    let fee_ppm = read_table(&mut r, half_count, "fee_ppm")?;
    let cltv_delta = read_table(&mut r, half_count, "cltv_delta")?;

    if !r.is_empty() {
        return Err(SnapshotError::TrailingBytes(r.remaining()));
    }
    Ok(RawChannels {
        start,
        end,
        disabled,
        capacity,
        htlc_min,
        htlc_max,
        fee_base,
        fee_ppm,
        cltv_delta,
    })
}

fn read(r: &mut Reader<'_>, section: &'static str) -> Result<u64, SnapshotError> {
    r.read_bigsize().map_err(|e| match e {
        DecodeError::NonCanonicalBigSize => SnapshotError::NonCanonicalBigSize { section },
        _ => SnapshotError::Truncated { section },
    })
}

/// Reads `count` indices, each below `limit`.
fn read_indices(
    r: &mut Reader<'_>,
    count: usize,
    limit: u64,
    section: &'static str,
) -> Result<Vec<u32>, SnapshotError> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let index = read(r, section)?;
        if index >= limit || index > u64::from(u32::MAX) {
            return Err(SnapshotError::IndexOutOfRange {
                section,
                index,
                limit,
            });
        }
        out.push(index as u32);
    }
    Ok(out)
}

/// Reads `T`, `T` values, then `entries` indices into them.
fn read_table(
    r: &mut Reader<'_>,
    entries: usize,
    section: &'static str,
) -> Result<ValueTable, SnapshotError> {
    let value_count = read(r, section)?;
    // Every value and every index takes at least one byte.
    if value_count.saturating_add(entries as u64) > r.remaining() as u64 {
        return Err(SnapshotError::Truncated { section });
    }
    let mut values = Vec::with_capacity(value_count as usize);
    for _ in 0..value_count {
        values.push(read(r, section)?);
    }
    let indices = read_indices(r, entries, value_count, section)?;
    Ok(ValueTable { values, indices })
}
