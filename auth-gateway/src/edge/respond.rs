//! Answers the edge writes itself: JSON refusals in the API's envelope, redirects, and plain pages
//! for browsers. Each carries the closing warning when it applies.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use crate::web::envelope::error_json;
use crate::web::refusal::Refusal;

/// Header every response carries in the warning window before closing: seconds left.
pub const CLOSING_IN: &str = "x-system-closing-in";

/// HSTS on every answer over TLS: a year, for the host that answered.
pub const HSTS: &str = "max-age=31536000";

/// The headers every answer of the gateway's own carries (API, pages, refusals): no content-type
/// sniffing; not stored by caches unless the answer says otherwise (JWKS and assets do), since
/// API answers carry tokens and personal data; and HSTS over TLS.
pub fn secure_headers(header: &mut ResponseHeader, tls: bool) -> pingora::Result<()> {
    if header
        .headers
        .get(http::header::X_CONTENT_TYPE_OPTIONS)
        .is_none()
    {
        header.insert_header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")?;
    }
    if header.headers.get(http::header::CACHE_CONTROL).is_none() {
        header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    }
    if tls {
        strict_transport(header)?;
    }
    Ok(())
}

/// HSTS, unless the answer (a service's, say) has its own.
pub fn strict_transport(header: &mut ResponseHeader) -> pingora::Result<()> {
    if header
        .headers
        .get(http::header::STRICT_TRANSPORT_SECURITY)
        .is_none()
    {
        header.insert_header(http::header::STRICT_TRANSPORT_SECURITY, HSTS)?;
    }
    Ok(())
}

/// What every answer of the edge's own carries besides its content: the seconds to closing inside
/// the warning window, and the request's id (the one the logs and the service see).
#[derive(Clone, Copy)]
pub struct Marks<'a> {
    pub closing_in: Option<i64>,
    pub request_id: &'a str,
}

impl Marks<'_> {
    pub fn apply(&self, header: &mut ResponseHeader) -> pingora::Result<()> {
        if let Some(seconds) = self.closing_in {
            header.insert_header(CLOSING_IN, seconds.to_string())?;
        }
        if !self.request_id.is_empty() {
            header.insert_header(super::request_id::HEADER, self.request_id)?;
        }
        Ok(())
    }
}

fn over_tls(session: &Session) -> bool {
    session.digest().is_some_and(|d| d.ssl_digest.is_some())
}

pub async fn send(
    session: &mut Session,
    mut header: ResponseHeader,
    body: Bytes,
    marks: Marks<'_>,
) -> pingora::Result<()> {
    header.insert_header(http::header::CONTENT_LENGTH, body.len().to_string())?;
    secure_headers(&mut header, over_tls(session))?;
    marks.apply(&mut header)?;
    let empty = body.is_empty() || session.req_header().method == http::Method::HEAD;
    session
        .write_response_header(Box::new(header), empty)
        .await?;
    if !empty {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}

/// `err` as a JSON envelope with `status` (and `Retry-After` when it is temporary).
pub async fn error(
    session: &mut Session,
    err: &Refusal,
    status: u16,
    marks: Marks<'_>,
) -> pingora::Result<()> {
    let body = Bytes::from(serde_json::to_vec(&error_json(err)).unwrap_or_default());
    let mut header = ResponseHeader::build(status, Some(6))?;
    header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    if let Some(secs) = err.retry_after_secs() {
        header.insert_header(http::header::RETRY_AFTER, secs.to_string())?;
    }
    if status == 401 {
        header.insert_header(http::header::WWW_AUTHENTICATE, "Bearer")?;
    }
    send(session, header, body, marks).await
}

/// `err` with the status its code maps to.
pub async fn refusal(
    session: &mut Session,
    err: &Refusal,
    marks: Marks<'_>,
) -> pingora::Result<()> {
    error(session, err, err.status(), marks).await
}

/// A 302 to `location`.
pub async fn redirect(
    session: &mut Session,
    location: &str,
    marks: Marks<'_>,
) -> pingora::Result<()> {
    let mut header = ResponseHeader::build(302, Some(4))?;
    header.insert_header(http::header::LOCATION, location)?;
    send(session, header, Bytes::new(), marks).await
}

/// An HTML page with the security headers every page of the gateway carries.
pub async fn html(
    session: &mut Session,
    status: u16,
    page: String,
    retry_after: Option<u64>,
    marks: Marks<'_>,
) -> pingora::Result<()> {
    let mut header = ResponseHeader::build(status, Some(8))?;
    header.insert_header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")?;
    for (name, value) in crate::web::page::SECURITY_HEADERS {
        header.insert_header(*name, *value)?;
    }
    if let Some(secs) = retry_after {
        header.insert_header(http::header::RETRY_AFTER, secs.to_string())?;
    }
    send(session, header, Bytes::from(page), marks).await
}

/// The status and refusal for a request that failed while being proxied; None when the client
/// connection is already gone and nothing can be written.
pub fn proxy_failure(e: &pingora::Error) -> (u16, Option<Refusal>) {
    use pingora::{ErrorSource, ErrorType};
    match (e.etype(), e.esource()) {
        (ErrorType::HTTPStatus(code), _) => (*code, Some(Refusal::BadRequest(e.to_string()))),
        (_, ErrorSource::Upstream) => (502, Some(Refusal::Upstream(e.to_string().into()))),
        (
            ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed,
            ErrorSource::Downstream,
        ) => (0, None),
        (_, ErrorSource::Downstream) => {
            (400, Some(Refusal::BadRequest("malformed request".into())))
        }
        _ => (500, Some(Refusal::internal(e.to_string()))),
    }
}
