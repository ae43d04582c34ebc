//! The gateway's per-request check through auth-core: what it remembers between requests never
//! outlives a revocation, an expiry, or the audience it was checked for.

use auth_core::Error;
use auth_core::credentials::{CredentialKind, TokenKind};
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::TestCore;

async fn service_session(t: &TestCore, username: &str) -> (String, auth_core::ids::SessionId) {
    let service_b = t.core.services().get("service-b").await.unwrap();
    let id = t.active_user(username).await;
    let person = t.core.accounts().get(&t.reader().await, id).await.unwrap();
    let qr = t.core.qr_login();
    let challenge = qr
        .generate(&service_b, &TestCore::context(), None)
        .await
        .unwrap();
    let scan = qr
        .scan(&person, &challenge.qr_token, &TestCore::context())
        .await
        .unwrap();
    let login = qr
        .verify_pin(
            &service_b,
            &challenge.qr_token,
            &scan.pin,
            &TestCore::context(),
            None,
        )
        .await
        .unwrap();
    (login.session_token, login.session_id)
}

core_test!(a_remembered_token_still_meets_revocation_and_expiry, |t| {
    let (token, session) = service_session(&t, "ann").await;
    let creds = t.core.credentials();
    for _ in 0..3 {
        let identity = creds
            .authenticate_at_service(&token, "service-b", &TestCore::context())
            .await
            .unwrap();
        assert_eq!(identity.credential, CredentialKind::ServiceSession);
    }
    // Another service never accepts it, checked or remembered.
    assert!(matches!(
        creds
            .authenticate_at_service(&token, "app-c", &TestCore::context())
            .await,
        Err(Error::InvalidToken)
    ));

    t.clock.advance(SignedDuration::from_mins(30));
    assert!(
        creds
            .authenticate_at_service(&token, "service-b", &TestCore::context())
            .await
            .is_err()
    );
    t.clock.advance(SignedDuration::from_mins(-30));
    assert!(
        creds
            .authenticate_at_service(&token, "service-b", &TestCore::context())
            .await
            .is_ok()
    );

    t.core.sessions().end(&session, "test").await.unwrap();
    assert!(matches!(
        creds
            .authenticate_at_service(&token, "service-b", &TestCore::context())
            .await,
        Err(Error::InvalidToken)
    ));
});

core_test!(assertions_are_reused_for_half_a_minute_then_renewed, |t| {
    let (token, _) = service_session(&t, "ben").await;
    let creds = t.core.credentials();
    let identity = creds
        .authenticate_at_service(&token, "service-b", &TestCore::context())
        .await
        .unwrap();
    let first = creds.assertion(&identity, "service-b").unwrap();
    t.clock.advance(SignedDuration::from_secs(29));
    assert_eq!(creds.assertion(&identity, "service-b").unwrap(), first);
    // Another service gets its own.
    assert_ne!(creds.assertion(&identity, "app-c").unwrap(), first);
    t.clock.advance(SignedDuration::from_secs(1));
    let renewed = creds.assertion(&identity, "service-b").unwrap();
    assert_ne!(renewed, first);
    let claims = t
        .core
        .tokens()
        .verify(&renewed, TokenKind::Assertion, "service-b")
        .await
        .unwrap();
    assert_eq!(claims.sub, identity.user_id.to_string());
    assert_eq!(claims.exp - claims.iat, 60);
});
