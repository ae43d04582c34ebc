//! Who is asking for a service: a bearer token, or the session cookie the login set on the
//! service's host. Browsers without a credential are sent to the login page; API clients get 401.

use http::HeaderMap;
use http::header::{ACCEPT, AUTHORIZATION};
use url::Url;

use crate::cookies::{DuplicateCookie, Jar, Owned};

/// The token of an `Authorization: Bearer` header; None for another scheme or none at all.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The bearer token, else the session cookie in `jar`. A request with an `Authorization` header
/// of another scheme presents nothing; one with two session cookies is refused.
pub fn credential(headers: &HeaderMap, jar: &Jar<'_>) -> Result<Option<String>, DuplicateCookie> {
    if headers.contains_key(AUTHORIZATION) {
        return Ok(bearer(headers));
    }
    jar.read(headers, Owned::Session)
}

/// Whether the client is a browser navigating (it wants HTML), rather than an API client.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The gateway's login page for `service`, coming back to `return_to` afterwards; `state` is the
/// hash of the login-state cookie set on the service's host, to which the hand-off is bound.
pub fn login_url(public_url: &Url, service: &str, return_to: &str, state: &str) -> String {
    let mut url = public_url
        .join("/login")
        .unwrap_or_else(|_| public_url.clone());
    url.query_pairs_mut()
        .append_pair("service", service)
        .append_pair("return_to", return_to)
        .append_pair("state", state);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn bearer_wins_over_the_cookie() {
        let jar = Jar::new(false);
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "auth_session=xyz"),
        ]);
        assert_eq!(credential(&h, &jar).unwrap().as_deref(), Some("abc"));
        let h = headers(&[("cookie", "theme=dark; auth_session=xyz")]);
        assert_eq!(credential(&h, &jar).unwrap().as_deref(), Some("xyz"));
        let h = headers(&[
            ("authorization", "Basic abc"),
            ("cookie", "auth_session=xyz"),
        ]);
        assert_eq!(credential(&h, &jar).unwrap(), None);
        let h = headers(&[("cookie", "auth_session=a"), ("cookie", "auth_session=b")]);
        assert!(credential(&h, &jar).is_err());
    }

    #[test]
    fn login_url_carries_where_to_return_and_the_state() {
        let url = login_url(
            &Url::parse("http://127.0.0.1:8080").unwrap(),
            "service-b",
            "http://service-b.localhost:8080/a?b=c",
            "f00d",
        );
        assert_eq!(
            url,
            "http://127.0.0.1:8080/login?service=service-b&return_to=http%3A%2F%2Fservice-b.localhost%3A8080%2Fa%3Fb%3Dc&state=f00d"
        );
    }
}
