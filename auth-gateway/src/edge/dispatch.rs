//! Serves a request with the gateway's own axum router, in process: the Pingora session's request
//! becomes an `http::Request`, the router's answer is written back on the same connection, with
//! the security headers every answer of the gateway carries. No second hop, no second listener.

use auth_core::Error;
use axum::Router;
use axum::body::Body;
use bytes::{Bytes, BytesMut};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use tower::ServiceExt;

use super::respond;
use crate::web::client::ClientInfo;
use crate::web::refusal::Refusal;

/// Reads the request, runs it through `router` with `path_and_query` (the canonical form), and
/// writes the answer, with the closing warning when it applies.
pub async fn serve(
    session: &mut Session,
    router: &Router,
    max_body_bytes: usize,
    client: ClientInfo,
    path_and_query: &str,
    marks: respond::Marks<'_>,
) -> pingora::Result<()> {
    let body = match read_body(session, max_body_bytes).await? {
        Some(body) => body,
        None => {
            let err = Refusal::Core(Error::invalid(
                "body",
                format!("the request body is larger than {max_body_bytes} bytes"),
            ));
            session.set_keepalive(None);
            return respond::error(session, &err, 413, marks).await;
        }
    };
    let head = session.req_header();
    let mut request = http::Request::builder()
        .method(head.method.clone())
        .uri(path_and_query)
        .version(head.version);
    if let Some(headers) = request.headers_mut() {
        for (name, value) in head.headers.iter() {
            headers.append(name.clone(), value.clone());
        }
    }
    let Ok(mut request) = request.body(Body::from(body)) else {
        return respond::error(
            session,
            &Error::invalid("request", "malformed request").into(),
            400,
            marks,
        )
        .await;
    };
    let tls = client.tls;
    request.extensions_mut().insert(client);

    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let mut header = ResponseHeader::build(parts.status, Some(parts.headers.len() + 4))?;
    for (name, value) in parts.headers.iter() {
        header.append_header(name.clone(), value.clone())?;
    }
    header.insert_header(http::header::CONTENT_LENGTH, body.len().to_string())?;
    respond::secure_headers(&mut header, tls)?;
    marks.apply(&mut header)?;
    let has_body = !body.is_empty() && session.req_header().method != http::Method::HEAD;
    session
        .write_response_header(Box::new(header), !has_body)
        .await?;
    if has_body {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}

/// The whole request body, or None when it is larger than `limit`.
async fn read_body(session: &mut Session, limit: usize) -> pingora::Result<Option<Bytes>> {
    let mut body = BytesMut::new();
    while let Some(chunk) = session.read_request_body().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}
