//! What the gateway answers on every service's host for the banner: `GET /_auth/status` (the
//! standing as JSON), `GET /_auth/banner.js` (the script that keeps the banner live) and
//! `GET /_auth/events`, a Server-Sent Events stream that pushes the start of the warning, each
//! minute of it, the closing, the opening and schedule changes, fed by the gateway's one
//! [`Ticker`](super::ticker::Ticker).
//!
//! These need no credential: operating hours are public (`/api/system/status` says the same),
//! and the closed overlay must still reach a page whose session closing time has just ended.
//! No cookie or token is read or written here.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use super::{Standing, Warning};
use crate::edge::{Gateway, RequestCtx, respond};

/// The script, served from the service's own host.
const BANNER_JS: &str = include_str!("../../../assets/banner.js");

/// Which event a change of standing is, if any.
pub fn event_kind(before: &Standing, now: &Standing) -> Option<&'static str> {
    if before.open && !now.open {
        Some("closed")
    } else if !before.open && now.open {
        Some("opened")
    } else if now.warning && !before.warning {
        Some("warning")
    } else if now.closes_at != before.closes_at
        || now.opens_at != before.opens_at
        || now.warning != before.warning
    {
        Some("schedule")
    } else if now.warning && now.minutes_left() != before.minutes_left() {
        Some("minute")
    } else {
        None
    }
}

/// One event of the stream.
pub fn frame(kind: &str, standing: &Standing) -> Bytes {
    let data = serde_json::to_string(standing).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

impl Gateway {
    /// Answers `/_auth/status`, `/_auth/banner.js` and `/_auth/events`; false for another path.
    pub(in crate::edge) async fn answer_closing(
        &self,
        session: &mut Session,
        ctx: &RequestCtx,
        warning: Warning,
        path: &str,
    ) -> pingora::Result<bool> {
        match path {
            "/_auth/status" => {
                let standing = warning.view(&self.hours.status(&self.core));
                let body = serde_json::to_vec(&standing).unwrap_or_default();
                let mut header = ResponseHeader::build(200, Some(4))?;
                header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
                respond::send(session, header, Bytes::from(body), ctx.marks()).await?;
            }
            "/_auth/banner.js" => {
                let mut header = ResponseHeader::build(200, Some(4))?;
                header
                    .insert_header(http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")?;
                header.insert_header(http::header::CACHE_CONTROL, "public, max-age=300")?;
                respond::send(
                    session,
                    header,
                    Bytes::from_static(BANNER_JS.as_bytes()),
                    respond::Marks {
                        closing_in: None,
                        request_id: &ctx.request_id,
                    },
                )
                .await?;
            }
            "/_auth/events" => self.stream_events(session, warning).await?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Holds the connection and writes an event each time the standing changes for `warning`,
    /// a comment each minute otherwise (which also finds pages that have gone), until the page
    /// goes away.
    async fn stream_events(&self, session: &mut Session, warning: Warning) -> pingora::Result<()> {
        let mut changes = self.ticker.subscribe();
        let mut last = warning.view(&self.hours.status(&self.core));
        let mut header = ResponseHeader::build(200, Some(4))?;
        header.insert_header(http::header::CONTENT_TYPE, "text/event-stream")?;
        header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
        header.insert_header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")?;
        // The body ends when the connection does.
        session.set_keepalive(None);
        session
            .write_response_header(Box::new(header), false)
            .await?;
        let mut first = b"retry: 5000\n".to_vec();
        first.extend_from_slice(&frame("state", &last));
        session
            .write_response_body(Some(Bytes::from(first)), false)
            .await?;
        while changes.changed().await.is_ok() {
            let status = changes.borrow_and_update().clone();
            let now = warning.view(&status);
            let out = match event_kind(&last, &now) {
                Some(kind) => frame(kind, &now),
                None => Bytes::from_static(b": tick\n\n"),
            };
            last = now;
            if session.write_response_body(Some(out), false).await.is_err() {
                // The page went away.
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn open(left: i64, warning: bool) -> Standing {
        let closes: Timestamp = "2030-01-07T17:00:00Z".parse().unwrap();
        Standing {
            open: true,
            closes_at: Some(closes),
            opens_at: None,
            warning,
            seconds_left: Some(left),
        }
    }

    #[test]
    fn each_change_has_its_event() {
        let closed = Standing {
            open: false,
            closes_at: None,
            opens_at: Some("2030-01-08T09:00:00Z".parse().unwrap()),
            warning: false,
            seconds_left: None,
        };
        assert_eq!(
            event_kind(&open(960, false), &open(900, true)),
            Some("warning")
        );
        assert_eq!(event_kind(&open(900, true), &open(870, true)), None);
        assert_eq!(
            event_kind(&open(900, true), &open(840, true)),
            Some("minute")
        );
        assert_eq!(event_kind(&open(1, true), &closed), Some("closed"));
        assert_eq!(event_kind(&closed, &open(3600, false)), Some("opened"));
        assert_eq!(event_kind(&open(2000, false), &open(1940, false)), None);
        let mut moved = open(2000, false);
        moved.closes_at = Some("2030-01-07T18:00:00Z".parse().unwrap());
        assert_eq!(event_kind(&open(2000, false), &moved), Some("schedule"));
    }

    #[test]
    fn frames_are_named_events_with_the_standing() {
        let text = String::from_utf8(frame("minute", &open(840, true)).to_vec()).unwrap();
        assert!(
            text.starts_with("event: minute\ndata: {\"open\":true,"),
            "{text}"
        );
        assert!(text.contains("\"seconds_left\":840"));
        assert!(text.ends_with("\n\n"));
    }
}
