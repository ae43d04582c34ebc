//! The vocabulary of operating hours, shared by the `[schedule]` configuration and the schedule an
//! admin stores: wall-clock times written "HH:MM" ("24:00" for midnight at the end), the hours of
//! one day, weekday names, and IANA time zone names.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Weekday;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ScheduleConfig;

/// The weekday names a schedule uses, in order.
pub const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// The schedule's name of `weekday`.
pub fn day_name(weekday: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(_, d)| *d == weekday)
        .map_or("mon", |(n, _)| n)
}

/// Whether `name` is a weekday name of [`DAYS`].
pub fn is_day_name(name: &str) -> bool {
    DAYS.iter().any(|(n, _)| *n == name)
}

/// Refuses a name that is not an IANA time zone (`Europe/Berlin`).
pub fn check_time_zone(name: &str) -> Result<(), String> {
    jiff::tz::TimeZone::get(name)
        .map(|_| ())
        .map_err(|_| format!("`{name}` is not an IANA time zone name"))
}

impl ScheduleConfig {
    /// The weekly hours the configuration names, checked; the error names the key at fault.
    pub fn weekly(&self) -> Result<BTreeMap<String, Hours>, (&'static str, String)> {
        let hours = Hours {
            open: ClockTime::parse(&self.open).map_err(|e| ("open", e))?,
            close: ClockTime::parse(&self.close).map_err(|e| ("close", e))?,
        };
        hours.check().map_err(|e| ("close", e))?;
        let mut weekly = BTreeMap::new();
        for day in &self.days {
            let day = day.to_ascii_lowercase();
            if !is_day_name(&day) {
                return Err((
                    "days",
                    format!("`{day}` is not one of mon, tue, wed, thu, fri, sat, sun"),
                ));
            }
            weekly.insert(day, hours);
        }
        check_time_zone(&self.timezone).map_err(|e| ("timezone", e))?;
        Ok(weekly)
    }
}

/// Minutes since midnight, 0 to 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        pattern = r"^(?:(?:[01][0-9]|2[0-3]|\+[0-9]):(?:[0-5][0-9]|\+[0-9])|24:(?:00|\+0))(?![\s\S])",
        description = "A wall-clock time `HH:MM`, 00:00 to 24:00 (midnight at the end of the day).",
        examples("09:00", "24:00")
    )
)]
pub struct ClockTime(u16);

impl ClockTime {
    pub const MIDNIGHT_END: ClockTime = ClockTime(1440);

    pub fn minutes(self) -> u16 {
        self.0
    }

    pub fn parse(text: &str) -> Result<ClockTime, String> {
        let (h, m) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not a time like 09:30"))?;
        let (h, m): (u16, u16) = match (h.parse(), m.parse()) {
            (Ok(h), Ok(m)) if h <= 24 && m < 60 && (h < 24 || m == 0) && m_len_ok(text) => (h, m),
            _ => {
                return Err(format!(
                    "`{text}` is not a time like 09:30 (00:00 to 24:00)"
                ));
            }
        };
        Ok(ClockTime(h * 60 + m))
    }
}

fn m_len_ok(text: &str) -> bool {
    text.len() == 5
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ClockTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// When a day opens and closes; open before close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub open: ClockTime,
    pub close: ClockTime,
}

impl Hours {
    pub fn check(&self) -> Result<(), String> {
        if self.open >= self.close {
            return Err(format!(
                "opens at {} but closes at {}: close must come after open",
                self.open, self.close
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wall_clock_times() {
        assert_eq!(ClockTime::parse("09:30").unwrap().minutes(), 570);
        assert_eq!(ClockTime::parse("24:00").unwrap(), ClockTime::MIDNIGHT_END);
        for bad in [
            "9:30", "24:01", "25:00", "09:60", "0930", "aa:bb", "09:30:00",
        ] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn close_must_follow_open() {
        let hours = Hours {
            open: ClockTime::parse("17:00").unwrap(),
            close: ClockTime::parse("09:00").unwrap(),
        };
        assert!(hours.check().is_err());
    }
}
