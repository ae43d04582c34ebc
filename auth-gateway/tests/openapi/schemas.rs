//! Values of the handlers' types validate against their schemas, and drift fails.

use crate::contract::Contract;
use auth_core::Error;
use auth_core::accounts::{Registered, UserStatus};
use auth_core::credentials::LoginTokens;
use auth_core::ids::UserId;
use auth_core::qr_login::NewChallenge;
use auth_core::schedule::{ClockTime, ExceptionDay, Hours, Schedule};
use auth_gateway::web::envelope::error_json;
use serde_json::{Value, json};

fn a_schedule() -> Schedule {
    let hours = Hours {
        open: ClockTime::parse("09:00").unwrap(),
        close: ClockTime::parse("24:00").unwrap(),
    };
    Schedule {
        timezone: "Europe/Berlin".into(),
        weekly: [("mon".to_string(), hours), ("fri".to_string(), hours)].into(),
        exceptions: vec![
            ExceptionDay {
                date: jiff::civil::date(2025, 12, 25),
                hours: None,
            },
            ExceptionDay {
                date: jiff::civil::date(2025, 12, 24),
                hours: Some(hours),
            },
        ],
        warning_minutes: 15,
    }
}

/// Values of types the handlers answer with: schema name, value, and a route that answers it.
fn samples() -> Vec<(&'static str, Value, (&'static str, &'static str, u16))> {
    let user_id = UserId::new();
    let values = [
        (
            "Registered",
            serde_json::to_value(Registered {
                user_id,
                email: "ann@example.com".into(),
                status: UserStatus::Unverified,
            }),
        ),
        (
            "LoginTokens",
            serde_json::to_value(LoginTokens {
                access_token: "eyJ.a.b".into(),
                refresh_token: "rt_abc".into(),
                token_type: "bearer".into(),
                expires_in: 900,
                user_id,
            }),
        ),
        (
            "NewChallenge",
            serde_json::to_value(NewChallenge {
                qr_token: "qr_abc".into(),
                scan_url: "http://127.0.0.1:8080/m/scan?t=qr_abc".into(),
                qr_svg: "<svg/>".into(),
                qr_png_base64: "iVBORw0KGgo=".into(),
                expires_in: 120,
            }),
        ),
        ("Schedule", serde_json::to_value(a_schedule())),
    ];
    let routes = [
        ("/api/register", "post", 201),
        ("/api/auth/login", "post", 200),
        ("/api/auth/qr/generate", "post", 201),
        ("/api/system/operating-hours", "get", 200),
    ];
    values
        .into_iter()
        .zip(routes)
        .map(|((name, value), route)| (name, value.unwrap(), route))
        .collect()
}

#[test]
fn data_types_validate_against_their_schemas() {
    let contract = Contract::new();
    for (name, value, (path, method, status)) in samples() {
        contract.assert_valid(&Contract::named(name), &value);
        let envelope = json!({ "success": true, "data": value });
        contract.assert_valid(&contract.response(path, method, status), &envelope);
    }
}

#[test]
fn drift_between_a_type_and_its_schema_fails_validation() {
    let contract = Contract::new();
    for (name, value, _) in samples() {
        let schema = Contract::named(name);
        let fields = value.as_object().unwrap();
        for (field, content) in fields {
            let mut renamed = fields.clone();
            renamed.remove(field);
            renamed.insert(format!("{field}_renamed"), content.clone());
            assert!(
                contract.check(&schema, &Value::Object(renamed)).is_err(),
                "{name} with `{field}` renamed still validates"
            );
            let mut retyped = value.clone();
            retyped[field] = json!({ "unexpected": true });
            assert!(
                contract.check(&schema, &retyped).is_err(),
                "{name} with `{field}` of another type still validates"
            );
        }
    }
    let failure = Contract::named("Failure");
    let mut wrong = error_json(&Error::invalid("email", "bad").into());
    wrong["error"]["details"] = json!({ "field_errors": [] });
    assert!(contract.check(&failure, &wrong).is_err());
    let mut success = json!({ "success": false, "data": samples()[0].1 });
    assert!(
        contract
            .check(
                &Contract::named("Success_Registered"),
                &json!({ "success": true })
            )
            .is_err()
    );
    assert!(
        contract
            .check(&Contract::named("Success_Registered"), &success)
            .is_err()
    );
    success["success"] = json!(true);
    assert!(
        contract
            .check(&Contract::named("Success_Registered"), &success)
            .is_ok()
    );
}
