//! The key cache: rotation, refresh limits, single flight, and an unreachable JWKS.

use std::time::Duration;

use auth_sdk::{Error, TokenFlaw, Verifier};

use crate::support::{Gateway, ISSUER, SERVICE, START, Signer, TestClock, assertion};

#[tokio::test]
async fn unknown_kid_after_a_rotation_refetches_once_then_accepts() {
    let old = Signer::from_seed(1);
    let new = Signer::from_seed(2);
    let gateway = Gateway::start(&[&old]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    assert!(verifier.verify(&old.sign(&assertion(START))).await.is_ok());
    assert_eq!(gateway.jwks_fetches(), 1);

    // The gateway rotates: the new key signs, the old one still verifies.
    gateway.publish(&[&old, &new]);
    clock.advance(6);
    let now = clock.secs();
    let identity = verifier.verify(&new.sign(&assertion(now))).await;
    assert!(identity.is_ok(), "{identity:?}");
    assert_eq!(gateway.jwks_fetches(), 2, "one refetch for the new kid");

    assert!(verifier.verify(&new.sign(&assertion(now))).await.is_ok());
    assert!(verifier.verify(&old.sign(&assertion(now))).await.is_ok());
    assert_eq!(gateway.jwks_fetches(), 2, "both kids now cached");
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    assert!(verifier.verify(&key.sign(&assertion(START))).await.is_ok());
    assert_eq!(gateway.jwks_fetches(), 1);

    // Tokens with made-up kids: the first fetch just happened, so none now.
    let stranger = Signer::from_seed(7);
    for _ in 0..20 {
        assert_eq!(
            verifier.verify(&stranger.sign(&assertion(START))).await,
            Err(Error::InvalidToken(TokenFlaw::UnknownKey))
        );
    }
    assert_eq!(gateway.jwks_fetches(), 1);

    // After the 5 s interval, one more fetch, then quiet again.
    clock.advance(5);
    for _ in 0..20 {
        assert!(
            verifier
                .verify(&stranger.sign(&assertion(START)))
                .await
                .is_err()
        );
    }
    assert_eq!(gateway.jwks_fetches(), 2);
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_jwks_is_down() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    assert!(verifier.verify(&key.sign(&assertion(START))).await.is_ok());

    gateway.set_jwks_down(true);
    // An unknown kid makes the verifier try the endpoint, which fails.
    clock.advance(6);
    let stranger = Signer::from_seed(7);
    assert_eq!(
        verifier
            .verify(&stranger.sign(&assertion(clock.secs())))
            .await,
        Err(Error::InvalidToken(TokenFlaw::UnknownKey))
    );
    assert_eq!(gateway.jwks_fetches(), 2, "the endpoint was tried");

    // The cached key still verifies, even past the key-age refresh.
    clock.advance(600);
    let now = clock.secs();
    let identity = verifier.verify(&key.sign(&assertion(now))).await;
    assert!(identity.is_ok(), "{identity:?}");
    assert_eq!(
        gateway.jwks_fetches(),
        3,
        "the stale set was refreshed in passing"
    );
}

#[tokio::test]
async fn nothing_cached_and_jwks_unreachable_refuses_with_keys_unavailable() {
    // A port nobody listens on: connection refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let clock = TestClock::at(START);
    let verifier = Verifier::builder(url, ISSUER, SERVICE)
        .clock(clock.source())
        .build()
        .expect("verifier");

    let token = Signer::from_seed(1).sign(&assertion(START));
    for _ in 0..3 {
        let refused = verifier.verify(&token).await;
        assert!(
            matches!(refused, Err(Error::KeysUnavailable(_))),
            "{refused:?}"
        );
        assert_eq!(refused.unwrap_err().code(), "KEYS_UNAVAILABLE");
    }
    assert!(matches!(
        verifier.refresh_keys().await,
        Err(Error::KeysUnavailable(_))
    ));
}

#[tokio::test]
async fn nothing_cached_and_jwks_answering_503_refuses_then_recovers() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    gateway.set_jwks_down(true);
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    let token = key.sign(&assertion(START));

    let refused = verifier.verify(&token).await.unwrap_err();
    assert_eq!(refused.code(), "KEYS_UNAVAILABLE");
    assert!(refused.to_string().contains("503"), "{refused}");

    gateway.set_jwks_down(false);
    clock.advance(5);
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_of_an_unknown_kid_share_one_fetch() {
    let old = Signer::from_seed(1);
    let new = Signer::from_seed(2);
    let gateway = Gateway::start(&[&old]).await;
    let clock = TestClock::at(START);
    // No interval: only the single flight keeps the fetches down.
    let verifier = gateway
        .verifier(&clock)
        .refresh_interval(Duration::ZERO)
        .build()
        .expect("verifier");
    assert!(verifier.verify(&old.sign(&assertion(START))).await.is_ok());
    assert_eq!(gateway.jwks_fetches(), 1);

    gateway.publish(&[&old, &new]);
    gateway.set_jwks_delay(Duration::from_millis(200));
    let token = new.sign(&assertion(START));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for result in futures::future::join_all(tasks).await {
        let verified = result.expect("task");
        assert!(verified.is_ok(), "{verified:?}");
    }
    assert_eq!(gateway.jwks_fetches(), 2, "64 verifications, one fetch");
}

#[tokio::test]
async fn withdrawn_key_stops_verifying_once_the_set_is_refreshed() {
    let old = Signer::from_seed(1);
    let new = Signer::from_seed(2);
    let gateway = Gateway::start(&[&old, &new]).await;
    let clock = TestClock::at(START);
    let verifier = gateway
        .verifier(&clock)
        .max_key_age(Duration::from_secs(60))
        .build()
        .expect("verifier");
    assert!(verifier.verify(&old.sign(&assertion(START))).await.is_ok());

    gateway.publish(&[&new]);
    clock.advance(30);
    let now = clock.secs();
    assert!(
        verifier.verify(&old.sign(&assertion(now))).await.is_ok(),
        "cache still young"
    );

    clock.advance(31);
    let now = clock.secs();
    assert_eq!(
        verifier.verify(&old.sign(&assertion(now))).await,
        Err(Error::InvalidToken(TokenFlaw::UnknownKey))
    );
    assert!(verifier.verify(&new.sign(&assertion(now))).await.is_ok());
    assert_eq!(gateway.jwks_fetches(), 2);
}
