//! The pages the mailed links open: the verification link verifies the address once, and the reset
//! link sets a new password (a weak one is refused on the form, the link still good).

use auth_test_support::Smtp;
use serde_json::json;

use crate::flows::{
    MAIL_WAIT, PASSWORD, admin_token, login, mailed_token, new_person_names, registration,
};
use crate::harness::{Storage, System};

#[tokio::test(flavor = "multi_thread")]
async fn the_mailed_links_verify_and_reset_through_their_pages() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let client = system.client();
    let own_origin = system.url("").trim_end_matches('/').to_string();
    let post_form = |path: &str, form: Vec<(&'static str, String)>| {
        let request = client
            .post(system.url(path))
            .header("origin", &own_origin)
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };

    let (username, email) = new_person_names();
    let (status, body) = system
        .post("/api/register", None, registration(&username, &email))
        .await;
    assert_eq!(status, 201, "{body}");
    let user_id = body["data"]["user_id"].as_str().unwrap().to_string();
    let link = Smtp::shared()
        .wait_for(&email, "Verify your email", MAIL_WAIT)
        .link_containing("/verify-email?token=")
        .unwrap();
    let page = client.get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert!(page.text().await.unwrap().contains(&token));

    let (status, html) = post_form("/verify-email", vec![("token", token.clone())]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Email address verified"), "{html}");
    let (status, html) = post_form("/verify-email", vec![("token", token)]).await;
    assert_eq!(status, 400, "used once: {html}");
    let (_, body) = system
        .get_as(&format!("/api/admin/users/{user_id}"), &admin)
        .await;
    assert_eq!(body["data"]["status"], "pending");
    let (status, _) = system
        .post(
            &format!("/api/admin/approve/{user_id}"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, _) = system
        .post("/api/auth/password/forgot", None, json!({ "email": email }))
        .await;
    assert_eq!(status, 202);
    let link = Smtp::shared()
        .wait_for(&email, "Reset your password", MAIL_WAIT)
        .link_containing("/reset-password?token=")
        .unwrap();
    let token = link.split("token=").nth(1).unwrap().to_string();
    let (status, html) = post_form(
        "/reset-password",
        vec![("token", token.clone()), ("new_password", "short".into())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("The new password"), "{html}");
    let new_password = "amber kettle drifts slowly";
    let (status, html) = post_form(
        "/reset-password",
        vec![("token", token), ("new_password", new_password.into())],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Password changed"), "{html}");
    assert_eq!(login(&system, &username, new_password).await.0, 200);
    assert_eq!(login(&system, &username, PASSWORD).await.0, 401);
}

/// The mail helper reads the newest of several mails with one subject: after a resend, the token
/// it finds is the new one, the one that works.
#[tokio::test(flavor = "multi_thread")]
async fn of_two_verification_mails_the_helper_reads_the_newest() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (username, email) = new_person_names();
    let (status, body) = system
        .post("/api/register", None, registration(&username, &email))
        .await;
    assert_eq!(status, 201, "{body}");
    let first = mailed_token(&email, "Verify your email");
    let (status, _) = system
        .post(
            "/api/auth/resend-verification",
            None,
            json!({ "email": email }),
        )
        .await;
    assert_eq!(status, 202);
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    while Smtp::shared()
        .messages_to(&email)
        .iter()
        .filter(|mail| mail.subject.contains("Verify your email"))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no second verification mail"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let newest = mailed_token(&email, "Verify your email");
    assert_ne!(newest, first, "the helper read the older mail");
    let (status, body) = system
        .post("/api/auth/verify-email", None, json!({ "token": newest }))
        .await;
    assert_eq!(status, 200, "{body}");
}
