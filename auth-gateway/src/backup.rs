//! `auth-gateway backup --to FILE` and `auth-gateway restore --from FILE`, for the embedded
//! store. A backup runs beside a serving gateway; a restore refuses a folder a gateway is using,
//! and one that already holds accounts unless `--force`.

use std::path::Path;

use anyhow::{Context, bail};
use auth_core::Config;
use auth_core::config::StorageBackend;
use auth_core::store::EMBEDDED_DB_FILE;
use auth_core::store::backup::{self, BackupInfo};

fn embedded_only(config: &Config, what: &str) -> anyhow::Result<()> {
    if config.storage.backend != StorageBackend::Embedded {
        bail!(
            "{what} works on the embedded store; for PostgreSQL use pg_dump / pg_restore \
             (docs/OPERATIONS.md, \"Backup and restore\")"
        );
    }
    Ok(())
}

fn describe(info: &BackupInfo) -> String {
    format!(
        "schema V{}, {} users, {} admins, {} bytes",
        info.schema_version, info.users, info.admins, info.bytes
    )
}

fn master_key_note(config: &Config) -> String {
    match config.keys.master_key {
        Some(_) => "keep keys.master_key from the configuration with it".to_string(),
        None => format!(
            "keep {} with it, apart from the backup",
            config.storage.data_dir.join("master.key").display()
        ),
    }
}

/// `auth-gateway backup --to FILE`.
pub fn backup(config: &Config, to: &Path) -> anyhow::Result<()> {
    embedded_only(config, "backup")?;
    let db = config.storage.data_dir.join(EMBEDDED_DB_FILE);
    let info = backup::backup_embedded(&db, to).context("back up the embedded store")?;
    println!(
        "backed up {} to {} ({})",
        db.display(),
        to.display(),
        describe(&info)
    );
    println!(
        "the signing keys in it are sealed with the master key: {}",
        master_key_note(config)
    );
    Ok(())
}

/// `auth-gateway restore --from FILE [--force]`.
pub fn restore(config: &Config, from: &Path, force: bool) -> anyhow::Result<()> {
    embedded_only(config, "restore")?;
    let info = backup::check_backup(from)?;
    let data_dir = &config.storage.data_dir;
    let _lock = crate::data_lock::take_exclusive(data_dir)?;
    let db = data_dir.join(EMBEDDED_DB_FILE);
    if !force && backup::holds_data(&db)? {
        bail!(
            "{} already holds accounts; restore into an empty data folder, or add --force to \
             replace them",
            db.display()
        );
    }
    backup::restore_embedded(from, &db)?;
    println!(
        "restored {} from {} ({})",
        db.display(),
        from.display(),
        describe(&info)
    );
    if config.keys.master_key.is_none() && !data_dir.join("master.key").is_file() {
        println!(
            "put the master key of the backed-up gateway at {} before starting: without it the \
             signing keys cannot be opened",
            data_dir.join("master.key").display()
        );
    }
    Ok(())
}
