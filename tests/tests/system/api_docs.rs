//! `/api/docs`, the API reference the gateway renders from its OpenAPI document: in Chromium, with
//! the pages' headers, every operation of the document on it, and axe-core's check.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{assert_accessible, browser, screenshot};
use crate::harness::{Storage, System};

#[tokio::test(flavor = "multi_thread")]
async fn the_api_reference_lists_every_operation_of_the_document() {
    let system = System::start(Storage::Embedded);
    let response = system
        .client()
        .get(system.url("/api/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(
        !html.contains("<script") && !html.contains(" style="),
        "nothing inline"
    );
    assert!(!html.contains("https://"), "nothing from a CDN");

    let (_, doc): (u16, Value) = system.get("/api/openapi.json").await;
    let operations: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap().to_string())
        .collect();
    assert!(operations.len() >= 50);
    for id in &operations {
        assert!(html.contains(&format!("id=\"op-{id}\"")), "{id} is missing");
    }
    // What validation enforces shows on the page: the PIN's pattern, the reason's length.
    assert!(html.contains("pattern"), "constraints are shown");

    let client = browser(1280, 900).await;
    client.goto(&system.url("/api/docs")).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("op-verify_pin"))
        .await
        .unwrap();
    screenshot(&client, "api-docs.png").await;
    assert_accessible(&client, "API reference").await;
    client.close().await.unwrap();
}
