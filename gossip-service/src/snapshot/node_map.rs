//! The node map: one `index:pubkey_hex:alias` line per node.

use super::{SnapshotError, SnapshotNode};

/// Parses the decompressed node map. Lines must list indices 0, 1, 2… in order (so a node index
/// is a position in the returned vector); the alias is everything after the second colon,
/// decoded lossily. Empty lines are skipped.
pub fn parse_node_map(text: &[u8]) -> Result<Vec<SnapshotNode>, SnapshotError> {
    let mut nodes = Vec::new();
    for (line_no, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = line_no + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let bad = |reason| SnapshotError::BadNodeMapLine {
            line: line_no,
            reason,
        };
        let mut fields = line.splitn(3, |&b| b == b':');
        let (Some(index), Some(pubkey_hex), Some(alias)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected index:pubkey:alias"));
        };
        let index: usize = std::str::from_utf8(index)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(bad("index is not a number"))?;
        if index != nodes.len() {
            return Err(bad("indices are not 0, 1, 2... in order"));
        }
        let mut pubkey = [0u8; 33];
        hex::decode_to_slice(pubkey_hex, &mut pubkey)
            .map_err(|_| SnapshotError::BadPubkeyHex { line: line_no })?;
        if pubkey[0] != 0x02 && pubkey[0] != 0x03 {
            return Err(SnapshotError::BadPubkeyHex { line: line_no });
        }
        nodes.push(SnapshotNode {
            pubkey,
            alias: String::from_utf8_lossy(alias).into_owned(),
        });
    }
    let mut sorted: Vec<(&[u8; 33], usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (&n.pubkey, i))
        .collect();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(SnapshotError::DuplicatePubkey {
            node: pair[1].1 as u32,
        });
    }
    Ok(nodes)
}
