//! The gateway's first two steps on every request: `hygiene::canonical_path` on the raw path, then
//! `RouteTable::resolve` on the `Host` header's host and that path, with services routed by host,
//! by prefix (nested prefixes too), or both.
//!
//! Checks: a canonical path is a fixed point, starts with `/`, has no empty, `.` or `..` segment,
//! no backslash, control or non-ASCII byte, and every escape left is two upper-case hex digits
//! for a byte that must stay escaped (never a slash, backslash, NUL or unreserved character);
//! and a path the HTTP parser accepted comes out as one it accepts unchanged.
//! Routing sends a request to a service only for one of its hosts, or on a gateway host for a
//! path that is its prefix or starts with its prefix and `/` (the longest such prefix), with the
//! prefix removed; to the gateway only on a gateway host when no prefix matches; and refuses
//! every other host.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use auth_core::ids::ServiceId;
use auth_core::services::Service;
use auth_gateway::edge::hygiene::canonical_path;
use auth_gateway::edge::routing::{Route, RouteTable, host_without_port};
use http::uri::PathAndQuery;
use libfuzzer_sys::fuzz_target;

const GATEWAY_HOSTS: &[&str] = &["127.0.0.1", "localhost", "auth.example.com"];

/// (slug, hosts, prefix)
const SERVICES: &[(&str, &[&str], Option<&str>)] = &[
    ("service-b", &["service-b.localhost"], Some("/service-b")),
    (
        "app-c",
        &["app-c.localhost", "www.app-c.example"],
        Some("/app-c"),
    ),
    (
        "app-c-admin",
        &["admin.app-c.localhost"],
        Some("/app-c/admin"),
    ),
    ("host-only", &["only.localhost"], None),
    ("prefix-only", &[], Some("/p")),
    ("dotted", &[], Some("/v1.0/x~y")),
];

fn table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let services: Vec<Service> = SERVICES
            .iter()
            .map(|(slug, hosts, prefix)| Service {
                id: ServiceId::new(),
                slug: slug.to_string(),
                name: slug.to_string(),
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
                path_prefix: prefix.map(str::to_string),
                // Prefix routing on the gateway's host is only for services that share its origin.
                share_gateway_origin: prefix.is_some(),
                upstreams: vec!["127.0.0.1:9".into()],
                enabled: true,
                api_key_prefix: None,
                key_rotated_at: None,
                warning_banner: None,
                warning_minutes: None,
                created_at: jiff::Timestamp::UNIX_EPOCH,
                updated_at: jiff::Timestamp::UNIX_EPOCH,
            })
            .collect();
        let gateway_hosts: Vec<String> = GATEWAY_HOSTS.iter().map(|h| h.to_string()).collect();
        RouteTable::build(&services, &gateway_hosts).expect("a route table")
    })
}

#[derive(Debug, Arbitrary)]
enum Host {
    /// One of the hosts above, in any case, with an optional port or other suffix.
    Known {
        index: u8,
        upper: u64,
        suffix: String,
    },
    Any(String),
}

impl Host {
    fn header(&self) -> String {
        match self {
            Host::Known {
                index,
                upper,
                suffix,
            } => {
                let all: Vec<&str> = GATEWAY_HOSTS
                    .iter()
                    .copied()
                    .chain(
                        SERVICES
                            .iter()
                            .flat_map(|(_, hosts, _)| hosts.iter().copied()),
                    )
                    .collect();
                let host = all[usize::from(*index) % all.len()];
                let cased: String = host
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if upper >> (i % 64) & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                format!("{cased}{suffix}")
            }
            Host::Any(host) => host.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    host: Host,
    path: String,
}

fn check_canonical(path: &str) {
    assert!(path.starts_with('/'), "{path:?} does not start with /");
    assert_eq!(
        canonical_path(path).as_deref(),
        Ok(path),
        "not a fixed point"
    );
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i == segments.len() - 1;
        // Only the last segment may be empty: the trailing slash of a directory.
        assert!(!segment.is_empty() || last, "an empty segment in {path:?}");
        assert!(
            *segment != "." && *segment != "..",
            "a dot segment in {path:?}"
        );
    }
    let bytes = path.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        assert!(
            b.is_ascii() && !b.is_ascii_control(),
            "byte {b:#x} in {path:?}"
        );
        assert!(b != b'\\', "a backslash in {path:?}");
        if b == b'%' {
            let escape = bytes.get(i + 1..i + 3).expect("an escape with two digits");
            assert!(
                escape
                    .iter()
                    .all(|d| d.is_ascii_digit() || (b'A'..=b'F').contains(d)),
                "escape {escape:?} in {path:?}"
            );
            let value = u8::from_str_radix(std::str::from_utf8(escape).unwrap_or(""), 16)
                .expect("hex digits");
            assert!(
                !(value.is_ascii_alphanumeric() || b"-._~/\\\0".contains(&value)),
                "%{value:02X} left escaped in {path:?}"
            );
        }
    }
}

/// The prefix matches `path` as the router must match it: whole segments only.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn check_route(host: &str, path: &str, route: &Route) {
    let lower = host.to_ascii_lowercase();
    let host_service = SERVICES
        .iter()
        .find(|(_, hosts, _)| hosts.iter().any(|h| h.eq_ignore_ascii_case(host)));
    let on_gateway = GATEWAY_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host));
    let longest_prefix = SERVICES
        .iter()
        .filter(|(_, _, prefix)| prefix.is_some_and(|p| prefix_matches(p, path)))
        .max_by_key(|(_, _, prefix)| prefix.map_or(0, str::len));
    match route {
        Route::Service {
            route,
            forwarded_path,
            base,
        } => {
            let slug = route.service.slug.as_str();
            if base.is_empty() {
                let (expected, _, _) = host_service.expect("routed by a host no service has");
                assert_eq!(slug, *expected, "host {host:?} routed to another service");
                assert_eq!(forwarded_path, path, "the path changed on a host route");
            } else {
                assert!(host_service.is_none(), "a service host routed by prefix");
                assert!(on_gateway, "prefix routing on {host:?}, not a gateway host");
                assert_eq!(route.service.path_prefix.as_deref(), Some(base.as_str()));
                assert!(
                    prefix_matches(base, path),
                    "{path:?} sent to the service at {base:?}"
                );
                let (expected, _, _) = longest_prefix.expect("a prefix matched");
                assert_eq!(slug, *expected, "{path:?} not sent to the longest prefix");
                let rest = &path[base.len()..];
                let expected_path = if rest.is_empty() { "/" } else { rest };
                assert_eq!(forwarded_path, expected_path, "the prefix was not removed");
            }
        }
        Route::Gateway => {
            assert!(
                host_service.is_none(),
                "a service host served by the gateway"
            );
            assert!(on_gateway, "{host:?} served as the gateway");
            assert!(
                longest_prefix.is_none(),
                "{path:?} matches a prefix, yet the gateway serves it"
            );
        }
        Route::UnknownHost(refused) => {
            assert_eq!(*refused, lower);
            assert!(host_service.is_none() && !on_gateway, "{host:?} refused");
        }
    }
}

fn route(input: Input) {
    let Ok(path) = canonical_path(&input.path) else {
        return;
    };
    check_canonical(&path);
    // A path as the edge receives it (`uri.path()`: what the HTTP parser made of the request
    // line, without the query) must come out as a path the same parser takes back unchanged:
    // it is what goes upstream.
    if input
        .path
        .parse::<PathAndQuery>()
        .is_ok_and(|p| p.query().is_none() && p.path() == input.path)
    {
        let forwarded = path.parse::<PathAndQuery>().ok();
        assert_eq!(
            forwarded.as_ref().map(PathAndQuery::as_str),
            Some(path.as_str()),
            "not forwardable as is"
        );
    }
    let header = input.host.header();
    let host = host_without_port(&header);
    let route = table().resolve(host, &path);
    check_route(host, &path, &route);
}

fuzz_target!(
    init: {
        table();
    },
    |input: Input| route(input)
);
