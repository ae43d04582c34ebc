//! Whole-system tests: real gateway processes in front of the real example services, on the
//! embedded store or on PostgreSQL and Redis started by the harness.

// Tests stop at the first thing that goes wrong, with the reason.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod accounts;
mod admin_lists;
mod audit;
mod blocking;
mod cors;
mod credentials;
mod edge;
mod expiry;
mod flows;
mod foundation;
mod gateways;
mod handoff;
mod harness;
mod hygiene;
mod limits;
mod mail_links;
mod pages;
mod qr;
mod roles;
mod route_guards;
mod routing;
mod sdk;
mod secrets;
