//! Cross-origin calls to the API: only the configured origins, with credentials, never a wildcard.

use reqwest::Method;

use crate::harness::{Storage, System};

const ALLOWED: &str = "https://app.example.com";

#[tokio::test(flavor = "multi_thread")]
async fn only_configured_origins_may_call_the_api_from_a_browser() {
    let system = System::start_with(
        Storage::Embedded,
        &format!("[cors]\nallowed_origins = [\"{ALLOWED}\"]\n"),
        &[],
    );
    let preflight = |origin: &'static str| {
        system
            .client()
            .request(Method::OPTIONS, system.url("/api/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };

    let allowed = preflight(ALLOWED).await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(
        allowed_headers.contains("content-type"),
        "{allowed_headers}"
    );

    // Another site's page gets no permission to read answers.
    let foreign = preflight("https://evil.example").await.unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin"),
        "{:?}",
        foreign.headers()
    );

    // The answer to the real request names the origin, never `*`, and says it varies by origin.
    let answer = system
        .client()
        .get(system.url("/api/system/status"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["access-control-allow-origin"], ALLOWED);
    let vary = answer.headers()["vary"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(vary.contains("origin"), "{vary}");
    let foreign = system
        .client()
        .get(system.url("/api/system/status"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
