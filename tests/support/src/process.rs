//! Child processes that never outlive the test binary.
//!
//! Three guards: dropping a [`ChildProcess`] stops it; children still registered when the process
//! exits are stopped by an `atexit` hook (statics are never dropped); and every child gets
//! `PR_SET_PDEATHSIG`, so a test binary killed outright takes its servers with it. The death signal
//! fires when the spawning *thread* ends, so all children are spawned from one thread that lives as
//! long as the process.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The user a child should run as, for servers that refuse to run as root.
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

struct Registry {
    children: Vec<(u32, i32)>,
    dirs: Vec<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    children: Vec::new(),
    dirs: Vec::new(),
});

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);
static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();

extern "C" fn stop_everything_at_exit() {
    let (children, dirs) = {
        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        (
            std::mem::take(&mut registry.children),
            std::mem::take(&mut registry.dirs),
        )
    };
    for (pid, signal) in &children {
        // SAFETY: kill only sends a signal to a pid we started.
        unsafe { libc::kill(*pid as i32, *signal) };
    }
    for (pid, _) in &children {
        wait_pid(*pid, Duration::from_secs(3));
    }
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn wait_pid(pid: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let mut status = 0;
        // SAFETY: non-blocking wait on our own child.
        let done = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
        if done != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above; last resort.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnJob>> {
    SPAWNER.get_or_init(|| {
        // SAFETY: registering a plain extern "C" function without captured state.
        unsafe { libc::atexit(stop_everything_at_exit) };
        let (jobs, receiver) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("test-server-spawner".into())
            .spawn(move || {
                for (mut command, reply) in receiver {
                    let _ = reply.send(command.spawn());
                }
                // The channel never closes, so this thread lives as long as the process.
                loop {
                    std::thread::park();
                }
            })
            .expect("start the spawner thread");
        Mutex::new(jobs)
    })
}

/// Registers a directory to delete when the process exits.
pub fn remove_at_exit(dir: PathBuf) {
    spawner();
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .dirs
        .push(dir);
}

/// A running child process, stopped with `stop_signal` when dropped or at exit.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    stop_signal: i32,
    name: String,
}

impl ChildProcess {
    /// Starts `command`, optionally as another user, stopped with `stop_signal`.
    pub fn spawn(
        name: &str,
        mut command: Command,
        run_as: Option<RunAs>,
        stop_signal: i32,
    ) -> io::Result<ChildProcess> {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if let Some(user) = run_as
                    && (libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(user.gid) != 0
                        || libc::setuid(user.uid) != 0)
                {
                    return Err(io::Error::last_os_error());
                }
                // Set after any change of user: a credential change clears the death signal.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (reply, answer) = mpsc::channel();
        spawner()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((command, reply))
            .map_err(|_| io::Error::other("spawner thread is gone"))?;
        let child = answer
            .recv()
            .map_err(|_| io::Error::other("spawner thread is gone"))??;
        REGISTRY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .children
            .push((child.id(), stop_signal));
        Ok(ChildProcess {
            child,
            stop_signal,
            name: name.to_string(),
        })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process has exited; returns its status if so.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends `signal` without waiting.
    pub fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Stops the process and waits for it to exit.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(self.stop_signal);
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let pid = self.child.id();
        REGISTRY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .children
            .retain(|(p, _)| *p != pid);
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop_now();
    }
}
