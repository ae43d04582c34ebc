//! A throwaway PostgreSQL server: `initdb` in a temp dir, `postgres` on a free loopback port, trust
//! authentication, durability off for speed. PostgreSQL refuses to run as root, so under root it
//! runs as the `postgres` (or `nobody`) user.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::net::{free_port, unique_name};
use crate::process::{ChildProcess, RunAs, remove_at_exit};

/// A PostgreSQL server owned by the test process.
#[derive(Debug)]
pub struct Postgres {
    pub(crate) port: u16,
    pub(crate) data_dir: PathBuf,
    pub(crate) bin_dir: PathBuf,
    pub(crate) run_as: Option<RunAs>,
    /// `-c name=value` settings beyond the defaults of [`Postgres::start`].
    pub(crate) settings: Vec<String>,
    pub(crate) server: Mutex<Option<ChildProcess>>,
}

impl Postgres {
    /// The shared server of this test binary.
    pub fn shared() -> &'static Postgres {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(Postgres::start_new)
    }

    /// A server of its own, for tests that stop and start it.
    pub fn start_new() -> Postgres {
        Self::start_new_with(&[])
    }

    /// A server of its own with `settings` (`name=value`, as `postgres -c` takes them) on top of
    /// the defaults.
    pub fn start_new_with(settings: &[&str]) -> Postgres {
        let bin_dir = bin_dir();
        let run_as = unprivileged_user();
        let root = tempfile::Builder::new()
            .prefix("auth-test-pg-")
            .tempdir()
            .expect("create a temp dir for PostgreSQL")
            .keep();
        remove_at_exit(root.clone());
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir).expect("create the data dir");
        if let Some(user) = run_as {
            chown_tree(&root, user);
        }
        let mut initdb = Command::new(bin_dir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data_dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let initdb = ChildProcess::spawn("initdb", initdb, run_as, libc::SIGTERM)
            .expect("run initdb (are the PostgreSQL server binaries installed?)");
        wait_success(initdb, Duration::from_secs(60));

        let postgres = Postgres {
            port: free_port(),
            data_dir,
            bin_dir,
            run_as,
            settings: settings.iter().map(|s| s.to_string()).collect(),
            server: Mutex::new(None),
        };
        postgres.start();
        postgres
    }

    /// Starts the server (again) on the same port and data.
    pub fn start(&self) {
        let mut server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if server.is_some() {
            return;
        }
        let mut command = Command::new(self.bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(&self.data_dir)
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=64MB",
            ])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SIGINT is PostgreSQL's fast shutdown: clients are cut off, nothing is left behind.
        let child = ChildProcess::spawn("postgres", command, self.run_as, libc::SIGINT)
            .expect("start postgres");
        *server = Some(child);
        drop(server);
        self.wait_ready(Duration::from_secs(30));
    }

    /// Stops the server (fast shutdown) and waits until it has exited.
    pub fn stop(&self) {
        if let Some(child) = self.server.lock().unwrap_or_else(|e| e.into_inner()).take() {
            child.stop();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Every row of the database at `url`, as `pg_dump --data-only` prints them.
    pub fn dump(&self, url: &str) -> String {
        let output = Command::new(self.bin_dir.join("pg_dump"))
            .args(["--data-only", "--dbname", url])
            .output()
            .expect("run pg_dump");
        assert!(
            output.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A client program of this server's installation (`pg_dump`, `pg_restore`, …), to which the
    /// caller adds its arguments.
    pub fn tool(&self, name: &str) -> Command {
        Command::new(self.bin_dir.join(name))
    }

    /// `psql` of this server's installation, quiet and stopping at the first error, on the
    /// database at `url`; the caller adds the SQL (`-c`) or pipes it in.
    pub fn psql(&self, url: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join("psql"));
        command.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "--dbname",
            url,
        ]);
        command
    }

    /// Creates a fresh, empty database and returns its URL.
    pub fn create_database(&self) -> String {
        let name = unique_name("test");
        let status = Command::new(self.bin_dir.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .status()
            .expect("run createdb");
        assert!(status.success(), "createdb {name} failed");
        self.url(&name)
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let ready = Command::new(self.bin_dir.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("PostgreSQL did not become ready on port {}", self.port);
    }
}

pub(crate) fn wait_success(mut child: ChildProcess, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_exit_status() {
            assert!(status.success(), "{} failed: {status}", child.name());
            return;
        }
        assert!(Instant::now() < deadline, "{} took too long", child.name());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The PostgreSQL server binaries: `$PG_BIN`, else the newest /usr/lib/postgresql/*/bin, else
/// the folder of `pg_config --bindir`.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("find PostgreSQL: set PG_BIN or install the PostgreSQL server");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

fn unprivileged_user() -> Option<RunAs> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return None;
    }
    ["postgres", "nobody"].into_iter().find_map(lookup_user)
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let name = CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: entry checked non-null above.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Some(RunAs { uid, gid })
}

pub(crate) fn chown_tree(path: &Path, user: RunAs) {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).expect("chown test dir");
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read test dir").flatten() {
            chown_tree(&entry.path(), user);
        }
    }
}
