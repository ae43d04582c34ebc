//! The connection loop in front of the proxy. Pingora bounds each read of a request head, not the
//! whole head, so a client sending a byte every few seconds holds its connection for ever. Here
//! each connection is first admitted against the per-address cap (`connections`), then every
//! request head is read under one deadline (`gateway.request_head_timeout_secs`) before Pingora
//! sees it, and a kept-alive connection waits for its next request at most
//! `gateway.keepalive_idle_secs`. The head read here is handed to Pingora's parser as it is, so
//! parsing, framing checks and everything after stay Pingora's.
//!
//! HTTP/2 (negotiated by TLS ALPN) keeps Pingora's own loop, with its idle timeout.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::{ALPN, Stream};
use pingora::proxy::HttpProxy;
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};

use super::Gateway;
use super::connections::ConnectionLimits;
use crate::web::metrics::Metrics;

/// The largest head read here; a longer one goes to Pingora unfinished, which refuses it.
const MAX_HEAD_BYTES: usize = 1 << 20;

/// How long the answer to a head that came too slowly may take to write.
const TIMEOUT_ANSWER_WRITE: Duration = Duration::from_secs(1);

const TIMEOUT_ANSWER: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\
Content-Type: application/json\r\nContent-Length: 104\r\n\r\n\
{\"success\":false,\"error\":{\"code\":\"REQUEST_TIMEOUT\",\"message\":\"the request head did not arrive in time\"}}";

/// What waiting for a request head came to.
enum Head {
    /// A complete head (and whatever followed it in the same reads).
    Ready(BytesMut),
    /// The client closed, or sent nothing before the idle time ran out, or the gateway is
    /// shutting down: close quietly.
    Gone,
    /// Bytes came, but not a whole head before the deadline.
    TooSlow,
}

/// The gateway's listening application: connection limits and head deadlines around the proxy.
pub struct Listener {
    proxy: Arc<HttpProxy<Gateway>>,
    limits: Arc<ConnectionLimits>,
    metrics: Arc<Metrics>,
    head_timeout: Duration,
    keepalive_idle: Duration,
}

impl Listener {
    pub fn new(
        proxy: HttpProxy<Gateway>,
        limits: Arc<ConnectionLimits>,
        metrics: Arc<Metrics>,
        head_timeout: Duration,
        keepalive_idle: Duration,
    ) -> Self {
        Self {
            proxy: Arc::new(proxy),
            limits,
            metrics,
            head_timeout,
            keepalive_idle,
        }
    }

    /// Serves HTTP/1.x requests on `stream` until the client or the gateway closes it.
    async fn serve_http1(&self, mut stream: Stream, shutdown: &ShutdownWatch) {
        let mut carried: Option<HttpPersistentSettings> = None;
        let mut fresh = true;
        loop {
            let head = match self.read_head(&mut stream, fresh, shutdown).await {
                Head::Ready(head) => head,
                Head::Gone => return,
                Head::TooSlow => {
                    self.metrics.connection_cut("request_head_timeout");
                    let _ = timeout(TIMEOUT_ANSWER_WRITE, stream.write_all(TIMEOUT_ANSWER)).await;
                    return;
                }
            };
            let mut session = ServerSession::new_http1(stream);
            match carried.take() {
                Some(settings) => settings.apply_to_session(&mut session),
                None => {
                    let idle_secs = self.keepalive_idle.as_secs();
                    session.set_keepalive((!*shutdown.borrow()).then_some(idle_secs));
                    session.set_keepalive_reuses_remaining(
                        self.proxy
                            .server_options()
                            .and_then(|options| options.keepalive_request_limit),
                    );
                }
            }
            session.set_pipelined_prefix(head);
            let Some(reused) = self.proxy.process_new_http(session, shutdown).await else {
                return;
            };
            let (next, settings) = reused.consume();
            stream = next;
            carried = settings;
            fresh = false;
        }
    }

    /// Reads one request head. On a fresh connection the deadline runs from now; on a kept-alive
    /// one the first byte may take the idle time, and the deadline runs from that byte.
    async fn read_head(&self, stream: &mut Stream, fresh: bool, shutdown: &ShutdownWatch) -> Head {
        let mut head = BytesMut::with_capacity(4096);
        let first_wait = if fresh {
            self.head_timeout
        } else {
            self.keepalive_idle
        };
        let mut shutting_down = shutdown.clone();
        let first = tokio::select! {
            biased;
            read = timeout(first_wait, stream.read_buf(&mut head)) => read,
            _ = shutting_down.wait_for(|stop| *stop), if !fresh => return Head::Gone,
        };
        match first {
            Ok(Ok(0)) | Ok(Err(_)) => return Head::Gone,
            // Nothing at all: an idle connection, or one that never spoke. No answer is owed.
            Err(_) => return Head::Gone,
            Ok(Ok(_)) => {}
        }
        let deadline = Instant::now() + self.head_timeout;
        let mut scanned = 0;
        loop {
            if head_end(&head, scanned).is_some() {
                return Head::Ready(head);
            }
            if head.len() > MAX_HEAD_BYTES {
                // Pingora answers 400 to a head this large.
                return Head::Ready(head);
            }
            scanned = head.len().saturating_sub(2);
            match timeout_at(deadline, stream.read_buf(&mut head)).await {
                Err(_) => return Head::TooSlow,
                Ok(Ok(0)) | Ok(Err(_)) => return Head::Gone,
                Ok(Ok(_)) => {}
            }
        }
    }
}

/// The end of the request head in `buf` (just past its empty line), searching from `from`.
/// Empty lines before the request line do not count (RFC 9112 §2.2), and a bare LF ends a line
/// as Pingora's parser allows.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n')?;
    let from = from.max(start);
    buf.get(from..)?
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .find_map(|(offset, _)| {
            let at = from + offset;
            match (buf.get(at + 1), buf.get(at + 2)) {
                (Some(b'\n'), _) => Some(at + 2),
                (Some(b'\r'), Some(b'\n')) => Some(at + 3),
                _ => None,
            }
        })
}

#[async_trait]
impl ServerApp for Listener {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let peer = stream
            .get_socket_digest()
            .and_then(|digest| digest.peer_addr().and_then(|a| a.as_inet()).map(|a| a.ip()));
        // Refused: dropping the stream closes the connection.
        let _slot = self.limits.admit(peer)?;
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            return ServerApp::process_new(&self.proxy, stream, shutdown).await;
        }
        self.serve_http1(stream, shutdown).await;
        None
    }

    async fn cleanup(&self) {
        // Wakes the proxy's own waits, as its service would on shutdown.
        ServerApp::cleanup(self.proxy.as_ref()).await;
        // Pingora ends the process without unwinding: the last log lines go out now.
        crate::log_writer::flush();
    }
}

#[cfg(test)]
mod tests {
    use super::{TIMEOUT_ANSWER, head_end};

    #[test]
    fn the_timeout_answer_says_its_own_length() {
        let text = std::str::from_utf8(TIMEOUT_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }

    #[test]
    fn a_head_ends_at_its_empty_line_in_either_line_ending() {
        let crlf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody";
        assert_eq!(head_end(crlf, 0), Some(crlf.len() - 4));
        let lf = b"GET / HTTP/1.1\nHost: a\n\n";
        assert_eq!(head_end(lf, 0), Some(lf.len()));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
        // Empty lines before the request line are not its end.
        assert_eq!(head_end(b"\r\n\r\n", 0), None);
        let leading = b"\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(head_end(leading, 0), Some(leading.len()));
    }

    #[test]
    fn a_head_split_over_reads_is_found_from_where_the_last_search_stopped() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for split in 1..head.len() {
            let scanned = split.saturating_sub(2);
            assert_eq!(head_end(&head[..split], 0), None, "{split}");
            assert_eq!(head_end(head, scanned), Some(head.len()), "{split}");
        }
    }
}
