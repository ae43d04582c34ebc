//! An admin changing services from the console: a registered service moved to new hosts and a
//! new upstream, with the gateway routing there at once; refusals that name the problem and change
//! nothing; a service of the configuration file keeping the file's definition while its closing
//! warning (window and banner) changes on the test clock; each upstream's health on the list;
//! support reading the settings and refused when it posts; the admin API changing a service the
//! same way (`PUT /api/services/{slug}`).

use std::net::SocketAddr;
use std::time::Duration;

use auth_test_support::Smtp;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde_json::Value;

use crate::console::{Admin, signed_in};
use crate::expiry::{TestClock, next_monday_at, on_test_clock};
use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System};

/// A page server that names itself and the closing seconds it was sent, in an HTML page.
async fn start_origin(name: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| async move {
        let closing_in = headers
            .get("x-auth-closing-in")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_string();
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!("<html><body><p>{name} closing-in={closing_in}</p></body></html>"),
        )
            .into_response()
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

struct Setup {
    system: System,
    clock: TestClock,
    pages_origin: SocketAddr,
    /// Monday 16:40 UTC: closing at 17:00, the schedule's warning from 16:45.
    monday: Timestamp,
}

/// A gateway on a test clock at Monday 16:40 UTC with `pages` (from the file) in front of a page
/// server.
async fn start() -> Setup {
    let pages_origin = start_origin("pages-origin").await;
    let toml = format!(
        "[mail]\nsmtp_url = \"smtp://127.0.0.1:{smtp}\"\n\
         [schedule]\ntimezone = \"UTC\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\
         open = \"09:00\"\nclose = \"17:00\"\nwarning_minutes = 15\n\
         [[services]]\nslug = \"pages\"\nname = \"Pages\"\nhosts = [\"pages.localhost\"]\n\
         upstreams = [\"{pages_origin}\"]\n",
        smtp = Smtp::shared().port(),
    );
    let (system, clock) = on_test_clock(Storage::Embedded, &toml);
    let monday = next_monday_at(16, 40);
    clock.set(monday).await;
    Setup {
        system,
        clock,
        pages_origin,
        monday,
    }
}

impl Setup {
    async fn at(&self, offset_secs: i64) {
        self.clock
            .set(self.monday + jiff::SignedDuration::from_secs(offset_secs))
            .await;
    }

    /// A browser-like GET of `/` at `host` with `session`: the status and the page.
    async fn page(&self, host: &str, session: &str) -> (u16, String) {
        let gateway = SocketAddr::from(([127, 0, 0, 1], self.system.gateway.port));
        let client = reqwest::Client::builder()
            .resolve(host, gateway)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        let response = client
            .get(self.system.host_url(host, "/"))
            .bearer_auth(session)
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Asks for `/` at `host` until the page holds `wanted` (the gateways follow a change
    /// within seconds); the last page.
    async fn until_page(&self, host: &str, session: &str, wanted: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            let (status, page) = self.page(host, session).await;
            if status == 200 && page.contains(wanted) {
                return page;
            }
            last = format!("{status}: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{host} never answered with `{wanted}`; last: {last}");
    }
}

/// A form's fields besides the CSRF token.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// The settings form of `slug`, posted with `fields` besides the CSRF token.
async fn save(admin: &Admin, slug: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let path = format!("/admin/services/{slug}");
    let csrf = admin.csrf(&path).await;
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    admin.post(&path, &all).await
}

/// The service `slug` as the API lists it.
async fn listed(system: &System, api: &str, slug: &str) -> Value {
    let (status, body) = system.get_as("/api/services/list", api).await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} not listed: {body}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_service_moves_to_new_hosts_and_upstreams_and_the_gateway_follows() {
    let setup = start().await;
    let system = &setup.system;
    let (admin, _) = signed_in(system, &setup.clock, "admin").await;
    let (api, _) = admin_token(system, "admin").await;
    let first = start_origin("first-origin").await;
    let second = start_origin("second-origin").await;

    let csrf = admin.csrf("/admin/services").await;
    let first_upstream = first.to_string();
    let (status, _, page) = admin
        .post(
            "/admin/services",
            &[
                ("csrf", &csrf),
                ("name", "Reports"),
                ("slug", "reports"),
                ("hosts", "reports.localhost"),
                ("upstreams", &first_upstream),
            ],
        )
        .await;
    assert_eq!(status, 201, "{page}");
    let person = active_person(system, &api).await;
    let session = qr_session(system, &api, &person, "reports").await;
    setup
        .until_page("reports.localhost", &session, "first-origin")
        .await;

    // The form shows what is stored.
    let (status, _, form) = admin.get("/admin/services/reports").await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("value=\"reports.localhost\""), "{form}");
    assert!(form.contains(&format!("value=\"{first}\"")), "{form}");

    // Refusals name the problem and change nothing.
    let second_upstream = second.to_string();
    let refusals: [(Fields, u16, &str); 4] = [
        (
            &[
                ("name", "Reports"),
                ("hosts", "reports2.localhost"),
                ("upstreams", "not an address"),
            ],
            422,
            "upstreams",
        ),
        (
            &[
                ("name", "Reports"),
                ("hosts", "reports2.localhost"),
                ("upstreams", &second_upstream),
                ("warning_minutes", "2000"),
            ],
            422,
            "warning_minutes",
        ),
        (
            &[
                ("name", "Reports"),
                ("hosts", "reports2.localhost"),
                ("upstreams", &second_upstream),
                ("warning_minutes", "soon"),
            ],
            422,
            "warning_minutes",
        ),
        (
            &[
                ("name", "Reports"),
                ("hosts", "reports2.localhost pages.localhost"),
                ("upstreams", &second_upstream),
            ],
            409,
            "belongs to pages",
        ),
    ];
    for (fields, wanted_status, named) in refusals {
        let (status, _, page) = save(&admin, "reports", fields).await;
        assert_eq!(status, wanted_status, "{fields:?}: {page}");
        assert!(page.contains(named), "{fields:?}: {page}");
        // What was typed is shown again.
        assert!(page.contains("value=\"reports2.localhost"), "{page}");
    }
    let stored = listed(system, &api, "reports").await;
    assert_eq!(stored["hosts"], serde_json::json!(["reports.localhost"]));
    assert_eq!(stored["upstreams"], serde_json::json!([first_upstream]));

    let (status, location, page) = save(
        &admin,
        "reports",
        &[
            ("name", "Reports"),
            ("hosts", "reports2.localhost"),
            ("upstreams", &second_upstream),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(
        location.as_deref(),
        Some("/admin/services?done=service-changed")
    );
    setup
        .until_page("reports2.localhost", &session, "second-origin")
        .await;
    let (status, page) = setup.page("reports.localhost", &session).await;
    assert_ne!(
        status, 200,
        "the old host no longer reaches the service: {page}"
    );
    assert!(!page.contains("origin"), "{page}");

    let (status, body) = system
        .get_as(
            "/api/admin/audit?action=service.updated&target_id=reports",
            &api,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = &body["data"]["items"][0];
    assert_eq!(entry["details"]["definition"], true, "{body}");
    assert_eq!(entry["details"]["warning"], false, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_service_keeps_its_definition_while_its_closing_warning_changes() {
    let setup = start().await;
    let system = &setup.system;
    let (admin, _) = signed_in(system, &setup.clock, "admin").await;
    let (api, _) = admin_token(system, "admin").await;
    let person = active_person(system, &api).await;
    let session = qr_session(system, &api, &person, "pages").await;

    // 16:40, outside the schedule's 15 minutes: no seconds yet; the banner waits, hidden, for
    // the window to start.
    let page = setup
        .until_page("pages.localhost", &session, "closing-in=none")
        .await;
    assert!(page.contains("id=\"auth-closing-banner\""), "{page}");

    // The form of a file's service: its definition cannot be changed here.
    let (_, _, form) = admin.get("/admin/services/pages").await;
    assert!(form.contains("id=\"file-note\""), "{form}");
    assert!(form.contains("<fieldset disabled>"), "{form}");

    // 25 minutes, headers only; the hosts a forged post sends are not taken.
    let (status, _, page) = save(
        &admin,
        "pages",
        &[
            ("hosts", "elsewhere.localhost"),
            ("warning_minutes", "25"),
            ("warning_banner", "off"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let page = setup
        .until_page("pages.localhost", &session, "closing-in=1200")
        .await;
    assert!(!page.contains("auth-closing-banner"), "{page}");
    let stored = listed(system, &api, "pages").await;
    assert_eq!(stored["hosts"], serde_json::json!(["pages.localhost"]));
    assert_eq!(
        stored["upstreams"],
        serde_json::json!([setup.pages_origin.to_string()])
    );
    let (_, _, list) = admin.get("/admin/services").await;
    assert!(list.contains("25 minutes, headers only"), "{list}");

    // Back to the schedule's window with the banner on: from 16:45.
    let (status, _, page) = save(
        &admin,
        "pages",
        &[("warning_minutes", ""), ("warning_banner", "on")],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    setup
        .until_page("pages.localhost", &session, "closing-in=none")
        .await;
    setup.at(10 * 60).await;
    let page = setup
        .until_page("pages.localhost", &session, "closing-in=600")
        .await;
    assert!(page.contains("id=\"auth-closing-banner\""), "{page}");

    let (status, body) = system
        .get_as(
            "/api/admin/audit?action=service.updated&target_id=pages",
            &api,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert!(
        items
            .iter()
            .all(|e| e["details"]["definition"] == false && e["details"]["warning"] == true),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_shows_each_upstreams_health_and_support_only_reads_the_settings() {
    let setup = start().await;
    let system = &setup.system;
    let (admin, _) = signed_in(system, &setup.clock, "admin").await;
    let csrf = admin.csrf("/admin/services").await;
    // Nothing listens on port 9 here.
    let (status, _, page) = admin
        .post(
            "/admin/services",
            &[
                ("csrf", &csrf),
                ("name", "Gone"),
                ("slug", "gone"),
                ("hosts", "gone.localhost"),
                ("upstreams", "127.0.0.1:9"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{page}");

    let up = format!(
        "<code>{}</code> <span class=\"health-up\">up</span>",
        setup.pages_origin
    );
    let down = "<code>127.0.0.1:9</code> <span class=\"health-down\">down</span>";
    let mut list = String::new();
    for _ in 0..100 {
        list = admin.get("/admin/services").await.2;
        if list.contains(&up) && list.contains(down) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(list.contains(&up), "{list}");
    assert!(list.contains(down), "{list}");

    let (support, _) = signed_in(system, &setup.clock, "support").await;
    let (status, _, form) = support.get("/admin/services/gone").await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("value=\"gone.localhost\""), "{form}");
    assert!(!form.contains(">Save</button>"), "{form}");
    let (status, _, page) = save(
        &support,
        "gone",
        &[
            ("name", "Gone"),
            ("hosts", "gone.localhost"),
            ("upstreams", "127.0.0.1:10"),
        ],
    )
    .await;
    assert_eq!(status, 403, "{page}");
    let (status, _, page) = admin.get("/admin/services/nothing-here").await;
    assert_eq!(status, 404, "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_changes_a_service_as_the_console_does() {
    let setup = start().await;
    let system = &setup.system;
    let (api, _) = admin_token(system, "admin").await;
    let (support, _) = admin_token(system, "support").await;
    let (status, body) = system
        .post(
            "/api/services/register",
            Some(&api),
            serde_json::json!({
                "name": "Ledger", "slug": "ledger",
                "hosts": ["ledger.localhost"], "upstreams": ["127.0.0.1:9"],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let put = |slug: &'static str, token: &str, body: Value| {
        let token = token.to_string();
        async move {
            system
                .call(
                    reqwest::Method::PUT,
                    &format!("/api/services/{slug}"),
                    Some(&token),
                    Some(body),
                )
                .await
        }
    };
    let changes = serde_json::json!({
        "name": "Ledger", "hosts": ["books.localhost"], "upstreams": ["127.0.0.1:10"],
        "warning_minutes": 30, "warning_banner": false,
    });
    let (status, _) = put("ledger", &support, changes.clone()).await;
    assert_eq!(status, 403);
    let (status, body) = put(
        "ledger",
        &api,
        serde_json::json!({ "name": "Ledger", "hosts": ["books.localhost"],
                            "upstreams": ["127.0.0.1:10"], "warning_minutes": 1441 }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"],
        "warning_minutes"
    );
    let (status, body) = put("ledger", &api, changes.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["hosts"],
        serde_json::json!(["books.localhost"])
    );
    assert_eq!(body["data"]["warning_minutes"], 30);
    assert_eq!(listed(system, &api, "ledger").await, body["data"]);

    // The file's service: a new definition is refused, the warning alone is taken.
    let pages = listed(system, &api, "pages").await;
    let mut same = serde_json::json!({
        "name": pages["name"], "hosts": pages["hosts"], "upstreams": ["127.0.0.1:11"],
    });
    let (status, body) = put("pages", &api, same.clone()).await;
    assert_eq!(status, 409, "{body}");
    same["upstreams"] = pages["upstreams"].clone();
    same["warning_minutes"] = 5.into();
    let (status, body) = put("pages", &api, same).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["warning_minutes"], 5);
    let (status, _) = put("nothing-here", &api, changes).await;
    assert_eq!(status, 404);
}
