//! The cookies browser clients may ask for instead of tokens in the body: HttpOnly, SameSite=Lax,
//! Secure when the connection is TLS.

use axum::http::HeaderMap;
use cookie::{Cookie, SameSite};

/// The access token.
pub const ACCESS: &str = "auth_access";
/// The refresh token; sent only to the auth API's token routes.
pub const REFRESH: &str = "auth_refresh";

const REFRESH_PATH: &str = "/api/auth";

/// The value of cookie `name` in the request.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()))
        .flatten()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

fn build(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age_secs: i64,
    secure: bool,
) -> String {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
        .to_string()
}

/// `Set-Cookie` values that hand the tokens to a browser.
pub fn set_tokens(
    access: &str,
    access_ttl: u64,
    refresh: &str,
    refresh_ttl: u64,
    secure: bool,
) -> [String; 2] {
    [
        build(ACCESS, access.to_string(), "/", access_ttl as i64, secure),
        build(
            REFRESH,
            refresh.to_string(),
            REFRESH_PATH,
            refresh_ttl as i64,
            secure,
        ),
    ]
}

/// `Set-Cookie` values that remove both tokens.
pub fn clear_tokens(secure: bool) -> [String; 2] {
    [
        build(ACCESS, String::new(), "/", 0, secure),
        build(REFRESH, String::new(), REFRESH_PATH, 0, secure),
    ]
}
