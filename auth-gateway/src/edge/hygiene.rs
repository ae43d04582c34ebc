//! Request hygiene before anything else looks at a request: framing that two parsers could read
//! differently is refused, the path is put in one canonical form that routing, the access decision
//! and the forwarded request all use, the host is checked and put in one form the same way
//! (`host`), and the headers a client may not hand a service are named in one list (`headers`).

mod headers;
mod host;

pub use headers::{connection_named, never_forwarded};
pub use host::{RequestHost, request_host};

use http::HeaderMap;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE};

/// Why a request was refused.
pub type Refusal = &'static str;

/// Refuses framing that could smuggle a second request: Content-Length and Transfer-Encoding
/// together, more than one Content-Length, any transfer coding but a single `chunked`, and
/// protocol upgrades (after which a pipelined request could slip past the proxy).
pub fn check_framing(headers: &HeaderMap) -> Result<(), Refusal> {
    let lengths = headers.get_all(CONTENT_LENGTH).iter().count();
    let encodings: Vec<_> = headers.get_all(TRANSFER_ENCODING).iter().collect();
    if lengths > 0 && !encodings.is_empty() {
        return Err("Content-Length and Transfer-Encoding together");
    }
    if lengths > 1 {
        return Err("more than one Content-Length");
    }
    if let Some(length) = headers.get(CONTENT_LENGTH)
        && !length.as_bytes().iter().all(u8::is_ascii_digit)
    {
        return Err("a Content-Length that is not a number");
    }
    match encodings.as_slice() {
        [] => {}
        [only] if only.as_bytes().eq_ignore_ascii_case(b"chunked") => {}
        _ => return Err("a Transfer-Encoding other than a single `chunked`"),
    }
    if headers.contains_key(UPGRADE) {
        return Err("protocol upgrades are not supported");
    }
    Ok(())
}

/// Whether the raw request head names both Content-Length and Transfer-Encoding. Pingora drops
/// Content-Length in that case before filters run (and closes the connection after), so the
/// parsed headers no longer show the conflict; the raw bytes still do.
pub fn raw_head_has_both_lengths(raw: &[u8]) -> bool {
    let mut length = false;
    let mut encoding = false;
    for line in raw.split(|b| *b == b'\n').skip(1) {
        let name = line.split(|b| *b == b':').next().unwrap_or_default();
        let name = name.trim_ascii();
        length |= name.eq_ignore_ascii_case(b"content-length");
        encoding |= name.eq_ignore_ascii_case(b"transfer-encoding");
    }
    length && encoding
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

/// The canonical form of a request path: percent-encoded unreserved characters decoded (so
/// `%2e` is a dot), other escapes in upper case, empty and `.` segments removed, `..` applied
/// (never above the root). Encoded slashes, backslashes, NUL and non-ASCII are refused: they mean
/// different things to different servers.
pub fn canonical_path(raw: &str) -> Result<String, Refusal> {
    if !raw.starts_with('/') {
        return Err("the path must start with /");
    }
    let bytes = raw.as_bytes();
    let mut decoded = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) else {
                return Err("a malformed percent-escape in the path");
            };
            let value = hi * 16 + lo;
            match value {
                b'/' | b'\\' | 0 => return Err("an encoded slash, backslash or NUL in the path"),
                v if v.is_ascii_alphanumeric() || b"-._~".contains(&v) => decoded.push(v as char),
                v => decoded.push_str(&format!("%{v:02X}")),
            }
            i += 3;
            continue;
        }
        if b == b'\\' || !b.is_ascii() || b.is_ascii_control() {
            return Err("a backslash or a non-ASCII character in the path");
        }
        decoded.push(b as char);
        i += 1;
    }
    let ends_as_directory =
        decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut path = format!("/{}", segments.join("/"));
    if ends_as_directory && path != "/" {
        path.push('/');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;

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
    fn ambiguous_framing_is_refused() {
        assert!(
            check_framing(&headers(&[
                ("content-length", "5"),
                ("transfer-encoding", "chunked")
            ]))
            .is_err()
        );
        assert!(
            check_framing(&headers(&[
                ("content-length", "5"),
                ("content-length", "5")
            ]))
            .is_err()
        );
        assert!(check_framing(&headers(&[("content-length", "5, 5")])).is_err());
        assert!(check_framing(&headers(&[("transfer-encoding", "chunked, identity")])).is_err());
        assert!(check_framing(&headers(&[("transfer-encoding", "xchunked")])).is_err());
        assert!(
            check_framing(&headers(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked")
            ]))
            .is_err()
        );
        assert!(check_framing(&headers(&[("upgrade", "websocket")])).is_err());
        assert!(check_framing(&headers(&[("content-length", "5")])).is_ok());
        assert!(check_framing(&headers(&[("transfer-encoding", "Chunked")])).is_ok());
    }

    #[test]
    fn the_raw_head_shows_what_parsing_hid() {
        let raw = b"POST / HTTP/1.1\r\nHost: x\r\ncontent-LENGTH: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(raw_head_has_both_lengths(raw));
        assert!(!raw_head_has_both_lengths(
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
        ));
        // A header value that merely mentions the name does not count.
        assert!(!raw_head_has_both_lengths(
            b"GET / HTTP/1.1\r\nX-Note: content-length\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
    }

    #[test]
    fn path_variants_share_one_canonical_form() {
        for (raw, canonical) in [
            ("/a/b", "/a/b"),
            ("//a//b", "/a/b"),
            ("/./a/./b", "/a/b"),
            ("/a/%2e%2e/b", "/b"),
            ("/a/%2E%2E/%2e/b/", "/b/"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/%61%62c", "/abc"),
            ("/a%20b", "/a%20b"),
            ("/a%3fb", "/a%3Fb"),
            ("/", "/"),
            ("/a/..", "/"),
        ] {
            assert_eq!(canonical_path(raw).unwrap(), canonical, "{raw}");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for raw in [
            "a/b", "/a%2fb", "/a%5Cb", "/a\\b", "/a%00", "/a%zz", "/a%2", "/ä",
        ] {
            assert!(canonical_path(raw).is_err(), "{raw}");
        }
    }
}
