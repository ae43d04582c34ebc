//! The closing banner in a real headless Chromium, on a page of ServiceB: opened 20 minutes
//! before closing it shows no banner; when the gateway's clock moves 5 minutes the banner appears
//! without a reload (ServiceB's warning window is 16 minutes here), counts down as the minutes
//! pass, and at closing time the page is covered by "Closed, opens again …". A screenshot of each
//! state goes to `target/screenshots/`, and axe-core checks the page with the banner and with
//! the overlay.
//!
//! ServiceB checks the gateway's assertion against its own wall clock, so the gateway's clock is
//! set to the wall clock before the page loads, and closing time is put 20 to 21 minutes ahead
//! by the schedule (in a zone where it is about noon, so the day never wraps).

use std::time::{Duration, Instant};

use auth_test_support::Smtp;
use fantoccini::Client;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::browser::{assert_accessible, browser, screenshot, text_of};
use crate::expiry::on_test_clock;
use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::Storage;

/// A fixed-offset zone in which `now` is between 12:00 and 12:59, and `now`'s hour there.
fn noon_zone(now: Timestamp) -> String {
    let hour = i32::from(now.to_zoned(jiff::tz::TimeZone::UTC).hour());
    let ahead = 12 - hour;
    match ahead {
        0 => "Etc/GMT".into(),
        // The POSIX-style names count the other way: Etc/GMT-3 is three hours ahead of UTC.
        n if n > 0 => format!("Etc/GMT-{n}"),
        n => format!("Etc/GMT+{}", -n),
    }
}

/// Whether the banner is shown, and its text.
async fn banner(client: &Client) -> (bool, String) {
    let found = client
        .execute(
            "const b = document.getElementById('auth-closing-banner');\
             return b ? [!b.hidden, b.textContent] : [false, 'missing'];",
            vec![],
        )
        .await
        .unwrap();
    (
        found[0].as_bool().unwrap_or(false),
        found[1].as_str().unwrap_or("").to_string(),
    )
}

/// Waits (at most 15 s) until `client`'s banner satisfies `wanted`; fails with what it shows.
async fn wait_for_banner(
    client: &Client,
    what: &str,
    wanted: impl Fn(bool, &str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (shown, text) = banner(client).await;
        if wanted(shown, &text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the banner shows {shown} {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The minutes of a "closes in M:SS" text.
fn minutes_of(text: &str) -> i64 {
    let after = text.split("closes in ").nth(1).expect("a countdown");
    after.split(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_serviceb_warns_counts_down_and_closes_without_a_reload() {
    let toml = format!(
        "[mail]\nsmtp_url = \"smtp://127.0.0.1:{}\"\n\
         [service_warnings.service-b]\nwarning_minutes = 16\n",
        Smtp::shared().port()
    );
    let (system, clock) = on_test_clock(Storage::Embedded, &toml);
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;

    // The gateway's clock on the wall clock; closing 20 to 21 minutes on, on a whole minute.
    // The clock keeps microseconds.
    let now = Timestamp::from_microsecond(Timestamp::now().as_microsecond()).unwrap();
    clock.set(now).await;
    let zone = noon_zone(now);
    let tz = jiff::tz::TimeZone::get(&zone).unwrap();
    let local = now.to_zoned(tz.clone());
    let close_minute = i32::from(local.hour()) * 60 + i32::from(local.minute()) + 21;
    let close = format!("{:02}:{:02}", close_minute / 60, close_minute % 60);
    let every_day: serde_json::Map<String, Value> =
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| (d.to_string(), json!({ "open": "00:00", "close": close })))
            .collect();
    let (status, body) = system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&admin),
            Some(json!({ "timezone": zone, "weekly": every_day, "exceptions": [], "warning_minutes": 15 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, standing) = system.get("/api/system/status").await;
    let closes_at: Timestamp = standing["data"]["closes_at"]
        .as_str()
        .unwrap_or_else(|| panic!("{standing}"))
        .parse()
        .unwrap();
    let left = closes_at.duration_since(now);
    assert!(
        left > SignedDuration::from_mins(20) && left <= SignedDuration::from_mins(21),
        "{left:?}"
    );

    // The browser holds the ServiceB session, as after a login.
    let desktop = browser(1280, 800).await;
    desktop
        .goto(&system.host_url("service-b.localhost", "/_auth/status"))
        .await
        .unwrap();
    // Set from the page itself: WebDriver refuses cookies for `*.localhost` domains.
    desktop
        .execute(
            "document.cookie = arguments[0];",
            vec![json!(format!("auth_session={session}; path=/"))],
        )
        .await
        .unwrap();
    desktop
        .goto(&system.host_url("service-b.localhost", "/orders"))
        .await
        .unwrap();
    assert_eq!(text_of(&desktop, "#who").await, "Test Person");

    // Twenty minutes before closing: the banner is in the page, hidden.
    let (shown, _) = banner(&desktop).await;
    assert!(!shown, "a banner 20 minutes before closing");
    screenshot(&desktop, "closing-1-before-the-warning.png").await;

    // Five minutes on: inside ServiceB's 16 minutes, the banner appears by itself.
    clock.advance(5 * 60).await;
    let first = wait_for_banner(&desktop, "after 5 minutes", |shown, text| {
        shown && text.contains("closes in 1")
    })
    .await;
    assert!(minutes_of(&first) >= 15, "{first}");
    screenshot(&desktop, "closing-2-warning.png").await;
    assert_accessible(&desktop, "a ServiceB page with the closing banner").await;
    let page = desktop.source().await.unwrap();
    assert!(!page.contains(&session), "the session token is in the page");

    // Another minute: the count goes down.
    clock.advance(60).await;
    let later = wait_for_banner(&desktop, "a minute on", |shown, text| {
        shown && text.contains("closes in ") && minutes_of(text) < minutes_of(&first)
    })
    .await;
    screenshot(&desktop, "closing-3-counting-down.png").await;
    assert!(minutes_of(&later) >= 14, "{later}");

    // Closing time: the page is covered, and says when it opens.
    clock.set(closes_at).await;
    let overlay = text_of(&desktop, "#auth-closed-overlay").await;
    assert!(overlay.contains("Closed"), "{overlay}");
    assert!(overlay.contains("opens again"), "{overlay}");
    screenshot(&desktop, "closing-4-closed-overlay.png").await;
    assert_accessible(&desktop, "a ServiceB page at closing").await;
    desktop.close().await.unwrap();
}
