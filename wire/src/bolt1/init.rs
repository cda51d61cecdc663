//! `init` (type 16): the first message on every connection.

use crate::address::NetAddress;
use crate::codec::{ChainHash, DecodeError, Reader, WireMessage, WriteExt};
use crate::features::Features;
use crate::tlv::TlvStream;

/// TLV type of `networks`: the chains the sender cares about.
pub const NETWORKS_TLV: u64 = 1;
/// TLV type of `remote_addr`: the address the sender sees us connecting from.
pub const REMOTE_ADDR_TLV: u64 = 3;

/// The `init` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// Legacy field; the spec says to OR it into `features` on receipt.
    pub global_features: Features,
    pub features: Features,
    /// `None`: the TLV is absent. `Some(vec![])`: present and empty.
    pub networks: Option<Vec<ChainHash>>,
    pub remote_addr: Option<NetAddress>,
    /// Unknown odd records, plus a `remote_addr` whose descriptor type we do not know (kept
    /// raw rather than dropping the connection over a future address type). Typed fields win
    /// over a record of the same type here when encoding.
    pub extra_tlvs: TlvStream,
}

impl Init {
    /// Our own `init`: everything in `features`, no legacy global bits. An empty `networks` list
    /// leaves the TLV out.
    pub fn new(
        features: Features,
        networks: Vec<ChainHash>,
        remote_addr: Option<NetAddress>,
    ) -> Self {
        Init {
            global_features: Features::new(),
            features,
            networks: (!networks.is_empty()).then_some(networks),
            remote_addr,
            extra_tlvs: TlvStream::new(),
        }
    }

    /// `globalfeatures | features`, the one logical feature set the spec asks receivers to use.
    pub fn combined_features(&self) -> Features {
        self.global_features.union(&self.features)
    }

    /// True when the peer listed no chains at all, or lists `chain`.
    pub fn accepts_chain(&self, chain: &ChainHash) -> bool {
        self.networks
            .as_ref()
            .is_none_or(|chains| chains.contains(chain))
    }

    fn tlvs(&self) -> TlvStream {
        let mut tlvs = self.extra_tlvs.clone();
        if let Some(chains) = &self.networks {
            tlvs.insert(NETWORKS_TLV, chains.iter().flat_map(|c| c.0).collect());
        }
        if let Some(addr) = &self.remote_addr {
            tlvs.insert(REMOTE_ADDR_TLV, addr.encode());
        }
        tlvs
    }
}

fn parse_networks(value: &[u8]) -> Result<Vec<ChainHash>, DecodeError> {
    if !value.len().is_multiple_of(32) {
        return Err(DecodeError::InvalidTlv {
            tlv_type: NETWORKS_TLV,
            reason: "length is not a multiple of 32",
        });
    }
    let mut r = Reader::new(value);
    let mut chains = Vec::with_capacity(value.len() / 32);
    while !r.is_empty() {
        chains.push(r.read_chain_hash()?);
    }
    Ok(chains)
}

/// `Ok(None)` for a descriptor type we do not know.
fn parse_remote_addr(value: &[u8]) -> Result<Option<NetAddress>, DecodeError> {
    let mut r = Reader::new(value);
    let Some(addr) = NetAddress::read(&mut r)? else {
        return Ok(None);
    };
    if !r.is_empty() {
        return Err(DecodeError::InvalidTlv {
            tlv_type: REMOTE_ADDR_TLV,
            reason: "bytes after the address descriptor",
        });
    }
    Ok(Some(addr))
}

impl WireMessage for Init {
    const TYPE: u16 = 16;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed(self.global_features.as_wire_bytes());
        out.put_u16_prefixed(self.features.as_wire_bytes());
        self.tlvs().write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let global_features = Features::from_wire_bytes(r.read_u16_prefixed()?);
        let features = Features::from_wire_bytes(r.read_u16_prefixed()?);
        let mut tlvs = TlvStream::read(r, &[NETWORKS_TLV, REMOTE_ADDR_TLV])?;
        let networks = tlvs
            .take(NETWORKS_TLV)
            .map(|v| parse_networks(&v))
            .transpose()?;
        let remote_addr = match tlvs.get(REMOTE_ADDR_TLV).map(parse_remote_addr) {
            Some(Ok(Some(addr))) => {
                tlvs.take(REMOTE_ADDR_TLV);
                Some(addr)
            }
            Some(Err(e)) => return Err(e),
            Some(Ok(None)) | None => None,
        };
        Ok(Init {
            global_features,
            features,
            networks,
            remote_addr,
            extra_tlvs: tlvs,
        })
    }
}
