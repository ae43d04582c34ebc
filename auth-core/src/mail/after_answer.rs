//! Work that an operation leaves running after it has answered. The mail-sending requests
//! (verification again, password reset) answer the same whether or not the address has an
//! account; if they looked the address up, made a token and queued a message before answering,
//! the answer for a known address would take measurably longer than for an unknown one. So the
//! caller answers once the request is counted, and the lookup and the mail happen here, on a task
//! of their own.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::error::Result;

/// At most this many such jobs run at once in a process. The request waits for a place before it
/// answers (for a known address and an unknown one alike), so a flood of requests queues instead of
/// piling up tasks.
const AT_ONCE: usize = 64;

static PLACES: Semaphore = Semaphore::const_new(AT_ONCE);

/// How long the work waits before it starts. Started at once, it would run beside the answer
/// still being written, and on a busy machine the answer for a known address (whose work is a
/// transaction and a mail) came out measurably slower than for an unknown one (the bench measured
/// 1.7 ms on 2 busy cores). Answers are written well within this.
const START_AFTER: Duration = Duration::from_millis(100);

/// Work started by an operation that has answered. Dropping it leaves the work to finish on its
/// own; [`AfterAnswer::finished`] waits for it (tests, command-line tools).
#[derive(Debug)]
pub struct AfterAnswer(Option<JoinHandle<()>>);

impl AfterAnswer {
    /// Nothing left to do.
    pub(crate) fn nothing() -> Self {
        Self(None)
    }

    /// Runs `work` on a task of its own; a failure is logged (the caller has answered already).
    pub(crate) async fn start(
        what: &'static str,
        work: impl Future<Output = Result<()>> + Send + 'static,
    ) -> Self {
        // The semaphore is never closed, so acquiring only waits.
        let place = PLACES.acquire().await.ok();
        Self(Some(tokio::spawn(async move {
            let _place = place;
            tokio::time::sleep(START_AFTER).await;
            if let Err(err) = work.await {
                tracing::warn!(%err, what, "work after the answer failed");
            }
        })))
    }

    /// Waits until the work is done.
    pub async fn finished(self) {
        if let Some(task) = self.0 {
            let _ = task.await;
        }
    }
}
