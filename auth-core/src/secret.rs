//! Secrets: random tokens, their stored hashes, and comparisons that take the same time whatever
//! the input. A [`Secret`] never prints its value.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A string that must not be logged: its `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        format = Password,
        description = "A password or other secret; never returned."
    )
)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it (hashing, sending to its owner).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// `n` bytes from the operating system's CSPRNG.
#[allow(
    clippy::expect_used,
    reason = "without the OS random number generator no secret can be made safely: stop"
)]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Failing to read the OS RNG leaves no safe way to continue.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

/// A random token of 256 bits, base64url without padding, after `prefix`.
pub fn random_token(prefix: &str) -> Secret {
    Secret(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    ))
}

/// A uniformly random number in `0..bound` from the CSPRNG (rejection sampling, no modulo bias).
pub fn random_below(bound: u32) -> u32 {
    assert!(bound > 0);
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let value = u32::from_le_bytes(random_bytes::<4>());
        if value < zone {
            return value % bound;
        }
    }
}

/// The stored form of a looked-up secret: SHA-256, hex. The token has 256 bits of entropy, so a
/// fast hash is enough; a database leak yields nothing usable.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA256 under `key`, ready to be fed: the one place a MAC is keyed.
#[allow(clippy::expect_used, reason = "HMAC accepts a key of any length")]
pub fn keyed_mac(key: &[u8]) -> hmac::Hmac<Sha256> {
    use hmac::Mac;
    <hmac::Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts a key of any length")
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("hunter2-hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = random_token("pat_");
        let b = random_token("pat_");
        assert!(a.expose().starts_with("pat_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_ne!(a, b);
    }

    #[test]
    fn token_hash_is_stable_and_not_the_token() {
        assert_eq!(hash_token("abc"), hash_token("abc"));
        assert_ne!(hash_token("abc"), "abc");
        assert_eq!(hash_token("abc").len(), 64);
    }

    #[test]
    fn random_below_stays_in_range() {
        for _ in 0..1000 {
            assert!(random_below(1_000_000) < 1_000_000);
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"diff"));
        assert!(!constant_time_eq(b"short", b"longer"));
    }
}
