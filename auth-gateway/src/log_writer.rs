//! Where log lines go: gathered in memory and written to stderr by one thread, a batch at a time,
//! at most [`FLUSH_EVERY`] after a line was made (at once past [`FLUSH_AT`] bytes). A write to
//! stderr per line was a system call on every request (the access log); measured, it cost the
//! proxy a sixth of its rate. Lines keep their order, since every line goes through here.
//!
//! Shutdown (`flush`, called by the listener's cleanup and at the end of a command) and a panic
//! (the hook flushes first) write what is pending; only a process killed outright can lose the
//! last [`FLUSH_EVERY`] of lines.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Pending bytes that wake the writer before its time.
pub const FLUSH_AT: usize = 64 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Mutex<Vec<u8>>,
    full: Condvar,
    /// Set when the writer thread could not start: each line is then written as it comes.
    direct: AtomicBool,
}

/// The log's destination, for `tracing_subscriber::fmt().with_writer(..)`.
#[derive(Clone)]
pub struct BatchedStderr {
    pending: Arc<Pending>,
}

static INSTALLED: OnceLock<BatchedStderr> = OnceLock::new();

impl BatchedStderr {
    /// The process's one writer, started on first use along with its thread and panic hook.
    pub fn installed() -> Self {
        INSTALLED
            .get_or_init(|| {
                let writer = Self {
                    pending: Arc::default(),
                };
                let background = writer.clone();
                let started = std::thread::Builder::new()
                    .name("log-writer".into())
                    .spawn(move || background.run());
                if started.is_err() {
                    writer.pending.direct.store(true, Ordering::Relaxed);
                }
                let previous = std::panic::take_hook();
                std::panic::set_hook(Box::new(move |info| {
                    flush();
                    previous(info);
                }));
                writer
            })
            .clone()
    }

    fn run(&self) {
        loop {
            let batch = {
                let Ok(bytes) = self.pending.bytes.lock() else {
                    return;
                };
                let Ok((mut bytes, _)) = self.pending.full.wait_timeout(bytes, FLUSH_EVERY) else {
                    return;
                };
                std::mem::take(&mut *bytes)
            };
            write_out(&batch);
        }
    }

    /// Writes every pending line now.
    pub fn flush(&self) {
        let batch = match self.pending.bytes.lock() {
            Ok(mut bytes) => std::mem::take(&mut *bytes),
            Err(_) => return,
        };
        write_out(&batch);
    }
}

/// Adds one whole line (its newline included) made outside tracing, such as the access log's.
pub fn push_line(line: &[u8]) {
    BatchedStderr::installed()
        .make_writer()
        .write_all(line)
        .unwrap_or_default();
}

static JSON_LINES: AtomicBool = AtomicBool::new(false);

/// Says whether lines are JSON objects (`--log-format json`), for lines made outside tracing.
pub fn set_json_lines(json: bool) {
    JSON_LINES.store(json, Ordering::Relaxed);
}

pub fn json_lines() -> bool {
    JSON_LINES.load(Ordering::Relaxed)
}

/// Writes what the installed writer holds, if there is one.
pub fn flush() {
    if let Some(writer) = INSTALLED.get() {
        writer.flush();
    }
}

fn write_out(batch: &[u8]) {
    if !batch.is_empty() {
        // Nowhere to report a failing stderr; the lines are dropped.
        let _ = io::stderr().lock().write_all(batch);
    }
}

/// One line's writer, as tracing asks for one per event.
pub struct LineWriter<'a> {
    pending: &'a Pending,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.direct.load(Ordering::Relaxed) {
            return io::stderr().write(buf);
        }
        let Ok(mut bytes) = self.pending.bytes.lock() else {
            return io::stderr().write(buf);
        };
        bytes.extend_from_slice(buf);
        if bytes.len() >= FLUSH_AT {
            self.pending.full.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            pending: &self.pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_in_order_until_flushed() {
        let writer = BatchedStderr {
            pending: Arc::default(),
        };
        writer.make_writer().write_all(b"one\n").unwrap();
        writer.make_writer().write_all(b"two\n").unwrap();
        assert_eq!(*writer.pending.bytes.lock().unwrap(), b"one\ntwo\n");
        writer.flush();
        assert!(writer.pending.bytes.lock().unwrap().is_empty());
    }
}
