//! Who is asking for a service: the session cookie the login set, or a bearer token. Browsers
//! without a credential are sent to the login page; API clients get 401.

use http::HeaderMap;
use http::header::{ACCEPT, AUTHORIZATION, COOKIE};
use url::Url;

/// The cookie holding a session token for the service whose host (or prefix) it is scoped to.
pub const SESSION_COOKIE: &str = "auth_session";

/// The bearer token, else the session cookie.
pub fn credential(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    cookie(headers, SESSION_COOKIE)
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_string()))
        .flatten()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The `Cookie` header without our session cookie, so the service never sees the token; None when
/// nothing is left.
pub fn cookies_without_session(headers: &HeaderMap) -> Option<String> {
    let kept: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.split('=').next().map(str::trim) != Some(SESSION_COOKIE))
        .map(str::to_string)
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Whether the client is a browser navigating (it wants HTML), rather than an API client.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The gateway's login page for `service`, coming back to `return_to` afterwards.
pub fn login_url(public_url: &Url, service: &str, return_to: &str) -> String {
    let mut url = public_url
        .join("/login")
        .unwrap_or_else(|_| public_url.clone());
    url.query_pairs_mut()
        .append_pair("service", service)
        .append_pair("return_to", return_to);
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
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "auth_session=xyz"),
        ]);
        assert_eq!(credential(&h).as_deref(), Some("abc"));
        let h = headers(&[("cookie", "theme=dark; auth_session=xyz")]);
        assert_eq!(credential(&h).as_deref(), Some("xyz"));
        assert_eq!(
            credential(&headers(&[("authorization", "Basic abc")])),
            None
        );
    }

    #[test]
    fn the_session_cookie_never_reaches_the_service() {
        let h = headers(&[("cookie", "theme=dark; auth_session=xyz; lang=en")]);
        assert_eq!(
            cookies_without_session(&h).as_deref(),
            Some("theme=dark; lang=en")
        );
        assert_eq!(
            cookies_without_session(&headers(&[("cookie", "auth_session=xyz")])),
            None
        );
    }

    #[test]
    fn login_url_carries_where_to_return() {
        let url = login_url(
            &Url::parse("http://127.0.0.1:8080").unwrap(),
            "service-b",
            "http://service-b.localhost:8080/a?b=c",
        );
        assert_eq!(
            url,
            "http://127.0.0.1:8080/login?service=service-b&return_to=http%3A%2F%2Fservice-b.localhost%3A8080%2Fa%3Fb%3Dc"
        );
    }
}
