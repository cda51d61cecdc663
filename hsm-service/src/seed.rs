//! The HSM's root secret: 32 to 64 bytes from which every key is derived (see [`crate::derivation`]).
//!
//! A seed is loaded from a file (raw bytes, or hex text) or from an environment variable (hex).
//! Its `Debug` and `Display` only say how long it is, so a seed never reaches a log by accident.

use std::fmt;
use std::path::{Path, PathBuf};

/// Shortest accepted seed: 256 bits.
pub const MIN_SEED_LEN: usize = 32;
/// Longest accepted seed (a BIP 39 seed is 64 bytes).
pub const MAX_SEED_LEN: usize = 64;

/// Why a seed could not be loaded. Never carries seed bytes.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file {path} does not exist")]
    MissingFile { path: PathBuf },
    #[error("seed file {path} could not be read: {kind}")]
    Unreadable {
        path: PathBuf,
        kind: std::io::ErrorKind,
    },
    #[error("environment variable {name} is not set")]
    MissingEnv { name: String },
    #[error("environment variable {name} is not valid unicode")]
    EnvNotUnicode { name: String },
    #[error("seed is {len} bytes; expected {MIN_SEED_LEN} to {MAX_SEED_LEN}")]
    WrongLength { len: usize },
    #[error("seed hex text is invalid: {reason}")]
    BadHex { reason: String },
}

/// The root secret. Cloning is deliberate (`Clone` is derived) so a test can build two signers
/// from one seed; production code keeps one.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed {
    bytes: Vec<u8>,
}

impl Seed {
    /// Takes raw seed bytes; 32..=64 of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Seed, SeedError> {
        if !(MIN_SEED_LEN..=MAX_SEED_LEN).contains(&bytes.len()) {
            return Err(SeedError::WrongLength { len: bytes.len() });
        }
        Ok(Seed {
            bytes: bytes.to_vec(),
        })
    }

    /// Parses hex text (surrounding whitespace ignored, either case).
    pub fn from_hex(text: &str) -> Result<Seed, SeedError> {
        let bytes = hex::decode(text.trim()).map_err(|e| SeedError::BadHex {
            // `FromHexError` names a position or the length, never the content.
            reason: e.to_string(),
        })?;
        Seed::from_bytes(&bytes)
    }

    /// Reads a seed file. A file of 32..=64 bytes that is not all hex digits is taken as the raw
    /// seed; anything else must be hex text (so `hsm_secret`-style binary files and hand-written
    /// hex files both work). A random raw 64-byte seed that happens to be all hex digits has
    /// probability (22/256)^64: not a case worth a flag.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Seed, SeedError> {
        let path = path.as_ref();
        let contents = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SeedError::MissingFile {
                path: path.to_path_buf(),
            },
            kind => SeedError::Unreadable {
                path: path.to_path_buf(),
                kind,
            },
        })?;
        Seed::from_file_contents(&contents)
    }

    /// The rule [`Seed::from_file`] applies to the bytes it read.
    pub fn from_file_contents(contents: &[u8]) -> Result<Seed, SeedError> {
        let looks_like_hex_text = contents
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
        let raw_length = (MIN_SEED_LEN..=MAX_SEED_LEN).contains(&contents.len());
        if raw_length && !looks_like_hex_text {
            return Seed::from_bytes(contents);
        }
        match std::str::from_utf8(contents) {
            Ok(text) => Seed::from_hex(text),
            Err(_) => Err(SeedError::WrongLength {
                len: contents.len(),
            }),
        }
    }

    /// Reads hex text from the environment variable `name`.
    pub fn from_env(name: &str) -> Result<Seed, SeedError> {
        match std::env::var(name) {
            Ok(text) => Seed::from_hex(&text),
            Err(std::env::VarError::NotPresent) => Err(SeedError::MissingEnv {
                name: name.to_owned(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(SeedError::EnvNotUnicode {
                name: name.to_owned(),
            }),
        }
    }

    /// The secret bytes, for the derivation code only.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false (a seed has at least 32 bytes); present because `len` is.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl Drop for Seed {
    /// Best effort: overwrite the bytes before the allocation is freed. Without `unsafe` (the
    /// crate forbids it) the compiler may elide this; it still narrows the window.
    fn drop(&mut self) {
        self.bytes.iter_mut().for_each(|b| *b = 0);
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed(<redacted {} bytes>)", self.bytes.len())
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<seed: {} bytes, redacted>", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const SEED_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn debug_and_display_never_show_the_bytes() {
        let seed = Seed::from_bytes(&[0xab; 32]).unwrap();
        for shown in [format!("{seed:?}"), format!("{seed}"), format!("{seed:#?}")] {
            assert!(!shown.to_lowercase().contains("ab"), "{shown}");
            assert!(shown.contains("32"));
        }
    }

    #[test]
    fn lengths_outside_32_to_64_are_refused() {
        assert!(matches!(
            Seed::from_bytes(&[1; 31]),
            Err(SeedError::WrongLength { len: 31 })
        ));
        assert!(matches!(
            Seed::from_bytes(&[1; 65]),
            Err(SeedError::WrongLength { len: 65 })
        ));
        assert_eq!(Seed::from_bytes(&[1; 32]).unwrap().len(), 32);
        assert_eq!(Seed::from_bytes(&[1; 64]).unwrap().len(), 64);
    }

    #[test]
    fn hex_text_with_whitespace_parses() {
        let seed = Seed::from_hex(&format!("  {SEED_HEX}\n")).unwrap();
        assert_eq!(seed.expose(), hex::decode(SEED_HEX).unwrap());
        assert!(matches!(
            Seed::from_hex("zz"),
            Err(SeedError::BadHex { .. })
        ));
        assert!(matches!(
            Seed::from_hex("abcd"),
            Err(SeedError::WrongLength { len: 2 })
        ));
    }

    #[test]
    fn raw_and_hex_files_load_to_the_same_seed() {
        let raw: Vec<u8> = (0u8..32).collect();
        let dir = tempfile::tempdir().unwrap();
        let raw_path = dir.path().join("raw");
        let hex_path = dir.path().join("hex");
        std::fs::File::create(&raw_path)
            .unwrap()
            .write_all(&raw)
            .unwrap();
        std::fs::write(&hex_path, format!("{SEED_HEX}\n")).unwrap();
        let from_raw = Seed::from_file(&raw_path).unwrap();
        let from_hex = Seed::from_file(&hex_path).unwrap();
        assert_eq!(from_raw, from_hex);
    }

    #[test]
    fn a_missing_file_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Seed::from_file(dir.path().join("nope")),
            Err(SeedError::MissingFile { .. })
        ));
    }

    #[test]
    fn a_short_binary_file_is_wrong_length() {
        assert!(matches!(
            Seed::from_file_contents(&[0xff; 10]),
            Err(SeedError::WrongLength { .. })
        ));
    }

    #[test]
    fn env_var_loading() {
        // Names unique to this test: other tests in the process never touch them.
        std::env::set_var("LNFLEET_HSM_TEST_SEED_SET", SEED_HEX);
        assert_eq!(
            Seed::from_env("LNFLEET_HSM_TEST_SEED_SET")
                .unwrap()
                .expose(),
            hex::decode(SEED_HEX).unwrap()
        );
        assert!(matches!(
            Seed::from_env("LNFLEET_HSM_TEST_SEED_UNSET_XYZ"),
            Err(SeedError::MissingEnv { .. })
        ));
    }
}
