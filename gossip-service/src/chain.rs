//! The funding check of a `short_channel_id` (`ChainSource`).
//!
//! BOLT 7 tells a receiver of `channel_announcement` to ignore it unless the output the
//! `short_channel_id` names is an unspent P2WSH of the 2-of-2 multisig of `bitcoin_key_1` and
//! `bitcoin_key_2` (BOLT 3 funding output). This module answers "what output is at this scid?"
//! and "is it spent?"; the validator compares the script.
//!
//! - [`NoChainSource`]: checks switched off (every scid is accepted as unchecked, nothing is ever
//!   spent). For tests and deployments that trust their edges.
//! - [`bitcoind::BitcoindChainSource`]: bitcoind JSON-RPC over an injected
//!   [`bitcoind::JsonRpcTransport`].
//! - [`http::HttpTransport`]: the real transport, JSON-RPC over HTTP with Basic auth.
//! - [`scripted::ScriptedTransport`]: a transport serving recorded bitcoind responses from JSON.

pub mod bitcoind;
pub mod http;
pub mod scripted;

#[cfg(test)]
mod tests;

use bitcoin::blockdata::opcodes::all::OP_CHECKMULTISIG;
use bitcoin::blockdata::script::Builder;
use bitcoin::ScriptBuf;
use lnfleet_wire::codec::ShortChannelId;
use secp256k1::PublicKey;

pub use bitcoind::{BitcoindChainSource, JsonRpcTransport, RpcCredentials, RpcError};
pub use http::{HttpTransport, HttpTransportError};
pub use scripted::ScriptedTransport;

/// The transaction output a `short_channel_id` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingOutput {
    /// The output's `scriptPubKey`, raw bytes.
    pub script_pubkey: Vec<u8>,
    pub value_sat: u64,
    /// Confirmations of the funding transaction at the source's tip.
    pub confirmations: u32,
}

/// What the chain says about the output a `short_channel_id` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundingCheck {
    /// The output exists (block, transaction and output index all resolve).
    Found(FundingOutput),
    /// The block height, transaction index or output index does not exist on our chain.
    NotFound,
    /// The source does not check (see [`NoChainSource`]): the caller accepts on trust.
    Unchecked,
}

/// Why the chain could not be asked: always transient from the validator's point of view (the
/// message is not at fault), so it is never cached as a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("bitcoind rpc {method}: {source}")]
    Rpc {
        method: &'static str,
        #[source]
        source: RpcError,
    },
    #[error("bitcoind rpc {method}: unexpected response: {reason}")]
    UnexpectedResponse {
        method: &'static str,
        reason: String,
    },
}

/// The view of the blockchain the gossip validator needs.
pub trait ChainSource {
    /// The output `scid` names, or [`FundingCheck::NotFound`].
    fn funding_output(&self, scid: ShortChannelId) -> Result<FundingCheck, ChainError>;

    /// Whether the output `scid` names is no longer in the UTXO set. An output that never
    /// existed counts as spent: either way there is no channel to route through. The 72-block
    /// grace of BOLT 7 is the source's policy (a bitcoind source answers at the tip).
    fn is_spent(&self, scid: ShortChannelId) -> Result<bool, ChainError>;

    /// Whether a call may wait on I/O (a network round trip): callers on an async executor
    /// then move the call off it. In-memory sources answer false.
    fn may_block(&self) -> bool {
        false
    }
}

/// Chain checks switched off: every scid is [`FundingCheck::Unchecked`], nothing is spent.
///
/// Only safe where edges are trusted or for tests: anyone can then announce a channel with any
/// keys and the graph will carry it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoChainSource;

impl ChainSource for NoChainSource {
    fn funding_output(&self, _scid: ShortChannelId) -> Result<FundingCheck, ChainError> {
        Ok(FundingCheck::Unchecked)
    }

    fn is_spent(&self, _scid: ShortChannelId) -> Result<bool, ChainError> {
        Ok(false)
    }
}

impl<C: ChainSource + ?Sized> ChainSource for &C {
    fn funding_output(&self, scid: ShortChannelId) -> Result<FundingCheck, ChainError> {
        (**self).funding_output(scid)
    }

    fn is_spent(&self, scid: ShortChannelId) -> Result<bool, ChainError> {
        (**self).is_spent(scid)
    }

    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

/// BOLT 3 funding witness script: `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys sorted
/// lexicographically by their compressed serialisation.
pub fn funding_witness_script(key_a: &PublicKey, key_b: &PublicKey) -> ScriptBuf {
    let (first, second) = if key_a.serialize() <= key_b.serialize() {
        (key_a, key_b)
    } else {
        (key_b, key_a)
    };
    Builder::new()
        .push_int(2)
        .push_key(&bitcoin::PublicKey::new(*first))
        .push_key(&bitcoin::PublicKey::new(*second))
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The P2WSH `scriptPubKey` (`OP_0 <sha256(witness script)>`) of the funding output for these
/// two funding keys.
pub fn funding_script_pubkey(key_a: &PublicKey, key_b: &PublicKey) -> Vec<u8> {
    let witness = funding_witness_script(key_a, key_b);
    ScriptBuf::new_p2wsh(&witness.wscript_hash()).into_bytes()
}
