//! One-off commands run from the command line against the configured stores.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use anyhow::{Context, bail};
use auth_core::admins::NewAdmin;
use auth_core::secret::Secret;
use auth_core::{AuthCore, Config, Error, RequestContext, SystemClock};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("start a runtime")
}

fn read_password() -> anyhow::Result<Secret> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password again: ")?;
        if first != second {
            bail!("the passwords do not match");
        }
        return Ok(Secret::new(first));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n']).to_string()))
}

fn explain(err: Error) -> anyhow::Error {
    match err {
        Error::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{}: {}", other.code(), other.public_message()),
    }
}

/// `auth-gateway create-admin`.
pub fn create_admin(
    config: Config,
    username: String,
    email: String,
    role: &str,
) -> anyhow::Result<()> {
    let role = role.parse().map_err(explain)?;
    let password = read_password()?;
    runtime()?.block_on(async {
        let core = AuthCore::open(config, Arc::new(SystemClock))
            .await
            .map_err(explain)?;
        let admin = core
            .admins()
            .create(
                NewAdmin {
                    username,
                    email,
                    password,
                    role,
                },
                &core.host_operator(),
                &RequestContext::default(),
            )
            .await
            .map_err(explain)?;
        println!(
            "created {} {} ({}); sign in at /admin (or POST /api/admin/login)",
            admin.role.as_str(),
            admin.username,
            admin.id
        );
        Ok(())
    })
}

/// `auth-gateway admins reset-2fa USERNAME`.
pub fn reset_second_factor(config: Config, username: &str) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let core = AuthCore::open(config, Arc::new(SystemClock))
            .await
            .map_err(explain)?;
        let admins = core.admins();
        let admin = admins.by_username(username).await.map_err(explain)?;
        admins
            .reset_second_factor(admin.id, &core.host_operator(), &RequestContext::default())
            .await
            .map_err(explain)?;
        println!(
            "the second factor of {} is removed and its sessions ended; the next console \
             sign-in enrols a new authenticator",
            admin.username
        );
        Ok(())
    })
}

/// `auth-gateway keys rotate`.
pub fn rotate_keys(config: Config) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let core = AuthCore::open(config, Arc::new(SystemClock))
            .await
            .map_err(explain)?;
        let kid = core.tokens().keys().rotate().await.map_err(explain)?;
        core.announce_key_rotation().await.map_err(explain)?;
        println!("new signing key {kid}; the previous key verifies until its tokens expire");
        Ok(())
    })
}

/// `auth-gateway services rotate-key SLUG`.
pub fn rotate_service_key(config: Config, slug: &str) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let core = AuthCore::open(config, Arc::new(SystemClock))
            .await
            .map_err(explain)?;
        let rotated = core
            .services()
            .rotate_key(&core.host_operator(), slug, &RequestContext::default())
            .await
            .map_err(explain)?;
        println!("{}", rotated.api_key);
        eprintln!(
            "new API key of {} (shown once; the previous key no longer works)",
            rotated.service.name
        );
        Ok(())
    })
}
