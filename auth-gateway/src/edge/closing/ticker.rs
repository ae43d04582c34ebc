//! The one timer of the closing warning per gateway: a task that looks at the core's clock and
//! the schedule in force twice a second and publishes on a watch channel only when what a page
//! could show has changed (opened or closed, a new closing or opening time, another minute left).
//! Every `/_auth/events` stream holds a receiver and sleeps until then, so a thousand open pages
//! cost a thousand parked receivers, not a thousand timers. Following the core's clock (not
//! tokio's) keeps it right when the test clock jumps; re-reading the schedule each time means a
//! change an admin makes on any gateway (announced through the store and reloaded by the core)
//! reaches open pages within a second of that reload.

use std::sync::Arc;
use std::time::Duration;

use auth_core::AuthCore;
use auth_core::schedule::ScheduleStatus;
use tokio::sync::watch;

/// How often the task looks.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// What changes a page's banner.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    /// The minute of the clock: one wake-up a minute, which lets a stream notice a page that has
    /// gone away even while nothing else changes.
    minute: i64,
    open: bool,
    closes_at: Option<jiff::Timestamp>,
    opens_at: Option<jiff::Timestamp>,
    minutes_left: Option<i64>,
}

impl Shown {
    fn of(now: jiff::Timestamp, status: &ScheduleStatus) -> Shown {
        Shown {
            minute: now.as_second().div_euclid(60),
            open: status.open,
            closes_at: status.closes_at,
            opens_at: status.opens_at,
            minutes_left: status.seconds_until_close.map(|s| (s + 59).div_euclid(60)),
        }
    }
}

/// The channel every stream listens on.
#[derive(Clone)]
pub struct Ticker {
    sender: Arc<watch::Sender<ScheduleStatus>>,
}

impl Ticker {
    /// Starts the task on the current runtime, publishing `core`'s status.
    pub fn start(core: AuthCore) -> Ticker {
        let first = core.schedule().current().status_at(core.clock().now());
        let sender = Arc::new(watch::Sender::new(first));
        tokio::spawn(publish_forever(core, sender.clone()));
        Ticker { sender }
    }

    /// A receiver for one stream; its `changed()` waits for the next change.
    pub fn subscribe(&self) -> watch::Receiver<ScheduleStatus> {
        self.sender.subscribe()
    }

    /// How many streams are listening.
    pub fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }
}

async fn publish_forever(core: AuthCore, sender: Arc<watch::Sender<ScheduleStatus>>) {
    let mut interval = tokio::time::interval(LOOK_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_shown = Shown::of(core.clock().now(), &sender.borrow());
    loop {
        interval.tick().await;
        let now = core.clock().now();
        let status = core.schedule().current().status_at(now);
        let shown = Shown::of(now, &status);
        if shown != last_shown {
            last_shown = shown;
            sender.send_replace(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_changes_each_minute_and_at_closing() {
        let at = |secs: i64| ScheduleStatus {
            open: secs > 0,
            closes_at: None,
            opens_at: None,
            seconds_until_close: (secs > 0).then_some(secs),
            warning: false,
        };
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert_eq!(Shown::of(now, &at(900)), Shown::of(now, &at(841)));
        assert_ne!(Shown::of(now, &at(841)), Shown::of(now, &at(840)));
        assert_ne!(Shown::of(now, &at(1)), Shown::of(now, &at(0)));
        let later = now + jiff::SignedDuration::from_secs(60);
        assert_ne!(Shown::of(now, &at(0)), Shown::of(later, &at(0)));
    }
}
