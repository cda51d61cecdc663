//! Edge nodes: peers, channels, payments.
#![forbid(unsafe_code)]
