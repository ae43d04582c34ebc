//! Real servers for tests, started on loopback in temp dirs on free ports: PostgreSQL ([`postgres`]),
//! Redis ([`redis`]) and SMTP ([`smtp`]). The shared instances start once per test binary and are
//! stopped when it exits, even when it is killed; each test takes its own database or key prefix.

// Test support: a server that cannot start should stop the test, with the message saying why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apps;
pub mod chrome;
mod net;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod smtp;

pub use apps::{EchoService, GatewayProcess, binary, run_gateway_command};
pub use chrome::ChromeDriver;
pub use net::{free_port, unique_name, wait_for_port};
pub use postgres::Postgres;
pub use process::ChildProcess;
pub use redis::Redis;
pub use smtp::{Mail, Smtp};
