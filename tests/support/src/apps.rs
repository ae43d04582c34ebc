//! The project's own programs, run as real processes: the gateway and the example services.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::net::{free_port, wait_for_port};
use crate::process::ChildProcess;

/// The path of a workspace binary built beside the running test (`target/<profile>/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// A gateway process with its own config file and data folder.
#[derive(Debug)]
pub struct GatewayProcess {
    process: Option<ChildProcess>,
    pub port: u16,
    pub dir: PathBuf,
    _dir_guard: tempfile::TempDir,
    config_toml: String,
    env: Vec<(String, String)>,
    /// Soft and hard limit of open files the process starts with, when not inherited.
    open_files: Option<(u64, u64)>,
}

impl GatewayProcess {
    /// Starts `auth-gateway` with `config_toml` overlaid on the defaults. `{port}` and `{data_dir}`
    /// in the text and in `env` values are replaced by a free port and a fresh folder. Waits until
    /// it listens.
    pub fn start(config_toml: &str, env: &[(&str, &str)]) -> GatewayProcess {
        Self::start_on(free_port(), config_toml, env)
    }

    /// Like [`GatewayProcess::start`], on a port chosen beforehand (so the services behind it can
    /// be told where the gateway is before it starts).
    pub fn start_on(port: u16, config_toml: &str, env: &[(&str, &str)]) -> GatewayProcess {
        Self::start_limited(port, config_toml, env, None)
    }

    /// Like [`GatewayProcess::start_on`], with the process's limit of open files set to
    /// `(soft, hard)` instead of this process's own.
    pub fn start_limited(
        port: u16,
        config_toml: &str,
        env: &[(&str, &str)],
        open_files: Option<(u64, u64)>,
    ) -> GatewayProcess {
        let dir_guard = tempfile::Builder::new()
            .prefix("auth-test-gateway-")
            .tempdir()
            .expect("temp dir for the gateway");
        let dir = dir_guard.path().to_path_buf();
        let data_dir = dir.join("data").display().to_string();
        let fill = |text: &str| {
            text.replace("{port}", &port.to_string())
                .replace("{data_dir}", &data_dir)
        };
        let config_toml = fill(config_toml);
        let mut gateway = GatewayProcess {
            process: None,
            port,
            dir,
            _dir_guard: dir_guard,
            config_toml,
            env: env.iter().map(|(k, v)| (k.to_string(), fill(v))).collect(),
            open_files,
        };
        gateway.launch();
        gateway
    }

    /// Like [`GatewayProcess::start_on`], but writes the config and does not start the process:
    /// the test prepares the data folder (`dir/data`), then calls
    /// [`GatewayProcess::start_again`].
    pub fn prepared(port: u16, config_toml: &str) -> GatewayProcess {
        let dir_guard = tempfile::Builder::new()
            .prefix("auth-test-gateway-")
            .tempdir()
            .expect("temp dir for the gateway");
        let dir = dir_guard.path().to_path_buf();
        let data_dir = dir.join("data").display().to_string();
        let config_toml = config_toml
            .replace("{port}", &port.to_string())
            .replace("{data_dir}", &data_dir);
        let gateway = GatewayProcess {
            process: None,
            port,
            dir,
            _dir_guard: dir_guard,
            config_toml,
            env: Vec::new(),
            open_files: None,
        };
        gateway.write_config();
        gateway
    }

    /// The config file the process reads.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("gateway.toml")
    }

    /// Replaces the config file's text (the running process sees it on its next reload).
    pub fn rewrite_config(&mut self, config_toml: &str) {
        self.config_toml = config_toml.to_string();
        self.write_config();
    }

    /// The config text, with `{port}` and `{data_dir}` filled in.
    pub fn config_text(&self) -> &str {
        &self.config_toml
    }

    /// Sends `signal` to the running process.
    pub fn signal(&self, signal: i32) {
        if let Some(process) = &self.process {
            process.signal(signal);
        }
    }

    fn write_config(&self) {
        std::fs::write(self.config_path(), &self.config_toml).expect("write gateway config");
    }

    fn launch(&mut self) {
        let config_path = self.config_path();
        self.write_config();
        let log = std::fs::File::create(self.log_path()).expect("gateway log file");
        let mut command = Command::new(binary("auth-gateway"));
        command
            .arg("--config")
            .arg(&config_path)
            .current_dir(&self.dir)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        if let Some((soft, hard)) = self.open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: hard,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut process = ChildProcess::spawn("auth-gateway", command, None, libc::SIGINT)
            .expect("start auth-gateway");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = process.try_exit_status() {
                panic!("auth-gateway exited with {status}:\n{}", self.log());
            }
            if wait_for_port(self.port, Duration::from_millis(100)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "auth-gateway did not listen on {}:\n{}",
                self.port,
                self.log()
            );
        }
        self.process = Some(process);
    }

    /// Stops the process and starts it again with the same config and data.
    pub fn restart(&mut self) {
        if let Some(process) = self.process.take() {
            process.stop();
        }
        self.launch();
    }

    /// Kills the process outright (SIGKILL), as a crash would; [`GatewayProcess::start_again`]
    /// brings it back.
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.signal(libc::SIGKILL);
            process.stop();
        }
    }

    /// Starts the process again (after [`GatewayProcess::kill`]) with the same config and data;
    /// waits until it listens.
    pub fn start_again(&mut self) {
        if self.process.is_none() {
            self.launch();
        }
    }

    /// Whether the process runs.
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ChildProcess::id)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("gateway.log")
    }

    /// What the gateway printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The log once it holds `text` (the gateway writes its lines in batches, up to 50 ms
    /// late); panics with the log after 10 s without it.
    pub async fn log_with(&self, text: &str) -> String {
        for _ in 0..200 {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{text:?} not logged:\n{}", self.log());
    }
}

/// One of the example echo services (`service-b`, `app-c`) on a free port.
#[derive(Debug)]
pub struct EchoService {
    _process: ChildProcess,
    pub port: u16,
}

impl EchoService {
    /// Starts `binary_name` (`service-b` or `app-c`), trusting the gateway at `gateway_url`.
    pub fn start(binary_name: &str, gateway_url: &str) -> EchoService {
        Self::start_as(binary_name, gateway_url, None)
    }

    /// Starts `binary_name` as the service `slug` (the audience its tokens are for).
    pub fn start_as(binary_name: &str, gateway_url: &str, slug: Option<&str>) -> EchoService {
        let port = free_port();
        let mut command = Command::new(binary(binary_name));
        if let Some(slug) = slug {
            command.env("SERVICE_SLUG", slug);
        }
        command
            .env("PORT", port.to_string())
            .env("GATEWAY_URL", gateway_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = ChildProcess::spawn(binary_name, command, None, libc::SIGTERM)
            .expect("start the echo service");
        assert!(
            wait_for_port(port, Duration::from_secs(20)),
            "{binary_name} did not listen"
        );
        EchoService {
            _process: process,
            port,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Runs `auth-gateway` with `args` to completion; returns exit code and everything it printed.
pub fn run_gateway_command(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(binary("auth-gateway"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run auth-gateway");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let output = child.wait_with_output().expect("wait for auth-gateway");
    let mut text = String::from_utf8_lossy(&output.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}
