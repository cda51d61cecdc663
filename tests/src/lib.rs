//! Cross-service and interop tests.
#![forbid(unsafe_code)]
