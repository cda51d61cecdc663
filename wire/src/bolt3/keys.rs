//! BOLT 3 key derivation: per-commitment points, derived public/private keys and revocation keys.
//!
//! Every commitment transaction uses fresh keys, tweaked from long-lived basepoints by the
//! per-commitment point, so a watcher given only basepoints cannot link transactions.

use secp256k1::{PublicKey, Scalar, SecretKey, SECP256K1};
use sha2::{Digest, Sha256};

/// Why a key could not be derived. With honest inputs these happen with negligible probability,
/// but the inputs may come from a peer, so they are values, never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyDerivationError {
    /// A per-commitment secret (or other 32-byte secret) is zero or not below the curve order.
    #[error("secret is not a valid secp256k1 scalar")]
    InvalidSecret,
    /// SHA256 of the two points is not below the curve order.
    #[error("tweak hash is not a valid secp256k1 scalar")]
    TweakOutOfRange,
    /// The derived key is the point at infinity or the zero scalar.
    #[error("derived key is degenerate")]
    DegenerateKey,
}

/// One side's channel basepoints, as sent in `open_channel`/`accept_channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basepoints {
    pub revocation_basepoint: PublicKey,
    pub payment_basepoint: PublicKey,
    pub delayed_payment_basepoint: PublicKey,
    pub htlc_basepoint: PublicKey,
}

/// SHA256(first || second) over compressed encodings, as a scalar.
fn tweak_hash(first: &PublicKey, second: &PublicKey) -> Result<Scalar, KeyDerivationError> {
    let mut hasher = Sha256::new();
    hasher.update(first.serialize());
    hasher.update(second.serialize());
    Scalar::from_be_bytes(hasher.finalize().into()).map_err(|_| KeyDerivationError::TweakOutOfRange)
}

/// `per_commitment_point = per_commitment_secret * G`.
pub fn per_commitment_point(
    per_commitment_secret: &[u8; 32],
) -> Result<PublicKey, KeyDerivationError> {
    let secret = SecretKey::from_slice(per_commitment_secret)
        .map_err(|_| KeyDerivationError::InvalidSecret)?;
    Ok(PublicKey::from_secret_key(SECP256K1, &secret))
}

/// `pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G`
/// (localpubkey, local/remote htlcpubkey, local/remote delayedpubkey).
pub fn derive_public_key(
    basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, KeyDerivationError> {
    let tweak = tweak_hash(per_commitment_point, basepoint)?;
    basepoint
        .add_exp_tweak(SECP256K1, &tweak)
        .map_err(|_| KeyDerivationError::DegenerateKey)
}

/// `privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)`.
pub fn derive_private_key(
    basepoint_secret: &SecretKey,
    per_commitment_point: &PublicKey,
) -> Result<SecretKey, KeyDerivationError> {
    let basepoint = PublicKey::from_secret_key(SECP256K1, basepoint_secret);
    let tweak = tweak_hash(per_commitment_point, &basepoint)?;
    basepoint_secret
        .add_tweak(&tweak)
        .map_err(|_| KeyDerivationError::DegenerateKey)
}

/// `revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
///  + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_revocation_public_key(
    revocation_basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, KeyDerivationError> {
    let basepoint_part = revocation_basepoint
        .mul_tweak(
            SECP256K1,
            &tweak_hash(revocation_basepoint, per_commitment_point)?,
        )
        .map_err(|_| KeyDerivationError::DegenerateKey)?;
    let commitment_part = per_commitment_point
        .mul_tweak(
            SECP256K1,
            &tweak_hash(per_commitment_point, revocation_basepoint)?,
        )
        .map_err(|_| KeyDerivationError::DegenerateKey)?;
    basepoint_part
        .combine(&commitment_part)
        .map_err(|_| KeyDerivationError::DegenerateKey)
}

/// `revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint || per_commitment_point)
///  + per_commitment_secret * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_revocation_private_key(
    revocation_basepoint_secret: &SecretKey,
    per_commitment_secret: &[u8; 32],
) -> Result<SecretKey, KeyDerivationError> {
    let commitment_secret = SecretKey::from_slice(per_commitment_secret)
        .map_err(|_| KeyDerivationError::InvalidSecret)?;
    let revocation_basepoint = PublicKey::from_secret_key(SECP256K1, revocation_basepoint_secret);
    let per_commitment_point = PublicKey::from_secret_key(SECP256K1, &commitment_secret);
    let basepoint_part = revocation_basepoint_secret
        .mul_tweak(&tweak_hash(&revocation_basepoint, &per_commitment_point)?)
        .map_err(|_| KeyDerivationError::DegenerateKey)?;
    let commitment_part = commitment_secret
        .mul_tweak(&tweak_hash(&per_commitment_point, &revocation_basepoint)?)
        .map_err(|_| KeyDerivationError::DegenerateKey)?;
    basepoint_part
        .add_tweak(&Scalar::from(commitment_part))
        .map_err(|_| KeyDerivationError::DegenerateKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let bytes = hex::decode(s.trim_start_matches("0x")).unwrap();
        bytes.try_into().unwrap()
    }

    fn point(s: &str) -> PublicKey {
        PublicKey::from_slice(&hex::decode(s.trim_start_matches("0x")).unwrap()).unwrap()
    }

    // BOLT 3, Appendix E: Key Derivation Test Vectors (verbatim).
    const BASE_SECRET: &str = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const PER_COMMITMENT_SECRET: &str =
        "0x1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
    const BASE_POINT: &str = "0x036d6caac248af96f6afa7f904f550253a0f3ef3f5aa2fe6838a95b216691468e2";
    const PER_COMMITMENT_POINT: &str =
        "0x025f7117a78150fe2ef97db7cfc83bd57b2e2c0d0dd25eaf467a4a1c2a45ce1486";
    const LOCALPUBKEY: &str =
        "0x0235f2dbfaa89b57ec7b055afe29849ef7ddfeb1cefdb9ebdc43f5494984db29e5";
    const LOCALPRIVKEY: &str = "0xcbced912d3b21bf196a766651e436aff192362621ce317704ea2f75d87e7be0f";
    const REVOCATIONPUBKEY: &str =
        "0x02916e326636d19c33f13e8c0c3a03dd157f332f3e99c317c141dd865eb01f8ff0";
    const REVOCATIONPRIVKEY: &str =
        "0xd09ffff62ddb2297ab000cc85bcb4283fdeb6aa052affbc9dddcf33b61078110";

    fn base_secret() -> SecretKey {
        SecretKey::from_slice(&hex32(BASE_SECRET)).unwrap()
    }

    #[test]
    fn per_commitment_point_and_basepoint_match_appendix_e() {
        assert_eq!(
            per_commitment_point(&hex32(PER_COMMITMENT_SECRET)).unwrap(),
            point(PER_COMMITMENT_POINT)
        );
        assert_eq!(
            PublicKey::from_secret_key(SECP256K1, &base_secret()),
            point(BASE_POINT)
        );
    }

    #[test]
    fn derived_pubkey_matches_appendix_e() {
        let derived = derive_public_key(&point(BASE_POINT), &point(PER_COMMITMENT_POINT)).unwrap();
        assert_eq!(derived, point(LOCALPUBKEY));
    }

    #[test]
    fn derived_privkey_matches_appendix_e_and_its_pubkey() {
        let derived = derive_private_key(&base_secret(), &point(PER_COMMITMENT_POINT)).unwrap();
        assert_eq!(derived.secret_bytes(), hex32(LOCALPRIVKEY));
        assert_eq!(
            PublicKey::from_secret_key(SECP256K1, &derived),
            point(LOCALPUBKEY)
        );
    }

    #[test]
    fn revocation_pubkey_matches_appendix_e() {
        let derived =
            derive_revocation_public_key(&point(BASE_POINT), &point(PER_COMMITMENT_POINT)).unwrap();
        assert_eq!(derived, point(REVOCATIONPUBKEY));
    }

    #[test]
    fn revocation_privkey_matches_appendix_e_and_its_pubkey() {
        let derived =
            derive_revocation_private_key(&base_secret(), &hex32(PER_COMMITMENT_SECRET)).unwrap();
        assert_eq!(derived.secret_bytes(), hex32(REVOCATIONPRIVKEY));
        assert_eq!(
            PublicKey::from_secret_key(SECP256K1, &derived),
            point(REVOCATIONPUBKEY)
        );
    }

    #[test]
    fn zero_or_overflowing_secret_is_an_error() {
        assert_eq!(
            per_commitment_point(&[0; 32]),
            Err(KeyDerivationError::InvalidSecret)
        );
        assert_eq!(
            per_commitment_point(&[0xff; 32]),
            Err(KeyDerivationError::InvalidSecret)
        );
        assert_eq!(
            derive_revocation_private_key(&base_secret(), &[0; 32]),
            Err(KeyDerivationError::InvalidSecret)
        );
    }
}
