//! What every HTTP surface of the gateway shares: the edge's request path, the API and the pages
//! sit on top of this layer. The edge names neither the API nor the pages (the server hands it
//! their router), the API never names the pages, and the pages name the API only to render its
//! document at `/api/docs`.
//!
//! - `state`: what handlers share (the auth system and the metrics);
//! - `client`: who sent the request, as the edge found out;
//! - `cookies`: the gateway's own cookies, their names and how they are read and kept from services;
//! - `credential`: the one reader of a presented bearer token or credential cookie;
//! - `policy`: the route policy table, the one place that says who may call what and under which
//!   budget;
//! - `refusal`: what the gateway refuses, with one mapping to status, code and message;
//! - `envelope`: the API's JSON response shape; `extract`: the handlers' extractors;
//! - `page`: security headers and the pages every part may answer with; `health`: the health
//!   report's shape; `metrics`: the Prometheus metrics.

pub mod client;
pub mod cookies;
pub mod credential;
pub mod envelope;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod page;
pub mod policy;
pub mod refusal;
pub mod state;
