//! The closing warning where people work: what the gateway tells a service and its pages about
//! the coming closing time. One [`ticker::Ticker`] per gateway follows the clock and the schedule
//! and publishes on a watch channel; the request headers (`X-Auth-Closes-At`,
//! `X-Auth-Closing-In`), the banner inserted into a service's HTML ([`banner`]), and
//! `/_auth/status` and `/_auth/events` on every service's host ([`events`]) all read it through
//! a service's own warning window ([`Warning`]).

pub mod banner;
pub mod decorate;
pub mod events;
pub mod ticker;

use auth_core::config::ServiceWarning;
use auth_core::schedule::ScheduleStatus;
use jiff::Timestamp;
use serde::Serialize;

/// The request header naming when the system next closes (RFC 3339), on every forwarded request
/// while it is open and a closing is scheduled.
pub const CLOSES_AT: &str = "x-auth-closes-at";
/// The request header with the seconds left, inside the service's warning window.
pub const CLOSING_IN: &str = "x-auth-closing-in";
/// The answer header by which a service opts one answer out of the banner; the gateway removes
/// it, since it is meant for the gateway alone.
pub const NO_BANNER: &str = "x-auth-no-banner";

/// How the closing warning applies to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warning {
    /// Seconds before closing the warning starts.
    pub window_secs: i64,
    /// Whether the banner goes into the service's pages.
    pub banner: bool,
}

impl Warning {
    /// The warning of `service`: what an admin set for it in the console, else its
    /// `[service_warnings]` entry, over the schedule's window of `default_minutes`.
    pub fn of(
        config: &auth_core::config::Config,
        service: &auth_core::services::Service,
        default_minutes: u32,
    ) -> Warning {
        let file = config
            .service_warnings
            .get(&service.slug)
            .copied()
            .unwrap_or_default();
        let own = ServiceWarning {
            warning_banner: service.warning_banner.unwrap_or(file.warning_banner),
            warning_minutes: service.warning_minutes.or(file.warning_minutes),
        };
        Warning::from_parts(own, default_minutes)
    }

    fn from_parts(own: ServiceWarning, default_minutes: u32) -> Warning {
        Warning {
            window_secs: i64::from(own.warning_minutes.unwrap_or(default_minutes)) * 60,
            banner: own.warning_banner,
        }
    }

    /// Where the service stands at `status`, through its own window.
    pub fn view(&self, status: &ScheduleStatus) -> Standing {
        let seconds_left = if status.open {
            status.seconds_until_close
        } else {
            None
        };
        Standing {
            open: status.open,
            closes_at: if status.open { status.closes_at } else { None },
            opens_at: status.opens_at,
            warning: seconds_left.is_some_and(|s| s <= self.window_secs),
            seconds_left,
        }
    }
}

/// The state of the system as a service's pages see it: the body of `/_auth/status` and of each
/// event on `/_auth/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub open: bool,
    /// When it closes (RFC 3339), while open and a closing is scheduled.
    pub closes_at: Option<Timestamp>,
    /// When it opens again, while closed.
    pub opens_at: Option<Timestamp>,
    /// Inside this service's warning window.
    pub warning: bool,
    /// Seconds to closing, while open.
    pub seconds_left: Option<i64>,
}

impl Standing {
    /// Whole minutes left, rounded up (15 from 900 down to 841 seconds), inside the window.
    pub fn minutes_left(&self) -> Option<i64> {
        self.seconds_left
            .filter(|_| self.warning)
            .map(|s| (s + 59).div_euclid(60))
    }

    /// The seconds to announce in `X-Auth-Closing-In` and `X-System-Closing-In`: inside the
    /// window only.
    pub fn closing_in(&self) -> Option<i64> {
        self.seconds_left.filter(|_| self.warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(open: bool, left: Option<i64>) -> ScheduleStatus {
        let now: Timestamp = "2030-01-07T16:40:00Z".parse().unwrap();
        ScheduleStatus {
            open,
            closes_at: left.map(|s| now + jiff::SignedDuration::from_secs(s)),
            opens_at: (!open).then_some(now),
            seconds_until_close: left,
            warning: false,
        }
    }

    #[test]
    fn a_service_window_overrides_the_schedules() {
        let own = ServiceWarning {
            warning_banner: false,
            warning_minutes: Some(5),
        };
        let warning = Warning::from_parts(own, 15);
        assert_eq!(warning.window_secs, 300);
        assert!(!warning.banner);
        assert!(!warning.view(&status(true, Some(301))).warning);
        let inside = warning.view(&status(true, Some(300)));
        assert!(inside.warning);
        assert_eq!(inside.closing_in(), Some(300));
        assert_eq!(inside.minutes_left(), Some(5));
        let default = Warning::from_parts(ServiceWarning::default(), 15);
        assert_eq!(default.window_secs, 900);
        assert!(default.banner);
    }

    #[test]
    fn closed_has_no_closing_time_and_no_warning() {
        let view = Warning::from_parts(ServiceWarning::default(), 15).view(&status(false, None));
        assert!(!view.open && !view.warning);
        assert_eq!((view.closes_at, view.closing_in()), (None, None));
        assert!(view.opens_at.is_some());
    }

    #[test]
    fn minutes_round_up() {
        let warning = Warning::from_parts(ServiceWarning::default(), 15);
        for (secs, minutes) in [(900, 15), (841, 15), (840, 14), (1, 1)] {
            let view = warning.view(&status(true, Some(secs)));
            assert_eq!(view.minutes_left(), Some(minutes), "{secs}");
        }
    }
}
