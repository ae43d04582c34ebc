//! The QR + PIN login, driven through auth-core with the manual clock.

use std::sync::Arc;

use auth_core::Error;
use auth_core::accounts::User;
use auth_core::credentials::{CredentialKind, LoginRequest, Place, Principal};
use auth_core::login_history::{GroupBy, HistoryQuery};
use auth_core::page::PageRequest;
use auth_core::qr_login::ScanResult;
use auth_core::secret::Secret;
use auth_core::services::Service;
use auth_core::sessions::Subject;
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::TestCore;

async fn service(t: &TestCore, slug: &str) -> Service {
    t.core.services().get(slug).await.unwrap()
}

async fn user(t: &TestCore, id: auth_core::ids::UserId) -> User {
    t.core.accounts().get(&t.reader().await, id).await.unwrap()
}

/// A challenge of ServiceB, scanned by a fresh active user.
async fn scanned(t: &TestCore, username: &str) -> (Service, User, String, ScanResult) {
    let service_b = service(t, "service-b").await;
    let person = user(t, t.active_user(username).await).await;
    let challenge = t
        .core
        .qr_login()
        .generate(&service_b, &TestCore::context(), None)
        .await
        .unwrap();
    let scan = t
        .core
        .qr_login()
        .scan(&person, &challenge.qr_token, &TestCore::context())
        .await
        .unwrap();
    (service_b, person, challenge.qr_token, scan)
}

fn wrong(pin: &str) -> String {
    format!("{:06}", (pin.parse::<u32>().unwrap() + 1) % 1_000_000)
}

core_test!(the_whole_flow_yields_a_session_for_that_service, |t| {
    let (service_b, person, token, scan) = scanned(&t, "ann").await;
    assert_eq!(scan.pin.len(), 6);
    assert_eq!(scan.expires_in, 300);
    assert_eq!(scan.service.slug, "service-b");
    assert_eq!(scan.requested_from.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(scan.requested_from.user_agent.as_deref(), Some("tests"));
    let qr = t.core.qr_login();
    assert_eq!(
        qr.state(&service_b, &token).await.unwrap().status,
        "scanned"
    );
    let login = qr
        .verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
        .await
        .unwrap();
    assert_eq!(login.expires_in, 1800);
    assert_eq!(login.user_info.username, person.username);
    assert_eq!(qr.state(&service_b, &token).await.unwrap().status, "used");

    let principal = t
        .core
        .credentials()
        .authenticate(
            &login.session_token,
            Place::OwnSession,
            &TestCore::context(),
        )
        .await
        .unwrap();
    let Principal::User {
        audience,
        credential,
        ..
    } = principal
    else {
        panic!("a user")
    };
    assert_eq!(
        (audience.as_str(), credential),
        ("service-b", CredentialKind::ServiceSession)
    );
    let claims = t
        .core
        .tokens()
        .verify(
            &login.session_token,
            auth_core::credentials::TokenKind::Session,
            "service-b",
        )
        .await
        .unwrap();
    assert_eq!(
        claims.sid.as_deref(),
        Some(login.session_id.to_string().as_str())
    );
});

core_test!(qr_is_refused_after_two_minutes, |t| {
    let service_b = service(&t, "service-b").await;
    let person = user(&t, t.active_user("ben").await).await;
    let qr = t.core.qr_login();
    let challenge = qr
        .generate(&service_b, &TestCore::context(), None)
        .await
        .unwrap();
    assert_eq!(challenge.expires_in, 120);
    t.clock.advance(SignedDuration::from_secs(119));
    assert_eq!(
        qr.state(&service_b, &challenge.qr_token)
            .await
            .unwrap()
            .status,
        "pending"
    );
    t.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(
        qr.state(&service_b, &challenge.qr_token)
            .await
            .unwrap()
            .status,
        "expired"
    );
    assert!(matches!(
        qr.scan(&person, &challenge.qr_token, &TestCore::context())
            .await,
        Err(Error::QrExpired)
    ));
});

core_test!(pin_is_refused_after_five_minutes, |t| {
    let (service_b, _, token, scan) = scanned(&t, "cat").await;
    t.clock.advance(SignedDuration::from_secs(300));
    let result = t
        .core
        .qr_login()
        .verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
        .await;
    assert!(matches!(result, Err(Error::PinExpired)), "{result:?}");
});

core_test!(session_is_refused_after_thirty_minutes, |t| {
    let (service_b, _, token, scan) = scanned(&t, "dan").await;
    let login = t
        .core
        .qr_login()
        .verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
        .await
        .unwrap();
    let creds = t.core.credentials();
    t.clock.advance(SignedDuration::from_mins(29));
    assert!(
        creds
            .authenticate(
                &login.session_token,
                Place::OwnSession,
                &TestCore::context()
            )
            .await
            .is_ok()
    );
    t.clock.advance(SignedDuration::from_mins(1));
    assert!(
        creds
            .authenticate(
                &login.session_token,
                Place::OwnSession,
                &TestCore::context()
            )
            .await
            .is_err()
    );
    assert!(
        t.core
            .sessions()
            .live(&login.session_id)
            .await
            .unwrap()
            .is_none()
    );
});

core_test!(session_ends_at_closing_time, |t| {
    // Monday 16:50 UTC; the default schedule closes at 17:00.
    t.clock.set("2026-03-02T16:50:00Z".parse().unwrap());
    let (service_b, _, token, scan) = scanned(&t, "eve").await;
    let login = t
        .core
        .qr_login()
        .verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
        .await
        .unwrap();
    assert_eq!(login.expires_in, 600);
    t.clock.set("2026-03-02T17:00:00Z".parse().unwrap());
    assert!(
        t.core
            .credentials()
            .authenticate(
                &login.session_token,
                Place::OwnSession,
                &TestCore::context()
            )
            .await
            .is_err()
    );
    // Closed: no new challenge until Tuesday 09:00.
    let refused = t
        .core
        .qr_login()
        .generate(&service_b, &TestCore::context(), None)
        .await;
    match refused {
        Err(Error::SystemClosed {
            opens_at: Some(at),
            retry_after_secs,
        }) => {
            assert_eq!(at, "2026-03-03T09:00:00Z".parse().unwrap());
            assert_eq!(retry_after_secs, 16 * 3600);
        }
        other => panic!("expected SYSTEM_CLOSED, got {other:?}"),
    }
});

core_test!(a_used_challenge_cannot_be_replayed, |t| {
    let (service_b, _, token, scan) = scanned(&t, "fay").await;
    let qr = t.core.qr_login();
    qr.verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
        .await
        .unwrap();
    assert!(matches!(
        qr.verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
            .await,
        Err(Error::QrAlreadyUsed)
    ));
    let other = user(&t, t.active_user("fay2").await).await;
    assert!(matches!(
        qr.scan(&other, &token, &TestCore::context()).await,
        Err(Error::QrAlreadyScanned)
    ));
});

core_test!(the_sixth_try_meets_a_dead_challenge, |t| {
    let (service_b, _, token, scan) = scanned(&t, "gus").await;
    let qr = t.core.qr_login();
    for left in (1..=4).rev() {
        match qr
            .verify_pin(
                &service_b,
                &token,
                &wrong(&scan.pin),
                &TestCore::context(),
                None,
            )
            .await
        {
            Err(Error::PinInvalid { attempts_left }) => assert_eq!(attempts_left, left),
            other => panic!("expected PIN_INVALID, got {other:?}"),
        }
    }
    assert!(matches!(
        qr.verify_pin(
            &service_b,
            &token,
            &wrong(&scan.pin),
            &TestCore::context(),
            None
        )
        .await,
        Err(Error::QrLocked)
    ));
    // Even the right PIN is refused now.
    assert!(matches!(
        qr.verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
            .await,
        Err(Error::QrLocked)
    ));
});

core_test!(
    wrong_pins_count_against_the_account_across_challenges,
    |t| {
        let (service_b, person, token, scan) = scanned(&t, "hal").await;
        let qr = t.core.qr_login();
        for _ in 0..3 {
            let _ = qr
                .verify_pin(
                    &service_b,
                    &token,
                    &wrong(&scan.pin),
                    &TestCore::context(),
                    None,
                )
                .await;
        }
        // A new challenge does not reset the account's count: two more wrong PINs lock the account.
        let next = qr
            .generate(&service_b, &TestCore::context(), None)
            .await
            .unwrap();
        let scan = qr
            .scan(&person, &next.qr_token, &TestCore::context())
            .await
            .unwrap();
        for _ in 0..2 {
            let _ = qr
                .verify_pin(
                    &service_b,
                    &next.qr_token,
                    &wrong(&scan.pin),
                    &TestCore::context(),
                    None,
                )
                .await;
        }
        let third = qr
            .generate(&service_b, &TestCore::context(), None)
            .await
            .unwrap();
        let scan = qr
            .scan(&person, &third.qr_token, &TestCore::context())
            .await
            .unwrap();
        assert!(matches!(
            qr.verify_pin(
                &service_b,
                &third.qr_token,
                &scan.pin,
                &TestCore::context(),
                None
            )
            .await,
            Err(Error::AccountLocked { .. })
        ));
        t.clock.advance(SignedDuration::from_mins(16));
        let fourth = qr
            .generate(&service_b, &TestCore::context(), None)
            .await
            .unwrap();
        let scan = qr
            .scan(&person, &fourth.qr_token, &TestCore::context())
            .await
            .unwrap();
        assert!(
            qr.verify_pin(
                &service_b,
                &fourth.qr_token,
                &scan.pin,
                &TestCore::context(),
                None
            )
            .await
            .is_ok()
        );
    }
);

core_test!(another_services_key_cannot_use_the_challenge, |t| {
    let (_, _, token, scan) = scanned(&t, "ida").await;
    let app_c = service(&t, "app-c").await;
    let qr = t.core.qr_login();
    assert!(matches!(
        qr.verify_pin(&app_c, &token, &scan.pin, &TestCore::context(), None)
            .await,
        Err(Error::QrNotFound)
    ));
    assert!(matches!(
        qr.state(&app_c, &token).await,
        Err(Error::QrNotFound)
    ));
    // The refusal spent nothing: ServiceB can still complete it.
    let service_b = service(&t, "service-b").await;
    assert!(
        qr.verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
            .await
            .is_ok()
    );
});

core_test!(only_active_people_can_scan, |t| {
    let service_b = service(&t, "service-b").await;
    let admin = t.admin().await;
    let blocked = t.active_user("jon").await;
    t.core
        .accounts()
        .block(&admin, blocked, None, &TestCore::context())
        .await
        .unwrap();
    let blocked = user(&t, blocked).await;
    let qr = t.core.qr_login();
    let challenge = qr
        .generate(&service_b, &TestCore::context(), None)
        .await
        .unwrap();
    assert!(matches!(
        qr.scan(&blocked, &challenge.qr_token, &TestCore::context())
            .await,
        Err(Error::AccountBlocked)
    ));
    let mut pending = user(&t, t.active_user("kim").await).await;
    pending.status = auth_core::accounts::UserStatus::Pending;
    assert!(matches!(
        qr.scan(&pending, &challenge.qr_token, &TestCore::context())
            .await,
        Err(Error::AccountPending)
    ));
    assert_eq!(
        qr.state(&service_b, &challenge.qr_token)
            .await
            .unwrap()
            .status,
        "pending"
    );
});

core_test!(twenty_parallel_right_pins_make_one_session, |t| {
    let (service_b, person, token, scan) = scanned(&t, "lee").await;
    let core = Arc::new(t.core.clone());
    let service_b = Arc::new(service_b);
    let attempts = (0..20).map(|_| {
        let (core, service_b, token, pin) = (
            core.clone(),
            service_b.clone(),
            token.clone(),
            scan.pin.clone(),
        );
        tokio::spawn(async move {
            core.qr_login()
                .verify_pin(&service_b, &token, &pin, &TestCore::context(), None)
                .await
                .is_ok()
        })
    });
    let wins = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);
    let sessions = t
        .core
        .sessions()
        .list(&Subject::User(person.id))
        .await
        .unwrap();
    assert_eq!(
        sessions
            .iter()
            .filter(|s| s.audience == "service-b")
            .count(),
        1
    );
});

core_test!(admin_revocation_takes_effect_at_once, |t| {
    let (service_b, person, token, scan) = scanned(&t, "max").await;
    let login = t
        .core
        .qr_login()
        .verify_pin(&service_b, &token, &scan.pin, &TestCore::context(), None)
        .await
        .unwrap();
    let admin = t.admin().await;
    let listed = t
        .core
        .sessions()
        .list(&Subject::User(person.id))
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|s| s.id == login.session_id && s.method.as_str() == "qr")
    );
    t.core
        .sessions()
        .end_by_admin(&admin, login.session_id, &TestCore::context())
        .await
        .unwrap();
    assert!(
        t.core
            .credentials()
            .authenticate(
                &login.session_token,
                Place::OwnSession,
                &TestCore::context()
            )
            .await
            .is_err()
    );
});

core_test!(login_history_counts_answer_who_used_what, |t| {
    let service_b = service(&t, "service-b").await;
    let app_c = service(&t, "app-c").await;
    let john = user(&t, t.active_user("john").await).await;
    let mary = user(&t, t.active_user("mary").await).await;
    let qr = t.core.qr_login();
    let log_in = |person: User, service: Service| {
        let qr = t.core.qr_login();
        async move {
            let c = qr
                .generate(&service, &TestCore::context(), None)
                .await
                .unwrap();
            let s = qr
                .scan(&person, &c.qr_token, &TestCore::context())
                .await
                .unwrap();
            qr.verify_pin(&service, &c.qr_token, &s.pin, &TestCore::context(), None)
                .await
                .unwrap();
        }
    };
    for _ in 0..3 {
        log_in(john.clone(), service_b.clone()).await;
    }
    log_in(john.clone(), app_c.clone()).await;
    log_in(mary.clone(), service_b.clone()).await;
    let c = qr
        .generate(&service_b, &TestCore::context(), None)
        .await
        .unwrap();
    let s = qr
        .scan(&john, &c.qr_token, &TestCore::context())
        .await
        .unwrap();
    let _ = qr
        .verify_pin(
            &service_b,
            &c.qr_token,
            &wrong(&s.pin),
            &TestCore::context(),
            None,
        )
        .await;
    // A wrong password is in the history too, with why and from where.
    let _ = t
        .core
        .credentials()
        .login(
            LoginRequest {
                login: "john".into(),
                password: Secret::new("not the password"),
            },
            &TestCore::context(),
        )
        .await;

    let history = t.core.login_history();
    let reader = t.reader().await;
    let week = HistoryQuery {
        username: Some("JOHN".into()),
        service: Some("service-b".into()),
        from: Some("2026-03-02T00:00:00Z".parse().unwrap()),
        to: Some("2026-03-09T00:00:00Z".parse().unwrap()),
        ..HistoryQuery::default()
    };
    let summary = history
        .summary(
            &reader,
            &week,
            GroupBy {
                user: true,
                service: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!((summary[0].logins, summary[0].failures), (3, 1));
    assert_eq!(summary[0].username.as_deref(), Some("john"));

    let all = history
        .summary(
            &reader,
            &HistoryQuery {
                service: Some("service-b".into()),
                ..HistoryQuery::default()
            },
            GroupBy {
                user: true,
                service: false,
            },
        )
        .await
        .unwrap();
    let counts: Vec<(Option<String>, i64)> =
        all.iter().map(|r| (r.username.clone(), r.logins)).collect();
    assert_eq!(
        counts,
        vec![(Some("john".into()), 3), (Some("mary".into()), 1)]
    );

    let rows = history
        .list(
            &reader,
            &HistoryQuery {
                user_id: Some(john.id),
                ..HistoryQuery::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    let failed = |reason: &str| {
        rows.items
            .iter()
            .find(|r| r.failure_reason.as_deref() == Some(reason))
            .unwrap_or_else(|| panic!("no {reason} row: {:?}", rows.items))
    };
    let pin = failed("PIN_INVALID");
    assert_eq!((pin.success, pin.method.as_str()), (false, "qr"));
    assert_eq!(pin.service.as_deref(), Some("service-b"));
    let password = failed("INVALID_CREDENTIALS");
    assert_eq!(
        (password.success, password.method.as_str()),
        (false, "password")
    );
    assert_eq!(password.client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(password.user_agent.as_deref(), Some("tests"));
    assert_eq!(
        rows.items
            .iter()
            .filter(|r| r.success && r.method == "qr")
            .count(),
        4
    );
    let last_week = HistoryQuery {
        to: Some("2026-03-01T00:00:00Z".parse().unwrap()),
        ..HistoryQuery::default()
    };
    assert!(
        history
            .list(&reader, &last_week, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
});

core_test!(disabled_services_and_rotated_keys_are_refused, |t| {
    let services = t.core.services();
    let first = services
        .rotate_key(&t.core.host_operator(), "service-b", &TestCore::context())
        .await
        .unwrap();
    assert_eq!(
        services
            .authenticate(&first.api_key, Place::QrService)
            .await
            .unwrap()
            .slug,
        "service-b"
    );
    let second = services
        .rotate_key(&t.core.host_operator(), "service-b", &TestCore::context())
        .await
        .unwrap();
    assert!(matches!(
        services
            .authenticate(&first.api_key, Place::QrService)
            .await,
        Err(Error::Unauthenticated)
    ));
    services
        .set_enabled(
            &t.core.host_operator(),
            "service-b",
            false,
            &TestCore::context(),
        )
        .await
        .unwrap();
    assert!(matches!(
        services
            .authenticate(&second.api_key, Place::QrService)
            .await,
        Err(Error::ServiceKeyDisabled(_))
    ));
    assert!(matches!(
        services
            .authenticate("svc_not-a-real-key", Place::QrService)
            .await,
        Err(Error::Unauthenticated)
    ));
});
