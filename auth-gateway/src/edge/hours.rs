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
