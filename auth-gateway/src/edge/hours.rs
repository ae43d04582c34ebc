//! The operating-hours status of the current second. Evaluating a schedule means time-zone
//! arithmetic; it changes at most once a second (or when an admin changes the schedule), so every
//! request within a second shares one evaluation.

use std::sync::{Arc, Mutex};

use auth_core::AuthCore;
use auth_core::schedule::{Schedule, ScheduleStatus};

/// The last evaluation: for which second, of which schedule.
#[derive(Default)]
pub struct HoursCache {
    last: Mutex<Option<(i64, Arc<Schedule>, ScheduleStatus)>>,
}

impl HoursCache {
    /// Whether the system is open now, and what comes next.
    pub fn status(&self, core: &AuthCore) -> ScheduleStatus {
        let schedule = core.schedule().current();
        let now = core.clock().now();
        let second = now.as_second();
        if let Ok(last) = self.last.lock()
            && let Some((at, of, status)) = last.as_ref()
            && *at == second
            && Arc::ptr_eq(of, &schedule)
        {
            return status.clone();
        }
        let status = schedule.status_at(now);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((second, schedule, status.clone()));
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::ManualClock;
    use jiff::{SignedDuration, Timestamp};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn follows_the_core_clock_not_the_wall_clock() {
        let dir = tempfile::tempdir().unwrap();
        let config = auth_core::config::from_toml(&format!(
            "[storage]\ndata_dir = \"{}\"\n[schedule]\ntimezone = \"UTC\"\n\
             days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\nopen = \"09:00\"\nclose = \"17:00\"\n",
            dir.path().display()
        ))
        .unwrap();
        // A Monday, one second before closing.
        let clock = ManualClock::new("2030-01-07T16:59:59Z".parse::<Timestamp>().unwrap());
        let core = AuthCore::open(config, clock.clone()).await.unwrap();
        let hours = HoursCache::default();
        let open = hours.status(&core);
        assert!(open.open && open.warning, "{open:?}");
        assert_eq!(open.seconds_until_close, Some(1));
        // The wall clock has hardly moved; the core's clock has passed closing time.
        clock.advance(SignedDuration::from_secs(1));
        let closed = hours.status(&core);
        assert!(!closed.open, "{closed:?}");
        assert_eq!(
            closed.opens_at,
            Some("2030-01-08T09:00:00Z".parse().unwrap())
        );
    }
}
