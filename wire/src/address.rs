//! Address descriptors (BOLT 7), shared by `node_announcement` and the `remote_addr` TLV of `init`.
//!
//! Encoding: one type byte, then the type's fixed-size body (or a length-prefixed hostname), then
//! a big-endian port.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::codec::{DecodeError, Reader, WriteExt};

/// One network address a node can be reached on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetAddress {
    /// Type 1.
    Ipv4 { addr: Ipv4Addr, port: u16 },
    /// Type 2.
    Ipv6 { addr: Ipv6Addr, port: u16 },
    /// Type 3, deprecated by the spec: still parsed so a message carrying it round-trips.
    TorV2 { addr: [u8; 10], port: u16 },
    /// Type 4: ed25519 pubkey (32), checksum (2), version (1).
    TorV3 { addr: [u8; 35], port: u16 },
    /// Type 5: an ASCII hostname of at most 255 bytes.
    Hostname { host: String, port: u16 },
}

impl NetAddress {
    pub fn descriptor_type(&self) -> u8 {
        match self {
            NetAddress::Ipv4 { .. } => 1,
            NetAddress::Ipv6 { .. } => 2,
            NetAddress::TorV2 { .. } => 3,
            NetAddress::TorV3 { .. } => 4,
            NetAddress::Hostname { .. } => 5,
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            NetAddress::Ipv4 { port, .. }
            | NetAddress::Ipv6 { port, .. }
            | NetAddress::TorV2 { port, .. }
            | NetAddress::TorV3 { port, .. }
            | NetAddress::Hostname { port, .. } => *port,
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(self.descriptor_type());
        match self {
            NetAddress::Ipv4 { addr, .. } => out.put_bytes(&addr.octets()),
            NetAddress::Ipv6 { addr, .. } => out.put_bytes(&addr.octets()),
            NetAddress::TorV2 { addr, .. } => out.put_bytes(addr),
            NetAddress::TorV3 { addr, .. } => out.put_bytes(addr),
            NetAddress::Hostname { host, .. } => {
                // Construction through `hostname` bounds the length; truncate defensively anyway.
                let bytes = &host.as_bytes()[..host.len().min(255)];
                out.put_u8(bytes.len() as u8);
                out.put_bytes(bytes);
            }
        }
        out.put_u16(self.port());
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// A hostname descriptor, checked the way the spec asks (printable ASCII, ≤ 255 bytes).
    pub fn hostname(host: &str, port: u16) -> Result<Self, DecodeError> {
        validate_hostname(host.as_bytes())?;
        Ok(NetAddress::Hostname {
            host: host.to_owned(),
            port,
        })
    }

    /// Reads one descriptor. `Ok(None)` means an unknown type: its length is unknown, so the
    /// caller must stop parsing the list there (BOLT 7), keeping the rest as opaque bytes.
    pub fn read(r: &mut Reader<'_>) -> Result<Option<Self>, DecodeError> {
        let kind = r.read_u8()?;
        let addr = match kind {
            1 => NetAddress::Ipv4 {
                addr: Ipv4Addr::from(r.read_array::<4>()?),
                port: r.read_u16()?,
            },
            2 => NetAddress::Ipv6 {
                addr: Ipv6Addr::from(r.read_array::<16>()?),
                port: r.read_u16()?,
            },
            3 => NetAddress::TorV2 {
                addr: r.read_array::<10>()?,
                port: r.read_u16()?,
            },
            4 => NetAddress::TorV3 {
                addr: r.read_array::<35>()?,
                port: r.read_u16()?,
            },
            5 => {
                let len = r.read_u8()? as usize;
                let raw = r.read_bytes(len)?;
                validate_hostname(raw)?;
                NetAddress::Hostname {
                    // validate_hostname admits ASCII only, so this cannot fail.
                    host: String::from_utf8_lossy(raw).into_owned(),
                    port: r.read_u16()?,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(addr))
    }

    /// Decodes exactly one descriptor (the `remote_addr` TLV value).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let addr = Self::read(&mut r)?.ok_or(DecodeError::InvalidValue {
            field: "address descriptor",
            reason: "unknown address type",
        })?;
        r.finish()?;
        Ok(addr)
    }
}

fn validate_hostname(raw: &[u8]) -> Result<(), DecodeError> {
    let invalid = |reason| DecodeError::InvalidValue {
        field: "hostname",
        reason,
    };
    if raw.is_empty() {
        return Err(invalid("empty"));
    }
    if raw.len() > 255 {
        return Err(invalid("longer than 255 bytes"));
    }
    if !raw.iter().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("not printable ascii"));
    }
    Ok(())
}

impl fmt::Display for NetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetAddress::Ipv4 { addr, port } => write!(f, "{addr}:{port}"),
            NetAddress::Ipv6 { addr, port } => write!(f, "[{addr}]:{port}"),
            NetAddress::TorV2 { addr, port } => write!(f, "torv2:{}:{port}", hex_lower(addr)),
            NetAddress::TorV3 { addr, port } => write!(f, "torv3:{}:{port}", hex_lower(addr)),
            NetAddress::Hostname { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ipv4_layout() {
        let a = NetAddress::Ipv4 {
            addr: Ipv4Addr::new(127, 0, 0, 1),
            port: 9735,
        };
        assert_eq!(a.encode(), vec![1, 127, 0, 0, 1, 0x26, 0x07]);
        assert_eq!(NetAddress::decode(&a.encode()).unwrap(), a);
    }

    #[test]
    fn hostname_round_trip_and_rejects() {
        let a = NetAddress::hostname("node.example.com", 9735).unwrap();
        let enc = a.encode();
        assert_eq!(enc[0], 5);
        assert_eq!(enc[1] as usize, "node.example.com".len());
        assert_eq!(NetAddress::decode(&enc).unwrap(), a);
        assert!(NetAddress::hostname("", 1).is_err());
        assert!(NetAddress::hostname("a b", 1).is_err());
        assert!(NetAddress::decode(&[5, 2, 0xff, 0xfe, 0, 1]).is_err());
    }

    #[test]
    fn unknown_type_stops_parsing() {
        let mut r = Reader::new(&[9, 1, 2, 3]);
        assert_eq!(NetAddress::read(&mut r).unwrap(), None);
        assert!(NetAddress::decode(&[9, 1, 2, 3]).is_err());
    }

    fn arb_address() -> impl Strategy<Value = NetAddress> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, port)| NetAddress::Ipv4 {
                addr: a.into(),
                port
            }),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, port)| NetAddress::Ipv6 {
                addr: a.into(),
                port
            }),
            (any::<[u8; 10]>(), any::<u16>())
                .prop_map(|(addr, port)| NetAddress::TorV2 { addr, port }),
            (proptest::collection::vec(any::<u8>(), 35), any::<u16>()).prop_map(|(a, port)| {
                NetAddress::TorV3 {
                    addr: a.try_into().unwrap(),
                    port,
                }
            }),
            ("[a-z0-9.-]{1,255}", any::<u16>())
                .prop_map(|(host, port)| NetAddress::Hostname { host, port }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(a in arb_address()) {
            prop_assert_eq!(NetAddress::decode(&a.encode()).unwrap(), a);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = NetAddress::decode(&bytes);
        }
    }
}
