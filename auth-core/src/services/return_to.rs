//! Where a browser may be sent back after logging in: only to the service it logged into, at one
//! of that service's own origins exactly (scheme, host and port, as the gateway serves it), or
//! under its path prefix on the gateway's own origin when the service shares it. Anything else,
//! such as `//evil.example`, `https://evil.example`, `/\evil.example` or the service's host on
//! another port, is refused: no open redirect.

use url::Url;

use super::Service;
use crate::config::TlsConfig;

/// The origins the gateway serves `service`'s hosts at: the scheme and port of its public URL,
/// and with a TLS listener, https at that listener's port.
pub fn service_origins(service: &Service, gateway: &Url, tls: Option<&TlsConfig>) -> Vec<String> {
    let mut origins = Vec::new();
    for host in &service.hosts {
        let mut url = gateway.clone();
        if url.set_host(Some(host)).is_ok() {
            origins.push(url.origin().ascii_serialization());
        }
        if let Some(port) = tls.and_then(|t| t.listen.rsplit_once(':')).map(|(_, p)| p) {
            let default = if port == "443" {
                String::new()
            } else {
                format!(":{port}")
            };
            origins.push(format!("https://{}{default}", host.to_ascii_lowercase()));
        }
    }
    origins
}

/// The absolute URL `raw` names, if it is a place of `service`; relative paths are taken on the
/// service's first host (or under its prefix on the gateway).
pub fn safe_return_url(
    service: &Service,
    raw: &str,
    gateway: &Url,
    tls: Option<&TlsConfig>,
) -> Option<Url> {
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
    let origin = url.origin().ascii_serialization();
    if service_origins(service, gateway, tls).contains(&origin) {
        return Some(url);
    }
    let on_gateway = origin == gateway.origin().ascii_serialization();
    let prefix = service
        .path_prefix
        .as_deref()
        .filter(|_| service.share_gateway_origin)?;
    let under_prefix = url.path() == prefix || url.path().starts_with(&format!("{prefix}/"));
    (on_gateway && under_prefix).then_some(url)
}

/// Where the service lives, with a trailing slash: its first host on the gateway's scheme and
/// port, or its prefix on the gateway when it shares the gateway's origin.
pub fn service_base(service: &Service, gateway: &Url) -> Option<Url> {
    match (service.hosts.first(), service.path_prefix.as_deref()) {
        (Some(host), _) => {
            let mut url = gateway.clone();
            url.set_host(Some(host)).ok()?;
            url.set_path("/");
            url.set_query(None);
            Some(url)
        }
        (None, Some(prefix)) if service.share_gateway_origin => {
            gateway.join(&format!("{prefix}/")).ok()
        }
        _ => None,
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
            share_gateway_origin: false,
            upstreams: vec!["127.0.0.1:8081".into()],
            enabled: true,
            api_key_prefix: None,
            key_rotated_at: None,
            warning_banner: None,
            warning_minutes: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn gateway() -> Url {
        Url::parse("http://127.0.0.1:8080").unwrap()
    }

    fn resolve(raw: &str) -> Option<String> {
        safe_return_url(&service_b(), raw, &gateway(), None).map(|u| u.to_string())
    }

    fn tls() -> TlsConfig {
        TlsConfig {
            listen: "127.0.0.1:8443".into(),
            cert: "c".into(),
            key: "k".into(),
        }
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
    }

    #[test]
    fn the_gateways_origin_only_for_a_service_that_shares_it() {
        assert_eq!(resolve("http://127.0.0.1:8080/service-b/x"), None);
        let mut shared = service_b();
        shared.share_gateway_origin = true;
        assert_eq!(
            safe_return_url(
                &shared,
                "http://127.0.0.1:8080/service-b/x",
                &gateway(),
                None
            )
            .map(|u| u.to_string())
            .as_deref(),
            Some("http://127.0.0.1:8080/service-b/x")
        );
    }

    #[test]
    fn the_origin_must_match_exactly() {
        // Another port or scheme of the service's own host is another origin.
        assert_eq!(resolve("http://service-b.localhost:9999/"), None);
        assert_eq!(resolve("https://service-b.localhost:8080/"), None);
        assert_eq!(resolve("http://service-b.localhost/"), None);
        // With a TLS listener, its origin is the service's too.
        let tls = tls();
        let url = "https://service-b.localhost:8443/x";
        assert_eq!(
            safe_return_url(&service_b(), url, &gateway(), Some(&tls)).map(|u| u.to_string()),
            Some(url.to_string())
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
