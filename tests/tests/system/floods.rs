//! Connection floods over raw sockets. One address opens thousands of connections and trickles a
//! request head into each, a line at a time, never finishing it; another address must keep
//! getting answers. The gateway starts with a soft limit of 512 open files (hard 2048), as a
//! default machine would give it, so a flood it let in would exhaust its descriptors and leave
//! `accept()` failing for everyone.
//!
//! Linux routes all of 127.0.0.0/8 to the loopback device, so the flood comes from 127.0.0.2 (a
//! socket bound before it connects) and the other client from 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use auth_test_support::{GatewayProcess, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Connections each flooding address may hold in these tests.
const CAP: usize = 40;
const HEAD_TIMEOUT_SECS: u64 = 3;

fn gateway(open_files: Option<(u64, u64)>, env: &[(&str, &str)]) -> GatewayProcess {
    let toml = "[gateway]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
                [storage]\nbackend = \"embedded\"\ndata_dir = \"{data_dir}\"\n";
    let cap = CAP.to_string();
    let head = HEAD_TIMEOUT_SECS.to_string();
    let mut settings = vec![
        ("AUTH_GATEWAY__MAX_CONNECTIONS_PER_ADDRESS", cap.as_str()),
        ("AUTH_GATEWAY__REQUEST_HEAD_TIMEOUT_SECS", head.as_str()),
    ];
    settings.extend_from_slice(env);
    GatewayProcess::start_limited(free_port(), toml, &settings, open_files)
}

/// A connection to `port` from the loopback address `from`.
async fn connect_from(from: [u8; 4], port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

/// Reads what the gateway sends until it closes the connection, for at most `within`; None if
/// it was still open then.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

/// Raises this process's own soft limit of open files as far as it goes; returns it.
fn raise_own_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit on structs we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(1 << 16);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur
}

async fn health(port: u16) -> u16 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    match client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// The value of one series on the gateway's `/metrics` (0 when absent).
async fn metric(port: u16, series: &str) -> f64 {
    let text = match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// How one flood connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    NoConnection,
    /// Closed without a word: refused as it arrived.
    Closed,
    /// Held until its head was overdue, then answered 408.
    Cut,
    /// Still open when the flood gave up on it.
    StillOpen,
}

/// One flood connection: a request line, then a header line every half second, for up to 15 s.
async fn slow_head(port: u16) -> Ended {
    let Ok(mut stream) = connect_from([127, 0, 0, 2], port).await else {
        return Ended::NoConnection;
    };
    if stream.write_all(b"GET /health HTTP/1.1\r\n").await.is_err() {
        return Ended::Closed;
    }
    let started = Instant::now();
    let mut buf = [0u8; 512];
    while started.elapsed() < Duration::from_secs(15) {
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ended::Closed,
            Ok(Ok(n)) if buf[..n].starts_with(b"HTTP/1.1 408") => return Ended::Cut,
            Ok(Ok(_)) => return Ended::Closed,
            Err(_) => {}
        }
        if stream.write_all(b"X-Slow: still coming\r\n").await.is_err() {
            return Ended::Closed;
        }
    }
    Ended::StillOpen
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_flooding_slow_heads_leaves_other_clients_served() {
    let flood_size = 3000.min(raise_own_limit().saturating_sub(500) as usize);
    let gateway = gateway(Some((512, 2048)), &[]);
    let port = gateway.port;
    assert_eq!(health(port).await, 200);

    let flood: Vec<_> = (0..flood_size)
        .map(|_| tokio::spawn(slow_head(port)))
        .collect();

    // Meanwhile the other address asks for /health, and gets it, every time; and the gateway
    // never holds more than the cap's worth of connections (plus this client's own).
    let started = Instant::now();
    let mut answered = 0;
    let mut most_open: f64 = 0.0;
    while started.elapsed() < Duration::from_secs(HEAD_TIMEOUT_SECS + 4) {
        let status = health(port).await;
        assert_eq!(
            status, 200,
            "the other client was not answered during the flood"
        );
        answered += 1;
        most_open = most_open.max(metric(port, "gateway_connections_open").await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ended = Vec::new();
    for connection in flood {
        ended.push(connection.await.unwrap());
    }
    assert!(answered > 10, "{answered}");
    assert!(
        most_open <= (CAP + 5) as f64,
        "{most_open} connections open at once"
    );

    // Every flood connection was closed: at once, or at its deadline with 408, though it never
    // stopped sending.
    let count = |kind| ended.iter().filter(|e| **e == kind).count();
    assert_eq!(
        count(Ended::StillOpen),
        0,
        "flood connections were held open"
    );
    assert_eq!(count(Ended::NoConnection), 0);
    let cut = count(Ended::Cut);
    assert!(
        (1..=flood_size / 10).contains(&cut),
        "{cut} flood connections were held"
    );
    let refused = metric(
        port,
        "gateway_connections_refused_total{reason=\"per_address_limit\"}",
    )
    .await;
    assert_eq!(
        refused as usize,
        count(Ended::Closed),
        "each refusal is counted"
    );
    assert_eq!(
        metric(
            port,
            "gateway_connections_closed_total{reason=\"request_head_timeout\"}"
        )
        .await as usize,
        cut
    );
    let log = gateway
        .log_with("connections refused: this address holds its maximum")
        .await;
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connections refused: this address holds its maximum"))
        .collect();
    assert_eq!(lines.len(), 1, "one log line per flood: {lines:?}");
    assert!(lines[0].contains("127.0.0.2"), "the line names the address");

    // The soft limit was raised to the hard limit at start, and /health says so.
    let report: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["data"]["open_files"]["started_with"], 512);
    assert_eq!(report["data"]["open_files"]["limit"], 2048);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_sent_a_byte_at_a_time_is_cut_at_its_deadline() {
    let gateway = gateway(None, &[]);
    let mut stream = connect_from([127, 0, 0, 1], gateway.port).await.unwrap();
    // A request line, then header lines that never end, one byte every 200 ms: far inside any
    // per-read timeout, and never a complete head.
    let request_line = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".iter();
    let headers = b"X-Slow: one byte at a time\r\n".iter().cycle();
    let started = Instant::now();
    let mut closed = None;
    for byte in request_line.chain(headers) {
        if started.elapsed() > Duration::from_secs(HEAD_TIMEOUT_SECS + 10) {
            break;
        }
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        if let Some(answer) = read_to_close(&mut stream, Duration::from_millis(200)).await {
            closed = Some(answer);
            break;
        }
    }
    let answer = closed.expect("the trickling connection was never closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "REQUEST_TIMEOUT");
}

/// Reads one HTTP response (head and a `Content-Length` body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "closed before the answer was complete");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_alive_connection_serves_again_and_closes_when_idle_too_long() {
    let gateway = gateway(None, &[("AUTH_GATEWAY__KEEPALIVE_IDLE_SECS", "1")]);
    let mut stream = connect_from([127, 0, 0, 1], gateway.port).await.unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for _ in 0..2 {
        stream.write_all(request).await.unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Then idle: closed by the gateway, with nothing more said.
    let rest = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(rest.as_deref(), Some(""), "the idle connection stayed open");
}
