//! Every cookie the gateway owns, in one list: how each is named, set, read and kept away from
//! services.
//!
//! - Over TLS a cookie is named with the `__Host-` prefix (Secure, `Path=/`, no `Domain`), so
//!   neither a plain-HTTP answer nor a sibling host can plant one; without TLS it is host-only (no
//!   `Domain`) all the same. The plain name is not read over TLS.
//! - Two cookies of the same owned name in one request are refused ([`DuplicateCookie`]) rather
//!   than the first one taken: that is what a planted cookie looks like.
//! - No owned cookie is forwarded to a service ([`cookie_header_for_upstream`]), and a service's
//!   `Set-Cookie` for an owned name is dropped ([`is_owned`]), whatever its case or prefix.

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::COOKIE;

/// The cookies the gateway sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    /// A person's session at a service, on the service's host.
    Session,
    /// Binds a hand-off code to the browser that was sent to log in, on the service's host.
    LoginState,
    /// The access token of a password sign-in, on the gateway's host (phone, account pages).
    Access,
    /// The refresh token beside it.
    Refresh,
    /// Binds a QR code on the login page to the browser that shows it.
    LoginNonce,
    /// An administrator's console session, on the gateway's host.
    Console,
    /// The console sign-in's second step (the code), between the password and the code.
    ConsoleStep,
}

impl Owned {
    pub const ALL: [Owned; 7] = [
        Owned::Session,
        Owned::LoginState,
        Owned::Access,
        Owned::Refresh,
        Owned::LoginNonce,
        Owned::Console,
        Owned::ConsoleStep,
    ];

    /// The name without a prefix.
    pub fn base_name(self) -> &'static str {
        match self {
            Owned::Session => "auth_session",
            Owned::LoginState => "auth_state",
            Owned::Access => "auth_access",
            Owned::Refresh => "auth_refresh",
            Owned::LoginNonce => "auth_login_nonce",
            Owned::Console => "auth_console",
            Owned::ConsoleStep => "auth_console_step",
        }
    }

    /// Cookies kept per service when several services share the gateway's host (prefix routing).
    fn per_service(self) -> bool {
        matches!(self, Owned::Session | Owned::LoginState)
    }

    fn same_site(self) -> SameSite {
        match self {
            // Set during, and read after, navigations that start on the gateway's host.
            Owned::Session | Owned::LoginState | Owned::Access | Owned::Refresh => SameSite::Lax,
            // Never sent with a request another site starts, so no other site can act in the
            // console, even by a link.
            Owned::LoginNonce | Owned::Console | Owned::ConsoleStep => SameSite::Strict,
        }
    }
}

/// Where a cookie lives: on a host of its own, or under a service's prefix on the gateway's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jar<'a> {
    pub tls: bool,
    /// The service whose prefix on the gateway's host the cookie belongs to; None on a host of
    /// its own (a service's host, or the gateway's for its own cookies).
    pub shared_host_service: Option<&'a str>,
}

impl<'a> Jar<'a> {
    pub fn new(tls: bool) -> Self {
        Jar {
            tls,
            shared_host_service: None,
        }
    }

    /// The full name of `cookie` in this jar.
    pub fn name(&self, cookie: Owned) -> String {
        let prefix = if self.tls { "__Host-" } else { "" };
        match self.shared_host_service {
            Some(slug) if cookie.per_service() => format!("{prefix}{}-{slug}", cookie.base_name()),
            _ => format!("{prefix}{}", cookie.base_name()),
        }
    }

    /// A `Set-Cookie` value holding `value` for `max_age_secs`.
    pub fn set(&self, cookie: Owned, value: &str, max_age_secs: i64) -> String {
        Cookie::build((self.name(cookie), value.to_string()))
            .path("/")
            .http_only(true)
            .same_site(cookie.same_site())
            .secure(self.tls)
            .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)))
            .build()
            .to_string()
    }

    /// A `Set-Cookie` value that removes `cookie`.
    pub fn clear(&self, cookie: Owned) -> String {
        self.set(cookie, "", 0)
    }

    /// The value of `cookie` in the request, if it was sent once; two of them are refused.
    pub fn read(
        &self,
        headers: &HeaderMap,
        cookie: Owned,
    ) -> Result<Option<String>, DuplicateCookie> {
        let name = self.name(cookie);
        let mut found = None;
        for pair in pairs(headers) {
            if pair.name() == name {
                if found.is_some() {
                    return Err(DuplicateCookie(name));
                }
                found = Some(pair.value().to_string());
            }
        }
        Ok(found)
    }
}

/// `Set-Cookie` values that hand a password sign-in's tokens to a browser.
pub fn set_tokens(
    jar: &Jar<'_>,
    access: &str,
    access_ttl: u64,
    refresh: &str,
    refresh_ttl: u64,
) -> [String; 2] {
    let secs = |ttl: u64| i64::try_from(ttl).unwrap_or(i64::MAX);
    [
        jar.set(Owned::Access, access, secs(access_ttl)),
        jar.set(Owned::Refresh, refresh, secs(refresh_ttl)),
    ]
}

/// `Set-Cookie` values that remove both tokens.
pub fn clear_tokens(jar: &Jar<'_>) -> [String; 2] {
    [jar.clear(Owned::Access), jar.clear(Owned::Refresh)]
}

/// Two cookies of one owned name arrived in one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("two cookies named {0} arrived")]
pub struct DuplicateCookie(pub String);

fn pairs(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
}

/// Whether a cookie named `name` is the gateway's, in any case and with any prefix: such a cookie
/// never reaches a service, and a service never sets one.
pub fn is_owned(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    let name = name
        .strip_prefix("__host-")
        .or_else(|| name.strip_prefix("__secure-"))
        .unwrap_or(&name);
    Owned::ALL.iter().any(|owned| {
        let base = owned.base_name();
        name == base
            || (owned.per_service()
                && name
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with('-')))
    })
}

/// [`is_owned`] for a name as bytes (as a header value holds it); names that are not text are not
/// ours.
pub fn is_owned_bytes(name: &[u8]) -> bool {
    std::str::from_utf8(name).is_ok_and(is_owned)
}

/// The name a `Set-Cookie` value sets.
pub fn set_cookie_name(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|b| *b == b'=').unwrap_or(value.len());
    value[..end].trim_ascii()
}

/// The `Cookie` header to forward to a service: the client's cookies without any the gateway
/// owns; None when nothing is left.
pub fn cookie_header_for_upstream(headers: &HeaderMap) -> Option<String> {
    let kept: Vec<&str> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !is_owned(c.split('=').next().unwrap_or_default()))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for c in cookies {
            map.append(COOKIE, c.parse().unwrap());
        }
        map
    }

    #[test]
    fn over_tls_names_carry_the_host_prefix_and_plain_ones_are_not_read() {
        let tls = Jar::new(true);
        assert_eq!(tls.name(Owned::Session), "__Host-auth_session");
        let set = tls.set(Owned::Session, "v", 60);
        assert!(set.starts_with("__Host-auth_session=v"), "{set}");
        assert!(set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"));
        let h = headers(&["auth_session=planted"]);
        assert_eq!(tls.read(&h, Owned::Session), Ok(None));
        assert_eq!(
            Jar::new(false).read(&h, Owned::Session),
            Ok(Some("planted".into()))
        );
    }

    #[test]
    fn two_cookies_of_one_name_are_refused() {
        let h = headers(&["auth_session=a; theme=dark", "auth_session=b"]);
        assert!(Jar::new(false).read(&h, Owned::Session).is_err());
        let h = headers(&["theme=dark; theme=light; auth_session=a"]);
        assert_eq!(
            Jar::new(false).read(&h, Owned::Session),
            Ok(Some("a".into()))
        );
    }

    #[test]
    fn services_sharing_the_gateway_host_have_cookies_of_their_own() {
        let jar = Jar {
            tls: false,
            shared_host_service: Some("service-b"),
        };
        assert_eq!(jar.name(Owned::Session), "auth_session-service-b");
        assert_eq!(jar.name(Owned::Access), "auth_access");
    }

    #[test]
    fn every_owned_cookie_in_any_spelling_is_kept_from_services() {
        for name in [
            "auth_session",
            "AUTH_SESSION",
            "__Host-auth_session",
            "__secure-auth_access",
            "auth_refresh",
            "auth_login_nonce",
            "auth_state",
            "auth_session-app-c",
            "__Host-auth_console",
            "AUTH_CONSOLE_STEP",
        ] {
            assert!(is_owned(name), "{name}");
        }
        for name in ["theme", "auth_sessionx", "my_auth_session", "auth"] {
            assert!(!is_owned(name), "{name}");
        }
        let h = headers(&[
            "theme=dark; auth_session=x; __Host-auth_access=y",
            "AUTH_REFRESH=z; lang=en",
        ]);
        assert_eq!(
            cookie_header_for_upstream(&h).as_deref(),
            Some("theme=dark; lang=en")
        );
        assert_eq!(
            cookie_header_for_upstream(&headers(&["auth_state=s"])),
            None
        );
    }

    #[test]
    fn the_name_of_a_set_cookie() {
        assert_eq!(
            set_cookie_name(b"__Host-auth_session=x; Path=/"),
            b"__Host-auth_session"
        );
        assert_eq!(set_cookie_name(b" theme =dark"), b"theme");
    }
}
