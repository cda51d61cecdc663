//! BOLT 3: keys, scripts and transactions, as pure functions.
//!
//! - [`keys`]: per-commitment points and the derived/revocation keys.
//! - [`shachain`]: per-commitment secret generation and the receiver's compact store.
//! - [`scripts`]: funding, `to_local`, `to_remote`, anchor and HTLC scripts, obscured commitment number.

pub mod keys;
pub mod scripts;
pub mod shachain;
