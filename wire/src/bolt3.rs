//! BOLT 3: keys, scripts and transactions, as pure functions.
//!
//! - [`keys`]: per-commitment points and the derived/revocation keys.
//! - [`shachain`]: per-commitment secret generation and the receiver's compact store.

pub mod keys;
pub mod shachain;
