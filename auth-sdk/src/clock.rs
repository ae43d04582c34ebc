//! The time the verifier reads: token expiry, JWKS refresh intervals and the liveness cache all ask
//! a [`Clock`], so tests set the time instead of sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// Any `Fn() -> SystemTime` closure is a clock:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use auth_sdk::Clock;
///
/// let secs = Arc::new(AtomicU64::new(1_800_000_000));
/// let clock = {
///     let secs = secs.clone();
///     move || UNIX_EPOCH + Duration::from_secs(secs.load(Ordering::SeqCst))
/// };
/// secs.fetch_add(60, Ordering::SeqCst);
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_800_000_060));
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock; the default.
///
/// ```
/// use auth_sdk::{Clock, SystemClock};
///
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// Seconds since the Unix epoch, negative before it, saturating far outside `i64`.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs())
            .map(|secs| -secs)
            .unwrap_or(i64::MIN),
    }
}
