//! A service as an operator defines it (in `[[services]]` or through the admin API): the one
//! definition of its name, slug, hosts, path prefix and upstreams, with the one check of what they
//! may be and what they may not take (the gateway's own hosts, the paths the gateway serves
//! itself).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// A service to put behind the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// 1 to 100 characters.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::service_name))]
    pub name: String,
    /// 1-63 lowercase letters, digits or inner dashes; names the service in URLs and tokens.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?![\s\S])")
    )]
    pub slug: String,
    /// DNS names the service is reached at (no scheme, no port).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::service_hosts))]
    pub hosts: Vec<String>,
    /// `/name` or `/name/sub`: where the service is reached on the gateway's own hosts, with
    /// `share_gateway_origin`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::path_prefix))]
    pub path_prefix: Option<String>,
    /// Serve the path prefix on the gateway's own hosts, sharing the origin of the login pages
    /// and the API (unsafe for a service that is not fully trusted; off by default).
    #[serde(default)]
    pub share_gateway_origin: bool,
    /// `ip:port` of each upstream.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::upstreams))]
    pub upstreams: Vec<String>,
    /// Connect to the upstreams over TLS, verifying their certificate for `sni` (configuration
    /// file only, like the four below).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub tls: bool,
    /// The name sent in the TLS handshake and checked against the upstream's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub sni: Option<String>,
    /// PEM file of the CAs that may sign the upstream's certificate; the system's roots if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub ca_file: Option<std::path::PathBuf>,
    /// PEM certificate (chain) the gateway presents to the upstream, with `client_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub client_cert: Option<std::path::PathBuf>,
    /// PEM private key of `client_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub client_key: Option<std::path::PathBuf>,
}

impl ServiceDefinition {
    /// Whether any upstream TLS setting is given (they are read from the configuration file
    /// only; the API refuses them).
    pub fn has_tls_settings(&self) -> bool {
        self.tls
            || self.sni.is_some()
            || self.ca_file.is_some()
            || self.client_cert.is_some()
            || self.client_key.is_some()
    }

    /// What is wrong with the upstream TLS settings, naming the key.
    pub fn tls_problem(&self) -> Option<FieldError> {
        if !self.tls {
            return self.has_tls_settings().then(|| {
                FieldError::new(
                    "tls",
                    "sni, ca_file, client_cert and client_key need tls = true",
                )
            });
        }
        match self.sni.as_deref() {
            None | Some("") => {
                return Some(FieldError::new(
                    "sni",
                    "give the name the upstreams' certificate is for",
                ));
            }
            Some(sni) => {
                if let Err(e) = validate_host(sni) {
                    return Some(FieldError::new("sni", e));
                }
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Some(FieldError::new(
                "client_cert",
                "give client_cert and client_key together",
            ));
        }
        for (field, path) in [
            ("ca_file", &self.ca_file),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ] {
            if let Some(path) = path
                && !path.is_file()
            {
                return Some(FieldError::new(
                    field,
                    format!("{} is not a readable file", path.display()),
                ));
            }
        }
        None
    }

    /// What is wrong with the definition, each problem naming its field; none when it is good.
    /// `gateway_hosts` are the gateway's own hosts, which no service may take.
    pub fn problems(&self, gateway_hosts: &[String]) -> Vec<FieldError> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            problems.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        if let Err(e) = validate_slug(&self.slug) {
            problems.push(FieldError::new("slug", e));
        }
        for (i, host) in self.hosts.iter().enumerate() {
            if let Err(e) =
                validate_host(host).and_then(|()| check_host_not_gateways(host, gateway_hosts))
            {
                problems.push(FieldError::new(format!("hosts[{i}]"), e));
            }
        }
        if let Some(Err(e)) = self
            .path_prefix
            .as_deref()
            .map(|p| validate_path_prefix(p).and_then(|()| check_prefix_not_reserved(p)))
        {
            problems.push(FieldError::new("path_prefix", e));
        }
        if self.hosts.is_empty() && !(self.path_prefix.is_some() && self.share_gateway_origin) {
            problems.push(FieldError::new(
                "hosts",
                "give at least one host (or a path_prefix with share_gateway_origin)",
            ));
        }
        if self.share_gateway_origin && self.path_prefix.is_none() {
            problems.push(FieldError::new(
                "share_gateway_origin",
                "needs a path_prefix to serve on the gateway's hosts",
            ));
        }
        if self.upstreams.is_empty() {
            problems.push(FieldError::new("upstreams", "give at least one ip:port"));
        }
        for (i, upstream) in self.upstreams.iter().enumerate() {
            if upstream.parse::<SocketAddr>().is_err() {
                problems.push(FieldError::new(
                    format!("upstreams[{i}]"),
                    "must be ip:port (a port up to 65535)",
                ));
            }
        }
        problems
    }
}

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
