//! The gateway's JSON Web Key Set: fetched over HTTP and read into Ed25519 keys by `kid`.
//!
//! Only `OKP`/`Ed25519` signature keys are kept; any other entry is skipped, so a key of another
//! type can never be used to verify. A document with no usable key is an error, and the caller
//! keeps the keys it already has.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

/// Far larger than any key set the gateway publishes; a bigger answer is not read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The gateway's public keys by `kid`.
pub(crate) type KeySet = HashMap<String, VerifyingKey>;

#[derive(Deserialize)]
struct Document {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kty: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    x: Option<String>,
}

impl Jwk {
    /// The key if it is an Ed25519 signing key with a `kid`; `None` for anything else.
    fn into_ed25519(self) -> Option<(String, VerifyingKey)> {
        let fits = self.kty.as_deref() == Some("OKP")
            && self.crv.as_deref() == Some("Ed25519")
            && self.alg.as_deref().is_none_or(|alg| alg == "EdDSA")
            && self.usage.as_deref().is_none_or(|usage| usage == "sig");
        if !fits {
            return None;
        }
        let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(self.x?).ok()?.try_into().ok()?;
        let key = VerifyingKey::from_bytes(&bytes).ok()?;
        if key.is_weak() {
            return None;
        }
        Some((self.kid?, key))
    }
}

/// Reads a JWKS document; errors when it is not one or holds no usable Ed25519 key.
pub(crate) fn parse(body: &[u8]) -> Result<KeySet, String> {
    let document: Document =
        serde_json::from_slice(body).map_err(|err| format!("not a JWKS document: {err}"))?;
    let total = document.keys.len();
    let keys: KeySet = document
        .keys
        .into_iter()
        .filter_map(Jwk::into_ed25519)
        .collect();
    if keys.len() < total {
        tracing::debug!(
            skipped = total - keys.len(),
            "JWKS entries that are not Ed25519 signing keys were ignored"
        );
    }
    if keys.is_empty() {
        return Err("the JWKS holds no Ed25519 signing key".into());
    }
    Ok(keys)
}

/// Fetches and reads the key set at `url`.
pub(crate) async fn fetch(client: &reqwest::Client, url: &reqwest::Url) -> Result<KeySet, String> {
    let mut response = client
        .get(url.clone())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| format!("JWKS request failed: {err}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("JWKS endpoint answered {status}"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| format!("JWKS body could not be read: {err}"))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err("JWKS document is too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    fn x(seed: u8) -> String {
        URL_SAFE_NO_PAD.encode(
            SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .as_bytes(),
        )
    }

    #[test]
    fn gateway_document_yields_keys_by_kid() {
        let body = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "a", "x": x(1)},
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "b", "x": x(2)},
        ]});
        let keys = parse(body.to_string().as_bytes()).expect("parsed");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys["b"], SigningKey::from_bytes(&[2; 32]).verifying_key());
    }

    #[test]
    fn non_ed25519_entries_are_skipped() {
        let body = json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"},
            {"kty": "OKP", "crv": "X25519", "kid": "x", "x": x(3)},
            {"kty": "OKP", "crv": "Ed25519", "alg": "HS256", "kid": "wrong-alg", "x": x(4)},
            {"kty": "OKP", "crv": "Ed25519", "use": "enc", "kid": "enc", "x": x(5)},
            {"kty": "OKP", "crv": "Ed25519", "x": x(6)},
            {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ok", "x": x(7)},
        ]});
        let keys = parse(body.to_string().as_bytes()).expect("parsed");
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["ok"]);
    }

    #[test]
    fn document_without_usable_keys_is_an_error() {
        assert!(parse(br#"{"keys":[]}"#).is_err());
        assert!(parse(br#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#).is_err());
        assert!(parse(b"<html>").is_err());
    }
}
