//! What a service's slug, hosts and path prefix may look like, and what they may not take: the
//! gateway's own hosts and the paths the gateway serves itself.

/// The paths the gateway answers itself on its own hosts: its API, pages, assets and monitoring.
/// A service's path prefix may be none of these, nor under one, or it would take over the
/// gateway's own routes (and the origin of its login pages and cookies).
pub const RESERVED_PATH_PREFIXES: &[&str] = &[
    "/api",
    "/login",
    "/m",
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
];

/// Refuses a path prefix equal to a reserved one or under it (`/api`, `/api/x`; `/apix` is free).
pub fn check_prefix_not_reserved(prefix: &str) -> Result<(), String> {
    match RESERVED_PATH_PREFIXES.iter().find(|reserved| {
        prefix
            .strip_prefix(**reserved)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }) {
        Some(reserved) => Err(format!(
            "`{prefix}` is the gateway's own path {reserved}; choose another prefix"
        )),
        None => Ok(()),
    }
}

/// Refuses a host that is one of the gateway's own (compared case-insensitively).
pub fn check_host_not_gateways(host: &str, gateway_hosts: &[String]) -> Result<(), String> {
    if gateway_hosts
        .iter()
        .any(|own| own.eq_ignore_ascii_case(host))
    {
        Err(format!(
            "`{host}` is one of the gateway's own hosts (gateway.hosts, gateway.public_url)"
        ))
    } else {
        Ok(())
    }
}

/// A slug names a service in URLs and tokens: lowercase letters, digits and dashes, 1 to 63 long.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{slug}` must be 1-63 lowercase letters, digits or inner dashes"
        ))
    }
}

/// A host is a DNS name (no port, no scheme), matched case-insensitively.
pub fn validate_host(host: &str) -> Result<(), String> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("`{host}` is not a host name (no scheme, no port)"))
    }
}

/// A path prefix starts with `/`, has no trailing `/`, and only plain segments.
pub fn validate_path_prefix(prefix: &str) -> Result<(), String> {
    let segments_ok = prefix.len() > 1
        && prefix.starts_with('/')
        && prefix[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        });
    if segments_ok {
        Ok(())
    } else {
        Err(format!(
            "`{prefix}` must look like /name or /name/sub, without a trailing slash"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(validate_slug("service-b").is_ok());
        for bad in ["", "Service", "a_b", "-a", "a-", "a b", &"x".repeat(64)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert!(validate_host("service-b.localhost").is_ok());
        for bad in ["", "http://x", "x:80", "a..b", "a/b"] {
            assert!(validate_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_prefixes_and_what_is_under_them_are_refused() {
        for reserved in RESERVED_PATH_PREFIXES {
            assert!(check_prefix_not_reserved(reserved).is_err(), "{reserved}");
            let under = format!("{reserved}/x");
            assert!(check_prefix_not_reserved(&under).is_err(), "{under}");
            let beside = format!("{reserved}x");
            assert!(check_prefix_not_reserved(&beside).is_ok(), "{beside}");
        }
        assert!(check_prefix_not_reserved("/service-b").is_ok());
    }

    #[test]
    fn gateway_hosts_are_refused_in_any_case() {
        let own = vec!["localhost".to_string(), "auth.example.com".to_string()];
        assert!(check_host_not_gateways("LocalHost", &own).is_err());
        assert!(check_host_not_gateways("auth.example.com", &own).is_err());
        assert!(check_host_not_gateways("service-b.localhost", &own).is_ok());
    }

    #[test]
    fn path_prefixes() {
        assert!(validate_path_prefix("/service-b").is_ok());
        assert!(validate_path_prefix("/a/b").is_ok());
        for bad in [
            "",
            "/",
            "service-b",
            "/a/",
            "/a//b",
            "/../x",
            "/a/./b",
            "/a%2f",
        ] {
            assert!(validate_path_prefix(bad).is_err(), "{bad}");
        }
    }
}
