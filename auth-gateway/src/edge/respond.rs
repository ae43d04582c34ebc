//! Answers written by the edge itself, in the API's JSON envelope.

use auth_core::Error;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use crate::api::envelope::error_json;

/// Writes `err` as a JSON envelope with `status`.
pub async fn error(session: &mut Session, err: &Error, status: u16) -> pingora::Result<()> {
    let body = Bytes::from(serde_json::to_vec(&error_json(err)).unwrap_or_default());
    let mut header = ResponseHeader::build(status, Some(4))?;
    header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    header.insert_header(http::header::CONTENT_LENGTH, body.len().to_string())?;
    header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    if let Some(secs) = err.retry_after_secs() {
        header.insert_header(http::header::RETRY_AFTER, secs.to_string())?;
    }
    session
        .write_response_header(Box::new(header), false)
        .await?;
    session.write_response_body(Some(body), true).await
}

/// Writes `err` with the status its code maps to.
pub async fn refusal(session: &mut Session, err: &Error) -> pingora::Result<()> {
    error(session, err, err.code().http_status()).await
}

/// The status and refusal for a request that failed while being proxied; None when the client
/// connection is already gone and nothing can be written.
pub fn proxy_failure(e: &pingora::Error) -> (u16, Option<Error>) {
    use pingora::{ErrorSource, ErrorType};
    match (e.etype(), e.esource()) {
        (ErrorType::HTTPStatus(code), _) => (*code, Some(Error::BadRequest(e.to_string()))),
        (_, ErrorSource::Upstream) => (
            502,
            Some(Error::Upstream("the service did not answer".into())),
        ),
        (
            ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed,
            ErrorSource::Downstream,
        ) => (0, None),
        (_, ErrorSource::Downstream) => (400, Some(Error::BadRequest("malformed request".into()))),
        _ => (500, Some(Error::internal(e))),
    }
}
