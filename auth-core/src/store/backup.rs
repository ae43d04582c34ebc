//! Backup and restore of the embedded database file. A backup is a consistent copy taken with
//! SQLite's `VACUUM INTO` from a connection of its own, so it can run while a gateway serves: in
//! WAL mode the copy reads one snapshot and the gateway's writers are not held up. A restore
//! checks that the file is a whole database of this program before it replaces anything.
//! (PostgreSQL deployments use `pg_dump`/`pg_restore`; see docs/OPERATIONS.md.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// What a backup file holds, as [`check_backup`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The newest migration applied to the copied database.
    pub schema_version: i64,
    pub users: i64,
    pub admins: i64,
    pub bytes: u64,
}

fn backend(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |err| StoreError::Backend(format!("{what}: {err}"))
}

/// Writes a consistent copy of the database at `db_path` to `to`, which must not exist. The
/// copy is made beside `to` and renamed into place, so `to` never holds half a backup.
/// Blocking: call it off the async threads.
pub fn backup_embedded(db_path: &Path, to: &Path) -> Result<BackupInfo, StoreError> {
    if !db_path.is_file() {
        return Err(StoreError::Backend(format!(
            "{} does not exist: nothing to back up",
            db_path.display()
        )));
    }
    if to.exists() {
        return Err(StoreError::Backend(format!(
            "{} exists already; choose a new file",
            to.display()
        )));
    }
    let partial = sibling(to, "partial");
    let _ = std::fs::remove_file(&partial);
    let conn = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(backend("open the database"))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(backend("set the busy timeout"))?;
    let target = partial.display().to_string();
    conn.execute("VACUUM INTO ?1", [&target])
        .map_err(backend("copy the database"))?;
    drop(conn);
    restrict_to_owner(&partial);
    let info = check_backup(&partial)?;
    std::fs::rename(&partial, to)
        .map_err(|err| StoreError::Backend(format!("move the backup into place: {err}")))?;
    Ok(info)
}

/// Checks that `file` is a whole, uncorrupted database of this program (its integrity check
/// passes and it holds the migrated schema), and says what it holds.
pub fn check_backup(file: &Path) -> Result<BackupInfo, StoreError> {
    let not_backup = |why: String| {
        StoreError::Malformed(format!("{} is not a usable backup: {why}", file.display()))
    };
    let bytes = std::fs::metadata(file)
        .map_err(|err| not_backup(err.to_string()))?
        .len();
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| not_backup(err.to_string()))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|err| not_backup(err.to_string()))?;
    if integrity != "ok" {
        return Err(not_backup(format!("integrity check: {integrity}")));
    }
    let count = |sql: &str| -> Result<i64, StoreError> {
        conn.query_row(sql, [], |row| row.get(0))
            .map_err(|err| not_backup(format!("no schema of this program ({err})")))
    };
    Ok(BackupInfo {
        schema_version: count("SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history")?,
        users: count("SELECT COUNT(*) FROM users")?,
        admins: count("SELECT COUNT(*) FROM admins")?,
        bytes,
    })
}

/// Whether the database at `db_path` holds any account (a restore over it loses data).
pub fn holds_data(db_path: &Path) -> Result<bool, StoreError> {
    if !db_path.is_file() {
        return Ok(false);
    }
    let conn = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(backend("open the database"))?;
    let has_schema: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
            [],
            |row| row.get(0),
        )
        .map_err(backend("read the database"))?;
    if has_schema == 0 {
        return Ok(false);
    }
    let rows: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM admins)",
            [],
            |row| row.get(0),
        )
        .map_err(backend("read the database"))?;
    Ok(rows > 0)
}

/// Puts the backup `from` in place of the database at `db_path` (no gateway may have it open:
/// the caller checks). The old file's journal goes with it, and the copy lands under a
/// temporary name first, so a failure half-way leaves the old database as it was.
pub fn restore_embedded(from: &Path, db_path: &Path) -> Result<BackupInfo, StoreError> {
    let info = check_backup(from)?;
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|err| StoreError::Backend(format!("create {}: {err}", dir.display())))?;
    }
    let incoming = sibling(db_path, "restoring");
    std::fs::copy(from, &incoming)
        .map_err(|err| StoreError::Backend(format!("copy the backup: {err}")))?;
    restrict_to_owner(&incoming);
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|err| StoreError::Backend(format!("sync the copy: {err}")))?;
    for journal in ["wal", "shm"] {
        let _ = std::fs::remove_file(sibling(db_path, journal));
    }
    std::fs::rename(&incoming, db_path)
        .map_err(|err| StoreError::Backend(format!("move the copy into place: {err}")))?;
    Ok(info)
}

/// `auth.db` -> `auth.db-<suffix>`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!("-{suffix}"));
    PathBuf::from(name)
}

fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}
