//! The embedded example: auth-core inside a plain axum app, no gateway. Listens on 127.0.0.1:8090
//! (`PORT` overrides), keeps its data in ./data-embedded (`DATA_DIR` overrides), and prints the key
//! that approves accounts.

use std::sync::Arc;

use auth_core::secret::random_token;
use auth_core::{AuthCore, SystemClock, config};
use auth_examples::embedded::{App, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8090);
    let data_dir = std::env::var("DATA_DIR").unwrap_or_else(|_| "data-embedded".into());
    let config = config::from_toml(&format!(
        "[gateway]\npublic_url = \"http://127.0.0.1:{port}\"\n\
         [storage]\ndata_dir = \"{data_dir}\"\n\
         [schedule]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\nopen = \"00:00\"\nclose = \"24:00\"\n\
         [[services]]\nslug = \"{SERVICE}\"\nname = \"Embedded app\"\nhosts = [\"embedded.localhost\"]\nupstreams = [\"127.0.0.1:{port}\"]\n"
    ))?;
    let core = AuthCore::open(config, Arc::new(SystemClock)).await?;
    core.spawn_background();
    let admin_key = std::env::var("ADMIN_KEY")
        .map(Into::into)
        .unwrap_or_else(|_| random_token("ak-"));
    println!(
        "embedded app on http://127.0.0.1:{port}/  (approve accounts with X-Admin-Key: {})",
        admin_key.expose()
    );
    let app = App::open(core, std::path::Path::new(&data_dir), admin_key).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app.router()).await?;
    Ok(())
}
