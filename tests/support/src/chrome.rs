//! ChromeDriver, for tests that drive a real (headless) Chromium over WebDriver.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::net::{free_port, wait_for_port};
use crate::process::ChildProcess;

/// A chromedriver process owned by the test process.
#[derive(Debug)]
pub struct ChromeDriver {
    port: u16,
    _process: ChildProcess,
}

impl ChromeDriver {
    /// The driver shared by every test of this binary; started on first use.
    pub fn shared() -> &'static ChromeDriver {
        static SHARED: OnceLock<ChromeDriver> = OnceLock::new();
        SHARED.get_or_init(ChromeDriver::start_new)
    }

    pub fn start_new() -> ChromeDriver {
        let port = free_port();
        let mut command =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()));
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = ChildProcess::spawn("chromedriver", command, None, libc::SIGTERM)
            .expect("start chromedriver (apt-get install chromium chromium-driver)");
        assert!(
            wait_for_port(port, Duration::from_secs(20)),
            "chromedriver did not listen"
        );
        ChromeDriver {
            port,
            _process: process,
        }
    }

    /// The WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
