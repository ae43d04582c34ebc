//! Every kind of credential against every class of route, through the real gateway: each works
//! only where the credential table says, and a refusal changes nothing.

use std::collections::BTreeSet;

use serde_json::json;

use crate::flows::{active_person, admin_token, qr_challenge, qr_session, service_key, tokens};
use crate::handoff::code_for_service_b;
use crate::harness::{Storage, System};

/// The classes of route a credential may be presented at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    /// Changing one's account: minting a personal access token.
    AccountApi,
    /// Reading one's account.
    AccountRead,
    AdminApi,
    /// The phone's scan through the API.
    ScanApi,
    /// The phone's scan through its page, with the credential in the access cookie.
    ScanPage,
    ServiceB,
    AppC,
    SessionCheck,
    /// The account pages, with the credential in the access cookie.
    AccountPage,
    /// One's own login history.
    OwnLogins,
}

const ROUTES: [Route; 10] = [
    Route::AccountApi,
    Route::AccountRead,
    Route::AdminApi,
    Route::ScanApi,
    Route::ScanPage,
    Route::ServiceB,
    Route::AppC,
    Route::SessionCheck,
    Route::AccountPage,
    Route::OwnLogins,
];

/// The status of presenting `credential` at `route`.
async fn present(system: &System, key: &str, credential: &str, route: Route) -> u16 {
    let client = system.client();
    let request = match route {
        Route::AccountApi => client
            .post(system.url("/api/users/me/tokens"))
            .bearer_auth(credential)
            .json(&json!({ "name": "minted", "expires_in_days": 365, "services": ["app-c"] })),
        Route::AccountRead => client
            .get(system.url("/api/users/me"))
            .bearer_auth(credential),
        Route::AdminApi => client
            .get(system.url("/api/admin/users"))
            .bearer_auth(credential),
        Route::ScanApi => client
            .post(system.url("/api/auth/qr/scan"))
            .bearer_auth(credential)
            .json(&json!({ "qr_token": qr_challenge(system, key).await })),
        Route::ScanPage => client
            .post(system.url("/m/scan"))
            .header("cookie", format!("auth_access={credential}"))
            .header("origin", system.url("").trim_end_matches('/'))
            .form(&[("t", qr_challenge(system, key).await)]),
        Route::ServiceB => client
            .get(system.host_url("service-b.localhost", "/"))
            .bearer_auth(credential),
        Route::AppC => client
            .get(system.host_url("app-c.localhost", "/"))
            .bearer_auth(credential),
        Route::SessionCheck => client
            .get(system.url("/api/auth/session"))
            .bearer_auth(credential),
        Route::AccountPage => client
            .get(system.url("/account/tokens"))
            .header("cookie", format!("auth_access={credential}")),
        Route::OwnLogins => client
            .get(system.url("/api/users/me/logins"))
            .bearer_auth(credential),
    };
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_credential_works_only_where_it_belongs() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;

    let service_session = qr_session(&system, &admin, &person, "service-b").await;
    let login = tokens(&system, &person).await;
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let (_, made) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "b only", "expires_in_days": 7, "services": ["service-b"] }),
        )
        .await;
    let pat = made["data"]["token"].as_str().unwrap().to_string();
    let (_, made) = system
        .post(
            "/api/admin/tokens",
            Some(&admin),
            json!({ "name": "ci", "expires_in_days": 7 }),
        )
        .await;
    let admin_pat = made["data"]["token"].as_str().unwrap().to_string();
    let handoff = code_for_service_b(&system, &person).await;
    let key = service_key(&system, &admin, "service-b").await;

    use Route::*;
    let table: [(&str, &str, &[Route]); 8] = [
        (
            "service session",
            &service_session,
            &[ServiceB, SessionCheck],
        ),
        (
            "access token",
            &access,
            &[
                AccountApi,
                AccountRead,
                ScanApi,
                ScanPage,
                SessionCheck,
                AccountPage,
                OwnLogins,
            ],
        ),
        ("refresh token", &refresh, &[]),
        ("personal access token", &pat, &[AccountRead, ServiceB]),
        ("admin token", &admin, &[AdminApi]),
        ("admin's personal access token", &admin_pat, &[AdminApi]),
        ("service API key", &key, &[]),
        ("hand-off code", &handoff, &[]),
    ];
    let mut wrong = Vec::new();
    for (name, credential, accepted) in table {
        let accepted: BTreeSet<Route> = accepted.iter().copied().collect();
        for route in ROUTES {
            let status = present(&system, &key, credential, route).await;
            let worked = (200..300).contains(&status);
            if worked != accepted.contains(&route) {
                wrong.push(format!("{name} at {route:?}: {status}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Of all the attempts to mint a token, only the access token's made one.
    let (_, listed) = system.get_as("/api/users/me/tokens", &access).await;
    assert_eq!(listed["data"]["total"], 2, "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_credential_says_what_it_is() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let (status, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&session),
            json!({ "name": "x", "expires_in_days": 1, "services": ["service-b"] }),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    assert_eq!(body["error"]["details"]["credential"], "service_session");
}
