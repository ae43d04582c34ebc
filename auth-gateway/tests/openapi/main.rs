//! The OpenAPI document of the API (`api::openapi()`, served at `/api/openapi.json`): its shape,
//! and that bodies validate against the schemas it documents. Schemas are checked closed (a
//! property they do not name is an error) and with formats, so a field renamed or retyped on one
//! side only fails here. `real_answers_match_the_document` runs every documented operation
//! through the router and checks each answer against the document's schema for that status.

// Tests stop at the first thing that goes wrong, with the reason.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod contract;
mod document;
mod harness;
mod schemas;
mod walkthrough;
