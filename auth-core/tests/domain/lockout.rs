//! Lockout by the manual clock, on both backends: an unknown login locks and unlocks on the same
//! schedule as a real account, each try costs one password verification whatever the answer, and
//! an admin's lock holds only for the client it was earned from.

use auth_core::credentials::{AdminLogin, LoginRequest};
use auth_core::secret::Secret;
use auth_core::{Error, RequestContext};
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::TestCore;

fn wrong(login: &str) -> LoginRequest {
    LoginRequest {
        login: login.into(),
        password: Secret::new("not the password"),
    }
}

/// The stable code of a refused login, and the password verifications it cost.
async fn try_login(t: &TestCore, login: &str) -> (&'static str, u64) {
    let before = t.core.password_verifications();
    let err = t
        .core
        .credentials()
        .login(wrong(login), &TestCore::context())
        .await
        .expect_err("a wrong password");
    (
        err.code().as_str(),
        t.core.password_verifications() - before,
    )
}

core_test!(unknown_logins_lock_and_unlock_like_accounts, |t| {
    t.active_user("kim").await;
    for attempt in 1..=5 {
        for login in ["kim", "nobody-at-all"] {
            assert_eq!(
                try_login(&t, login).await,
                ("INVALID_CREDENTIALS", 1),
                "try {attempt} at {login}"
            );
        }
    }
    for login in ["kim", "nobody-at-all", " Nobody-At-All "] {
        assert_eq!(try_login(&t, login).await, ("ACCOUNT_LOCKED", 1), "{login}");
    }
    // Fifteen minutes later both locks have run out, and the count starts afresh.
    t.clock.advance(SignedDuration::from_mins(15));
    for login in ["kim", "nobody-at-all"] {
        assert_eq!(
            try_login(&t, login).await,
            ("INVALID_CREDENTIALS", 1),
            "{login}"
        );
    }
});

core_test!(an_admin_lock_holds_for_its_client_only, |t| {
    let admin = t.admin().await;
    let username = t
        .core
        .stores()
        .db
        .query_one(
            "SELECT username FROM admins WHERE id = $1",
            auth_core::params![admin.admin_id().unwrap()],
        )
        .await
        .unwrap()
        .get::<String>("username")
        .unwrap();
    let from = |ip: &str| RequestContext {
        client_ip: Some(ip.parse().unwrap()),
        user_agent: None,
    };
    let attempt = |password: &str| AdminLogin {
        username: username.clone(),
        password: Secret::new(password),
        code: None,
    };
    let credentials = t.core.credentials();
    for _ in 0..5 {
        let err = credentials
            .admin_login(attempt("wrong"), &from("2001:db8:5::1"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidCredentials), "{err:?}");
    }
    let locked = credentials
        .admin_login(attempt("quiet meadow lantern 42"), &from("2001:db8:5::2"))
        .await
        .unwrap_err();
    assert!(matches!(locked, Error::AccountLocked { .. }), "{locked:?}");
    credentials
        .admin_login(attempt("quiet meadow lantern 42"), &from("2001:db8:6::1"))
        .await
        .expect("another network is not locked out");
    t.clock.advance(SignedDuration::from_mins(15));
    credentials
        .admin_login(attempt("quiet meadow lantern 42"), &from("2001:db8:5::1"))
        .await
        .expect("the lock has run out");
});
