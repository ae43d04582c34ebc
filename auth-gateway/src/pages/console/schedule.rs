//! `/admin/schedule`: the weekly hours in their time zone, the exception days, the warning
//! minutes, and the next 14 days as the schedule's zone will see them (daylight saving included).
//! Saving goes through the same auth-core operation as `PUT /api/admin/schedule`, which every
//! gateway follows within seconds.

use std::collections::BTreeMap;

use askama::Template;
use auth_core::Error;
use auth_core::error::FieldError;
use auth_core::schedule::{ClockTime, ExceptionDay, Hours, Schedule};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;

use super::{Console, ConsoleForm, Frame, Notice, done, notice_of, refusal_text, refused};
use crate::web::extract::PageQuery;
use crate::web::page::render;
use crate::web::state::AppState;

const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

struct DayRow {
    key: &'static str,
    label: &'static str,
    open: String,
    close: String,
}

#[derive(Template)]
#[template(path = "console_schedule.html")]
struct SchedulePage {
    frame: Frame,
    now_state: String,
    timezone: String,
    warning_minutes: String,
    days: Vec<DayRow>,
    exceptions: String,
    preview: Vec<(String, String)>,
    closing_in: Option<i64>,
}

/// The form's values: what the schedule holds, or what was typed.
struct Typed {
    timezone: String,
    warning_minutes: String,
    days: Vec<DayRow>,
    exceptions: String,
}

fn typed_from(schedule: &Schedule) -> Typed {
    Typed {
        timezone: schedule.timezone.clone(),
        warning_minutes: schedule.warning_minutes.to_string(),
        days: DAYS
            .iter()
            .map(|(key, label)| {
                let hours = schedule.weekly.get(*key);
                DayRow {
                    key,
                    label,
                    open: hours.map(|h| h.open.to_string()).unwrap_or_default(),
                    close: hours.map(|h| h.close.to_string()).unwrap_or_default(),
                }
            })
            .collect(),
        exceptions: schedule
            .exceptions
            .iter()
            .map(|e| match e.hours {
                Some(h) => format!("{} {}-{}", e.date, h.open, h.close),
                None => format!("{} closed", e.date),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The next 14 days of `schedule` from `today`, in its zone.
fn preview(schedule: &Schedule, today: Date) -> Vec<(String, String)> {
    let zone = jiff::tz::TimeZone::get(&schedule.timezone).ok();
    (0..14)
        .map(|offset| {
            let date = today.saturating_add(offset.days());
            let hours = match schedule.hours_on(date) {
                None => "closed".to_string(),
                Some(h) => {
                    let offset_at = |time: ClockTime| {
                        let minutes = time.minutes().min(1439);
                        zone.as_ref()
                            .and_then(|tz| {
                                date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0)
                                    .to_zoned(tz.clone())
                                    .ok()
                            })
                            .map(|z| z.strftime("%Z").to_string())
                            .unwrap_or_default()
                    };
                    format!("{} to {} ({})", h.open, h.close, offset_at(h.open))
                }
            };
            (date.strftime("%a %-d %b %Y").to_string(), hours)
        })
        .collect()
}

fn show(state: &AppState, typed: Typed, mut frame: Frame, status: StatusCode) -> Response {
    let schedule = state.core.schedule().current();
    let now = state.core.clock().now();
    let current = schedule.status_at(now);
    let today = jiff::tz::TimeZone::get(&schedule.timezone)
        .map(|tz| now.to_zoned(tz).date())
        .unwrap_or_else(|_| now.to_zoned(jiff::tz::TimeZone::UTC).date());
    frame.current = "schedule";
    render(
        &SchedulePage {
            frame,
            now_state: match (current.open, current.warning) {
                (true, true) => "open, closing soon (the warning shows)".into(),
                (true, false) => "open".into(),
                (false, _) => "closed".into(),
            },
            timezone: typed.timezone,
            warning_minutes: typed.warning_minutes,
            days: typed.days,
            exceptions: typed.exceptions,
            preview: preview(&schedule, today),
            closing_in: None,
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct ScheduleQuery {
    done: Option<String>,
}

/// `GET /admin/schedule`.
pub async fn schedule_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(query): PageQuery<ScheduleQuery>,
) -> Response {
    if let Err(err) = console.principal.admin_read() {
        return refused(&err, "/admin");
    }
    let mut frame = console.frame("schedule");
    frame.notice = notice_of(query.done.as_deref());
    let typed = typed_from(&state.core.schedule().current());
    show(&state, typed, frame, StatusCode::OK)
}

/// Reads the posted form into a schedule; each field's problem by its name.
fn schedule_of(form: &ConsoleForm) -> (Typed, Result<Schedule, Error>) {
    let field = |name: &str| form.fields.get(name).unwrap_or_default().to_string();
    let mut problems = Vec::new();
    let mut weekly = BTreeMap::new();
    let mut days = Vec::new();
    for (key, label) in DAYS {
        let open = field(&format!("{key}_open"));
        let close = field(&format!("{key}_close"));
        match (open.as_str(), close.as_str()) {
            ("", "") => {}
            (o, c) => match (ClockTime::parse(o), ClockTime::parse(c)) {
                (Ok(open), Ok(close)) => {
                    weekly.insert(key.to_string(), Hours { open, close });
                }
                (Err(e), _) | (_, Err(e)) => problems.push(FieldError::new(label, e)),
            },
        }
        days.push(DayRow {
            key,
            label,
            open,
            close,
        });
    }
    let exceptions_text = field("exceptions");
    let mut exceptions = Vec::new();
    for line in exceptions_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let (date, rest) = line.split_once(' ').unwrap_or((line, ""));
        let Ok(date) = date.parse::<Date>() else {
            problems.push(FieldError::new(
                "exceptions",
                format!("`{line}` does not start with a day written YYYY-MM-DD"),
            ));
            continue;
        };
        let rest = rest.trim();
        let hours = if rest.eq_ignore_ascii_case("closed") {
            None
        } else {
            let (o, c) = rest.split_once('-').unwrap_or((rest, ""));
            match (ClockTime::parse(o.trim()), ClockTime::parse(c.trim())) {
                (Ok(open), Ok(close)) => Some(Hours { open, close }),
                _ => {
                    problems.push(FieldError::new(
                        "exceptions",
                        format!("`{line}` is not `closed` nor hours like 09:00-12:00"),
                    ));
                    continue;
                }
            }
        };
        exceptions.push(ExceptionDay { date, hours });
    }
    let warning = field("warning_minutes");
    let warning_minutes = warning.parse::<u32>().unwrap_or_else(|_| {
        problems.push(FieldError::new(
            "warning_minutes",
            "is not a whole number of minutes",
        ));
        0
    });
    let typed = Typed {
        timezone: field("timezone"),
        warning_minutes: warning,
        days,
        exceptions: exceptions_text,
    };
    if !problems.is_empty() {
        return (typed, Err(Error::Validation(problems)));
    }
    let schedule = Schedule {
        timezone: typed.timezone.clone(),
        weekly,
        exceptions,
        warning_minutes,
    };
    (typed, Ok(schedule))
}

/// `POST /admin/schedule`: saves the hours.
pub async fn save_schedule(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let writer = match form.console.writer() {
        Ok(writer) => writer,
        Err(err) => return refused(&err, "/admin/schedule"),
    };
    let (typed, schedule) = schedule_of(&form);
    let saved = match schedule {
        Ok(schedule) => {
            state
                .core
                .schedule()
                .replace(schedule, &writer, &form.client)
                .await
        }
        Err(err) => Err(err),
    };
    match saved {
        Ok(_) => done("/admin/schedule", Notice::ScheduleSaved),
        Err(err) => {
            let mut frame = form.console.frame("schedule");
            frame.error = Some(refusal_text(&err));
            let status = super::status_of(&err);
            show(&state, typed, frame, status)
        }
    }
}
