//! Operating hours: a weekly schedule in an IANA time zone, with exception dates that are closed or
//! have other hours. [`Schedule::status_at`] says whether the system is open at an instant, when it
//! closes or opens, and whether the closing warning applies. Wall-clock times are turned into
//! instants through the zone's rules, so daylight-saving changes are handled there.

mod current;
mod store;

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::config::ScheduleConfig;
use crate::config::hours::{check_time_zone, day_name, is_day_name};
use crate::error::{Error, FieldError};

pub use crate::config::hours::{ClockTime, Hours};
pub use current::{SCHEDULE_CHANGES, ScheduleStore};

/// How far ahead to look for the next opening; a schedule closed for a year is closed.
const LOOKAHEAD_DAYS: usize = 370;

/// A day whose hours differ from the weekly ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExceptionDay {
    pub date: Date,
    /// None: closed all day.
    pub hours: Option<Hours>,
}

/// The operating schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::timezone))]
    pub timezone: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::weekly))]
    pub weekly: BTreeMap<String, Hours>,
    /// Days whose hours differ, each date at most once; each closes after it opens.
    #[serde(default)]
    pub exceptions: Vec<ExceptionDay>,
    /// How long before closing every answer warns, 0 to 1440 minutes.
    #[cfg_attr(feature = "openapi", schema(maximum = 1440))]
    pub warning_minutes: u32,
}

/// Where the schedule stands at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    pub open: bool,
    /// When it next closes (None: open with no end in sight, or closed).
    pub closes_at: Option<Timestamp>,
    /// When it next opens (None: open now, or closed for the next year).
    pub opens_at: Option<Timestamp>,
    pub seconds_until_close: Option<i64>,
    /// Open, and closing within the warning window.
    pub warning: bool,
}

impl Schedule {
    /// The schedule of the `[schedule]` configuration; the error names the key at fault.
    pub fn from_config(config: &ScheduleConfig) -> Result<Schedule, (&'static str, String)> {
        Ok(Schedule {
            timezone: config.timezone.clone(),
            weekly: config.weekly()?,
            exceptions: Vec::new(),
            warning_minutes: config.warning_minutes,
        })
    }

    fn zone(&self) -> Result<TimeZone, String> {
        check_time_zone(&self.timezone)?;
        TimeZone::get(&self.timezone).map_err(|e| e.to_string())
    }

    /// Refuses unknown zones and days, hours that close before they open, and repeated dates.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if let Err(e) = self.zone() {
            problems.push(FieldError::new("timezone", e));
        }
        for (day, hours) in &self.weekly {
            if !is_day_name(day) {
                problems.push(FieldError::new(
                    format!("weekly.{day}"),
                    "is not one of mon, tue, wed, thu, fri, sat, sun",
                ));
            } else if let Err(e) = hours.check() {
                problems.push(FieldError::new(format!("weekly.{day}"), e));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, exception) in self.exceptions.iter().enumerate() {
            if !seen.insert(exception.date) {
                problems.push(FieldError::new(
                    format!("exceptions[{i}].date"),
                    "is listed twice",
                ));
            }
            if let Some(Err(e)) = exception.hours.map(|h| h.check()) {
                problems.push(FieldError::new(format!("exceptions[{i}].hours"), e));
            }
        }
        if self.warning_minutes > 24 * 60 {
            problems.push(FieldError::new("warning_minutes", "must be at most 1440"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(problems))
        }
    }

    /// The hours of `date`: its exception if it has one, else its weekday's.
    pub fn hours_on(&self, date: Date) -> Option<Hours> {
        match self.exceptions.iter().find(|e| e.date == date) {
            Some(exception) => exception.hours,
            None => self.weekly.get(day_name(date.weekday())).copied(),
        }
    }

    fn instant(&self, zone: &TimeZone, date: Date, time: ClockTime) -> Option<Timestamp> {
        let (date, minutes) = if time == ClockTime::MIDNIGHT_END {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, time.minutes())
        };
        let local = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
        local.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
    }

    /// Whether the system is open at `now`, and what comes next.
    pub fn status_at(&self, now: Timestamp) -> ScheduleStatus {
        let Ok(zone) = self.zone() else {
            // An unusable schedule fails closed.
            return ScheduleStatus {
                open: false,
                closes_at: None,
                opens_at: None,
                seconds_until_close: None,
                warning: false,
            };
        };
        let today = now.to_zoned(zone.clone()).date();
        // Yesterday too: its hours may end after midnight in instant terms (24:00, DST).
        let mut date = today.yesterday().unwrap_or(today);
        let mut open_until: Option<Timestamp> = None;
        let mut opens_at = None;
        for _ in 0..LOOKAHEAD_DAYS {
            if let Some(hours) = self.hours_on(date) {
                let (start, end) = (
                    self.instant(&zone, date, hours.open),
                    self.instant(&zone, date, hours.close),
                );
                if let (Some(start), Some(end)) = (start, end) {
                    match open_until {
                        // Open: a period starting when the current one ends continues it.
                        Some(until) if start <= until => open_until = Some(until.max(end)),
                        Some(_) => break,
                        None if start <= now && now < end => open_until = Some(end),
                        None if start > now => {
                            opens_at = Some(start);
                            break;
                        }
                        None => {}
                    }
                }
            } else if open_until.is_some() {
                break;
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        match open_until {
            Some(closes_at) => {
                let left = closes_at.duration_since(now).as_secs();
                let within_lookahead =
                    closes_at.duration_since(now) < SignedDuration::from_hours(24 * 365);
                ScheduleStatus {
                    open: true,
                    closes_at: within_lookahead.then_some(closes_at),
                    opens_at: None,
                    seconds_until_close: within_lookahead.then_some(left),
                    warning: within_lookahead && left <= i64::from(self.warning_minutes) * 60,
                }
            }
            None => ScheduleStatus {
                open: false,
                closes_at: None,
                opens_at,
                seconds_until_close: None,
                warning: false,
            },
        }
    }

    /// [`Error::SystemClosed`] when closed at `now`.
    pub fn require_open(&self, now: Timestamp) -> Result<ScheduleStatus, Error> {
        let status = self.status_at(now);
        if status.open {
            return Ok(status);
        }
        let retry_after_secs = status
            .opens_at
            .map(|at| at.duration_since(now).as_secs().max(1) as u64)
            .unwrap_or(3600);
        Err(Error::SystemClosed {
            opens_at: status.opens_at,
            retry_after_secs,
        })
    }
}

#[cfg(test)]
mod tests;
