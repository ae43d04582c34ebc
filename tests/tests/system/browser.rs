//! A real headless Chromium for the page tests: a fresh browser per person or device, a
//! screenshot of each state into `target/screenshots/`, and an accessibility check that runs
//! axe-core (from npm, `tests/a11y`) inside the page and fails on serious or critical violations.

use std::path::PathBuf;
use std::time::Duration;

use auth_test_support::ChromeDriver;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A fresh browser: its own profile, so its own cookies (a second person, or a second device).
pub async fn browser(width: u32, height: u32) -> Client {
    // Several TLS providers are compiled into this test binary; the WebDriver client needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let profile = tempfile::Builder::new()
        .prefix("auth-test-chromium-")
        .tempdir()
        .unwrap()
        .keep();
    auth_test_support::process::remove_at_exit(profile.clone());
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-quic".into(),
        "--disable-dev-shm-usage".into(),
        "--no-first-run".into(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut options = json!({
        "args": args,
        "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    });
    // Headless Chromium keeps its window at least 500 px wide; a phone's narrower page is
    // emulated, so the layout is truly laid out at `width`.
    if width < 500 {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0 }
        });
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let driver = tokio::task::spawn_blocking(ChromeDriver::shared)
        .await
        .unwrap();
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .expect("a Chromium session")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/screenshots"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(name), png).unwrap();
}

/// The text of the element at `css`, once there. A form's answer may still be on its way: an
/// element of the old page that goes stale while it is read is looked for again.
pub async fn text_of(client: &Client, css: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let element = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap();
        match element.text().await {
            Ok(text) => return text,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("reading {css}: {err}"),
        }
    }
}

/// axe-core's script, installed by `scripts/install-prerequisites.sh` (npm ci in `tests/a11y`).
fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/a11y/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run scripts/install-prerequisites.sh test)"))
}

/// Runs axe-core on the page `client` shows (WCAG 2 A and AA rules) and fails on any violation
/// of serious or critical impact, naming the rule and the elements. Scripts run through WebDriver
/// are not subject to the page's content security policy, so the page needs no exception.
/// The page must also fit its window's width: nothing may make a phone scroll sideways (a
/// table scrolls inside its own box).
pub async fn assert_accessible(client: &Client, page: &str) {
    let violations = serious_violations(client).await;
    assert!(
        violations.is_empty(),
        "{page}: accessibility violations: {}",
        serde_json::to_string_pretty(&Value::Array(violations)).unwrap_or_default()
    );
    let (content, window) = widths(client).await;
    assert!(
        content <= window,
        "{page}: {content} px wide in a window of {window} px: the page scrolls sideways"
    );
}

/// The width of the page's content and of its window, in CSS pixels.
async fn widths(client: &Client) -> (u64, u64) {
    let found = client
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    (
        found[0].as_u64().unwrap_or(u64::MAX),
        found[1].as_u64().unwrap_or(0),
    )
}

/// axe-core's violations of serious or critical impact on the page `client` shows.
async fn serious_violations(client: &Client) -> Vec<Value> {
    client.execute(&axe_source(), vec![]).await.unwrap();
    let found = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"] } })
                 .then(r => done(r.violations
                   .filter(v => v.impact === "serious" || v.impact === "critical")
                   .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.map(n => n.target.join(" ")) }))))
                 .catch(e => done([{ id: "axe-error", help: String(e) }]));"#,
            vec![],
        )
        .await
        .unwrap();
    found.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_accessibility_check_finds_what_a_page_gets_wrong() {
    let client = browser(800, 600).await;
    let bad = "data:text/html,<html><body><input type=text><button></button></body></html>";
    client.goto(bad).await.unwrap();
    let found = serious_violations(&client).await;
    let ids: Vec<&str> = found.iter().filter_map(|v| v["id"].as_str()).collect();
    assert!(ids.contains(&"label"), "{found:?}");
    assert!(ids.contains(&"button-name"), "{found:?}");
    let good = "data:text/html,<html lang=en><head><title>t</title></head><body><main>\
                <label for=a>Name</label><input id=a type=text><button>Send</button></main></body></html>";
    client.goto(good).await.unwrap();
    assert_eq!(serious_violations(&client).await, Vec::<Value>::new());
    client.close().await.unwrap();

    // At a phone's width, a page wider than the window is caught; one that wraps is not.
    let phone = browser(360, 800).await;
    let meta = "<meta name=viewport content='width=device-width, initial-scale=1'>";
    let wide =
        format!("data:text/html,<html>{meta}<body><div style='width:600px'>x</div></body></html>");
    phone.goto(&wide).await.unwrap();
    let (content, window) = widths(&phone).await;
    assert_eq!(window, 360);
    assert!(content > window, "{content}");
    let narrow = format!(
        "data:text/html,<html>{meta}<body><p>{}</p></body></html>",
        "word ".repeat(200)
    );
    phone.goto(&narrow).await.unwrap();
    let (content, window) = widths(&phone).await;
    assert!(content <= window, "{content} > {window}");
    phone.close().await.unwrap();
}
