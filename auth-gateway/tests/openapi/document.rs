//! The document's shape: version, security schemes, what every operation documents.

use std::collections::BTreeMap;

use crate::contract::Contract;
use auth_core::{Error, FieldError};
use auth_gateway::web::envelope::error_json;
use auth_gateway::web::refusal::Refusal;
use jiff::Timestamp;
use serde_json::json;

#[test]
fn document_is_openapi_3() {
    let contract = Contract::new();
    let version = contract.doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi version {version:?}");
    assert!(
        contract.doc["info"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let schemes = &contract.doc["components"]["securitySchemes"];
    for scheme in ["bearer", "access_cookie", "admin_bearer", "api_key"] {
        assert!(schemes.get(scheme).is_some(), "security scheme {scheme}");
    }
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    assert_eq!(schemes["access_cookie"]["name"], "auth_access");
}

#[test]
fn every_operation_documents_success_and_refusals() {
    let contract = Contract::new();
    let operations = contract.operations();
    assert!(
        operations.len() >= 50,
        "only {} operations",
        operations.len()
    );
    let mut ids = BTreeMap::new();
    for (path, method, operation) in &operations {
        let name = format!("{} {path}", method.to_uppercase());
        let responses = operation["responses"].as_object().expect(&name);
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{name} documents no success"
        );
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        assert!(
            [
                "auth", "accounts", "admin", "services", "qr-login", "system"
            ]
            .contains(&tag),
            "{name} has tag {tag:?}"
        );
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name} has no summary"
        );
        if let Some(previous) = ids.insert(operation["operationId"].to_string(), name.clone()) {
            panic!("{name} and {previous} share an operationId");
        }
        let secured = operation["security"]
            .as_array()
            .is_some_and(|alternatives| !alternatives.is_empty());
        if secured {
            for status in ["401", "403"] {
                assert!(
                    responses.contains_key(status),
                    "{name} needs credentials but does not document {status}"
                );
            }
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Failure",
                    "{name} {status} is not the error envelope"
                );
            }
        }
        let params: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for segment in path.split('/') {
            if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(
                    params.contains(&param),
                    "{name} does not declare {{{param}}}"
                );
            }
        }
        // The edge refuses an encoded slash, backslash or NUL in any path before routing.
        if !params.is_empty() {
            let bad_path = responses
                .get("400")
                .and_then(|r| r["description"].as_str())
                .unwrap_or_default();
            assert!(
                bad_path.contains("encoded slash"),
                "{name} does not document the 400 for an encoded slash"
            );
        }
    }
}

#[test]
fn routes_for_people_admins_and_services_name_their_credentials() {
    let contract = Contract::new();
    let security = |path: &str, method: &str| -> Vec<String> {
        contract.doc["paths"][path][method]["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|alternative| alternative.as_object().unwrap().keys().cloned())
            .collect()
    };
    assert_eq!(
        security("/api/users/me", "get"),
        ["bearer", "access_cookie"]
    );
    assert_eq!(security("/api/admin/users", "get"), ["admin_bearer"]);
    assert_eq!(
        contract.doc["paths"]["/api/admin/approve/{id}"]["post"]["security"][0]["admin_bearer"],
        json!(["admin"])
    );
    assert_eq!(security("/api/auth/qr/generate", "post"), ["api_key"]);
    assert!(security("/api/auth/login", "post").is_empty());
    assert!(security("/health", "get").is_empty());
}

#[test]
fn refusals_validate_against_the_error_envelope() {
    let contract = Contract::new();
    let failure = Contract::named("Failure");
    let validation = error_json(&Error::invalid("email", "is not an email address").into());
    contract.assert_valid(&failure, &validation);
    assert_eq!(
        validation["error"]["details"]["fields"][0]["field"],
        "email"
    );
    let samples = [
        Error::Validation(vec![
            FieldError::new("email", "is not an email address"),
            FieldError::new("password", "is too short"),
        ]),
        Error::NotFound("user"),
        Error::Conflict("the user is active".into()),
        Error::DuplicateEmail,
        Error::DuplicateUsername,
        Error::InvalidCredentials,
        Error::EmailNotVerified,
        Error::AccountPending,
        Error::AccountRejected,
        Error::AccountBlocked,
        Error::InvalidToken,
        Error::ExpiredToken,
        Error::Unauthenticated,
        Error::CredentialNotAccepted("service_session"),
        Error::NeedsAdmin,
        Error::NeedsPerson,
        Error::ReadOnlyRole,
        Error::AdminDisabled,
        Error::ServiceKeyDisabled("service-b".into()),
        Error::ForeignBrowser,
        Error::AccountLocked {
            until: Timestamp::UNIX_EPOCH,
        },
        Error::QrNotFound,
        Error::QrExpired,
        Error::QrAlreadyScanned,
        Error::QrNotScanned,
        Error::QrAlreadyUsed,
        Error::QrLocked,
        Error::PinInvalid { attempts_left: 3 },
        Error::PinExpired,
        Error::RateLimited {
            retry_after_secs: 60,
        },
        Error::SystemClosed {
            opens_at: Some(Timestamp::UNIX_EPOCH),
            retry_after_secs: 600,
        },
        Error::SystemClosed {
            opens_at: None,
            retry_after_secs: 600,
        },
        Error::Unavailable("database"),
        Error::internal("boom"),
    ];
    let edge = [
        Refusal::BadRequest("not JSON".into()),
        Refusal::MethodNotAllowed,
        Refusal::Upstream("refused".into()),
        Refusal::ServiceDisabled("app-c".into()),
        Refusal::NoHealthyUpstream("app-c".into()),
        Refusal::UnknownHost("example.com".into()),
    ];
    for refusal in samples.into_iter().map(Refusal::Core).chain(edge) {
        contract.assert_valid(&failure, &error_json(&refusal));
    }
}
