//! The threads that compute Argon2 hashes. Their own, not tokio's blocking pool (which the
//! database's work shares), each at a lower priority than the proxy's threads (nice +10), and no
//! more of them than the cores less one: a flood of logins takes at most that share of the
//! machine, and the scheduler prefers the proxy when both want a core. Hashes wait in a queue of
//! `passwords.max_queued_hashes`; past that a login is refused at once (503 with Retry-After)
//! rather than waiting without end behind the flood.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use crate::error::Error;

type Job = Box<dyn FnOnce() + Send>;

/// How much less the hashing threads count than the rest (Linux niceness, 0 to 19).
pub const NICENESS: i32 = 10;

#[derive(Clone)]
pub struct HashPool {
    jobs: SyncSender<Job>,
    threads: usize,
}

/// Hashing threads for `configured` at most, on a machine of `cores`: always one core is left.
pub fn threads_for(configured: usize, cores: usize) -> usize {
    configured.min(cores.saturating_sub(1)).max(1)
}

impl HashPool {
    /// Starts `threads` hashing threads behind a queue of `queue` waiting hashes.
    pub fn start(threads: usize, queue: usize) -> Result<Self, Error> {
        let (jobs, waiting) = mpsc::sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..threads {
            let waiting = Arc::clone(&waiting);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&waiting))
                .map_err(|err| Error::internal(format!("starting a hashing thread: {err}")))?;
        }
        Ok(Self { jobs, threads })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `work` on a hashing thread; refused at once when the queue is full. The work runs
    /// to its end even if the caller stops waiting (the client hung up), and counts until then.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Error::Unavailable("password hashing")),
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::internal("the hashing threads are gone"));
            }
        }
        result
            .await
            .map_err(|_| Error::internal("a password hash did not finish"))
    }
}

fn work(waiting: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match waiting.lock() {
            Ok(waiting) => match waiting.recv() {
                Ok(job) => job,
                // Every sender is gone: the core was dropped.
                Err(_) => return,
            },
            Err(_) => return,
        };
        // A panicking hash fails its own login (its result is dropped), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// On Linux a thread has its own niceness: this one's rises, the process's other threads keep
/// theirs. Raising it needs no privilege; where it fails the thread hashes at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority reads no memory of ours; `0` names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_core_is_always_left_to_the_proxy() {
        assert_eq!(threads_for(4, 2), 1);
        assert_eq!(threads_for(4, 1), 1);
        assert_eq!(threads_for(4, 16), 4);
        assert_eq!(threads_for(8, 5), 4);
    }

    // Two workers: the test blocks one of them while waiting for the pool's thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once_and_a_free_one_runs() {
        let pool = HashPool::start(1, 1).unwrap();
        // The one thread is held busy, and reports when it is.
        let (started, is_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    started.send(()).unwrap();
                    released.recv().unwrap();
                })
                .await
            }
        });
        is_started.recv_timeout(Duration::from_secs(10)).unwrap();
        // One waits in the queue (polled once, so it is in the queue now); the next is refused at
        // once, as a 503.
        let mut queued = Box::pin(pool.run(|| 7));
        tokio::select! {
            biased;
            _ = &mut queued => panic!("the queued hash ran while the thread was busy"),
            () = std::future::ready(()) => {}
        }
        let refused = pool.run(|| 8).await.unwrap_err();
        assert!(matches!(refused, Error::Unavailable(_)), "{refused:?}");
        assert_eq!(refused.code().http_status(), 503);
        assert!(
            refused.retry_after_secs().is_some(),
            "it says when to retry"
        );
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        assert_eq!(queued.await.unwrap(), 7, "the queued hash ran");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_runs_to_its_end_when_its_caller_stops_waiting() {
        let pool = HashPool::start(1, 4).unwrap();
        let (started, is_started) = std::sync::mpsc::channel();
        let (finished, is_finished) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let caller = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    started.send(()).unwrap();
                    released.recv().unwrap();
                    finished.send(()).unwrap();
                })
                .await
            }
        });
        is_started.recv_timeout(Duration::from_secs(10)).unwrap();
        // The client hung up: its login is dropped, the hash it started is not.
        caller.abort();
        let _ = caller.await;
        release.send(()).unwrap();
        is_finished.recv_timeout(Duration::from_secs(10)).unwrap();
        // And the thread is free for the next.
        assert_eq!(pool.run(|| 1).await.unwrap(), 1);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_at_a_lower_priority_than_the_rest() {
        let pool = HashPool::start(1, 4).unwrap();
        // SAFETY: getpriority reads no memory of ours; `0` names the calling thread.
        let on_pool = pool
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) })
            .await
            .unwrap();
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        assert_eq!(on_pool, (here + NICENESS).min(19));
    }
}
