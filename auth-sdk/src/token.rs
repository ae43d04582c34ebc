//! The compact JWS form of a gateway token: split, header checked, Ed25519 signature verified.
//!
//! The three parts are parsed here rather than by a general JOSE library so that only one
//! algorithm is in the code path at all: keys come out of the JWKS as Ed25519 keys, and the `alg`
//! header is compared with `EdDSA`, never used to pick a verifier. That refuses `none`, HMAC signed
//! with the public key, and every other algorithm before any cryptography runs. Headers that embed
//! or point at a key (`jwk`, `jku`, `x5u`, `x5c`) or demand extensions (`crit`) are refused too:
//! the only keys trusted are the gateway's, fetched from its JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::TokenFlaw;

/// Longer than any token the gateway issues; anything bigger is refused unread.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The only algorithm accepted.
const EDDSA: &str = "EdDSA";

/// An Ed25519 signature is 64 bytes: 86 base64url characters without padding.
const SIGNATURE_B64_LEN: usize = 86;

/// The header fields we read. Key references are only looked at to refuse them.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    jwk: Option<IgnoredAny>,
    #[serde(default)]
    jku: Option<IgnoredAny>,
    #[serde(default)]
    x5u: Option<IgnoredAny>,
    #[serde(default)]
    x5c: Option<IgnoredAny>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// A token whose header passed; its signature is not checked yet.
#[derive(Debug)]
pub(crate) struct SignedToken<'a> {
    /// The key the header names.
    pub(crate) kid: String,
    /// `header.payload`, the bytes the signature covers.
    signing_input: &'a [u8],
    /// The base64url payload.
    payload: &'a str,
    signature: Signature,
}

/// Splits `token` and checks its header; refuses before any signature work.
pub(crate) fn parse(token: &str) -> Result<SignedToken<'_>, TokenFlaw> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenFlaw::Malformed);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenFlaw::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(TokenFlaw::Malformed)?;
    if payload.contains('.') {
        return Err(TokenFlaw::Malformed);
    }

    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenFlaw::Malformed)?;
    let header: Header = serde_json::from_slice(&header).map_err(|_| TokenFlaw::Malformed)?;
    if header.alg != EDDSA {
        return Err(TokenFlaw::Algorithm);
    }
    let embeds_key = header.jwk.is_some()
        || header.jku.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
        || header.crit.is_some();
    if embeds_key {
        return Err(TokenFlaw::EmbeddedKey);
    }
    let kid = header.kid.ok_or(TokenFlaw::MissingKeyId)?;

    if signature.len() != SIGNATURE_B64_LEN {
        return Err(TokenFlaw::Signature);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenFlaw::Signature)?;
    let signature = Signature::from_slice(&signature).map_err(|_| TokenFlaw::Signature)?;

    Ok(SignedToken {
        kid,
        signing_input: signing_input.as_bytes(),
        payload,
        signature,
    })
}

impl SignedToken<'_> {
    /// Checks the signature with `key` and returns the decoded payload (JSON bytes).
    ///
    /// Strict verification: refuses non-canonical signatures and small-order points.
    pub(crate) fn verify(&self, key: &VerifyingKey) -> Result<Vec<u8>, TokenFlaw> {
        key.verify_strict(self.signing_input, &self.signature)
            .map_err(|_| TokenFlaw::Signature)?;
        URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| TokenFlaw::Claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn b64(data: &str) -> String {
        URL_SAFE_NO_PAD.encode(data)
    }

    fn signed(header: &str, payload: &str, key: &SigningKey) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    #[test]
    fn eddsa_token_with_kid_verifies() {
        let token = signed(r#"{"alg":"EdDSA","kid":"k1","typ":"JWT"}"#, "{}", &key());
        let parsed = parse(&token).expect("header accepted");
        assert_eq!(parsed.kid, "k1");
        assert_eq!(parsed.verify(&key().verifying_key()), Ok(b"{}".to_vec()));
    }

    #[test]
    fn other_key_fails_signature() {
        let token = signed(r#"{"alg":"EdDSA","kid":"k1"}"#, "{}", &key());
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        let parsed = parse(&token).expect("header accepted");
        assert_eq!(parsed.verify(&other), Err(TokenFlaw::Signature));
    }

    #[test]
    fn alg_none_and_hmac_refused_before_signature() {
        for alg in ["none", "HS256", "RS256", "ES256", "eddsa", "Ed25519"] {
            let header = format!(r#"{{"alg":"{alg}","kid":"k1"}}"#);
            let token = signed(&header, "{}", &key());
            assert_eq!(parse(&token).err(), Some(TokenFlaw::Algorithm), "{alg}");
        }
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none","kid":"k1"}"#), b64("{}"));
        assert_eq!(parse(&unsigned).err(), Some(TokenFlaw::Algorithm));
    }

    #[test]
    fn embedded_key_references_refused() {
        for field in [
            r#""jwk":{"kty":"OKP"}"#,
            r#""jku":"https://evil.example/jwks.json""#,
            r#""x5u":"https://evil.example/cert""#,
            r#""x5c":["MIIB"]"#,
            r#""crit":["b64"]"#,
        ] {
            let header = format!(r#"{{"alg":"EdDSA","kid":"k1",{field}}}"#);
            let token = signed(&header, "{}", &key());
            assert_eq!(parse(&token).err(), Some(TokenFlaw::EmbeddedKey), "{field}");
        }
    }

    #[test]
    fn missing_kid_refused() {
        let token = signed(r#"{"alg":"EdDSA"}"#, "{}", &key());
        assert_eq!(parse(&token).err(), Some(TokenFlaw::MissingKeyId));
    }

    #[test]
    fn malformed_shapes_refused() {
        let good = signed(r#"{"alg":"EdDSA","kid":"k1"}"#, "{}", &key());
        let too_long = format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES));
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            too_long.as_str(),
            &format!("{}.{}.sig", b64("not json"), b64("{}")),
            &format!(
                "{}=.{}.sig",
                b64(r#"{"alg":"EdDSA","kid":"k1"}"#),
                b64("{}")
            ),
        ] {
            assert_eq!(
                parse(token).err(),
                Some(TokenFlaw::Malformed),
                "{token:.40}"
            );
        }
        let four_parts = format!("{good}.more");
        assert!(parse(&four_parts).is_err());
    }

    #[test]
    fn duplicate_alg_header_refused() {
        let token = signed(r#"{"alg":"none","alg":"EdDSA","kid":"k1"}"#, "{}", &key());
        assert_eq!(parse(&token).err(), Some(TokenFlaw::Malformed));
    }
}
