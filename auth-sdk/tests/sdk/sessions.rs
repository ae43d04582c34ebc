//! The optional session-liveness check against the gateway.

use std::time::Duration;

use auth_sdk::{Error, SessionCheck};

use crate::support::{API_KEY, Gateway, START, Signer, TestClock, assertion, claims};

#[tokio::test]
async fn ended_session_is_refused_with_the_session_check_on() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway
        .verifier(&clock)
        .session_check(SessionCheck::new(gateway.base_url(), API_KEY))
        .build()
        .expect("verifier");
    let claims = claims("session", START, 3600);
    let token = key.sign(&claims);
    assert!(verifier.verify(&token).await.is_ok(), "live session");

    gateway.end_session(claims["sid"].as_str().unwrap());
    clock.advance(2);
    let refused = verifier.verify(&token).await;
    assert_eq!(refused, Err(Error::SessionEnded));
    assert_eq!(refused.unwrap_err().code(), "SESSION_ENDED");
}

#[tokio::test]
async fn ended_session_is_still_accepted_without_the_session_check() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    let claims = assertion(START);
    gateway.end_session(claims["sid"].as_str().unwrap());

    assert!(verifier.verify(&key.sign(&claims)).await.is_ok());
    assert_eq!(gateway.session_checks(), 0);
}

#[tokio::test]
async fn liveness_answers_are_reused_for_the_cache_ttl() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway
        .verifier(&clock)
        .session_check(
            SessionCheck::new(gateway.base_url(), API_KEY).cache_ttl(Duration::from_secs(10)),
        )
        .build()
        .expect("verifier");
    let claims = claims("session", START, 3600);
    let token = key.sign(&claims);

    for _ in 0..5 {
        assert!(verifier.verify(&token).await.is_ok());
    }
    assert_eq!(gateway.session_checks(), 1);

    // Ended, but the live answer is still fresh: accepted until the TTL runs out.
    gateway.end_session(claims["sid"].as_str().unwrap());
    clock.advance(9);
    assert!(verifier.verify(&token).await.is_ok());
    clock.advance(1);
    assert_eq!(verifier.verify(&token).await, Err(Error::SessionEnded));
    assert_eq!(gateway.session_checks(), 2);
}

#[tokio::test]
async fn wrong_api_key_fails_closed() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway
        .verifier(&clock)
        .session_check(SessionCheck::new(gateway.base_url(), "not-the-key"))
        .build()
        .expect("verifier");

    let refused = verifier
        .verify(&key.sign(&assertion(START)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "SESSION_CHECK_FAILED");
    assert!(refused.to_string().contains("API key"), "{refused}");
}

#[tokio::test]
async fn token_without_a_session_is_not_checked() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway
        .verifier(&clock)
        .session_check(SessionCheck::new(gateway.base_url(), API_KEY))
        .build()
        .expect("verifier");
    // Assertions for personal access tokens carry no sid.
    let mut claims = assertion(START);
    claims.as_object_mut().unwrap().remove("sid");

    let identity = verifier.verify(&key.sign(&claims)).await.expect("accepted");
    assert_eq!(identity.session_id, None);
    assert_eq!(gateway.session_checks(), 0);
}
