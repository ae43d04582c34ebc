//! The admin console over plain HTTP, as a browser without JavaScript sends it: the sign-in with a
//! password and a TOTP code (computed here from the key the enrolment page shows, on the
//! gateway's test clock), codes that work once and count towards the lockout, recovery codes, the
//! session's idle and absolute ends, CSRF and origin checks, the support role's read-only view,
//! two admins deciding one account, and the console cookie refused everywhere else.

use auth_test_support::{Smtp, run_gateway_command};
use jiff::Timestamp;
use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::expiry::{TestClock, on_test_clock};
use crate::flows::{
    ADMIN_PASSWORD, MAIL_WAIT, active_person, admin_token, create_admin, generate_status,
    pending_person, qr_session, status_at,
};
use crate::harness::{Storage, System};

/// A gateway on a test clock, mail to the shared SMTP server.
pub fn start() -> (System, TestClock) {
    let toml = format!(
        "[mail]\nsmtp_url = \"smtp://127.0.0.1:{}\"\n",
        Smtp::shared().port()
    );
    let (system, clock) = on_test_clock(Storage::Embedded, &toml);
    (system, clock)
}

/// An authenticator app: the key the enrolment page showed.
#[derive(Clone)]
pub struct Authenticator(Vec<u8>);

impl Authenticator {
    pub fn from_base32(text: &str) -> Authenticator {
        Authenticator(Secret::Encoded(text.to_string()).to_bytes().unwrap())
    }

    /// The code the app shows at `at`.
    pub fn code_at(&self, at: Timestamp) -> String {
        TOTP::new(Algorithm::SHA1, 6, 1, 30, self.0.clone())
            .unwrap()
            .generate(at.as_second() as u64)
    }
}

/// The text between `start` and the next `end` in `html`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let to = html[from..].find(end)? + from;
    Some(&html[from..to])
}

/// One browser at the console, as plain HTTP: its own cookies, no redirects followed.
pub struct Admin {
    pub username: String,
    http: reqwest::Client,
    base: String,
}

impl Admin {
    pub fn new(system: &System, username: &str) -> Admin {
        Admin {
            username: username.to_string(),
            http: reqwest::Client::builder()
                .no_proxy()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: system.url(""),
        }
    }

    /// GET `path`: status, the `Location` of a redirect, the body.
    pub async fn get(&self, path: &str) -> (u16, Option<String>, String) {
        read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POSTs a form to `path` from the gateway's own pages.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
        self.post_from(path, fields, &self.base).await
    }

    /// POSTs a form to `path` as if from a page of `origin`.
    pub async fn post_from(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: &str,
    ) -> (u16, Option<String>, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", origin.trim_end_matches('/'))
            .form(fields)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// The password step; the code page's HTML.
    pub async fn password(&self) -> String {
        let (status, location, body) = self
            .post(
                "/admin/login",
                &[("username", &self.username), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(location.as_deref(), Some("/admin/login/code"));
        let (status, _, page) = self.get("/admin/login/code").await;
        assert_eq!(status, 200, "{page}");
        page
    }

    /// A first sign-in: enrols, and returns the app and the recovery codes.
    pub async fn enrol(&self, clock: &TestClock) -> (Authenticator, Vec<String>) {
        let page = self.password().await;
        let key = between(&page, "id=\"totp-secret\">", "</code>").expect("the enrolment key");
        let app = Authenticator::from_base32(key);
        let (status, _, page) = self
            .post(
                "/admin/login/code",
                &[("code", &app.code_at(clock.now().await))],
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let list = between(&page, "id=\"recovery-codes\">", "</ul>").expect("recovery codes");
        let codes = list
            .split("<code>")
            .skip(1)
            .filter_map(|part| part.split("</code>").next())
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert_eq!(codes.len(), 10, "{page}");
        (app, codes)
    }

    /// A later sign-in with `code`; the status of the code step.
    pub async fn sign_in_with(&self, code: &str) -> (u16, Option<String>, String) {
        let page = self.password().await;
        assert!(
            !page.contains("totp-secret"),
            "enrolled once already: {page}"
        );
        self.post("/admin/login/code", &[("code", code)]).await
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let (status, _, page) = self.get(path).await;
        assert_eq!(status, 200, "{page}");
        between(&page, "name=\"csrf\" value=\"", "\"")
            .expect("a form token")
            .to_string()
    }
}

async fn read(response: reqwest::Response) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, location, response.text().await.unwrap())
}

/// A new admin of `role`, signed in to the console (enrolled on the way).
pub async fn signed_in(system: &System, clock: &TestClock, role: &str) -> (Admin, Authenticator) {
    let (username, _) = create_admin(system, role);
    let admin = Admin::new(system, &username);
    let (app, _) = admin.enrol(clock).await;
    let (status, _, page) = admin.get("/admin").await;
    assert_eq!(status, 200, "{page}");
    (admin, app)
}

async fn user_status(system: &System, admin_api: &str, id: &str) -> String {
    let (status, body) = system
        .get_as(&format!("/api/admin/users/{id}"), admin_api)
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["status"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn enrolment_then_codes_that_work_once_and_recovery_codes_that_work_once() {
    let (system, clock) = start();
    let (username, _) = create_admin(&system, "admin");
    let admin = Admin::new(&system, &username);

    // Before signing in, the console is the sign-in page.
    let (status, location, _) = admin.get("/admin").await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));

    // A wrong code at enrolment confirms nothing; the key is shown again.
    let page = admin.password().await;
    let key = between(&page, "id=\"totp-secret\">", "</code>")
        .unwrap()
        .to_string();
    let (status, _, page) = admin.post("/admin/login/code", &[("code", "000000")]).await;
    assert_eq!(status, 401, "{page}");
    assert!(
        page.contains("That code is not right") && page.contains(&key),
        "{page}"
    );
    let app = Authenticator::from_base32(&key);
    let code = app.code_at(clock.now().await);
    let (status, _, page) = admin.post("/admin/login/code", &[("code", &code)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("recovery codes"), "{page}");
    let list = between(&page, "id=\"recovery-codes\">", "</ul>").unwrap();
    let recovery: Vec<String> = list
        .split("<code>")
        .skip(1)
        .filter_map(|p| p.split("</code>").next())
        .map(str::to_string)
        .collect();
    assert_eq!(recovery.len(), 10);
    let (status, _, page) = admin.get("/admin").await;
    assert_eq!(status, 200);
    assert!(page.contains("Dashboard"), "{page}");

    // The same code again, in the same 30 seconds: refused. The next step's code works.
    let again = Admin::new(&system, &username);
    let (status, _, page) = again.sign_in_with(&code).await;
    assert_eq!(status, 401, "a code works once: {page}");
    clock.advance(30).await;
    let (status, location, _) = again
        .post(
            "/admin/login/code",
            &[("code", &app.code_at(clock.now().await))],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin")));

    // A recovery code, typed loosely, works once.
    let third = Admin::new(&system, &username);
    let loose = recovery[0].to_uppercase().replace('-', " ");
    let (status, location, _) = third.sign_in_with(&loose).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin")));
    let fourth = Admin::new(&system, &username);
    let (status, _, _) = fourth.sign_in_with(&recovery[0]).await;
    assert_eq!(status, 401, "a recovery code works once");

    // The admin API asks for the code too, now that there is one.
    let (status, body) = system
        .post(
            "/api/admin/login",
            None,
            json!({ "username": username, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "SECOND_FACTOR_REQUIRED");
    clock.advance(30).await;
    let (status, body) = system
        .post(
            "/api/admin/login",
            None,
            json!({ "username": username, "password": ADMIN_PASSWORD,
                    "code": app.code_at(clock.now().await) }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let api = body["data"]["access_token"].as_str().unwrap().to_string();

    // Each step is in the audit log.
    let (_, audit) = system
        .get_as("/api/admin/audit?action=admin.second_factor_enrolled", &api)
        .await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");
    let (_, audit) = system
        .get_as("/api/admin/audit?action=admin.recovery_code_used", &api)
        .await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_lock_the_admin_even_when_the_password_is_given_right_each_time() {
    let (system, clock) = start();
    let (username, _) = create_admin(&system, "admin");
    let admin = Admin::new(&system, &username);
    let (app, _) = admin.enrol(&clock).await;
    clock.advance(30).await;

    // A second step begun before the wrong codes, to try the right code with once locked.
    let early = Admin::new(&system, &username);
    early.password().await;

    // Five wrong codes, each after a right password: the password does not reset the count.
    for _ in 0..5 {
        let browser = Admin::new(&system, &username);
        let (status, _, page) = browser.sign_in_with("123456").await;
        assert_eq!(status, 401, "{page}");
    }
    let (status, _, page) = Admin::new(&system, &username)
        .post(
            "/admin/login",
            &[("username", &username), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(status, 423, "{page}");
    assert!(page.contains("Too many wrong tries"), "{page}");

    // Locked means locked: the right code does not get in either, until the lock ends.
    let (status, _, page) = early
        .post(
            "/admin/login/code",
            &[("code", &app.code_at(clock.now().await))],
        )
        .await;
    assert_eq!(status, 423, "{page}");
    clock.advance(16 * 60).await;
    let (status, location, page) = Admin::new(&system, &username)
        .sign_in_with(&app.code_at(clock.now().await))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/admin")),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_ends_after_15_idle_minutes_and_after_8_hours_however_busy() {
    let (system, clock) = start();
    let (admin, app) = signed_in(&system, &clock, "admin").await;

    clock.advance(14 * 60).await;
    assert_eq!(admin.get("/admin").await.0, 200, "14 idle minutes are fine");
    clock.advance(16 * 60).await;
    let (status, location, _) = admin.get("/admin").await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));

    // Signed in again and busy every ten minutes: still out after 8 hours.
    clock.advance(30).await;
    let (status, _, _) = admin.sign_in_with(&app.code_at(clock.now().await)).await;
    assert_eq!(status, 303);
    for _ in 0..47 {
        clock.advance(10 * 60).await;
        assert_eq!(admin.get("/admin").await.0, 200);
    }
    clock.advance(11 * 60).await;
    let (status, location, _) = admin.get("/admin").await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_needs_its_session_token_and_the_gateway_origin_and_then_approves() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (api, _) = admin_token(&system, "admin").await;
    let person = pending_person(&system).await;
    let csrf = admin.csrf("/admin/pending").await;
    let approve = format!("approve:{}", person.user_id);

    let (status, _, page) = admin
        .post(
            "/admin/pending/decide",
            &[("csrf", "forged"), ("one", &approve)],
        )
        .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("security token"), "{page}");
    let (status, _, page) = admin
        .post_from(
            "/admin/pending/decide",
            &[("csrf", &csrf), ("one", &approve)],
            "http://evil.example",
        )
        .await;
    assert_eq!(status, 403, "{page}");
    assert_eq!(user_status(&system, &api, &person.user_id).await, "pending");

    let (status, location, _) = admin
        .post(
            "/admin/pending/decide",
            &[("csrf", &csrf), ("one", &approve)],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/admin/pending?done=approved"));
    assert_eq!(user_status(&system, &api, &person.user_id).await, "active");
    Smtp::shared().wait_for(&person.email, "Your account is approved", MAIL_WAIT);
    let (_, _, page) = admin.get("/admin/pending?done=approved").await;
    assert!(
        page.contains("Approved. The person is told by mail."),
        "{page}"
    );
    // A notice is only ever one of the console's own texts.
    let (_, _, page) = admin.get("/admin/pending?done=%3Cscript%3E").await;
    assert!(!page.contains("<script>"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn support_sees_the_queue_without_buttons_and_its_forged_posts_are_refused() {
    let (system, clock) = start();
    let (support, _) = signed_in(&system, &clock, "support").await;
    let (api, _) = admin_token(&system, "admin").await;
    let person = pending_person(&system).await;

    let (status, _, page) = support.get("/admin/pending").await;
    assert_eq!(status, 200);
    assert!(page.contains(&person.username), "{page}");
    assert!(
        page.contains("<td>127.0.0.1</td>"),
        "where it registered from: {page}"
    );
    assert!(!page.contains("Approve"), "no buttons for support: {page}");
    assert!(page.contains("support role"), "{page}");

    let csrf = support.csrf("/admin/pending").await;
    let (status, _, page) = support
        .post(
            "/admin/pending/decide",
            &[
                ("csrf", &csrf),
                ("one", &format!("approve:{}", person.user_id)),
            ],
        )
        .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("may only read"), "{page}");
    let (status, _, _) = support
        .post(
            &format!("/admin/users/{}/action", person.user_id),
            &[("csrf", &csrf), ("action", "delete")],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(user_status(&system, &api, &person.user_id).await, "pending");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_admins_deciding_one_account_one_wins_and_the_other_is_told() {
    let (system, clock) = start();
    let (first, _) = signed_in(&system, &clock, "admin").await;
    clock.advance(30).await;
    let (second, _) = signed_in(&system, &clock, "admin").await;
    let person = pending_person(&system).await;
    let first_csrf = first.csrf("/admin/pending").await;
    let second_csrf = second.csrf("/admin/pending").await;

    let (status, _, _) = first
        .post(
            "/admin/pending/decide",
            &[
                ("csrf", &first_csrf),
                ("id", &person.user_id),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _, page) = second
        .post(
            "/admin/pending/decide",
            &[
                ("csrf", &second_csrf),
                ("one", &format!("reject:{}", person.user_id)),
                ("reason", "duplicate"),
            ],
        )
        .await;
    assert_eq!(status, 409, "{page}");
    assert!(
        page.contains("was already decided: the account is active"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_from_the_console_ends_the_persons_service_b_session() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (api, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &api).await;
    let session = qr_session(&system, &api, &person, "service-b").await;
    let at_service_b = || status_at(&system, "service-b.localhost", "/orders", &session);
    assert_eq!(at_service_b().await, 200);

    let (_, _, page) = admin
        .get(&format!("/admin/users?q={}", person.username))
        .await;
    assert!(
        page.contains(&format!("/admin/users/{}", person.user_id)),
        "{page}"
    );
    let user_page = format!("/admin/users/{}", person.user_id);
    let (_, _, page) = admin.get(&user_page).await;
    assert!(
        page.contains("ServiceB"),
        "the live session is listed: {page}"
    );
    let csrf = admin.csrf(&user_page).await;
    let (status, location, _) = admin
        .post(
            &format!("{user_page}/action"),
            &[("csrf", &csrf), ("action", "block"), ("reason", "left")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, Some(format!("{user_page}?done=blocked")));
    assert_eq!(at_service_b().await, 401);
    let (_, _, page) = admin.get(&user_page).await;
    assert!(
        page.contains("user.blocked"),
        "the audit entry is shown: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_cookie_opens_nothing_but_the_console() {
    let (system, clock) = start();
    let (username, _) = create_admin(&system, "admin");
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .no_proxy()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = system.url("");
    let post = |path: &str, fields: Vec<(&str, String)>| {
        http.post(system.url(path))
            .header("origin", origin.trim_end_matches('/'))
            .form(&fields)
            .send()
    };
    post(
        "/admin/login",
        vec![
            ("username", username.clone()),
            ("password", ADMIN_PASSWORD.into()),
        ],
    )
    .await
    .unwrap();
    let page = http
        .get(system.url("/admin/login/code"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let app = Authenticator::from_base32(between(&page, "id=\"totp-secret\">", "</code>").unwrap());
    post(
        "/admin/login/code",
        vec![("code", app.code_at(clock.now().await))],
    )
    .await
    .unwrap();
    use reqwest::cookie::CookieStore;
    let cookies = jar
        .cookies(&system.url("/admin").parse().unwrap())
        .expect("cookies")
        .to_str()
        .unwrap()
        .to_string();
    let console = cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("auth_console="))
        .expect("the console cookie")
        .to_string();

    for path in ["/api/admin/pending", "/api/users/me", "/api/auth/session"] {
        let (status, body) = system.get_as(path, &console).await;
        assert!(
            status == 403 || status == 401,
            "{path} took a console session: {status} {body}"
        );
    }
    let status = system
        .client()
        .get(system.host_url("service-b.localhost", "/orders"))
        .bearer_auth(&console)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 401);
    // And an admin API token is no console session.
    let (api, _) = admin_token(&system, "admin").await;
    let answer = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(system.url("/admin"))
        .header("cookie", format!("auth_console={api}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303);
    assert_eq!(answer.headers()["location"], "/admin/login");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_of_the_second_factor_on_the_host_ends_the_session_and_enrols_anew() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &system.config_path(),
            "admins",
            "reset-2fa",
            &admin.username,
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{output}");
    let (status, location, _) = admin.get("/admin").await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    let page = admin.password().await;
    assert!(page.contains("totp-secret"), "enrols again: {page}");
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &system.config_path(),
            "admins",
            "reset-2fa",
            "nobody-here",
        ],
        &[],
        "",
    );
    assert_ne!(code, 0, "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_says_how_often_a_person_used_service_b_and_exports_it() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "support").await;
    let (api, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &api).await;
    for _ in 0..3 {
        qr_session(&system, &api, &person, "service-b").await;
    }
    qr_session(&system, &api, &person, "app-c").await;

    let filter = format!("user={}&service=service-b", person.username);
    let (status, _, page) = admin.get(&format!("/admin/history?{filter}")).await;
    assert_eq!(status, 200, "{page}");
    let summary = between(&page, "id=\"summary\">", "</table>").unwrap();
    assert!(
        summary.contains(&format!(
            "<th scope=\"row\">{}</th><td>service-b</td><td>3</td><td>0</td>",
            person.username
        )),
        "{summary}"
    );
    assert!(page.contains("<svg"), "the chart is drawn");

    // By method: the QR logins per service, drawn per day and service; the phone's password
    // logins (one before each scan) only in the account's row.
    let by_qr = format!("user={}&method=qr", person.username);
    let (_, _, page) = admin.get(&format!("/admin/history?{by_qr}")).await;
    let summary = between(&page, "id=\"summary\">", "</table>").unwrap();
    for (service, count) in [("service-b", 3), ("app-c", 1)] {
        assert!(
            summary.contains(&format!("<td>{service}</td><td>{count}</td><td>0</td>")),
            "{summary}"
        );
    }
    assert!(!summary.contains("<td>account</td>"), "{summary}");
    let per_day = between(&page, "id=\"per-day\">", "</table>").unwrap();
    assert!(
        per_day.contains(
            "<th scope=\"col\">AppC</th><th scope=\"col\">ServiceB</th><th scope=\"col\">All</th>"
        ),
        "{per_day}"
    );
    assert!(
        per_day.contains("<td>1</td><td>3</td><td>4</td></tr></tbody>"),
        "today, the last day: {per_day}"
    );
    let legend = between(&page, "id=\"chart-legend\">", "</figcaption>").unwrap();
    assert!(
        legend.contains("AppC") && legend.contains("ServiceB"),
        "{legend}"
    );
    let by_password = format!("user={}&method=password", person.username);
    let (_, _, page) = admin.get(&format!("/admin/history?{by_password}")).await;
    let summary = between(&page, "id=\"summary\">", "</table>").unwrap();
    assert!(summary.contains("<td>account</td><td>4</td>"), "{summary}");
    assert!(!summary.contains("service-b"), "{summary}");
    let (_, _, page) = admin.get("/admin/history?method=fax").await;
    assert!(
        page.contains("method: is not password, qr or pat"),
        "{page}"
    );

    let (status, _, csv) = admin.get(&format!("/admin/history.csv?{filter}")).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("at,username,service"), "{csv}");
    assert_eq!(lines.len(), 4, "a header and three logins: {csv}");
    assert!(
        lines[1..].iter().all(|l| l.contains(",service-b,qr,true,")),
        "{csv}"
    );

    // A day that is not one is named, and the default period is shown instead.
    let (status, _, page) = admin.get("/admin/history?from=yesterday").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("from: is not a day written YYYY-MM-DD"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedule_saved_in_the_console_is_what_the_system_status_follows() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (_, status) = system.get("/api/system/status").await;
    assert_eq!(status["data"]["status"], "open", "{status}");
    let (_, _, page) = admin.get("/admin/schedule").await;
    assert!(page.contains("The next 14 days"), "{page}");
    let csrf = admin.csrf("/admin/schedule").await;
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let today = clock.now().await.to_zoned(berlin).date().to_string();
    let mut fields: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("timezone".into(), "Europe/Berlin".into()),
        ("warning_minutes".into(), "20".into()),
        ("exceptions".into(), format!("{today} closed")),
    ];
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        fields.push((format!("{day}_open"), "00:00".into()));
        fields.push((format!("{day}_close"), "24:00".into()));
    }
    let as_refs = |fields: &[(String, String)]| -> Vec<(String, String)> { fields.to_vec() };

    // A time that is not one: the page names the day and keeps what was typed.
    let mut wrong = as_refs(&fields);
    wrong.retain(|(k, _)| k != "mon_close");
    wrong.push(("mon_close".into(), "25:00".into()));
    let wrong: Vec<(&str, &str)> = wrong
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, page) = admin.post("/admin/schedule", &wrong).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Monday: `25:00` is not a time"), "{page}");
    assert!(page.contains("value=\"25:00\""), "{page}");
    let (_, status_now) = system.get("/api/system/status").await;
    assert_eq!(status_now["data"]["status"], "open", "nothing was saved");

    let right: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, location, page) = admin.post("/admin/schedule", &right).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(
        location.as_deref(),
        Some("/admin/schedule?done=schedule-saved")
    );
    let (_, status_now) = system.get("/api/system/status").await;
    assert_eq!(status_now["data"]["status"], "closed", "{status_now}");
    let (_, _, page) = admin.get("/admin/schedule").await;
    assert!(
        page.contains("Europe/Berlin") && page.contains(&format!("{today} closed")),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_made_in_the_console_is_shown_once_and_the_old_one_is_refused_at_once() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (api, _) = admin_token(&system, "admin").await;
    let old = crate::flows::service_key(&system, &api, "service-b").await;
    assert_eq!(generate_status(&system, &old).await, 201);

    let csrf = admin.csrf("/admin/services").await;
    let (status, _, page) = admin
        .post(
            "/admin/services/service-b/action",
            &[("csrf", &csrf), ("action", "rotate-key")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let new = between(&page, "id=\"new-key\">", "</code>")
        .unwrap()
        .to_string();
    assert_eq!(generate_status(&system, &old).await, 401);
    assert_eq!(generate_status(&system, &new).await, 201);
    let (_, _, page) = admin.get("/admin/services").await;
    assert!(!page.contains(&new), "the key is shown once only");

    // Registering: a bad upstream is named and nothing is made; a good one shows its key.
    let register = |upstreams: &'static str| {
        let csrf = csrf.clone();
        let admin = &admin;
        async move {
            admin
                .post(
                    "/admin/services",
                    &[
                        ("csrf", &csrf),
                        ("name", "Reports"),
                        ("slug", "reports"),
                        ("hosts", "reports.localhost"),
                        ("upstreams", upstreams),
                    ],
                )
                .await
        }
    };
    let (status, _, page) = register("not an address").await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("upstreams"), "{page}");
    let (status, body) = system.get_as("/api/services/list", &api).await;
    assert_eq!(status, 200);
    assert!(!body.to_string().contains("\"reports\""), "{body}");
    let (status, _, page) = register("127.0.0.1:9").await;
    assert_eq!(status, 201, "{page}");
    assert!(page.contains("id=\"new-key\""), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_changes_apply_at_once_and_never_leave_no_admin_who_can_act() {
    let (system, clock) = start();
    let (first, _) = signed_in(&system, &clock, "admin").await;
    let staff_id = |page: &str, username: &str| -> String {
        let row = page
            .split("<tr>")
            .find(|row| row.contains(&format!("<th scope=\"row\">{username}")))
            .unwrap_or_else(|| panic!("{username} not listed: {page}"))
            .to_string();
        between(&row, "action=\"/admin/staff/", "/action\"")
            .unwrap()
            .to_string()
    };
    let (_, _, page) = first.get("/admin/staff").await;
    let me = staff_id(&page, &first.username);
    let csrf = first.csrf("/admin/staff").await;
    let act = |id: String, action: &'static str| {
        let csrf = csrf.clone();
        let first = &first;
        async move {
            first
                .post(
                    &format!("/admin/staff/{id}/action"),
                    &[("csrf", &csrf), ("action", action)],
                )
                .await
        }
    };

    // The only admin cannot make themselves support.
    let (status, _, page) = act(me.clone(), "make-support").await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("no enabled admin who can act"), "{page}");

    // Another admin, demoted to support: their API token may then only read.
    let (token, _) = admin_token(&system, "admin").await;
    let (_, _, page) = first.get("/admin/staff").await;
    let other_name = page
        .split("<th scope=\"row\">")
        .skip(1)
        .filter_map(|p| p.split(['<', ' ']).next())
        .find(|n| *n != first.username)
        .expect("the other admin")
        .to_string();
    let other = staff_id(&page, &other_name);
    let (status, _, _) = act(other.clone(), "make-support").await;
    assert_eq!(status, 303);
    let person = pending_person(&system).await;
    let (status, body) = system
        .post(
            &format!("/api/admin/approve/{}", person.user_id),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // Disabled, they are out; enabled and an admin again, they can act.
    let (status, _, _) = act(other.clone(), "disable").await;
    assert_eq!(status, 303);
    let (status, _) = system.get_as("/api/admin/pending", &token).await;
    assert!(status == 401 || status == 403, "{status}");
    act(other.clone(), "enable").await;
    act(other.clone(), "make-admin").await;
    let (_, _, page) = first.get("/admin/staff?done=staff-changed").await;
    assert!(page.contains("Saved."), "{page}");

    // Now that there is another admin, the first may step down to support.
    let (status, _, _) = act(me, "make-support").await;
    assert_eq!(status, 303);
    let (_, _, page) = first.get("/admin/staff").await;
    assert!(
        !page.contains("Make admin"),
        "support sees no buttons: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_found_by_when_they_registered_and_whether_they_logged_in_since() {
    let (system, clock) = start();
    let (api, _) = admin_token(&system, "admin").await;
    let early = active_person(&system, &api).await;
    let registered_early = clock.now().await;
    clock.advance(3 * 86_400).await;
    let (api, _) = admin_token(&system, "admin").await;
    let late = active_person(&system, &api).await;
    qr_session(&system, &api, &late, "service-b").await;
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let day = |at: Timestamp| at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let (first_day, last_day) = (day(registered_early), day(clock.now().await));
    let found = |query: String| {
        let admin = &admin;
        async move {
            let (status, _, page) = admin.get(&format!("/admin/users?{query}")).await;
            assert_eq!(status, 200, "{page}");
            page
        }
    };
    let lists = |page: &str, person: &crate::flows::Person| {
        page.contains(&format!("/admin/users/{}", person.user_id))
    };

    let page = found(format!("from={last_day}")).await;
    assert!(lists(&page, &late) && !lists(&page, &early), "{page}");
    let page = found(format!("to={first_day}")).await;
    assert!(lists(&page, &early) && !lists(&page, &late), "{page}");
    let page = found(format!("from={first_day}&to={first_day}")).await;
    assert!(lists(&page, &early) && !lists(&page, &late), "{page}");
    // Only the later person has logged in (QR + PIN at ServiceB).
    let page = found(format!("since={first_day}")).await;
    assert!(lists(&page, &late) && !lists(&page, &early), "{page}");

    // A period that ends before it starts is named, and nothing is filtered by it.
    let page = found(format!("from={last_day}&to={first_day}")).await;
    assert!(page.contains("is after the last day"), "{page}");
    assert!(lists(&page, &early) && lists(&page, &late), "{page}");
    let page = found("since=yesterday".into()).await;
    assert!(page.contains("is not a day written YYYY-MM-DD"), "{page}");
}

/// The session id in the row of `user_id` on a sessions page.
fn session_of(page: &str, user_id: &str) -> String {
    let row = page
        .split("<tr>")
        .find(|row| row.contains(&format!("/admin/users/{user_id}\"")))
        .unwrap_or_else(|| panic!("no row of {user_id}: {page}"));
    between(row, "name=\"session\" value=\"", "\"")
        .expect("an End button")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sessions_page_shows_who_is_signed_in_where_and_ends_one_or_a_whole_service() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let (api, _) = admin_token(&system, "admin").await;
    let ann = active_person(&system, &api).await;
    let bob = active_person(&system, &api).await;
    let ann_b = qr_session(&system, &api, &ann, "service-b").await;
    let bob_b = qr_session(&system, &api, &bob, "service-b").await;
    let bob_c = qr_session(&system, &api, &bob, "app-c").await;

    let (_, _, everyone) = admin.get("/admin/sessions").await;
    for person in [&ann, &bob] {
        assert!(everyone.contains(&person.user_id), "{everyone}");
    }
    let (status, _, at_b) = admin.get("/admin/sessions?service=service-b").await;
    assert_eq!(status, 200, "{at_b}");
    assert!(at_b.contains("2 signed in to ServiceB now"), "{at_b}");
    let (_, _, at_c) = admin.get("/admin/sessions?service=app-c").await;
    assert!(at_c.contains("1 signed in to AppC now"), "{at_c}");
    assert!(!at_c.contains(&ann.user_id), "{at_c}");
    let (status, _, _) = admin.get("/admin/sessions?service=nowhere").await;
    assert_eq!(status, 404);
    let (_, _, dashboard) = admin.get("/admin").await;
    assert!(dashboard.contains("2 signed in to ServiceB"), "{dashboard}");
    assert!(dashboard.contains("1 signed in to AppC"), "{dashboard}");

    // Support reads the same page without buttons, and its forged post is refused.
    let (support, _) = signed_in(&system, &clock, "support").await;
    let (_, _, as_support) = support.get("/admin/sessions?service=service-b").await;
    assert!(as_support.contains(&ann.user_id), "{as_support}");
    assert!(!as_support.contains("name=\"session\""), "{as_support}");
    let csrf = support.csrf("/admin/sessions").await;
    let (status, _, _) = support
        .post(
            "/admin/sessions/end",
            &[("csrf", &csrf), ("service", "service-b")],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        status_at(&system, "service-b.localhost", "/", &ann_b).await,
        200
    );

    // One session ends; the other person's at the same service does not.
    let csrf = admin.csrf("/admin/sessions").await;
    let (status, location, _) = admin
        .post(
            "/admin/sessions/end",
            &[
                ("csrf", &csrf),
                ("session", &session_of(&at_b, &ann.user_id)),
                ("service", "service-b"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some("/admin/sessions?service=service-b&done=session-ended")
    );
    assert_eq!(
        status_at(&system, "service-b.localhost", "/", &ann_b).await,
        401
    );
    assert_eq!(
        status_at(&system, "service-b.localhost", "/", &bob_b).await,
        200
    );

    // Every session at AppC ends; Bob's at ServiceB stays.
    let (status, _, _) = admin
        .post(
            "/admin/sessions/end",
            &[("csrf", &csrf), ("service", "app-c")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        status_at(&system, "app-c.localhost", "/", &bob_c).await,
        401
    );
    assert_eq!(
        status_at(&system, "service-b.localhost", "/", &bob_b).await,
        200
    );
    let (_, _, at_c) = admin.get("/admin/sessions?service=app-c").await;
    assert!(at_c.contains("0 signed in to AppC now"), "{at_c}");
    let (_, _, dashboard) = admin.get("/admin").await;
    assert!(dashboard.contains("1 signed in to ServiceB"), "{dashboard}");
    assert!(dashboard.contains("0 signed in to AppC"), "{dashboard}");
    let (status, body) = system
        .get_as(
            "/api/admin/audit?action=session.revoked_all_of_service",
            &api,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = &body["data"]["items"][0];
    assert_eq!(entry["target_id"], "app-c", "{body}");
    assert_eq!(entry["details"]["sessions"], 1, "{body}");
}
