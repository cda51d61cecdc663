//! The remote signer.
#![forbid(unsafe_code)]
