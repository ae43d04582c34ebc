use super::*;

fn weekdays(zone: &str, open: &str, close: &str) -> Schedule {
    Schedule::from_config(&ScheduleConfig {
        timezone: zone.into(),
        days: ["mon", "tue", "wed", "thu", "fri"]
            .map(String::from)
            .to_vec(),
        open: open.into(),
        close: close.into(),
        warning_minutes: 15,
    })
    .unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn open_on_weekdays_between_nine_and_five() {
    let schedule = weekdays("UTC", "09:00", "17:00");
    // 2026-03-02 is a Monday.
    let status = schedule.status_at(at("2026-03-02T10:00:00Z"));
    assert!(status.open && !status.warning);
    assert_eq!(status.closes_at, Some(at("2026-03-02T17:00:00Z")));
    assert_eq!(status.seconds_until_close, Some(7 * 3600));
    assert!(!schedule.status_at(at("2026-03-02T08:59:59Z")).open);
    assert!(!schedule.status_at(at("2026-03-02T17:00:00Z")).open);
}

#[test]
fn warns_in_the_last_fifteen_minutes() {
    let schedule = weekdays("UTC", "09:00", "17:00");
    assert!(!schedule.status_at(at("2026-03-02T16:44:59Z")).warning);
    let status = schedule.status_at(at("2026-03-02T16:45:00Z"));
    assert!(status.open && status.warning);
    assert_eq!(status.seconds_until_close, Some(900));
}

#[test]
fn closed_over_the_weekend_until_monday() {
    let schedule = weekdays("UTC", "09:00", "17:00");
    let status = schedule.status_at(at("2026-03-06T18:00:00Z"));
    assert!(!status.open);
    assert_eq!(status.opens_at, Some(at("2026-03-09T09:00:00Z")));
    let err = schedule
        .require_open(at("2026-03-08T09:00:00Z"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SystemClosed {
                retry_after_secs: 86400,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn exception_dates_close_or_change_the_hours() {
    let mut schedule = weekdays("UTC", "09:00", "17:00");
    schedule.exceptions = vec![
        ExceptionDay {
            date: "2026-03-03".parse().unwrap(),
            hours: None,
        },
        ExceptionDay {
            date: "2026-03-04".parse().unwrap(),
            hours: Some(Hours {
                open: ClockTime::parse("10:00").unwrap(),
                close: ClockTime::parse("12:00").unwrap(),
            }),
        },
    ];
    assert!(!schedule.status_at(at("2026-03-03T10:00:00Z")).open);
    assert_eq!(
        schedule.status_at(at("2026-03-03T10:00:00Z")).opens_at,
        Some(at("2026-03-04T10:00:00Z"))
    );
    assert_eq!(
        schedule.status_at(at("2026-03-04T11:00:00Z")).closes_at,
        Some(at("2026-03-04T12:00:00Z"))
    );
    assert!(!schedule.status_at(at("2026-03-04T13:00:00Z")).open);
}

#[test]
fn daylight_saving_follows_the_zone() {
    let schedule = weekdays("Europe/Berlin", "09:00", "17:00");
    // Before the change (CET, UTC+1) nine o'clock is 08:00 UTC; after it (CEST, UTC+2), 07:00 UTC.
    assert!(schedule.status_at(at("2026-03-27T08:00:00Z")).open);
    assert!(!schedule.status_at(at("2026-03-27T07:30:00Z")).open);
    assert!(schedule.status_at(at("2026-03-30T07:00:00Z")).open);
    assert_eq!(
        schedule.status_at(at("2026-03-30T07:00:00Z")).closes_at,
        Some(at("2026-03-30T15:00:00Z"))
    );
    // Friday evening before the change: the next opening is Monday 09:00 CEST.
    assert_eq!(
        schedule.status_at(at("2026-03-27T18:00:00Z")).opens_at,
        Some(at("2026-03-30T07:00:00Z"))
    );
}

#[test]
fn days_ending_at_midnight_join_the_next_day() {
    let mut schedule = weekdays("UTC", "00:00", "24:00");
    schedule.weekly.remove("fri");
    // Monday to Thursday run together; the close is Thursday midnight.
    let status = schedule.status_at(at("2026-03-02T12:00:00Z"));
    assert_eq!(status.closes_at, Some(at("2026-03-06T00:00:00Z")));
    let always = Schedule::from_config(&ScheduleConfig {
        timezone: "UTC".into(),
        days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .map(String::from)
            .to_vec(),
        open: "00:00".into(),
        close: "24:00".into(),
        warning_minutes: 15,
    })
    .unwrap();
    let status = always.status_at(at("2026-03-02T12:00:00Z"));
    assert!(status.open && !status.warning);
    assert_eq!(status.closes_at, None);
}

#[test]
fn bad_schedules_are_refused_naming_the_field() {
    let mut schedule = weekdays("UTC", "09:00", "17:00");
    schedule.timezone = "Mars/Olympus".into();
    schedule
        .weekly
        .insert("funday".into(), schedule.weekly["mon"]);
    let Err(Error::Validation(fields)) = schedule.validate() else {
        panic!("expected a refusal")
    };
    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["timezone", "weekly.funday"]);
    assert!(
        Schedule::from_config(&ScheduleConfig {
            timezone: "UTC".into(),
            days: vec!["mon".into()],
            open: "17:00".into(),
            close: "09:00".into(),
            warning_minutes: 15,
        })
        .is_err()
    );
}
