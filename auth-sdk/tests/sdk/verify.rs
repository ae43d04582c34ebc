//! What a verifier accepts and refuses, one token at a time.

use auth_sdk::{Error, TokenFlaw, TokenKind};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::{Gateway, START, Signer, TestClock, assertion, b64_json, claims};

#[tokio::test]
async fn gateway_assertion_is_accepted_with_its_identity() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    let claims = assertion(START);
    let identity = verifier.verify(&key.sign(&claims)).await.expect("accepted");

    assert_eq!(
        identity.user_id.to_string(),
        claims["sub"].as_str().unwrap()
    );
    assert_eq!(
        identity.session_id.map(|s| s.to_string()).as_deref(),
        claims["sid"].as_str()
    );
    assert_eq!(identity.username.as_deref(), Some("alice"));
    assert_eq!(identity.email.as_deref(), Some("alice@example.com"));
    assert_eq!(identity.name.as_deref(), Some("Alice Example"));
    assert_eq!(identity.role.as_deref(), Some("user"));
    assert_eq!(identity.kind, TokenKind::Assertion);
    assert_eq!(identity.token_id, claims["jti"].as_str().unwrap());
    assert_eq!(
        identity.expires_at,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs((START + 60) as u64)
    );
}

#[tokio::test]
async fn session_token_for_this_service_is_accepted() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    let token = key.sign(&claims("session", START, 3600));
    let identity = verifier.verify(&token).await.expect("accepted");
    assert_eq!(identity.kind, TokenKind::Session);
}

#[tokio::test]
async fn token_signed_by_another_key_is_refused() {
    let published = Signer::from_seed(1);
    let gateway = Gateway::start(&[&published]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    // An attacker's key, claiming the published key's kid.
    let forger = Signer::from_seed(2);
    let forged = forger.sign_with_header(&published.header(), &assertion(START));
    assert_eq!(
        verifier.verify(&forged).await,
        Err(Error::InvalidToken(TokenFlaw::Signature))
    );
    // Under its own kid it is simply unknown.
    let token = forger.sign(&assertion(START));
    assert_eq!(
        verifier.verify(&token).await,
        Err(Error::InvalidToken(TokenFlaw::UnknownKey))
    );
}

#[tokio::test]
async fn expired_token_is_refused_once_the_clock_passes_the_leeway() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    let token = key.sign(&assertion(START));

    clock.advance(60 + 10);
    assert!(verifier.verify(&token).await.is_ok(), "within the leeway");
    clock.advance(1);
    let refused = verifier.verify(&token).await;
    assert_eq!(refused, Err(Error::ExpiredToken));
    assert_eq!(refused.unwrap_err().code(), "EXPIRED_TOKEN");
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    let token = key.sign(&assertion(START + 11));
    assert_eq!(
        verifier.verify(&token).await,
        Err(Error::InvalidToken(TokenFlaw::NotYetValid))
    );
}

#[tokio::test]
async fn token_for_another_audience_is_refused() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    let mut other_service = assertion(START);
    other_service["aud"] = json!("service-c");
    let refused = verifier.verify(&key.sign(&other_service)).await;
    assert_eq!(refused, Err(Error::InvalidToken(TokenFlaw::Audience)));
    assert_eq!(refused.unwrap_err().code(), "INVALID_TOKEN");
}

#[tokio::test]
async fn token_from_another_issuer_is_refused() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    let mut foreign = assertion(START);
    foreign["iss"] = json!("someone-else");
    assert_eq!(
        verifier.verify(&key.sign(&foreign)).await,
        Err(Error::InvalidToken(TokenFlaw::Issuer))
    );
}

#[tokio::test]
async fn access_and_admin_tokens_are_refused_by_default() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    for kind in ["access", "admin"] {
        let token = key.sign(&claims(kind, START, 900));
        assert_eq!(
            verifier.verify(&token).await,
            Err(Error::InvalidToken(TokenFlaw::Kind)),
            "{kind}"
        );
    }
    let only_access = gateway
        .verifier(&clock)
        .accept([TokenKind::Access])
        .build()
        .expect("verifier");
    let token = key.sign(&claims("access", START, 900));
    assert_eq!(
        only_access.verify(&token).await.map(|i| i.kind),
        Ok(TokenKind::Access)
    );
}

#[tokio::test]
async fn alg_none_token_is_refused() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    let payload = b64_json(&assertion(START));
    for alg in ["none", "None", "NONE"] {
        let header = b64_json(&json!({"alg": alg, "kid": key.kid(), "typ": "JWT"}));
        let unsigned = format!("{header}.{payload}.");
        assert_eq!(
            verifier.verify(&unsigned).await,
            Err(Error::InvalidToken(TokenFlaw::Algorithm)),
            "{alg}"
        );
    }
    assert_eq!(gateway.jwks_fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn hs256_token_signed_with_the_public_key_is_refused() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    // Warm the cache, so the refusal cannot be blamed on a missing key.
    assert!(verifier.verify(&key.sign(&assertion(START))).await.is_ok());

    let x = key.jwk()["x"].as_str().unwrap().to_owned();
    for secret in [key.public_bytes().to_vec(), x.into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid().to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &assertion(START),
            &EncodingKey::from_secret(&secret),
        )
        .expect("hs256 signing");
        assert_eq!(
            verifier.verify(&token).await,
            Err(Error::InvalidToken(TokenFlaw::Algorithm))
        );
    }
}

#[tokio::test]
async fn embedded_jwk_header_is_refused() {
    let key = Signer::from_seed(1);
    let attacker = Signer::from_seed(9);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");

    // Signed with the attacker's key, which the header carries and points at.
    let mut with_jwk = key.header();
    with_jwk.jwk = Some(serde_json::from_value(attacker.jwk()).expect("jwk"));
    let mut with_jku = key.header();
    with_jku.jku = Some("https://attacker.example/jwks.json".into());
    for header in [with_jwk, with_jku] {
        let token = attacker.sign_with_header(&header, &assertion(START));
        assert_eq!(
            verifier.verify(&token).await,
            Err(Error::InvalidToken(TokenFlaw::EmbeddedKey))
        );
    }
}
