//! An admin correcting a person's name and email address from the console: the change applies at
//! once and both addresses are told by mail (at the SMTP test server); a bad or taken address is
//! refused and changes nothing, the name typed beside it included; support cannot. The admin API
//! (`PUT /api/admin/users/{id}`) does the same.

use auth_test_support::Smtp;

use crate::console::{signed_in, start};
use crate::flows::{MAIL_WAIT, active_person, admin_token, new_person_names};

const SUBJECT: &str = "Your account's email address was changed";

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_corrects_a_name_and_address_and_both_addresses_are_told() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (api, _) = admin_token(&system, "admin").await;
    let ann = active_person(&system, &api).await;
    let bob = active_person(&system, &api).await;
    let page = format!("/admin/users/{}", ann.user_id);
    let edit = format!("/admin/users/{}/edit", ann.user_id);
    let csrf = admin.csrf(&page).await;
    let stored = |field: &'static str| {
        let system = &system;
        let api = &api;
        let id = ann.user_id.clone();
        async move {
            let (status, body) = system.get_as(&format!("/api/admin/users/{id}"), api).await;
            assert_eq!(status, 200, "{body}");
            body["data"][field].as_str().unwrap().to_string()
        }
    };

    // A taken address is refused, and the new name sent with it is not kept either.
    let (status, _, refusal) = admin
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("full_name", "Ann Corrected"),
                ("email", &bob.email),
            ],
        )
        .await;
    assert_eq!(status, 409, "{refusal}");
    assert_eq!(stored("full_name").await, "Test Person");
    assert_eq!(stored("email").await, ann.email);
    let (status, _, refusal) = admin
        .post(
            &edit,
            &[("csrf", &csrf), ("full_name", "Ann"), ("email", "nowhere")],
        )
        .await;
    assert_eq!(status, 422, "{refusal}");
    assert!(refusal.contains("email:"), "{refusal}");

    // Support sees the profile and no form; its forged post is refused.
    let (support, _) = signed_in(&system, &clock, "support").await;
    let (_, _, seen) = support.get(&page).await;
    assert!(!seen.contains("/edit\""), "{seen}");
    let support_csrf = support.csrf(&page).await;
    let (status, _, _) = support
        .post(
            &edit,
            &[
                ("csrf", &support_csrf),
                ("full_name", "Forged"),
                ("email", &ann.email),
            ],
        )
        .await;
    assert_eq!(status, 403);

    let (_, new_email) = new_person_names();
    let (status, location, _) = admin
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("full_name", "Ann Corrected"),
                ("email", &new_email),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, Some(format!("{page}?done=profile-saved")));
    assert_eq!(stored("full_name").await, "Ann Corrected");
    assert_eq!(stored("email").await, new_email);
    for to in [&ann.email, &new_email] {
        let mail = Smtp::shared().wait_for(to, SUBJECT, MAIL_WAIT);
        assert!(mail.body.contains(&new_email), "{}", mail.body);
    }
    let (_, _, shown) = admin.get(&format!("{page}?done=profile-saved")).await;
    assert!(shown.contains("<h1>Ann Corrected</h1>"), "{shown}");
    assert!(shown.contains("Saved."), "{shown}");

    let (status, body) = system
        .get_as(
            &format!(
                "/api/admin/audit?action=user.email_changed&target_id={}",
                ann.user_id
            ),
            &api,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["items"][0]["details"]["by_admin"], true,
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_corrects_a_person_as_the_console_does() {
    let (system, _) = start();
    let (api, _) = admin_token(&system, "admin").await;
    let (support, _) = admin_token(&system, "support").await;
    let ann = active_person(&system, &api).await;
    let bob = active_person(&system, &api).await;
    let path = format!("/api/admin/users/{}", ann.user_id);
    let put = |token: &str, body: serde_json::Value| {
        let (system, path, token) = (&system, path.clone(), token.to_string());
        async move {
            system
                .call(reqwest::Method::PUT, &path, Some(&token), Some(body))
                .await
        }
    };
    let (status, _) = put(&support, serde_json::json!({ "full_name": "Forged" })).await;
    assert_eq!(status, 403);
    let (status, body) = put(&api, serde_json::json!({ "email": bob.email })).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "DUPLICATE_EMAIL");
    let (status, body) = put(&api, serde_json::json!({ "nickname": "x" })).await;
    assert_eq!(status, 422, "{body}");

    let (_, new_email) = new_person_names();
    let (status, body) = put(
        &api,
        serde_json::json!({ "full_name": "Ann Api", "email": new_email }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["full_name"], "Ann Api");
    assert_eq!(body["data"]["email"], new_email.as_str());
    for to in [&ann.email, &new_email] {
        Smtp::shared().wait_for(to, SUBJECT, MAIL_WAIT);
    }
    // A field left out is kept.
    let (status, body) = put(&api, serde_json::json!({ "full_name": "Ann" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], new_email.as_str());
}
