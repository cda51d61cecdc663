//! BOLT 3: keys, scripts and transactions, as pure functions.
//!
//! - [`keys`]: per-commitment points and the derived/revocation keys.
//! - [`shachain`]: per-commitment secret generation and the receiver's compact store.
//! - [`scripts`]: funding, `to_local`, `to_remote`, anchor and HTLC scripts, obscured commitment number.
//! - [`commitment`]: fees, trimming and the commitment transaction with its sorted outputs.
//! - [`htlc_tx`]: HTLC-timeout and HTLC-success transactions.
//! - [`signing`]: P2WSH sighashes, deterministic signatures and spending witnesses.
//!
//! Appendix C (static_remotekey) and F (anchors) vectors are checked in `vectors`.

pub mod commitment;
pub mod htlc_tx;
pub mod keys;
pub mod scripts;
pub mod shachain;
pub mod signing;

#[cfg(test)]
mod vectors;
