//! The signature of a webhook request: `X-Webhook-Signature: v1=<hex>`, the HMAC-SHA256, keyed by
//! the webhook's secret, of `<X-Webhook-Timestamp>.<body>`. Signing the timestamp with the body
//! lets a receiver refuse an old request replayed to it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the event id, the same on every retry: receivers deduplicate by it.
pub const ID_HEADER: &str = "X-Webhook-Id";
/// Header carrying the attempt's time, in seconds since the Unix epoch.
pub const TIMESTAMP_HEADER: &str = "X-Webhook-Timestamp";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Webhook-Signature";
/// Header carrying the event type.
pub const EVENT_HEADER: &str = "X-Webhook-Event";

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = crate::secret::keyed_mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The value of `X-Webhook-Signature` for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Why a webhook request was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the timestamp is too far from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a received request: the timestamp header, the signature header and the raw body, with
/// `now` in seconds and the largest accepted distance between the two. The comparison takes the
/// same time wherever the signature differs.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now - timestamp).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let expected = signature_header
        .trim()
        .strip_prefix("v1=")
        .and_then(|hex_value| hex::decode(hex_value).ok())
        .ok_or(SignatureError::Mismatch)?;
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let body = br#"{"id":"e1"}"#;
        let header = sign(b"a-long-enough-signing-secret", 1_800_000_000, body);
        assert!(header.starts_with("v1="));
        let ok =
            |secret: &[u8], ts: &str, body: &[u8], now| verify(secret, ts, &header, body, now, 300);
        assert_eq!(
            ok(
                b"a-long-enough-signing-secret",
                "1800000000",
                body,
                1_800_000_100
            ),
            Ok(())
        );
        assert_eq!(
            ok(
                b"another-signing-secret-value",
                "1800000000",
                body,
                1_800_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            ok(
                b"a-long-enough-signing-secret",
                "1800000000",
                b"{}",
                1_800_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            ok(
                b"a-long-enough-signing-secret",
                "1800000001",
                body,
                1_800_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            ok(
                b"a-long-enough-signing-secret",
                "1800000000",
                body,
                1_800_001_000
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            ok(b"a-long-enough-signing-secret", "soon", body, 1_800_000_000),
            Err(SignatureError::BadTimestamp)
        );
    }
}
