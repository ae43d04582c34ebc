//! The forms of the pages for people without a browser: bad input answers with a page naming the
//! problem and changes nothing; forms posted from another site are refused; a taken address is
//! not told apart from a new one. Also the person's own login history in the API, and the admins'
//! summary counting every way into a service.

use auth_test_support::Smtp;
use serde_json::{Value, json};

use crate::flows::{
    MAIL_WAIT, PASSWORD, Person, active_person, admin_token, login, new_person_names, qr_session,
    registration, tokens,
};
use crate::harness::{Storage, System};

/// A form post from the gateway's own pages, with `cookie` when given; status, body, and the
/// cookies it set.
async fn post_form(
    system: &System,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, String, Vec<String>) {
    let own = system.url("").trim_end_matches('/').to_string();
    let mut request = system
        .client()
        .post(system.url(path))
        .header("origin", origin.unwrap_or(&own))
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let set: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (status, response.text().await.unwrap(), set)
}

/// Signs `person` in on the account page; the `Cookie` header the browser would then send.
async fn account_cookie(system: &System, person: &Person) -> String {
    let (status, html, set) = post_form(
        system,
        "/account/sign-in",
        None,
        None,
        &[("login", &person.username), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 303, "{html}");
    set.iter()
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn get_page(system: &System, path: &str, cookie: &str) -> (u16, String) {
    let response = system
        .client()
        .get(system.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registration_and_recovery_forms_name_bad_input_and_write_nothing() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let (username, email) = new_person_names();

    let (status, html, _) = post_form(
        &system,
        "/register",
        None,
        None,
        &[
            ("email", "not-an-address"),
            ("username", "x"),
            ("full_name", "Bad Input"),
            ("password", "password1234"),
            ("password_confirmation", "something else"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    for said in [
        "is not a valid email address",
        "href=\"#username\"",
        "too easy to guess",
        "does not match the password",
        "Strength of the password you typed",
    ] {
        assert!(html.contains(said), "{said}: {html}");
    }
    // A form without its fields is refused as incomplete.
    let (status, html, _) = post_form(&system, "/register", None, None, &[("email", &email)]).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("incomplete"), "{html}");
    // A good registration then goes through with the same names: nothing was written before.
    let good = [
        ("email", email.as_str()),
        ("username", username.as_str()),
        ("full_name", "Good Input"),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ];
    let (status, fresh, _) = post_form(&system, "/register", None, None, &good).await;
    assert_eq!(status, 200, "{fresh}");
    assert!(fresh.contains("Check your mail"), "{fresh}");
    let (_, users) = system
        .get_as(&format!("/api/admin/users?q={username}"), &admin)
        .await;
    assert_eq!(users["data"]["total"], 1, "{users}");

    // A taken address gets the page a new one gets: the form tells nobody it has an account.
    let (other_name, other_email) = new_person_names();
    let (status, taken, _) = post_form(
        &system,
        "/register",
        None,
        None,
        &[
            ("email", email.as_str()),
            ("username", other_name.as_str()),
            ("full_name", "Good Input"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    let (_, new_one, _) = post_form(
        &system,
        "/register",
        None,
        None,
        &[
            ("email", other_email.as_str()),
            ("username", other_name.as_str()),
            ("full_name", "Good Input"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        taken.replace(&email, "ADDRESS"),
        new_one.replace(&other_email, "ADDRESS")
    );

    // A taken username is named, and nothing is created.
    let (_, third_email) = new_person_names();
    let (status, html, _) = post_form(
        &system,
        "/register",
        None,
        None,
        &[
            ("email", third_email.as_str()),
            ("username", username.as_str()),
            ("full_name", "Good Input"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("is taken"), "{html}");
    let (status, body) = system
        .post(
            "/api/register",
            None,
            registration(&new_person_names().0, &third_email),
        )
        .await;
    assert_eq!(status, 201, "the address was not used: {body}");

    // Forgot password: a malformed address is named; known and unknown ones answer alike.
    let (status, html, _) = post_form(
        &system,
        "/forgot-password",
        None,
        None,
        &[("email", "nope")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("The email address is not a valid email address"),
        "{html}"
    );
    let (status, known, _) = post_form(
        &system,
        "/forgot-password",
        None,
        None,
        &[("email", &email)],
    )
    .await;
    assert_eq!(status, 200);
    let (status, unknown, _) = post_form(
        &system,
        "/forgot-password",
        None,
        None,
        &[("email", "nobody-here@example.com")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(known, unknown);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_forms_name_bad_input_and_change_nothing() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let other = active_person(&system, &admin).await;
    let cookie = account_cookie(&system, &person).await;
    let (status, html) = get_page(&system, "/account", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains(&person.email), "{html}");

    // A bad query string answers a page naming the parameter, not the API's JSON envelope.
    for (path, field) in [
        ("/account/logins?page=two", "`page`"),
        ("/account/logins?colour=red", "`colour`"),
        ("/verify-email", "`token`"),
    ] {
        let response = system
            .client()
            .get(system.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let html = response.text().await.unwrap();
        assert!(html.contains("This address is not right"), "{path}: {html}");
        assert!(html.contains(field), "{path} names {field}: {html}");
    }

    // Without a sign-in the forms answer with the sign-in form.
    let (status, html, _) = post_form(
        &system,
        "/account/profile",
        None,
        None,
        &[("full_name", "Nobody"), ("username", "nobody")],
    )
    .await;
    assert_eq!(status, 401);
    assert!(html.contains("Sign in to your account"), "{html}");
    // A service session in the cookie is no sign-in here.
    let service_session = qr_session(&system, &admin, &person, "service-b").await;
    let (status, _) = get_page(
        &system,
        "/account/tokens",
        &format!("auth_access={service_session}"),
    )
    .await;
    assert_eq!(status, 401);

    let (status, html, _) = post_form(
        &system,
        "/account/password",
        Some(&cookie),
        None,
        &[
            ("current_password", "wrong wrong wrong"),
            ("new_password", "amber kettle drifts slowly"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("The current password is not the current password"),
        "{html}"
    );
    let (status, html, _) = post_form(
        &system,
        "/account/password",
        Some(&cookie),
        None,
        &[("current_password", PASSWORD), ("new_password", "short")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("The new password must be at least"), "{html}");
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 200);

    let (status, html, _) = post_form(
        &system,
        "/account/profile",
        Some(&cookie),
        None,
        &[("full_name", "Still Me"), ("username", "x")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("The username"), "{html}");
    let (status, html, _) = post_form(
        &system,
        "/account/profile",
        Some(&cookie),
        None,
        &[("full_name", "Still Me"), ("username", &other.username)],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, me) = system.get_as("/api/users/me", &access).await;
    assert_eq!(me["data"]["username"], person.username.as_str());
    assert_eq!(me["data"]["full_name"], "Test Person");

    for form in [
        vec![("name", "no services"), ("expires_in_days", "30")],
        vec![
            ("name", "bad days"),
            ("expires_in_days", "soon"),
            ("services", "service-b"),
        ],
        vec![
            ("name", "too long"),
            ("expires_in_days", "100000"),
            ("services", "service-b"),
        ],
        vec![
            ("name", "unknown"),
            ("expires_in_days", "30"),
            ("services", "no-such-service"),
        ],
    ] {
        let (status, html, _) =
            post_form(&system, "/account/tokens", Some(&cookie), None, &form).await;
        assert_eq!(status, 422, "{form:?}: {html}");
        assert!(html.contains("The token was not created"), "{html}");
    }
    let (_, listed) = system.get_as("/api/users/me/tokens", &access).await;
    assert_eq!(listed["data"]["total"], 0, "{listed}");
    let (status, _, _) = post_form(
        &system,
        "/account/tokens/revoke",
        Some(&cookie),
        None,
        &[("id", "00000000-0000-0000-0000-000000000000")],
    )
    .await;
    assert_eq!(status, 404);

    // Another person's session cannot be ended from here, nor a made-up one.
    let others = qr_session(&system, &admin, &other, "service-b").await;
    let (_, session) = system.get_as("/api/auth/session", &others).await;
    let others_id = session["data"]["session"]["id"]
        .as_str()
        .expect("the other person's session id")
        .to_string();
    for id in [others_id.as_str(), "not-a-session"] {
        let (status, html, _) = post_form(
            &system,
            "/account/sessions/end",
            Some(&cookie),
            None,
            &[("id", id)],
        )
        .await;
        assert_eq!(status, 404, "{id}: {html}");
        assert!(html.contains("no such session of yours"), "{html}");
    }
    assert_eq!(system.get_as("/api/auth/session", &others).await.0, 200);

    let (status, html, _) = post_form(
        &system,
        "/account/delete",
        Some(&cookie),
        None,
        &[("password", "not my password")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("The account was not deleted"), "{html}");
    let (_, user) = system
        .get_as(&format!("/api/admin/users/{}", person.user_id), &admin)
        .await;
    assert_eq!(user["data"]["status"], "active");
    // With the password it is deleted, softly.
    let (status, html, _) = post_form(
        &system,
        "/account/delete",
        Some(&cookie),
        None,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let (_, user) = system
        .get_as(&format!("/api/admin/users/{}", person.user_id), &admin)
        .await;
    assert_eq!(user["data"]["status"], "deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_people_forms_refuse_posts_from_another_site() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let cookie = account_cookie(&system, &person).await;
    let new_password = "amber kettle drifts slowly";
    let forms: [(&str, Vec<(&str, &str)>); 12] = [
        (
            "/register",
            vec![
                ("email", "evil@example.com"),
                ("username", "evil-one"),
                ("full_name", "Evil"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        ),
        ("/forgot-password", vec![("email", person.email.as_str())]),
        (
            "/account/sign-in",
            vec![("login", person.username.as_str()), ("password", PASSWORD)],
        ),
        ("/account/sign-out", vec![]),
        (
            "/account/profile",
            vec![("full_name", "Evil"), ("username", "evil-name")],
        ),
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", new_password),
            ],
        ),
        ("/account/delete", vec![("password", PASSWORD)]),
        (
            "/account/email",
            vec![("new_email", "evil@example.com"), ("password", PASSWORD)],
        ),
        ("/account/sessions/end", vec![("id", "x")]),
        ("/account/sign-out-everywhere", vec![]),
        (
            "/account/tokens",
            vec![
                ("name", "evil"),
                ("expires_in_days", "30"),
                ("services", "service-b"),
            ],
        ),
        ("/account/tokens/revoke", vec![("id", "x")]),
    ];
    for (path, form) in &forms {
        let (status, html, set) = post_form(
            &system,
            path,
            Some(&cookie),
            Some("https://evil.example"),
            form,
        )
        .await;
        assert_eq!(status, 403, "{path}: {html}");
        assert!(html.contains("another site"), "{path}");
        assert!(set.is_empty(), "{path}: {set:?}");
    }
    // Nothing happened: the password, the profile, the account, the sign-in and the tokens stand.
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 200);
    let (status, html) = get_page(&system, "/account", &cookie).await;
    assert_eq!(status, 200, "still signed in");
    assert!(html.contains(&person.username) && !html.contains("evil-name"));
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, listed) = system.get_as("/api/users/me/tokens", &access).await;
    assert_eq!(listed["data"]["total"], 0);
    let (_, users) = system.get_as("/api/admin/users?q=evil-one", &admin).await;
    assert_eq!(users["data"]["total"], 0, "{users}");
}

/// Rows of a login-history page.
fn items(body: &Value) -> Vec<Value> {
    body["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_reads_only_their_own_logins_and_the_summary_counts_every_way_in() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let john = active_person(&system, &admin).await;
    let other = active_person(&system, &admin).await;
    // A window around the test (the gateway's clock may be moved by other tests' steps).
    let from = "2000-01-01T00:00:00Z";
    let to = "2100-01-01T00:00:00Z";

    // John: a password login, a QR + PIN login at ServiceB, and a personal access token used there.
    let access = tokens(&system, &john).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    qr_session(&system, &admin, &john, "service-b").await;
    let (status, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "report", "expires_in_days": 1, "services": ["service-b"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let pat = body["data"]["token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let seen = system
            .client()
            .get(system.host_url("service-b.localhost", "/reports"))
            .bearer_auth(&pat)
            .send()
            .await
            .unwrap();
        assert_eq!(seen.status().as_u16(), 200);
    }
    tokens(&system, &other).await;
    assert_eq!(
        login(&system, &john.username, "wrong password here")
            .await
            .0,
        401
    );

    let (status, mine) = system.get_as("/api/users/me/logins", &access).await;
    assert_eq!(status, 200, "{mine}");
    let rows = items(&mine);
    assert!(
        rows.iter().all(|r| r["user_id"] == john.user_id.as_str()),
        "{mine}"
    );
    let methods: Vec<&str> = rows
        .iter()
        .filter(|r| r["success"] == true)
        .filter_map(|r| r["method"].as_str())
        .collect();
    assert!(
        methods.contains(&"password") && methods.contains(&"qr") && methods.contains(&"pat"),
        "{methods:?}"
    );
    assert_eq!(
        methods.iter().filter(|m| **m == "pat").count(),
        1,
        "once per session"
    );
    assert!(
        rows.iter().any(|r| r["success"] == false),
        "failed attempts too"
    );
    // Paged like the other lists.
    let (status, page) = system
        .get_as("/api/users/me/logins?page=2&per_page=1", &access)
        .await;
    assert_eq!(status, 200);
    assert_eq!(items(&page).len(), 1);
    assert_eq!(page["data"]["total"], mine["data"]["total"]);
    for bad in ["?page=0", "?per_page=500", "?user_id=x"] {
        let (status, _) = system
            .get_as(&format!("/api/users/me/logins{bad}"), &access)
            .await;
        assert_eq!(status, 422, "{bad}");
    }
    // Only a password sign-in's token reads it: not a token for scripts, not an admin's.
    assert_eq!(system.get_as("/api/users/me/logins", &pat).await.0, 403);
    assert_eq!(system.get_as("/api/users/me/logins", &admin).await.0, 403);

    // "How many times did John use ServiceB": the QR login and the token's visit, both counted.
    let (status, summary) = system
        .get_as(
            &format!("/api/admin/login-history/summary?group_by=user,service&from={from}&to={to}"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{summary}");
    let row = summary["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == john.user_id.as_str() && r["service"] == "service-b")
        .cloned()
        .unwrap_or_else(|| panic!("no row for John at ServiceB: {summary}"));
    assert_eq!(row["logins"], 2, "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_email_address_moves_only_when_the_link_to_the_new_one_is_opened() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let cookie = account_cookie(&system, &person).await;
    let (_, new_email) = new_person_names();

    for (form, said) in [
        (
            vec![
                ("new_email", new_email.as_str()),
                ("password", "not my password"),
            ],
            "The password is not the current password",
        ),
        (
            vec![("new_email", "nope"), ("password", PASSWORD)],
            "is not a valid email address",
        ),
        (
            vec![("new_email", person.email.as_str()), ("password", PASSWORD)],
            "is already the address of your account",
        ),
    ] {
        let (status, html, _) =
            post_form(&system, "/account/email", Some(&cookie), None, &form).await;
        assert_eq!(status, 422, "{html}");
        assert!(html.contains("The address was not changed"), "{html}");
        assert!(html.contains(said), "{said}: {html}");
    }
    assert!(Smtp::shared().messages_to(&new_email).is_empty());

    let (status, html, _) = post_form(
        &system,
        "/account/email",
        Some(&cookie),
        None,
        &[("new_email", &new_email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 303, "{html}");
    Smtp::shared().wait_for(&person.email, "email address is being changed", MAIL_WAIT);
    let link = Smtp::shared()
        .wait_for(&new_email, "Confirm your new email address", MAIL_WAIT)
        .link_containing("/account/email/confirm?token=")
        .expect("a confirmation link");
    // Until the link is used the account keeps its address.
    assert_eq!(login(&system, &person.email, PASSWORD).await.0, 200);
    let page = system.client().get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let token = link.split("token=").nth(1).unwrap().to_string();
    let (status, html, _) = post_form(
        &system,
        "/account/email/confirm",
        None,
        None,
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&new_email), "{html}");
    assert_eq!(login(&system, &new_email, PASSWORD).await.0, 200);
    assert_eq!(login(&system, &person.email, PASSWORD).await.0, 401);
    let (status, _, _) = post_form(
        &system,
        "/account/email/confirm",
        None,
        None,
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, 400, "the link works once");
}
