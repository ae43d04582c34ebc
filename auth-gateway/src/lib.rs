//! auth-gateway: the Pingora reverse proxy in front of the services, and the auth API served on
//! the same listener.
//!
//! [`edge`] holds the proxy's request path, one concern per module; [`api`] is the axum router the
//! edge dispatches to in process; [`server`] puts them together; [`cli`] is the command line.
//! Only with the test-only `test-clock` feature, `test_clock` lets system tests move the clock.

pub mod api;
mod backup;
mod check_config;
pub mod cli;
mod commands;
mod data_lock;
pub mod edge;
pub mod log_writer;
pub mod open_files;
pub mod pages;
mod reload;
pub mod server;
#[cfg(feature = "test-clock")]
pub mod test_clock;
pub mod web;
