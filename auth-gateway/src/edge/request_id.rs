//! The request id: one per request, logged with every line about it and passed to the service as
//! `X-Request-Id`. A trusted proxy's id is kept, so one request can be followed across both; one a
//! client wrote itself is replaced, since it could be chosen to confuse the logs.

use http::HeaderMap;

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";

/// The same, as a name that needs no parsing.
pub const HEADER_NAME: http::HeaderName = http::HeaderName::from_static(HEADER);

/// Longest id taken from a trusted proxy.
const MAX_LEN: usize = 128;

/// The id of a request whose headers are `headers`, from a peer that is (`trusted`) or is not a
/// trusted proxy.
pub fn for_request(headers: &HeaderMap, trusted: bool) -> String {
    if trusted
        && let Some(id) = headers.get(HEADER).and_then(|v| v.to_str().ok())
        && is_acceptable(id)
    {
        return id.to_string();
    }
    auth_core::ids::row_id()
}

/// Printable, short, and without what could split a log line or a header.
fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(id: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(HEADER, id.parse().unwrap());
        map
    }

    #[test]
    fn a_trusted_proxys_id_is_kept_and_a_clients_replaced() {
        assert_eq!(for_request(&headers("lb-42"), true), "lb-42");
        let replaced = for_request(&headers("lb-42"), false);
        assert_ne!(replaced, "lb-42");
        assert_eq!(replaced.len(), 36);
    }

    #[test]
    fn a_malformed_id_is_replaced_even_from_a_trusted_proxy() {
        assert_ne!(for_request(&headers("a b"), true), "a b");
        assert_ne!(
            for_request(&headers(&"x".repeat(129)), true),
            "x".repeat(129)
        );
        assert_eq!(for_request(&HeaderMap::new(), true).len(), 36);
    }
}
