//! Blocking a person ends what they already hold, not only their next login: the access token at
//! the account API, the refresh token, the service session at ServiceB through the gateway and a
//! personal access token as bearer at ServiceB, each refused where it worked a moment before,
//! while another person's credentials go on working. On the embedded store and on PostgreSQL with
//! Redis.

use serde_json::{Value, json};

use crate::flows::{Person, active_person, admin_token, qr_session, tokens};
use crate::harness::{Storage, System, json as read};

/// Everything one person holds.
struct Held {
    access: String,
    refresh: String,
    session: String,
    pat: String,
}

async fn hold(system: &System, admin: &str, person: &Person) -> Held {
    let login = tokens(system, person).await;
    let access = login["access_token"].as_str().unwrap().to_string();
    let (status, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "script", "expires_in_days": 7, "services": ["service-b"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    Held {
        refresh: login["refresh_token"].as_str().unwrap().to_string(),
        pat: body["data"]["token"].as_str().unwrap().to_string(),
        session: qr_session(system, admin, person, "service-b").await,
        access,
    }
}

async fn at_service_b(system: &System, bearer: &str) -> (u16, Value) {
    read(
        system
            .client()
            .get(system.host_url("service-b.localhost", "/orders"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn refresh(system: &System, token: &str) -> (u16, Value) {
    system
        .post("/api/auth/refresh", None, json!({ "refresh_token": token }))
        .await
}

/// Each credential where it works: the status of each, and (for the refresh) the new pair.
async fn use_all(system: &System, held: &mut Held) -> [(u16, Value); 4] {
    let me = system.get_as("/api/users/me", &held.access).await;
    let refreshed = refresh(system, &held.refresh).await;
    if refreshed.0 == 200 {
        // Rotation: the old refresh token is spent, the new one is what the person holds.
        held.refresh = refreshed.1["data"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let session = at_service_b(system, &held.session).await;
    let pat = at_service_b(system, &held.pat).await;
    [me, refreshed, session, pat]
}

const KINDS: [&str; 4] = [
    "access token at the account API",
    "refresh token",
    "service session at ServiceB",
    "personal access token at ServiceB",
];

async fn blocking_ends_every_credential(storage: Storage<'_>) {
    let system = System::start_with_mail(storage, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let ann = active_person(&system, &admin).await;
    let bob = active_person(&system, &admin).await;
    let mut anns = hold(&system, &admin, &ann).await;
    let mut bobs = hold(&system, &admin, &bob).await;
    for (kind, (status, body)) in KINDS.iter().zip(use_all(&system, &mut anns).await) {
        assert_eq!(status, 200, "before the block, {kind}: {body}");
    }

    let (status, body) = system
        .post(
            &format!("/api/admin/users/{}/block", ann.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    for (kind, (status, body)) in KINDS.iter().zip(use_all(&system, &mut anns).await) {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("INVALID_TOKEN")),
            "after the block, {kind}: {body}"
        );
    }
    // The account API refuses the personal access token too (today as ACCOUNT_BLOCKED), and the
    // gateway's own session check the session.
    let (status, body) = system.get_as("/api/users/me", &anns.pat).await;
    assert!(matches!(status, 401 | 403), "{status} {body}");
    let (status, body) = system.get_as("/api/auth/session", &anns.session).await;
    assert!(matches!(status, 401 | 403), "{status} {body}");
    // Someone else's credentials are untouched.
    for (kind, (status, body)) in KINDS.iter().zip(use_all(&system, &mut bobs).await) {
        assert_eq!(status, 200, "another person's {kind}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_ends_every_credential_already_held_on_the_embedded_store() {
    blocking_ends_every_credential(Storage::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_ends_every_credential_already_held_on_postgres_and_redis() {
    blocking_ends_every_credential(Storage::shared_servers()).await;
}
