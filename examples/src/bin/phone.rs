//! A phone stand-in for trying the QR login by hand: it signs in with a password, takes the URL a
//! QR code carries (or reads the QR code from a PNG file), scans it, and prints the PIN to type
//! into the service.
//!
//! ```sh
//! phone --login ann 'http://127.0.0.1:8080/m/scan?t=…'
//! phone --login ann --qr-image qr.png
//! ```

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "phone",
    about = "Scan a login QR code like a signed-in phone would"
)]
struct Args {
    /// The gateway's URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    gateway: String,
    /// Email address or username to sign in with.
    #[arg(long)]
    login: String,
    /// A PNG image of the QR code, instead of its URL.
    #[arg(long, value_name = "FILE")]
    qr_image: Option<std::path::PathBuf>,
    /// The URL the QR code carries.
    scan_url: Option<String>,
}

fn password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn token_of(scan_url: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(scan_url).context("the scan URL is not a URL")?;
    url.query_pairs()
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v.into_owned())
        .context("the scan URL carries no token (t=…)")
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await.context("the gateway did not answer")?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("the gateway's answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "{status}: {} ({})",
            body["error"]["message"],
            body["error"]["code"]
        );
    }
    Ok(body["data"].clone())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scan_url = match (&args.qr_image, &args.scan_url) {
        (Some(file), _) => auth_examples::qr_image::decode_png(&std::fs::read(file)?)?,
        (None, Some(url)) => url.clone(),
        (None, None) => bail!("give the scan URL or --qr-image FILE"),
    };
    let qr_token = token_of(&scan_url)?;
    let http = reqwest::Client::new();
    let gateway = args.gateway.trim_end_matches('/');
    let login = call(
        http.post(format!("{gateway}/api/auth/login"))
            .json(&json!({ "login": args.login, "password": password()? })),
    )
    .await
    .context("sign-in failed")?;
    let access = login["access_token"].as_str().context("no access token")?;
    let scan = call(
        http.post(format!("{gateway}/api/auth/qr/scan"))
            .bearer_auth(access)
            .json(&json!({ "qr_token": qr_token })),
    )
    .await
    .context("scan failed")?;
    println!(
        "{} asks to sign you in (requested from {}, {}).",
        scan["service"]["name"].as_str().unwrap_or("?"),
        scan["requested_from"]["ip"]
            .as_str()
            .unwrap_or("unknown address"),
        scan["requested_from"]["user_agent"]
            .as_str()
            .unwrap_or("unknown browser"),
    );
    println!(
        "PIN: {}  (type it into the service within {} minutes)",
        scan["pin"].as_str().unwrap_or("?"),
        scan["expires_in"].as_u64().unwrap_or(300) / 60
    );
    Ok(())
}
