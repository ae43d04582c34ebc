//! Whole-system tests: real gateway processes in front of the real example services, on the
//! embedded store or on PostgreSQL and Redis started by the harness.

// Tests stop at the first thing that goes wrong, with the reason.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod accounts;
mod admin_lists;
mod admin_lockout;
mod api_docs;
mod audit;
mod blocking;
mod browser;
mod budgets;
mod closing_browser;
mod closing_warning;
mod console;
mod console_browser;
mod console_services;
mod console_staff;
mod console_users;
mod cookies;
mod cors;
mod credentials;
mod edge;
mod engines;
mod enumeration;
mod expiry;
mod fleet;
mod floods;
mod flows;
mod foundation;
mod gateways;
mod handoff;
mod harness;
mod header_hygiene;
mod hygiene;
mod limits;
mod mail_links;
mod metrics_access;
mod notifications;
mod observability;
mod operations;
mod pages;
mod people_forms;
mod people_pages;
mod qr;
mod requested_from;
mod reserved_routes;
mod roles;
mod route_guards;
mod routing;
mod schemathesis;
mod scope;
mod sdk;
mod secrets;
mod service_d;
mod service_d_browser;
mod upstream_tls;
mod webhooks;
