//! Token verification refuses every forged, altered or misused token, and survives key rotation.

use auth_core::credentials::{TokenKind, TokenSigner, TokenSpec};
use auth_core::{Error, ManualClock};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jiff::SignedDuration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::core_test;
use crate::harness::TestCore;

const AUD: &str = "auth-api";

fn issue(t: &TestCore, kind: TokenKind, ttl_mins: i64) -> String {
    t.core
        .tokens()
        .issue(
            kind,
            "01a2085c-66d6-76c6-88ec-658a8d402841",
            AUD,
            SignedDuration::from_mins(ttl_mins),
            TokenSpec::default(),
        )
        .unwrap()
        .0
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let header =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    let claims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    (header, claims)
}

/// Signs `header`.`claims` with the gateway's real current key: only the content is wrong.
fn signed_by_us(t: &TestCore, header: &Value, claims: &Value) -> String {
    let (_, key) = t.core.tokens().keys().signing_key();
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::EdDSA).unwrap();
    format!("{message}.{signature}")
}

async fn refused(t: &TestCore, token: &str) -> Error {
    t.core
        .tokens()
        .verify(token, TokenKind::Access, AUD)
        .await
        .expect_err("the token must be refused")
}

core_test!(a_proper_token_verifies, |t| {
    let token = issue(&t, TokenKind::Access, 15);
    let claims = t
        .core
        .tokens()
        .verify(&token, TokenKind::Access, AUD)
        .await
        .unwrap();
    assert_eq!(claims.aud, AUD);
    assert_eq!(claims.iss, "auth-gateway");
    let (header, _) = parts(&token);
    assert_eq!(header["alg"], "EdDSA");
});

core_test!(alg_none_is_refused, |t| {
    let (mut header, claims) = parts(&issue(&t, TokenKind::Access, 15));
    header["alg"] = json!("none");
    let token = format!("{}.{}.", b64(&header), b64(&claims));
    assert!(matches!(refused(&t, &token).await, Error::InvalidToken));
});

core_test!(hmac_signed_with_the_public_key_is_refused, |t| {
    let (header, claims) = parts(&issue(&t, TokenKind::Access, 15));
    let jwks = t.core.jwks();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let raw_public = URL_SAFE_NO_PAD.decode(x).unwrap();
    for secret in [
        raw_public.as_slice(),
        x.as_bytes(),
        jwks.to_string().as_bytes(),
    ] {
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = header["kid"].as_str().map(str::to_string);
        let token = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert!(matches!(refused(&t, &token).await, Error::InvalidToken));
    }
});

core_test!(another_key_is_refused_with_or_without_our_kid, |t| {
    let (header, claims) = parts(&issue(&t, TokenKind::Access, 15));
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let key = EncodingKey::from_ed_der(stranger.to_pkcs8_der().unwrap().as_bytes());
    for kid in [header["kid"].as_str().unwrap(), "unknown-kid"] {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(kid.to_string());
        let token = jsonwebtoken::encode(&h, &claims, &key).unwrap();
        assert!(
            matches!(refused(&t, &token).await, Error::InvalidToken),
            "kid {kid}"
        );
    }
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = None;
    let token = jsonwebtoken::encode(&h, &claims, &key).unwrap();
    assert!(matches!(refused(&t, &token).await, Error::InvalidToken));
});

core_test!(
    embedded_key_references_are_refused_even_when_signed_by_us,
    |t| {
        let (header, claims) = parts(&issue(&t, TokenKind::Access, 15));
        let jwk = t.core.jwks()["keys"][0].clone();
        for (name, value) in [
            ("jwk", jwk),
            ("jku", json!("https://evil.example/jwks.json")),
            ("x5u", json!("https://evil.example/cert.pem")),
        ] {
            let mut h = header.clone();
            h[name] = value;
            let token = signed_by_us(&t, &h, &claims);
            assert!(
                matches!(refused(&t, &token).await, Error::InvalidToken),
                "{name}"
            );
        }
    }
);

core_test!(claims_of_the_wrong_type_or_missing_are_refused, |t| {
    let (header, claims) = parts(&issue(&t, TokenKind::Access, 15));
    let exp = claims["exp"].as_i64().unwrap();
    let mut cases = vec![];
    for (name, value) in [
        ("exp", json!(exp.to_string())),
        ("nbf", json!("0")),
        ("sub", json!(12345)),
        ("aud", json!([AUD, "other"])),
    ] {
        let mut c = claims.clone();
        c[name] = value;
        cases.push((name, c));
    }
    for name in ["exp", "nbf", "iss", "aud", "sub"] {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(name);
        cases.push((name, c));
    }
    for (name, c) in cases {
        let token = signed_by_us(&t, &header, &c);
        assert!(
            matches!(refused(&t, &token).await, Error::InvalidToken),
            "{name}: {c}"
        );
    }
    // The same content, correctly typed, verifies: the refusals above are about the types.
    assert!(
        t.core
            .tokens()
            .verify(&signed_by_us(&t, &header, &claims), TokenKind::Access, AUD)
            .await
            .is_ok()
    );
});

core_test!(expired_and_not_yet_valid_tokens_are_refused, |t| {
    let token = issue(&t, TokenKind::Access, 15);
    t.clock
        .advance(SignedDuration::from_mins(15) + SignedDuration::from_secs(11));
    assert!(matches!(refused(&t, &token).await, Error::ExpiredToken));

    let token = issue(&t, TokenKind::Access, 15);
    t.clock.advance(SignedDuration::from_mins(-5));
    assert!(matches!(refused(&t, &token).await, Error::InvalidToken));
    // Within the leeway both ways a token still verifies.
    t.clock
        .advance(SignedDuration::from_mins(5) - SignedDuration::from_secs(5));
    assert!(
        t.core
            .tokens()
            .verify(&token, TokenKind::Access, AUD)
            .await
            .is_ok()
    );
});

core_test!(wrong_audience_issuer_or_kind_is_refused, |t| {
    let token = issue(&t, TokenKind::Access, 15);
    assert!(matches!(
        t.core
            .tokens()
            .verify(&token, TokenKind::Access, "service-b")
            .await,
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        t.core
            .tokens()
            .verify(&token, TokenKind::Session, AUD)
            .await,
        Err(Error::InvalidToken)
    ));
    let other_issuer = TokenSigner::new(
        t.core.tokens().keys().clone(),
        t.core.clock().clone(),
        "someone-else".into(),
        10,
    );
    assert!(matches!(
        other_issuer.verify(&token, TokenKind::Access, AUD).await,
        Err(Error::InvalidToken)
    ));
});

core_test!(tampered_truncated_and_garbage_tokens_are_refused, |t| {
    let token = issue(&t, TokenKind::Access, 15);
    let (header, mut claims) = parts(&token);
    claims["sub"] = json!("01a2085c-0000-7000-8000-000000000000");
    let signature = token.rsplit('.').next().unwrap();
    let tampered = format!("{}.{}.{signature}", b64(&header), b64(&claims));
    for bad in [
        tampered.as_str(),
        &token[..token.len() - 10],
        &token[..token.rfind('.').unwrap()],
        "",
        "garbage",
        "a.b.c",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        &"x".repeat(20_000),
    ] {
        assert!(
            matches!(refused(&t, bad).await, Error::InvalidToken),
            "{bad:.40}"
        );
    }
});

core_test!(rotation_keeps_old_tokens_valid_until_they_expire, |t| {
    let before = issue(&t, TokenKind::Access, 15);
    let old_kid = parts(&before).0["kid"].as_str().unwrap().to_string();
    let new_kid = t.core.tokens().keys().rotate().await.unwrap();
    assert_ne!(old_kid, new_kid);

    let after = issue(&t, TokenKind::Access, 15);
    assert_eq!(parts(&after).0["kid"], new_kid.as_str());
    let kids = |jwks: Value| -> Vec<String> {
        let mut kids: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        kids.sort();
        kids
    };
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(kids(t.core.jwks()), both);
    assert!(
        t.core
            .tokens()
            .verify(&before, TokenKind::Access, AUD)
            .await
            .is_ok()
    );

    // An hour on, past every API token's life, the old key still verifies the console's
    // sessions (8 h); the longest token life plus leeway later, it is gone.
    t.clock.advance(SignedDuration::from_mins(61));
    assert_eq!(kids(t.core.jwks()).len(), 2);
    t.clock.advance(SignedDuration::from_mins(7 * 60));
    assert_eq!(kids(t.core.jwks()), vec![new_kid]);
    assert!(
        t.core
            .tokens()
            .verify(&before, TokenKind::Access, AUD)
            .await
            .is_err()
    );
});

#[tokio::test]
async fn a_rotation_by_another_process_is_picked_up() {
    let t = TestCore::start(crate::harness::Backend::Embedded).await;
    // A second core on the same database stands in for `auth-gateway keys rotate`.
    let config = t.core.config().clone();
    let other = auth_core::AuthCore::open(config, ManualClock::starting_now())
        .await
        .unwrap();
    let new_kid = other.tokens().keys().rotate().await.unwrap();
    let token = other
        .tokens()
        .issue(
            TokenKind::Access,
            "x",
            AUD,
            SignedDuration::from_mins(5),
            TokenSpec::default(),
        )
        .unwrap()
        .0;
    // The first core has never seen this kid; it reloads the keys and accepts the token.
    t.clock.set(jiff::Timestamp::now());
    let claims = t
        .core
        .tokens()
        .verify(&token, TokenKind::Access, AUD)
        .await
        .unwrap();
    assert_eq!(parts(&token).0["kid"], new_kid.as_str());
    assert_eq!(claims.sub, "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_key_is_sealed_at_rest_with_the_master_key() {
    use ed25519_dalek::pkcs8::DecodePrivateKey;

    let t = TestCore::start(crate::harness::Backend::Embedded).await;
    let row = t
        .core
        .stores()
        .db
        .query_one(
            "SELECT private_key_sealed FROM signing_keys",
            auth_core::params![],
        )
        .await
        .unwrap();
    let sealed: Vec<u8> = row.get("private_key_sealed").unwrap();
    assert!(
        ed25519_dalek::SigningKey::from_pkcs8_der(&sealed).is_err(),
        "the private key is stored as plain PKCS#8"
    );

    // The same database with another master key: start-up stops and says why.
    let mut config = t.core.config().clone();
    config.keys.master_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    let Err(refused) = auth_core::AuthCore::open(config, ManualClock::starting_now()).await else {
        panic!("another master key opened the signing key");
    };
    assert!(format!("{refused:?}").contains("master key"), "{refused:?}");
}
