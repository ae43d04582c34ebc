//! Who is asking for a service: browsers without a credential are sent to the login page (bound
//! to a login-state cookie); API clients get 401.

use http::HeaderMap;
use http::header::ACCEPT;
use url::Url;

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
