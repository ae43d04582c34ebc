//! Where a browser may be sent back after logging in: only to the service it logged into, on one of
//! that service's own hosts (or under its path prefix on the gateway's host). Anything else, such as
//! `//evil.example`, `https://evil.example` or `/\evil.example`, is refused: no open redirect.

use url::Url;

use super::Service;

/// The absolute URL `raw` names, if it is a place of `service`; relative paths are taken on the
/// service's first host (or under its prefix on the gateway).
pub fn safe_return_url(service: &Service, raw: &str, gateway: &Url) -> Option<Url> {
    let raw = raw.trim();
    // Backslashes and control characters are read as slashes or dropped by some browsers.
    if raw.is_empty() || raw.contains('\\') || raw.chars().any(char::is_control) {
        return None;
    }
    let base = service_base(service, gateway)?;
    let url = if raw.starts_with('/') {
        if raw.starts_with("//") {
            return None;
        }
        base.join(raw.trim_start_matches('/')).ok()?
    } else {
        Url::parse(raw).ok()?
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    if service.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return Some(url);
    }
    let on_gateway = gateway
        .host_str()
        .is_some_and(|g| g.eq_ignore_ascii_case(&host))
        && url.port_or_known_default() == gateway.port_or_known_default();
    let prefix = service.path_prefix.as_deref()?;
    let under_prefix = url.path() == prefix || url.path().starts_with(&format!("{prefix}/"));
    (on_gateway && under_prefix).then_some(url)
}

/// Where the service lives, with a trailing slash: its first host on the gateway's scheme and
/// port, or its prefix on the gateway.
pub fn service_base(service: &Service, gateway: &Url) -> Option<Url> {
    match (service.hosts.first(), service.path_prefix.as_deref()) {
        (Some(host), _) => {
            let mut url = gateway.clone();
            url.set_host(Some(host)).ok()?;
            url.set_path("/");
            url.set_query(None);
            Some(url)
        }
        (None, Some(prefix)) => gateway.join(&format!("{prefix}/")).ok(),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServiceId;

    fn service_b() -> Service {
        Service {
            id: ServiceId::new(),
            slug: "service-b".into(),
            name: "ServiceB".into(),
            hosts: vec!["service-b.localhost".into()],
            path_prefix: Some("/service-b".into()),
            upstreams: vec!["127.0.0.1:8081".into()],
            enabled: true,
            api_key_prefix: None,
            key_rotated_at: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn gateway() -> Url {
        Url::parse("http://127.0.0.1:8080").unwrap()
    }

    fn resolve(raw: &str) -> Option<String> {
        safe_return_url(&service_b(), raw, &gateway()).map(|u| u.to_string())
    }

    #[test]
    fn the_services_own_places_are_allowed() {
        assert_eq!(
            resolve("/orders?id=7").as_deref(),
            Some("http://service-b.localhost:8080/orders?id=7")
        );
        assert_eq!(
            resolve("http://service-b.localhost:8080/x").as_deref(),
            Some("http://service-b.localhost:8080/x")
        );
        assert_eq!(
            resolve("http://127.0.0.1:8080/service-b/x").as_deref(),
            Some("http://127.0.0.1:8080/service-b/x")
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "http://evil.example/service-b/",
            "javascript:alert(1)",
            "http://127.0.0.1:8080/app-c/",
            "http://127.0.0.1:8080/service-bx",
            "http://127.0.0.1:9999/service-b/",
            "http://user@service-b.localhost:8080/",
            "/%0d%0aSet-Cookie:x",
            "",
        ] {
            let resolved = resolve(evil);
            assert!(
                resolved
                    .as_deref()
                    .is_none_or(|u| u.starts_with("http://service-b.localhost:8080/")),
                "{evil} -> {resolved:?}"
            );
        }
        assert_eq!(resolve("//evil.example"), None);
        assert_eq!(resolve("https://evil.example"), None);
        assert_eq!(resolve("/\\evil.example"), None);
    }
}
