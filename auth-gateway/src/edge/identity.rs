//! The headers a service receives: forwarding headers set from what the gateway saw, and the
//! verified identity, including `X-Auth-Assertion`, a short-lived token signed by the gateway for
//! that service alone. Every copy a client sent of these headers is removed first, in any
//! spelling, along with the other headers no client may hand a service (`hygiene::never_forwarded`
//! has the list), the headers named in `Connection`, and the credentials the gateway consumed.

use std::net::IpAddr;

use auth_core::credentials::EdgeIdentity;
use http::HeaderMap;
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

/// The headers a service receives: the client's that may go, then the gateway's. Built as one
/// new map rather than by removing and inserting through `RequestHeader`, which parses every
/// name again and keeps a second, case-preserving map: that cost the gateway more instructions
/// per request than any other step of its own.
pub fn forwarded_headers(
    client: &HeaderMap,
    forwarding: &Forwarding<'_>,
    identity: Option<(&EdgeIdentity, &str)>,
) -> HeaderMap {
    let named = hygiene::connection_named(client);
    let mut headers = HeaderMap::with_capacity(client.len() + GATEWAY_HEADERS);
    for (name, value) in client {
        // The credential was for the gateway; the service gets the assertion instead.
        let consumed = *name == AUTHORIZATION || *name == COOKIE;
        if consumed || hygiene::never_forwarded(name.as_str()) || named.contains(name) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    if let Some(cookies) = crate::web::cookies::cookie_header_for_upstream(client) {
        headers.insert(COOKIE, owned_value(cookies));
    }

    if let Some(ip) = forwarding.client_ip {
        let ip = owned_value(ip.to_string());
        headers.insert(X_FORWARDED_FOR, ip.clone());
        headers.insert(X_REAL_IP, ip);
    }
    let proto = if forwarding.tls { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    headers.insert(X_FORWARDED_HOST, header_value(forwarding.host));
    if !forwarding.prefix.is_empty() {
        headers.insert(X_FORWARDED_PREFIX, header_value(forwarding.prefix));
    }
    if let Some((identity, assertion)) = identity {
        let mut uuid = uuid::Uuid::encode_buffer();
        let user_id = identity
            .user_id
            .as_uuid()
            .hyphenated()
            .encode_lower(&mut uuid);
        headers.insert(X_AUTH_USER_ID, header_value(user_id));
        headers.insert(X_AUTH_USERNAME, header_value(&identity.username));
        headers.insert(X_AUTH_EMAIL, header_value(&identity.email));
        if let Some(session) = identity.session_id {
            let session = session.as_uuid().hyphenated().encode_lower(&mut uuid);
            headers.insert(X_AUTH_SESSION_ID, header_value(session));
        }
        headers.insert(X_AUTH_ASSERTION, header_value(assertion));
    }
    headers
}

/// Gives `upstream` the headers `headers`, keeping its method, target and version. The new head
/// keeps no header case: a service receives standard names title-cased and the rest in lower
/// case, as over HTTP/2, and names are case-insensitive (RFC 9110 §5.1).
pub fn replace_headers(upstream: &mut RequestHeader, headers: HeaderMap) {
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = upstream.method.clone();
    parts.uri = upstream.uri.clone();
    parts.version = upstream.version;
    parts.extensions = upstream.extensions.clone();
    parts.headers = headers;
    let send_end_stream = upstream.send_end_stream();
    *upstream = RequestHeader::from(parts);
    if let Some(send) = send_end_stream {
        upstream.set_send_end_stream(send);
    }
}

/// Room for the headers the gateway adds, so the map never grows while they go in.
const GATEWAY_HEADERS: usize = 14;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
const X_AUTH_USER_ID: HeaderName = HeaderName::from_static("x-auth-user-id");
const X_AUTH_USERNAME: HeaderName = HeaderName::from_static("x-auth-username");
const X_AUTH_EMAIL: HeaderName = HeaderName::from_static("x-auth-email");
const X_AUTH_SESSION_ID: HeaderName = HeaderName::from_static("x-auth-session-id");
const X_AUTH_ASSERTION: HeaderName = HeaderName::from_static("x-auth-assertion");

/// A header value that takes over `text`'s buffer instead of copying it.
pub(super) fn owned_value(text: String) -> HeaderValue {
    HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A header value from text that may hold non-ASCII (sent as UTF-8 bytes, which HTTP allows).
pub(super) fn header_value(text: &str) -> HeaderValue {
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

    /// The client's head `req` as the service receives it.
    fn decorate(
        req: &mut RequestHeader,
        forwarding: &Forwarding<'_>,
        identity: Option<(&EdgeIdentity, &str)>,
    ) {
        let headers = forwarded_headers(&req.headers, forwarding, identity);
        replace_headers(req, headers);
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
        decorate(&mut req, &forwarding, Some((&identity(), "assertion-jwt")));
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
        decorate(&mut req, &forwarding, Some((&identity(), "assertion-jwt")));
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
        decorate(&mut req, &forwarding, Some((&identity(), "assertion-jwt")));
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
