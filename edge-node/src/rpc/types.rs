//! What the methods take and answer, with Core Lightning's field names.

use std::net::SocketAddr;

use secp256k1::PublicKey;
use serde::Serialize;

use super::params::parse_pubkey;
use super::RpcError;

/// The default Lightning port, which `connect` assumes when none is given.
pub const DEFAULT_PORT: u16 = 9735;

/// `connect`'s target: `id`, `id@host`, `id@host:port` or `id` with `host`/`port` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    pub id: PublicKey,
    /// `host:port`, absent when the caller gave only the id.
    pub address: Option<String>,
}

impl ConnectTarget {
    pub fn parse(id: &str, host: Option<&str>, port: Option<u16>) -> Result<Self, RpcError> {
        let (id_text, inline) = match id.split_once('@') {
            Some((id, rest)) => (id, Some(rest)),
            None => (id, None),
        };
        let id = parse_pubkey("id", id_text)?;
        if inline.is_some() && (host.is_some() || port.is_some()) {
            return Err(RpcError::invalid_params(
                "Can't specify host as both xxx@yyy and separate argument",
            ));
        }
        let address = match (inline, host) {
            (Some(rest), None) => Some(with_port(rest, None)?),
            (None, Some(host)) => Some(with_port(host, port)?),
            (None, None) if port.is_some() => {
                return Err(RpcError::invalid_params("Can't specify port without host"))
            }
            _ => None,
        };
        Ok(ConnectTarget { id, address })
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` → `host:port`.
fn with_port(host: &str, port: Option<u16>) -> Result<String, RpcError> {
    if host.is_empty() {
        return Err(RpcError::invalid_params("host: should not be empty"));
    }
    let has_port = if let Some(rest) = host.strip_prefix('[') {
        rest.contains("]:")
    } else {
        host.matches(':').count() == 1
    };
    match (has_port, port) {
        (true, Some(_)) => Err(RpcError::invalid_params(
            "Can't specify port both in host and separately",
        )),
        (true, None) => Ok(host.to_owned()),
        (false, port) if host.contains(':') && !host.starts_with('[') => {
            Ok(format!("[{host}]:{}", port.unwrap_or(DEFAULT_PORT)))
        }
        (false, port) => Ok(format!("{host}:{}", port.unwrap_or(DEFAULT_PORT))),
    }
}

/// An address in Core Lightning's `{"type","address","port"}` form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetAddress {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub address: String,
    pub port: u16,
}

impl From<SocketAddr> for NetAddress {
    fn from(addr: SocketAddr) -> Self {
        NetAddress {
            kind: if addr.is_ipv4() { "ipv4" } else { "ipv6" },
            address: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

/// Feature bits per context, hex, as `getinfo.our_features`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OurFeatures {
    pub init: String,
    pub node: String,
    pub channel: String,
    pub invoice: String,
}

/// `getinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetInfo {
    pub id: String,
    pub alias: String,
    pub color: String,
    pub num_peers: u32,
    pub num_pending_channels: u32,
    pub num_active_channels: u32,
    pub num_inactive_channels: u32,
    pub address: Vec<NetAddress>,
    pub binding: Vec<NetAddress>,
    pub version: String,
    pub blockheight: u32,
    pub network: String,
    pub fees_collected_msat: u64,
    #[serde(rename = "lightning-dir")]
    pub lightning_dir: String,
    pub our_features: OurFeatures,
}

/// `connect`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connected {
    pub id: String,
    /// The peer's init features, hex.
    pub features: String,
    /// `in` when the peer was already connected to us, `out` when we dialled.
    pub direction: &'static str,
    pub address: NetAddress,
}

/// One entry of `listpeers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListPeer {
    pub id: String,
    pub connected: bool,
    pub num_channels: u32,
    pub netaddr: Vec<String>,
    pub features: String,
    /// Which edge of the cluster holds the connection (an lnfleet addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

    #[test]
    fn connect_targets_in_every_core_lightning_form() {
        let id = ConnectTarget::parse(ID, None, None).unwrap();
        assert_eq!(id.address, None);
        let inline = ConnectTarget::parse(&format!("{ID}@10.0.0.1:9736"), None, None).unwrap();
        assert_eq!(inline.address.as_deref(), Some("10.0.0.1:9736"));
        let host = ConnectTarget::parse(ID, Some("example.com"), None).unwrap();
        assert_eq!(host.address.as_deref(), Some("example.com:9735"));
        let v6 = ConnectTarget::parse(ID, Some("::1"), Some(1234)).unwrap();
        assert_eq!(v6.address.as_deref(), Some("[::1]:1234"));
        let v6_inline = ConnectTarget::parse(&format!("{ID}@[::1]:99"), None, None).unwrap();
        assert_eq!(v6_inline.address.as_deref(), Some("[::1]:99"));
    }

    #[test]
    fn contradictory_connect_targets_are_refused() {
        assert!(ConnectTarget::parse(&format!("{ID}@h:1"), Some("h"), None).is_err());
        assert!(ConnectTarget::parse(ID, None, Some(1)).is_err());
        assert!(ConnectTarget::parse(ID, Some("h:1"), Some(2)).is_err());
        assert!(ConnectTarget::parse("zz@h", None, None).is_err());
        assert!(ConnectTarget::parse(&format!("{ID}@"), None, None).is_err());
    }
}
