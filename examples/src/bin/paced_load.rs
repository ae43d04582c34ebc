//! A paced HTTP/1.1 load for bench/peer.sh: requests at a fixed total rate over kept-alive
//! connections, each request's latency timed from when it was written to when its answer was
//! read whole, so a proxy is measured at a load it can carry (wrk, which sends as fast as answers
//! come, only measures it at saturation). Prints one JSON object: the rate reached and latency
//! percentiles in microseconds.
//!
//! The pace is kept by a thread of its own that sleeps to each request's time (nanosleep, tens of
//! microseconds late at worst) and hands the request to the next connection in turn: Tokio's
//! timer wakes in whole milliseconds, which would send the requests of each millisecond in one
//! burst and measure the queue that burst makes rather than the proxy.
//!
//!     paced-load --addr 127.0.0.1:8080 --host service-b.localhost --token T --rate 20000

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

struct Options {
    addr: String,
    host: String,
    token: Option<String>,
    rate: f64,
    connections: usize,
    duration: Duration,
    warmup: Duration,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        addr: String::new(),
        host: "localhost".into(),
        token: None,
        rate: 1000.0,
        connections: 32,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--addr" => options.addr = value()?,
            "--host" => options.host = value()?,
            "--token" => options.token = Some(value()?),
            "--rate" => options.rate = number(value()?)?,
            "--connections" => options.connections = number(value()?)? as usize,
            "--duration" => options.duration = Duration::from_secs_f64(number(value()?)?),
            "--warmup" => options.warmup = Duration::from_secs_f64(number(value()?)?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.addr.is_empty() || options.rate <= 0.0 || options.connections == 0 {
        return Err(
            "usage: paced-load --addr HOST:PORT [--host H] [--token T] [--rate N] \
                    [--connections N] [--duration S] [--warmup S]"
                .into(),
        );
    }
    Ok(options)
}

/// Where the answer's head ends and how long its body is, once the head is all in `buf`.
fn answer_length(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|e| e.to_string())?;
    if !head.starts_with("HTTP/1.1 2") {
        return Err(format!(
            "answer not 2xx: {}",
            head.lines().next().unwrap_or("")
        ));
    }
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or("answer without Content-Length")?;
    Ok(Some(end + 4 + length))
}

/// One connection: a request each time the pacer says so, until it stops; latencies (µs) of
/// those sent after `measure_from`.
async fn connection(
    options: &Options,
    mut turns: mpsc::UnboundedReceiver<()>,
    measure_from: Instant,
) -> Result<Vec<u32>, String> {
    let mut stream = TcpStream::connect(&options.addr)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut request = format!("GET / HTTP/1.1\r\nHost: {}\r\n", options.host);
    if let Some(token) = &options.token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    let mut latencies = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    while turns.recv().await.is_some() {
        let sent = Instant::now();
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        buf.clear();
        loop {
            if let Some(length) = answer_length(&buf)?
                && buf.len() >= length
            {
                break;
            }
            let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if read == 0 {
                return Err("connection closed".into());
            }
            buf.extend_from_slice(&chunk[..read]);
        }
        if sent >= measure_from {
            latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
    }
    Ok(latencies)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let at = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("paced-load: {err}");
            std::process::exit(2);
        }
    };
    let options: &'static Options = Box::leak(Box::new(options));
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + options.warmup;
    let end = measure_from + options.duration;
    let (senders, tasks): (Vec<_>, Vec<_>) = (0..options.connections)
        .map(|_| {
            let (sender, turns) = mpsc::unbounded_channel();
            (
                sender,
                tokio::spawn(connection(options, turns, measure_from)),
            )
        })
        .unzip();
    std::thread::spawn(move || {
        let mut next = start;
        let mut turn = 0;
        while next < end {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
            // A connection whose task has failed is reported by the task itself.
            let _ = senders[turn % senders.len()].send(());
            turn += 1;
            next += interval;
        }
    });
    let mut latencies = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(part)) => latencies.extend(part),
            Ok(Err(err)) => {
                eprintln!("paced-load: {err}");
                std::process::exit(1);
            }
            Err(err) => {
                eprintln!("paced-load: {err}");
                std::process::exit(1);
            }
        }
    }
    if latencies.is_empty() {
        eprintln!("paced-load: no request was measured");
        std::process::exit(1);
    }
    latencies.sort_unstable();
    println!(
        "{{\"rate\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{}}}",
        latencies.len() as f64 / options.duration.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        latencies[latencies.len() - 1],
    );
}
