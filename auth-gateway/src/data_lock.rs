//! The lock on the data folder: every running gateway holds a shared lock on
//! `data_dir/auth-gateway.lock`, so `restore` (which needs it exclusively) can tell that a gateway
//! still uses the folder and refuse to replace the database under it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::Context;

const LOCK_FILE: &str = "auth-gateway.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE)
}

fn open(data_dir: &Path) -> anyhow::Result<File> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    let path = lock_path(data_dir);
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))
}

fn flock(file: &File, operation: libc::c_int) -> bool {
    // SAFETY: the descriptor belongs to `file`, which outlives the call.
    unsafe { libc::flock(file.as_raw_fd(), operation | libc::LOCK_NB) == 0 }
}

/// Taken by a serving gateway: shared, so several gateways may use one folder.
pub fn hold_shared(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    let file = open(data_dir)?;
    if !flock(&file, libc::LOCK_SH) {
        anyhow::bail!(
            "{} is locked by a restore in progress",
            lock_path(data_dir).display()
        );
    }
    Ok(DataDirLock { _file: file })
}

/// Taken by `restore`: only when no gateway runs on the folder.
pub fn take_exclusive(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    let file = open(data_dir)?;
    if !flock(&file, libc::LOCK_EX) {
        anyhow::bail!(
            "a gateway is running on {}; stop it first",
            data_dir.display()
        );
    }
    Ok(DataDirLock { _file: file })
}
