//! The API's JSON bodies and query strings, read by the gateway's own extractors (`JsonBody`:
//! the `serde_json` parse, then `from_json_value` into the handler's type; `OptionalJsonBody`;
//! `QueryParams`) into every request type the API takes, through `api::fuzzing` (feature
//! `fuzzing`).
//!
//! Checks, beyond not panicking: a refused body is a 400 (`BAD_REQUEST`, not JSON) or a 422
//! (`VALIDATION_ERROR`) that names a field; nothing else, never a 500.
#![no_main]

use auth_core::Error;
use auth_gateway::web::envelope::ApiError;
use auth_gateway::web::refusal::Refusal;
use auth_gateway::api::fuzzing;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

fn check(outcomes: &[fuzzing::Outcome]) {
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) | Err(ApiError(Refusal::BadRequest(_))) => {}
            Err(ApiError(Refusal::Core(Error::Validation(fields)))) => {
                assert!(
                    !fields.is_empty(),
                    "{name}: a validation error with no field"
                );
                for field in fields {
                    assert!(
                        !field.field.is_empty(),
                        "{name}: a field error with no name"
                    );
                }
            }
            Err(ApiError(other)) => panic!("{name}: refused with {other:?}"),
        }
    }
}

fn parse(data: &[u8]) {
    thread_local! {
        static RUNTIME: Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
    }
    RUNTIME.with(|runtime| {
        check(&runtime.block_on(fuzzing::json_bodies(data)));
        if let Ok(query) = std::str::from_utf8(data)
            && let Some(outcomes) = runtime.block_on(fuzzing::query_params(query))
        {
            check(&outcomes);
        }
    });
}

fuzz_target!(|data: &[u8]| parse(data));
