//! The host a request is for, checked once before routing. A `Host` that two parsers could read
//! differently (`service-b.localhost:8080@evil.example`, a second `Host`, a port that is not a
//! number, a path) is refused rather than guessed at; what passes is kept in one normal form that
//! routing, `X-Forwarded-Host` and the access log all use, never the raw header.

use std::fmt;
use std::net::Ipv6Addr;

use http::header::HOST;
use http::{HeaderMap, Uri};

use super::Refusal;

/// The longest host name DNS allows.
const MAX_NAME_LEN: usize = 253;

/// A request's host after the edge's check: the name in lower case (an IPv6 literal keeps its
/// brackets, as routing keys it) and the port, if the client gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHost {
    /// `name` or `name:port`, the port without leading zeros: built once, so that handing it on
    /// costs no formatting.
    text: String,
    name_len: usize,
    port: Option<u16>,
}

impl RequestHost {
    /// Parses `host[:port]`: a name of letters, digits, `-`, `.` and `_`, or an IPv6 literal in
    /// brackets; a port of 1 to 65535 in decimal digits. Refuses userinfo (`@`), paths, spaces,
    /// lists, an empty name or port, and anything else.
    pub fn parse(raw: &str) -> Result<RequestHost, Refusal> {
        let (name, port) = match raw.strip_prefix('[') {
            Some(rest) => {
                let (literal, after) = rest
                    .split_once(']')
                    .ok_or("a Host with an unclosed IPv6 bracket")?;
                if literal.parse::<Ipv6Addr>().is_err() {
                    return Err("a Host in brackets that is not an IPv6 address");
                }
                let port = match after {
                    "" => None,
                    _ => Some(after.strip_prefix(':').ok_or("a malformed Host")?),
                };
                (&raw[..literal.len() + 2], port)
            }
            None => {
                let (name, port) = match raw.split_once(':') {
                    Some((name, port)) => (name, Some(port)),
                    None => (raw, None),
                };
                let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
                if name.is_empty() || name.len() > MAX_NAME_LEN || !name.bytes().all(allowed) {
                    return Err("a malformed Host");
                }
                (name, port)
            }
        };
        let mut text = String::with_capacity(raw.len());
        text.extend(name.chars().map(|c| c.to_ascii_lowercase()));
        let name_len = text.len();
        let port = match port {
            Some(digits) => {
                let number = parse_port(digits)?;
                text.push(':');
                text.push_str(digits.trim_start_matches('0'));
                Some(number)
            }
            None => None,
        };
        Ok(RequestHost {
            text,
            name_len,
            port,
        })
    }

    /// The name, lower case, without the port: what routing looks up.
    pub fn name(&self) -> &str {
        &self.text[..self.name_len]
    }

    /// The port the client named, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `name` or `name:port`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for RequestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Decimal digits only (`u16::from_str` would also take a leading `+`), 1 to 65535.
fn parse_port(text: &str) -> Result<u16, Refusal> {
    const BAD_PORT: Refusal = "a Host whose port is not a number from 1 to 65535";
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD_PORT);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(BAD_PORT),
        Ok(port) => Ok(port),
    }
}

/// The port a scheme implies when none is written.
fn default_port(uri: &Uri) -> Option<u16> {
    match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    }
}

/// The host of a request: its one `Host` header, or the authority of its target when there is
/// no `Host` (HTTP/2, or an absolute-form request line). Refuses more than one `Host`, a `Host`
/// or authority that [`RequestHost::parse`] refuses, a target authority that names another host
/// or port than `Host`, and a request with neither.
pub fn request_host(headers: &HeaderMap, uri: &Uri) -> Result<RequestHost, Refusal> {
    let mut values = headers.get_all(HOST).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err("more than one Host header");
    }
    let header = header
        .map(|value| {
            value
                .to_str()
                .map_err(|_| "a malformed Host")
                .and_then(RequestHost::parse)
        })
        .transpose()?;
    let target = uri
        .authority()
        .map(|authority| RequestHost::parse(authority.as_str()))
        .transpose()?;
    match (header, target) {
        (Some(header), Some(target)) => {
            let default = default_port(uri);
            if header.name() != target.name() || header.port.or(default) != target.port.or(default)
            {
                return Err("the request line names another host than Host");
            }
            Ok(header)
        }
        (Some(host), None) | (None, Some(host)) => Ok(host),
        (None, None) => Err("a request without Host"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(raw: &str) -> Result<String, Refusal> {
        RequestHost::parse(raw).map(|h| h.to_string())
    }

    #[test]
    fn well_formed_hosts_are_kept_in_one_form() {
        for (raw, normal) in [
            ("service-b.localhost", "service-b.localhost"),
            ("Service-B.LOCALHOST:8080", "service-b.localhost:8080"),
            ("127.0.0.1:1", "127.0.0.1:1"),
            ("internal_name:65535", "internal_name:65535"),
            ("[::1]", "[::1]"),
            ("[2001:DB8::1]:8443", "[2001:db8::1]:8443"),
            ("a.example:0080", "a.example:80"),
        ] {
            assert_eq!(host(raw).as_deref(), Ok(normal), "{raw}");
        }
        let parsed = RequestHost::parse("[::1]:8080").unwrap();
        assert_eq!((parsed.name(), parsed.port()), ("[::1]", Some(8080)));
    }

    #[test]
    fn userinfo_paths_spaces_and_lists_are_refused() {
        for raw in [
            "service-b.localhost:8080@evil.example",
            "evil.example@service-b.localhost",
            "user:pass@service-b.localhost",
            "service-b.localhost/evil",
            "service-b.localhost:8080/evil",
            "service-b.localhost?x",
            "service-b.localhost#x",
            "service-b.localhost evil",
            " service-b.localhost",
            "service-b.localhost,evil.example",
            "service-b.localhost\\evil",
            "service%2eb.localhost",
            "",
            ":8080",
        ] {
            assert!(host(raw).is_err(), "{raw}");
        }
        assert!(host(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn ports_must_be_numbers_from_1_to_65535() {
        for raw in [
            "a.example:",
            "a.example:http",
            "a.example:0",
            "a.example:65536",
            "a.example:+80",
            "a.example:-1",
            "a.example:123456",
            "a.example:80:80",
            "a.example: 80",
        ] {
            assert!(host(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn ipv6_literals_need_their_brackets() {
        for raw in [
            "::1",
            "::1:8080",
            "[::1",
            "[::1]8080",
            "[::1]:",
            "[evil.example]",
            "[::1]@evil",
            "[fe80::1%25eth0]",
        ] {
            assert!(host(raw).is_err(), "{raw}");
        }
    }

    fn request(hosts: &[&str], target: &str) -> Result<String, Refusal> {
        let mut headers = HeaderMap::new();
        for h in hosts {
            headers.append(HOST, h.parse().unwrap());
        }
        request_host(&headers, &target.parse().unwrap()).map(|h| h.to_string())
    }

    #[test]
    fn exactly_one_host_is_required() {
        assert_eq!(
            request(&["A.example:8080"], "/x").as_deref(),
            Ok("a.example:8080")
        );
        assert!(request(&["a.example", "a.example"], "/x").is_err());
        assert!(request(&["a.example", "b.example"], "/x").is_err());
        assert!(request(&[], "/x").is_err());
        let mut headers = HeaderMap::new();
        headers.insert(HOST, http::HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert!(request_host(&headers, &"/x".parse().unwrap()).is_err());
    }

    #[test]
    fn the_request_line_must_agree_with_host() {
        assert_eq!(
            request(&["a.example:8080"], "http://a.example:8080/x").as_deref(),
            Ok("a.example:8080")
        );
        // Case, and a port the scheme implies, make no difference.
        assert!(request(&["A.example"], "http://a.example/x").is_ok());
        assert!(request(&["a.example:80"], "http://a.example/x").is_ok());
        assert!(request(&["a.example"], "https://a.example:443/x").is_ok());
        // Another host or port does.
        assert!(request(&["a.example"], "http://b.example/x").is_err());
        assert!(request(&["a.example:8080"], "http://a.example:8081/x").is_err());
        assert!(request(&["a.example"], "https://a.example:80/x").is_err());
        assert!(request(&["a.example"], "http://user@a.example/x").is_err());
        // Without Host (HTTP/2), the authority is the host, checked the same way.
        assert_eq!(
            request(&[], "https://A.example:8443/x").as_deref(),
            Ok("a.example:8443")
        );
        assert!(request(&[], "http://user@a.example/x").is_err());
    }
}
