//! Whole-system tests: real gateway processes in front of the real example services, on the
//! embedded store or on PostgreSQL and Redis started by the harness.

mod accounts;
mod admin_lists;
mod api_docs;
mod audit;
mod browser;
mod budgets;
mod cookies;
mod cors;
mod credentials;
mod edge;
mod flows;
mod foundation;
mod handoff;
mod harness;
mod header_hygiene;
mod hygiene;
mod limits;
mod mail_links;
mod pages;
mod qr;
mod roles;
mod routing;
mod schemathesis;
mod scope;
mod sdk;
mod secrets;
mod service_d;
mod service_d_browser;
