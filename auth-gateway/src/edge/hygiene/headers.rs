//! Request headers a service never receives from a client, whatever their spelling. Servers that
//! map header names to CGI-style variables (`HTTP_X_AUTH_USER_ID`) read `X_Auth_User_Id` and
//! `X-Auth-User-Id` as one name and may merge a forged copy into the gateway's, so names are
//! compared with ASCII case ignored and `_` read as `-`. The comparison allocates nothing: it runs
//! for every header of every request forwarded.

use http::HeaderMap;
use http::header::{CONNECTION, CONTENT_LENGTH, HeaderName, TRANSFER_ENCODING};

/// One entry of [`NEVER_FORWARDED`], written in lower case with dashes.
enum Name {
    /// The whole name.
    Is(&'static str),
    /// Every name that begins so.
    Prefix(&'static str),
}

use Name::{Is, Prefix};

/// Every header a client may not hand a service. The only list of them:
/// `identity::forwarded_headers` leaves out what matches before it adds the gateway's own headers.
const NEVER_FORWARDED: &[Name] = &[
    // Set only by the gateway, from what it verified and saw: the identity and its signed
    // assertion, and where the request came from. A client's copy is a forgery.
    Prefix("x-auth-"),
    Prefix("x-forwarded-"),
    Is("x-forwarded"),
    Is("forwarded"),
    Is("x-real-ip"),
    // The client's address as CDNs and load balancers report it. Frameworks, rate limiters and
    // audit logs behind us trust these when present; the gateway's `X-Forwarded-For` and
    // `X-Real-IP` are the only address a service should believe.
    Is("true-client-ip"),
    Is("x-client-ip"),
    Is("client-ip"),
    Is("cf-connecting-ip"),
    Is("cf-connecting-ipv6"),
    Is("x-cluster-client-ip"),
    Is("fastly-client-ip"),
    Is("x-originating-ip"),
    Is("x-remote-ip"),
    Is("x-remote-addr"),
    Is("x-envoy-external-address"),
    // Overrides of the URL or host a request is for (IIS, Symfony, Laminas and some nginx set-ups
    // route on them): the service would serve a path or host the gateway never checked.
    Is("x-original-url"),
    Is("x-original-uri"),
    Is("x-rewrite-url"),
    Is("x-original-host"),
    Is("x-host"),
    // Overrides of the method (Rails, Express, Symfony, ASP.NET): the gateway decided on one
    // method, the service would act on another.
    Is("x-http-method-override"),
    Is("x-http-method"),
    Is("x-method-override"),
    // `Proxy` becomes `HTTP_PROXY` in CGI programs, whose HTTP clients take it as their outbound
    // proxy (httpoxy).
    Is("proxy"),
    // Hop-by-hop (RFC 9110 §7.6.1): about the client's connection to us, not ours to the service.
    Is("connection"),
    Is("keep-alive"),
    Is("proxy-connection"),
    Is("proxy-authenticate"),
    Is("proxy-authorization"),
    Is("te"),
    Is("trailer"),
    Is("upgrade"),
];

/// A byte as a server that folds header names sees it.
fn folded(byte: u8) -> u8 {
    if byte == b'_' {
        b'-'
    } else {
        byte.to_ascii_lowercase()
    }
}

fn folded_starts_with(name: &[u8], pattern: &str) -> bool {
    name.len() >= pattern.len()
        && name
            .iter()
            .zip(pattern.as_bytes())
            .all(|(n, p)| folded(*n) == *p)
}

/// Whether a client's header `name`, in any case and with `_` for `-`, is one a service never
/// receives from a client.
pub fn never_forwarded(name: &str) -> bool {
    let name = name.as_bytes();
    NEVER_FORWARDED.iter().any(|rule| match rule {
        Is(pattern) => name.len() == pattern.len() && folded_starts_with(name, pattern),
        Prefix(pattern) => folded_starts_with(name, pattern),
    })
}

/// The headers the client named in `Connection`, to be removed before forwarding (RFC 9110
/// §7.6.1). Taken before the gateway adds its own headers, so a client can never use `Connection`
/// to strip them; framing stays with the proxy whatever the client names.
pub fn connection_named(headers: &HeaderMap) -> Vec<HeaderName> {
    let mut names = Vec::new();
    for value in headers.get_all(CONNECTION) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            // `from_bytes` lower-cases.
            if let Ok(name) = HeaderName::from_bytes(token.as_bytes())
                && name != CONTENT_LENGTH
                && name != TRANSFER_ENCODING
            {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_written_as_names_are_compared() {
        // A pattern with `_` or upper case would never match anything.
        for rule in NEVER_FORWARDED {
            let (Is(pattern) | Prefix(pattern)) = rule;
            assert!(
                pattern.bytes().all(|b| folded(b) == b),
                "{pattern} must be lower case with dashes"
            );
        }
    }

    #[test]
    fn reserved_names_are_caught_in_every_spelling() {
        for name in [
            "x-auth-user-id",
            "X_Auth_User_Id",
            "x_auth-assertion",
            "X-AUTH-ROLE",
            "x_forwarded_for",
            "X-Forwarded_Host",
            "x-forwarded-prefix",
            "x-forwarded",
            "X_Forwarded",
            "Forwarded",
            "x_real_ip",
            "X-Real-IP",
        ] {
            assert!(never_forwarded(name), "{name}");
        }
    }

    #[test]
    fn client_address_claims_are_caught() {
        for name in [
            "True-Client-IP",
            "true_client_ip",
            "X-Client-IP",
            "Client-IP",
            "CF-Connecting-IP",
            "cf_connecting_ip",
            "X-Cluster-Client-IP",
            "Fastly-Client-IP",
            "X-Originating-IP",
            "X-Remote-IP",
            "X-Remote-Addr",
        ] {
            assert!(never_forwarded(name), "{name}");
        }
    }

    #[test]
    fn url_host_and_method_overrides_are_caught() {
        for name in [
            "X-Original-URL",
            "x_original_url",
            "X-Original-URI",
            "X-Rewrite-URL",
            "X-Original-Host",
            "X-Host",
            "X-HTTP-Method-Override",
            "x_http_method_override",
            "X-HTTP-Method",
            "X-Method-Override",
        ] {
            assert!(never_forwarded(name), "{name}");
        }
    }

    #[test]
    fn httpoxy_and_hop_by_hop_names_are_caught_with_underscores_too() {
        for name in [
            "Proxy",
            "connection",
            "Keep_Alive",
            "proxy_connection",
            "Proxy-Authorization",
            "proxy_authenticate",
            "TE",
            "trailer",
            "upgrade",
        ] {
            assert!(never_forwarded(name), "{name}");
        }
    }

    #[test]
    fn ordinary_headers_pass() {
        for name in [
            "accept",
            "user-agent",
            "content-type",
            "x-request-id",
            "x-authority",
            "x-auth",
            "x-hostname",
            "proxy-status",
            "x-team_note",
            "tea",
        ] {
            assert!(!never_forwarded(name), "{name}");
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn connection_named_headers_are_dropped_but_not_framing() {
        let names = connection_named(&headers(&[(
            "connection",
            "close, X-Secret, content-length, Transfer-Encoding",
        )]));
        assert!(names.contains(&HeaderName::from_static("x-secret")));
        assert!(names.contains(&HeaderName::from_static("close")));
        assert!(!names.contains(&CONTENT_LENGTH));
        assert!(!names.contains(&TRANSFER_ENCODING));
        assert!(connection_named(&headers(&[("accept", "*/*")])).is_empty());
    }
}
