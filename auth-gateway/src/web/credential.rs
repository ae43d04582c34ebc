//! The one reader of a presented credential, for the edge and the handlers alike: an
//! `Authorization: Bearer` header, else the gateway cookie the place uses (the session cookie on a
//! service's host, the access cookie on the gateway's own).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::cookies::{DuplicateCookie, Jar, Owned};

/// The token of an `Authorization: Bearer` header; None for another scheme or none at all.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The bearer token, else the `cookie` in `jar`. A request with an `Authorization` header of
/// another scheme presents nothing; one with two such cookies is refused.
pub fn presented(
    headers: &HeaderMap,
    jar: &Jar<'_>,
    cookie: Owned,
) -> Result<Option<String>, DuplicateCookie> {
    if headers.contains_key(AUTHORIZATION) {
        return Ok(bearer(headers));
    }
    jar.read(headers, cookie)
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
        assert_eq!(
            presented(&h, &jar, Owned::Session).unwrap().as_deref(),
            Some("abc")
        );
        let h = headers(&[("cookie", "theme=dark; auth_session=xyz")]);
        assert_eq!(
            presented(&h, &jar, Owned::Session).unwrap().as_deref(),
            Some("xyz")
        );
        let h = headers(&[
            ("authorization", "Basic abc"),
            ("cookie", "auth_session=xyz"),
        ]);
        assert_eq!(presented(&h, &jar, Owned::Session).unwrap(), None);
        let h = headers(&[("cookie", "auth_session=a"), ("cookie", "auth_session=b")]);
        assert!(presented(&h, &jar, Owned::Session).is_err());
    }
}
