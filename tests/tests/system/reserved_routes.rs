//! No service may be registered on the gateway's own hosts or on a path the gateway serves itself:
//! it would take over the API, the login pages and their origin.

use serde_json::{Value, json};

use crate::flows::admin_token;
use crate::harness::{Storage, System};

async fn slugs(system: &System, admin: &str) -> Vec<String> {
    let (status, body) = system.get_as("/api/services/list", admin).await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap().to_string())
        .collect()
}

fn service(slug: &str, hosts: &[&str], path_prefix: Option<&str>) -> Value {
    json!({ "name": slug, "slug": slug, "hosts": hosts, "path_prefix": path_prefix,
            "upstreams": ["127.0.0.1:9"] })
}

#[tokio::test(flavor = "multi_thread")]
async fn services_cannot_take_the_gateways_hosts_or_its_paths() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let before = slugs(&system, &admin).await;
    let mut refusals = vec![
        // gateway.hosts, in any case, and the host of gateway.public_url.
        (service("own-host", &["localhost"], None), "hosts[0]"),
        (
            service("own-host-case", &["fine.localhost", "LocalHost"], None),
            "hosts[1]",
        ),
        (service("public-url-host", &["127.0.0.1"], None), "hosts[0]"),
    ];
    for prefix in [
        "/api",
        "/api/v2",
        "/login",
        "/m",
        "/m/scan",
        "/assets",
        "/.well-known",
        "/_auth",
        "/admin",
        "/account",
        "/register",
        "/forgot-password",
        "/verify-email",
        "/reset-password",
        "/health",
        "/metrics",
    ] {
        let slug = format!("prefix{}", prefix.replace(['/', '.', '_'], "-"));
        refusals.push((
            service(&slug, &[&format!("{slug}.localhost")], Some(prefix)),
            "path_prefix",
        ));
    }
    for (body, field) in refusals {
        let (status, answer) = system
            .post("/api/services/register", Some(&admin), body.clone())
            .await;
        assert_eq!(
            (
                status,
                answer["error"]["code"].as_str(),
                answer["error"]["details"]["fields"][0]["field"].as_str()
            ),
            (422, Some("VALIDATION_ERROR"), Some(field)),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        slugs(&system, &admin).await,
        before,
        "nothing was registered"
    );
    // The gateway still answers its own routes itself.
    let (status, body) = system.get("/api/system/status").await;
    assert_eq!((status, body["success"].as_bool()), (200, Some(true)));

    // A prefix that merely starts with the same letters is free.
    let (status, body) = system
        .post(
            "/api/services/register",
            Some(&admin),
            service("apix", &["apix.localhost"], Some("/apix")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}
