//! `SIGHUP`: reads the configuration file again and applies what can change without a restart,
//! the `[[services]]` (created or updated, their upstream TLS files read again, routes rebuilt) and the `[schedule]` default. The
//! listeners and their connections are untouched. A configuration that does not load or apply is
//! logged and the one in force stays.

use std::path::PathBuf;
use std::sync::Arc;

use auth_core::schedule::Schedule;
use auth_core::{AuthCore, config};
use tokio::signal::unix::{SignalKind, signal};

use crate::edge::routing::Routes;

/// Listens for `SIGHUP` on the current runtime and reloads on each. Call before the server
/// starts: from then on the signal no longer ends the process.
pub fn reload_on_sighup(
    config_path: Option<PathBuf>,
    core: AuthCore,
    routes: Arc<Routes>,
) -> std::io::Result<()> {
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match reload(config_path.as_deref(), &core, &routes).await {
                Ok((created, updated)) => tracing::info!(
                    services_created = created,
                    services_updated = updated,
                    "configuration reloaded"
                ),
                Err(err) => tracing::error!(
                    err = %format!("{err:#}"),
                    "configuration not reloaded; the one in force stays"
                ),
            }
        }
    });
    Ok(())
}

async fn reload(
    config_path: Option<&std::path::Path>,
    core: &AuthCore,
    routes: &Routes,
) -> anyhow::Result<(usize, usize)> {
    let fresh = config::load(config_path)?;
    let schedule = Schedule::from_config(&fresh.schedule)
        .map_err(|(key, message)| anyhow::anyhow!("schedule.{key}: {message}"))?;
    let tls = crate::edge::upstream_tls::by_slug(&fresh)?;
    // Checked in full before anything changes, so a bad service leaves the schedule alone too.
    let (created, updated) = core.services().apply_config(&fresh.services).await?;
    routes.replace_with_tls(&core.services().list().await?, tls);
    core.schedule().set_default(schedule).await?;
    Ok((created, updated))
}
