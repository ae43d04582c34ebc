//! The pages' forms, read by axum's `Form` extractor (`serde_urlencoded`) exactly as their
//! handlers read them, and the pages' query strings, read by the gateway's `QueryParams`, through
//! `pages::fuzzing` (feature `fuzzing`).
//!
//! Checks: neither panics, whatever the bytes (invalid percent-escapes, invalid UTF-8, repeated
//! or missing fields, huge input).
#![no_main]

use auth_gateway::pages::fuzzing;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

fn parse(data: &[u8]) {
    thread_local! {
        static RUNTIME: Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(fuzzing::forms(data));
        if let Ok(query) = std::str::from_utf8(data) {
            runtime.block_on(fuzzing::queries(query));
        }
    });
}

fuzz_target!(|data: &[u8]| parse(data));
