//! Every credential and lock ends when its time is up, by the clock, not by sleeping.

use auth_core::credentials::{LoginRequest, NewPersonalAccessToken, Place};
use auth_core::secret::Secret;
use auth_core::sessions::Subject;
use auth_core::{Error, accounts::Registration};
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::{PASSWORD, TestCore};

fn login(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        login: username.into(),
        password: Secret::new(password),
    }
}

core_test!(access_token_expires_after_fifteen_minutes, |t| {
    t.active_user("ann").await;
    let tokens = t
        .core
        .credentials()
        .login(login("ann", PASSWORD), &TestCore::context())
        .await
        .unwrap();
    let creds = t.core.credentials();
    assert!(
        creds
            .authenticate(
                &tokens.access_token,
                Place::AccountApi,
                &TestCore::context()
            )
            .await
            .is_ok()
    );
    t.clock.advance(SignedDuration::from_mins(14));
    assert!(
        creds
            .authenticate(
                &tokens.access_token,
                Place::AccountApi,
                &TestCore::context()
            )
            .await
            .is_ok()
    );
    t.clock.advance(SignedDuration::from_mins(2));
    assert!(matches!(
        creds
            .authenticate(
                &tokens.access_token,
                Place::AccountApi,
                &TestCore::context()
            )
            .await,
        Err(Error::ExpiredToken)
    ));
    // The refresh token still gets a fresh access token.
    let fresh = creds
        .refresh(&tokens.refresh_token, &TestCore::context())
        .await
        .unwrap();
    assert!(
        creds
            .authenticate(&fresh.access_token, Place::AccountApi, &TestCore::context())
            .await
            .is_ok()
    );
});

core_test!(refresh_token_expires_after_seven_days, |t| {
    t.active_user("ben").await;
    let tokens = t
        .core
        .credentials()
        .login(login("ben", PASSWORD), &TestCore::context())
        .await
        .unwrap();
    t.clock
        .advance(SignedDuration::from_hours(7 * 24) + SignedDuration::from_secs(1));
    assert!(matches!(
        t.core
            .credentials()
            .refresh(&tokens.refresh_token, &TestCore::context())
            .await,
        Err(Error::ExpiredToken)
    ));
});

core_test!(lock_lifts_after_fifteen_minutes, |t| {
    t.active_user("cat").await;
    let creds = t.core.credentials();
    for _ in 0..5 {
        assert!(matches!(
            creds
                .login(login("cat", "wrong password here"), &TestCore::context())
                .await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        creds
            .login(login("cat", PASSWORD), &TestCore::context())
            .await,
        Err(Error::AccountLocked { .. })
    ));
    t.clock.advance(SignedDuration::from_mins(14));
    assert!(matches!(
        creds
            .login(login("cat", PASSWORD), &TestCore::context())
            .await,
        Err(Error::AccountLocked { .. })
    ));
    t.clock.advance(SignedDuration::from_mins(2));
    assert!(
        creds
            .login(login("cat", PASSWORD), &TestCore::context())
            .await
            .is_ok()
    );
    // A success starts the count afresh: four more failures do not lock.
    for _ in 0..4 {
        let _ = creds
            .login(login("cat", "wrong password here"), &TestCore::context())
            .await;
    }
    assert!(
        creds
            .login(login("cat", PASSWORD), &TestCore::context())
            .await
            .is_ok()
    );
});

core_test!(verification_link_expires_after_a_day, |t| {
    t.core
        .accounts()
        .register(
            Registration {
                email: "dan@example.com".into(),
                username: "dan".into(),
                full_name: "Dan".into(),
                password: Secret::new(PASSWORD),
                password_confirmation: Secret::new(PASSWORD),
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    let token = t
        .mailed_token("dan@example.com", "/verify-email?token=")
        .await;
    t.clock
        .advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1));
    assert!(matches!(
        t.core
            .accounts()
            .verify_email(&token, &TestCore::context())
            .await,
        Err(Error::ExpiredToken)
    ));
});

core_test!(
    reset_link_expires_after_thirty_minutes_and_works_once,
    |t| {
        t.active_user("eve").await;
        let creds = t.core.credentials();
        creds
            .forgot_password("eve@example.com", &TestCore::context())
            .await
            .unwrap()
            .finished()
            .await;
        let token = t
            .mailed_token("eve@example.com", "/reset-password?token=")
            .await;
        t.clock.advance(SignedDuration::from_mins(31));
        assert!(matches!(
            creds
                .reset_password(&token, "maple cinder orbit", &TestCore::context())
                .await,
            Err(Error::ExpiredToken)
        ));
        creds
            .forgot_password("eve@example.com", &TestCore::context())
            .await
            .unwrap()
            .finished()
            .await;
        let token = t
            .mailed_token("eve@example.com", "/reset-password?token=")
            .await;
        creds
            .reset_password(&token, "maple cinder orbit", &TestCore::context())
            .await
            .unwrap();
        assert!(matches!(
            creds
                .reset_password(&token, "another fine phrase", &TestCore::context())
                .await,
            Err(Error::InvalidToken)
        ));
        assert!(
            creds
                .login(login("eve", "maple cinder orbit"), &TestCore::context())
                .await
                .is_ok()
        );
    }
);

core_test!(personal_access_token_expires_on_its_day, |t| {
    let user = t.active_user("fay").await;
    let creds = t.core.credentials();
    let pat = creds
        .create_pat(
            Subject::User(user),
            NewPersonalAccessToken {
                name: "ci".into(),
                expires_in_days: 2,
                services: vec!["service-b".into()],
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    let secret = pat.token.unwrap();
    assert!(
        creds
            .authenticate(&secret, Place::Service("service-b"), &TestCore::context())
            .await
            .is_ok()
    );
    t.clock
        .advance(SignedDuration::from_hours(48) + SignedDuration::from_secs(1));
    assert!(matches!(
        creds
            .authenticate(&secret, Place::Service("service-b"), &TestCore::context())
            .await,
        Err(Error::ExpiredToken)
    ));
});

core_test!(
    refresh_twins_share_a_pair_only_inside_the_grace_window,
    |t| {
        t.active_user("gus").await;
        let creds = t.core.credentials();
        let first = creds
            .login(login("gus", PASSWORD), &TestCore::context())
            .await
            .unwrap();
        let a = creds
            .refresh(&first.refresh_token, &TestCore::context())
            .await
            .unwrap();
        t.clock.advance(SignedDuration::from_secs(5));
        let b = creds
            .refresh(&first.refresh_token, &TestCore::context())
            .await
            .unwrap();
        assert_eq!(a, b);
        // Past the window the same presentation is theft: the family dies, the new token with it.
        t.clock.advance(SignedDuration::from_secs(10));
        assert!(matches!(
            creds
                .refresh(&first.refresh_token, &TestCore::context())
                .await,
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            creds.refresh(&a.refresh_token, &TestCore::context()).await,
            Err(Error::InvalidToken)
        ));
        assert!(
            creds
                .authenticate(&a.access_token, Place::AccountApi, &TestCore::context())
                .await
                .is_err()
        );
    }
);
