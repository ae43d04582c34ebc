//! The banner the gateway inserts into a service's HTML answers: a small element that reads as
//! plain text without JavaScript, and `<script src="/_auth/banner.js">` served by the gateway on
//! the service's own host (so a service's `script-src 'self'` allows it) that keeps it live.
//!
//! The body streams through [`Inserter`] chunk by chunk: nothing is held but the last few bytes
//! of a chunk that could be the start of `</body>` split across chunks. The banner goes before
//! the first `</body>` (in any case); an answer without one (a fragment) passes unchanged.

use bytes::{Bytes, BytesMut};
use jiff::Timestamp;
use pingora::http::ResponseHeader;

use super::Standing;

const END_TAG: &[u8] = b"</body>";

/// The banner for a page answered at `standing`: shown when inside the warning window, hidden
/// (for banner.js to show later) otherwise. Only times go into it, never a request's data.
/// `base` is the path prefix the service is reached under ("" on its own host).
pub fn snippet(standing: &Standing, timezone: &str, base: &str) -> String {
    let closes_at = standing
        .closes_at
        .map(|t| t.to_string())
        .unwrap_or_default();
    let text = match (standing.closing_in(), standing.closes_at) {
        (Some(seconds), Some(at)) => format!(
            "The system closes in {} at {}; save your work.",
            plural_minutes((seconds + 59) / 60),
            local_time(at, timezone)
        ),
        _ => String::new(),
    };
    let hidden = if text.is_empty() { " hidden" } else { "" };
    format!(
        "<div id=\"auth-closing-banner\" role=\"status\" data-closes-at=\"{closes_at}\"{hidden}>\
         {text}</div><script src=\"{base}/_auth/banner.js\" defer></script>"
    )
}

fn plural_minutes(minutes: i64) -> String {
    if minutes == 1 {
        "1 minute".into()
    } else {
        format!("{minutes} minutes")
    }
}

/// `at` as `HH:MM ZONE` in the schedule's zone (UTC when the zone is unknown).
fn local_time(at: Timestamp, timezone: &str) -> String {
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(zone).strftime("%H:%M %Z").to_string()
}

/// Whether a service's answer gets the banner: HTML (any status but a range) with a body, not
/// opted out with `X-Auth-No-Banner: 1`, and not compressed in a coding the gateway did not undo
/// (a compressed body is passed untouched, with the headers only).
pub fn wanted(head: &ResponseHeader, method: &http::Method) -> bool {
    let html = head
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/html"));
    let opted_out = head
        .headers
        .get(super::NO_BANNER)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
    let encoded = head
        .headers
        .get(http::header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity"));
    let bodiless = method == http::Method::HEAD
        || head.status.is_informational()
        || head.status == http::StatusCode::NO_CONTENT
        || head.status == http::StatusCode::NOT_MODIFIED
        // A byte range of the page: inserting would shift every range after it.
        || head.status == http::StatusCode::PARTIAL_CONTENT;
    html && !opted_out && !encoded && !bodiless
}

/// Makes the answer's framing fit a body that grows: the length is unknown until `</body>` is
/// found, so a fixed `Content-Length` gives way to chunked transfer (HTTP/1.1), to a body that
/// ends with the connection (HTTP/1.0), or to HTTP/2's own framing. A strong `ETag` becomes
/// weak: the bytes differ from the service's.
pub fn reframe(head: &mut ResponseHeader, http11: bool) -> pingora::Result<()> {
    head.remove_header(&http::header::CONTENT_LENGTH);
    if http11 {
        head.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
    }
    if let Some(tag) = head.headers.get(http::header::ETAG).cloned()
        && !tag.as_bytes().starts_with(b"W/")
    {
        let mut weak = b"W/".to_vec();
        weak.extend_from_slice(tag.as_bytes());
        head.insert_header(http::header::ETAG, weak)?;
    }
    Ok(())
}

/// Inserts a banner before the first `</body>` of a body that arrives in chunks.
pub struct Inserter {
    banner: Option<Bytes>,
    /// The end of the last chunk that may begin a `</body>` split across chunks.
    tail: BytesMut,
}

impl Inserter {
    pub fn new(banner: String) -> Inserter {
        Inserter {
            banner: Some(Bytes::from(banner)),
            tail: BytesMut::new(),
        }
    }

    /// Whether the banner went in.
    pub fn inserted(&self) -> bool {
        self.banner.is_none()
    }

    /// The bytes to send for `chunk`; at `end`, whatever was held back too.
    pub fn feed(&mut self, chunk: Option<Bytes>, end: bool) -> Option<Bytes> {
        let Some(banner) = self.banner.as_ref() else {
            // Inserted already: everything else passes as it came.
            return self.flush_with(chunk);
        };
        let chunk = chunk.unwrap_or_default();
        let mut joined = BytesMut::with_capacity(self.tail.len() + chunk.len());
        joined.extend_from_slice(&self.tail);
        joined.extend_from_slice(&chunk);
        self.tail.clear();
        if let Some(at) = find_end_tag(&joined) {
            let mut out = BytesMut::with_capacity(joined.len() + banner.len());
            out.extend_from_slice(&joined[..at]);
            out.extend_from_slice(banner);
            out.extend_from_slice(&joined[at..]);
            self.banner = None;
            return Some(out.freeze());
        }
        if end {
            return Some(joined.freeze());
        }
        let keep = held_back(&joined);
        self.tail.extend_from_slice(&joined[joined.len() - keep..]);
        joined.truncate(joined.len() - keep);
        Some(joined.freeze())
    }

    fn flush_with(&mut self, chunk: Option<Bytes>) -> Option<Bytes> {
        if self.tail.is_empty() {
            return chunk;
        }
        let mut out = std::mem::take(&mut self.tail);
        if let Some(chunk) = chunk {
            out.extend_from_slice(&chunk);
        }
        Some(out.freeze())
    }
}

/// Where the first `</body>` starts, ignoring case.
fn find_end_tag(body: &[u8]) -> Option<usize> {
    body.windows(END_TAG.len())
        .position(|w| w.eq_ignore_ascii_case(END_TAG))
}

/// How many bytes at the end of `body` could begin `</body>` (at most six).
fn held_back(body: &[u8]) -> usize {
    (1..END_TAG.len())
        .rev()
        .find(|&n| n <= body.len() && body[body.len() - n..].eq_ignore_ascii_case(&END_TAG[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> String {
        let mut inserter = Inserter::new("[B]".into());
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let end = i + 1 == chunks.len();
            if let Some(bytes) = inserter.feed(Some(Bytes::from(chunk.to_string())), end) {
                out.extend_from_slice(&bytes);
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn goes_before_the_end_tag_in_any_case() {
        assert_eq!(
            run(&["<p>x</p></BODY></html>"]),
            "<p>x</p>[B]</BODY></html>"
        );
    }

    #[test]
    fn finds_an_end_tag_split_across_chunks_at_every_point() {
        let page = "<html><body><p>hello</p></body></html>";
        for cut in 0..=page.len() {
            for second in cut..=page.len() {
                let got = run(&[&page[..cut], &page[cut..second], &page[second..]]);
                assert_eq!(
                    got, "<html><body><p>hello</p>[B]</body></html>",
                    "{cut}/{second}"
                );
            }
        }
    }

    #[test]
    fn a_fragment_passes_unchanged_and_only_the_first_end_tag_counts() {
        assert_eq!(run(&["<p>x</p><", "/bod"]), "<p>x</p></bod");
        assert_eq!(run(&["</body>", "</body>"]), "[B]</body></body>");
    }

    #[test]
    fn holds_back_no_more_than_a_partial_tag() {
        let mut inserter = Inserter::new("[B]".into());
        let out = inserter.feed(Some(Bytes::from_static(b"abc</bo")), false);
        assert_eq!(out.as_deref(), Some(&b"abc"[..]));
        let out = inserter.feed(Some(Bytes::from_static(b"xyz")), false);
        assert_eq!(out.as_deref(), Some(&b"</boxyz"[..]));
    }

    fn head(pairs: &[(&str, &str)]) -> ResponseHeader {
        let mut head = ResponseHeader::build(200, None).unwrap();
        for (k, v) in pairs {
            head.insert_header(k.to_string(), *v).unwrap();
        }
        head
    }

    #[test]
    fn only_uncompressed_html_with_a_body_gets_a_banner() {
        let get = http::Method::GET;
        assert!(wanted(
            &head(&[("content-type", "text/html; charset=utf-8")]),
            &get
        ));
        assert!(wanted(&head(&[("content-type", "TEXT/HTML")]), &get));
        assert!(!wanted(
            &head(&[("content-type", "application/json")]),
            &get
        ));
        assert!(!wanted(
            &head(&[("content-type", "text/html"), ("x-auth-no-banner", "1")]),
            &get
        ));
        assert!(!wanted(
            &head(&[("content-type", "text/html"), ("content-encoding", "br")]),
            &get
        ));
        assert!(!wanted(
            &head(&[("content-type", "text/html")]),
            &http::Method::HEAD
        ));
    }

    #[test]
    fn a_fixed_length_gives_way_to_chunks_and_the_etag_weakens() {
        let mut answer = head(&[("content-length", "10"), ("etag", "\"abc\"")]);
        reframe(&mut answer, true).unwrap();
        assert!(answer.headers.get("content-length").is_none());
        assert_eq!(answer.headers["transfer-encoding"], "chunked");
        assert_eq!(answer.headers["etag"], "W/\"abc\"");
    }

    #[test]
    fn the_banner_is_hidden_outside_the_window() {
        let at: Timestamp = "2030-01-07T17:00:00Z".parse().unwrap();
        let mut standing = Standing {
            open: true,
            closes_at: Some(at),
            opens_at: None,
            warning: false,
            seconds_left: Some(1200),
        };
        let hidden = snippet(&standing, "UTC", "");
        assert!(hidden.contains(" hidden>"), "{hidden}");
        assert!(hidden.contains("<script src=\"/_auth/banner.js\" defer></script>"));
        standing.warning = true;
        standing.seconds_left = Some(600);
        let shown = snippet(&standing, "UTC", "/app");
        assert!(shown.contains("src=\"/app/_auth/banner.js\""));
        assert!(
            shown.contains("closes in 10 minutes at 17:00 UTC"),
            "{shown}"
        );
        assert!(!shown.contains("hidden"));
    }
}
