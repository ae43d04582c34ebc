//! The headers a service receives: forwarding headers set from what the gateway saw, and the
//! verified identity, including `X-Auth-Assertion`, a short-lived token signed by the gateway for
//! that service alone. Every copy a client sent of these headers is removed first, in any
//! spelling, along with the other headers no client may hand a service (`hygiene::never_forwarded`
//! has the list), the headers named in `Connection`, and the credentials the gateway consumed.

use std::net::IpAddr;

use auth_core::credentials::EdgeIdentity;
use http::header::{AUTHORIZATION, COOKIE, HeaderName, HeaderValue};
use pingora::http::RequestHeader;

use super::hygiene;

/// What the gateway knows about the request being forwarded.
pub struct Forwarding<'a> {
    pub client_ip: Option<IpAddr>,
    /// The host the gateway routed on, as `hygiene::request_host` checked it; never the raw
    /// header.
    pub host: &'a str,
    pub tls: bool,
    /// The path prefix the service was reached under, if any.
    pub prefix: &'a str,
}

/// Cleans the client's headers and adds the gateway's.
pub fn decorate(
    upstream: &mut RequestHeader,
    forwarding: &Forwarding<'_>,
    identity: Option<(&EdgeIdentity, &str)>,
) -> pingora::Result<()> {
    // One pass over the names; only those that go are copied.
    let mut remove: Vec<HeaderName> = upstream
        .headers
        .keys()
        .filter(|n| hygiene::never_forwarded(n.as_str()))
        .cloned()
        .collect();
    remove.extend(hygiene::connection_named(&upstream.headers));
    // The credential was for the gateway; the service gets the assertion instead.
    remove.push(AUTHORIZATION);
    let cookies = crate::web::cookies::cookie_header_for_upstream(&upstream.headers);
    remove.push(COOKIE);
    for name in remove {
        upstream.remove_header(&name);
    }
    if let Some(cookies) = cookies {
        upstream.insert_header(COOKIE, cookies)?;
    }

    if let Some(ip) = forwarding.client_ip {
        let ip = HeaderValue::from_maybe_shared(bytes::Bytes::from(ip.to_string()))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        upstream.insert_header(X_FORWARDED_FOR, ip.clone())?;
        upstream.insert_header(X_REAL_IP, ip)?;
    }
    let proto = if forwarding.tls { "https" } else { "http" };
    upstream.insert_header(X_FORWARDED_PROTO, HeaderValue::from_static(proto))?;
    upstream.insert_header(X_FORWARDED_HOST, header_value(forwarding.host))?;
    if !forwarding.prefix.is_empty() {
        upstream.insert_header(X_FORWARDED_PREFIX, header_value(forwarding.prefix))?;
    }
    if let Some((identity, assertion)) = identity {
        upstream.insert_header(X_AUTH_USER_ID, identity.user_id.to_string())?;
        upstream.insert_header(X_AUTH_USERNAME, header_value(&identity.username))?;
        upstream.insert_header(X_AUTH_EMAIL, header_value(&identity.email))?;
        if let Some(session) = identity.session_id {
            upstream.insert_header(X_AUTH_SESSION_ID, session.to_string())?;
        }
        upstream.insert_header(X_AUTH_ASSERTION, header_value(assertion))?;
    }
    Ok(())
}

// Pingora copies a `&'static str` name without allocating (a `HeaderName` it title-cases anew).
const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_REAL_IP: &str = "x-real-ip";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
const X_FORWARDED_HOST: &str = "x-forwarded-host";
const X_FORWARDED_PREFIX: &str = "x-forwarded-prefix";
const X_AUTH_USER_ID: &str = "x-auth-user-id";
const X_AUTH_USERNAME: &str = "x-auth-username";
const X_AUTH_EMAIL: &str = "x-auth-email";
const X_AUTH_SESSION_ID: &str = "x-auth-session-id";
const X_AUTH_ASSERTION: &str = "x-auth-assertion";

/// A header value from text that may hold non-ASCII (sent as UTF-8 bytes, which HTTP allows).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_bytes(text.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::credentials::CredentialKind;

    fn request(pairs: &[(&str, &str)]) -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/x", None).unwrap();
        for (k, v) in pairs {
            req.append_header(k.to_string(), *v).unwrap();
        }
        req
    }

    fn identity() -> EdgeIdentity {
        EdgeIdentity {
            user_id: "01a2085c-66d6-76c6-88ec-658a8d402841".parse().unwrap(),
            username: "ann".into(),
            email: "ann@example.com".into(),
            name: Some("Ann".into()),
            session_id: Some("01a2085c-0000-7000-8000-000000000001".parse().unwrap()),
            credential: CredentialKind::ServiceSession,
        }
    }

    #[test]
    fn forged_identity_and_forwarding_headers_are_replaced() {
        let mut req = request(&[
            ("x-auth-user-id", "admin"),
            ("X-Auth-Role", "admin"),
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("authorization", "Bearer secret"),
            ("cookie", "auth_session=secret; theme=dark"),
        ]);
        let forwarding = Forwarding {
            client_ip: Some("198.51.100.7".parse().unwrap()),
            host: "service-b.localhost",
            tls: false,
            prefix: "",
        };
        decorate(&mut req, &forwarding, Some((&identity(), "assertion-jwt"))).unwrap();
        let get = |n: &str| req.headers.get(n).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            get("x-auth-user-id").as_deref(),
            Some("01a2085c-66d6-76c6-88ec-658a8d402841")
        );
        assert_eq!(get("x-auth-role"), None);
        assert_eq!(get("x-forwarded-for").as_deref(), Some("198.51.100.7"));
        assert_eq!(get("forwarded"), None);
        assert_eq!(get("authorization"), None);
        assert_eq!(get("cookie").as_deref(), Some("theme=dark"));
        assert_eq!(get("x-auth-assertion").as_deref(), Some("assertion-jwt"));
    }

    #[test]
    fn connection_cannot_strip_the_gateways_headers() {
        let mut req = request(&[
            (
                "connection",
                "x-auth-user-id, x-auth-assertion, x-forwarded-for",
            ),
            ("keep-alive", "5"),
        ]);
        let forwarding = Forwarding {
            client_ip: Some("198.51.100.7".parse().unwrap()),
            host: "h",
            tls: false,
            prefix: "",
        };
        decorate(&mut req, &forwarding, Some((&identity(), "assertion-jwt"))).unwrap();
        assert!(req.headers.get("x-auth-user-id").is_some());
        assert!(req.headers.get("x-auth-assertion").is_some());
        assert!(req.headers.get("x-forwarded-for").is_some());
        assert!(req.headers.get("connection").is_none());
        assert!(req.headers.get("keep-alive").is_none());
    }

    #[test]
    fn forbidden_spellings_and_overrides_never_reach_the_service() {
        let mut req = request(&[
            ("X_Auth_User_Id", "forged"),
            ("x-auth_assertion", "forged"),
            ("X_Forwarded_For", "forged"),
            ("X_Forwarded_Host", "forged"),
            ("x-forwarded-host", "forged"),
            ("X-Forwarded", "forged"),
            ("X_Real_IP", "forged"),
            ("True-Client-IP", "forged"),
            ("CF-Connecting-IP", "forged"),
            ("X-Original-URL", "forged"),
            ("X-Rewrite-URL", "forged"),
            ("X-HTTP-Method-Override", "forged"),
            ("Proxy", "forged"),
            ("Keep_Alive", "forged"),
            ("X-Request-Id", "kept"),
        ]);
        let forwarding = Forwarding {
            client_ip: Some("198.51.100.7".parse().unwrap()),
            host: "service-b.localhost:8080",
            tls: false,
            prefix: "",
        };
        decorate(&mut req, &forwarding, Some((&identity(), "assertion-jwt"))).unwrap();
        let forged: Vec<_> = req
            .headers
            .iter()
            .filter(|(_, v)| *v == "forged")
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(forged.is_empty(), "{forged:?}");
        let all = |n: &str| req.headers.get_all(n).iter().count();
        assert_eq!(req.headers["x-forwarded-host"], "service-b.localhost:8080");
        assert_eq!(all("x-forwarded-host"), 1);
        assert_eq!(all("x-auth-user-id"), 1);
        assert_eq!(req.headers["x-request-id"], "kept");
    }
}
