//! An admin's second factor for the console: a TOTP secret (RFC 6238 with SHA-1, 6 digits and
//! 30-second steps, what every authenticator app reads from an `otpauth://` URI) and ten
//! single-use recovery codes.
//!
//! A code is good for the step before the current one, the current one and the one after (clocks
//! drift), and only once: the step of the last code accepted is stored, and a code for that step
//! or an earlier one is refused, so a code read over a shoulder cannot be replayed. Recovery codes
//! carry 80 random bits and are stored as SHA-256 hashes, each marked when it is used.

use base64::Engine;
use jiff::Timestamp;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::error::{Error, Result};
use crate::secret::{hash_token, random_below, random_bytes};

/// Seconds per TOTP step.
pub const STEP_SECS: i64 = 30;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// The letters recovery codes are written with (no 0/o, 1/l, 8/b lookalikes).
const RECOVERY_ALPHABET: &[u8] = b"acdefghjkmnpqrstuvwxyz2345679";

/// A TOTP secret (160 bits, as RFC 4226 recommends). Its `Debug` prints nothing.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        TotpSecret(random_bytes::<20>().to_vec())
    }

    /// The secret as stored (before sealing).
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as authenticator apps take it typed in: base32 without padding.
    pub fn base32(&self) -> String {
        totp_rs::Secret::Raw(self.0.clone())
            .to_encoded()
            .to_string()
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label: String =
            url::form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes())
                .collect();
        let issuer: String = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
        format!(
            "otpauth://totp/{}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP_SECS}",
            label.replace('+', "%20"),
            self.base32(),
        )
    }

    fn totp(&self) -> Result<TOTP> {
        TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS as u64, self.0.clone()).map_err(Error::internal)
    }

    /// The code for step `step` (seconds since the epoch divided by [`STEP_SECS`]).
    pub fn code_at_step(&self, step: i64) -> Result<String> {
        let seconds = u64::try_from(step.max(0) * STEP_SECS).unwrap_or_default();
        Ok(self.totp()?.generate(seconds))
    }

    /// The step `code` is good for at `now`: the current step or one either side. Compared in
    /// constant time.
    pub fn matching_step(&self, code: &str, now: Timestamp) -> Result<Option<i64>> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let current = now.as_second().div_euclid(STEP_SECS);
        let mut found = None;
        for step in [current - 1, current, current + 1] {
            let expected = self.code_at_step(step)?;
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
                found = Some(step);
            }
        }
        Ok(found)
    }
}

/// Ten new recovery codes, written `xxxx-xxxx-xxxx-xxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let letters: Vec<char> = (0..16)
                .map(|_| {
                    let index = random_below(RECOVERY_ALPHABET.len() as u32) as usize;
                    char::from(RECOVERY_ALPHABET[index])
                })
                .collect();
            letters
                .chunks(4)
                .map(|chunk| chunk.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// Whether `text` is written like a recovery code (as typed: any case, dashes or spaces).
pub fn looks_like_recovery_code(text: &str) -> bool {
    normalize_recovery_code(text).len() == 16
}

fn normalize_recovery_code(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stored hash of a recovery code, however it was typed.
pub fn recovery_code_hash(code: &str) -> String {
    hash_token(&normalize_recovery_code(code))
}

/// What a sealed secret is bound to, so a sealed value cannot be moved to another admin.
pub(crate) fn seal_context(admin: &str) -> Vec<u8> {
    format!("admin-totp:{admin}").into_bytes()
}

/// A secret as text for a short-lived record (the enrolment waiting for its first code).
pub(crate) fn sealed_text(sealed: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

pub(crate) fn sealed_bytes(text: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890", 8 digits there; the
        // last 6 of them are what a 6-digit app shows.
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.code_at_step(59 / STEP_SECS).unwrap(), "287082");
        assert_eq!(
            secret.code_at_step(1111111109 / STEP_SECS).unwrap(),
            "081804"
        );
        assert_eq!(
            secret.code_at_step(2000000000 / STEP_SECS).unwrap(),
            "279037"
        );
    }

    #[test]
    fn a_code_is_good_one_step_either_side_and_no_further() {
        let secret = TotpSecret::generate();
        let now = Timestamp::from_second(1_800_000_015).unwrap();
        let step = now.as_second() / STEP_SECS;
        for (offset, good) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = secret.code_at_step(step + offset).unwrap();
            let found = secret.matching_step(&code, now).unwrap();
            if good {
                assert_eq!(found, Some(step + offset), "offset {offset}");
            } else {
                assert_ne!(found, Some(step + offset), "offset {offset}");
            }
        }
        assert_eq!(secret.matching_step("12345", now).unwrap(), None);
        assert_eq!(secret.matching_step("abcdef", now).unwrap(), None);
    }

    #[test]
    fn the_uri_names_the_issuer_the_account_and_the_secret() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = secret.otpauth_uri("Auth Gateway", "alice");
        assert_eq!(
            uri,
            "otpauth://totp/Auth%20Gateway%3Aalice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Auth+Gateway&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert!(looks_like_recovery_code(code));
        assert_eq!(
            recovery_code_hash(code),
            recovery_code_hash(&code.to_uppercase().replace('-', " "))
        );
        assert!(!looks_like_recovery_code("123456"));
    }
}
