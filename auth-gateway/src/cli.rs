//! The command line: `serve` (the default), `migrate`, `create-admin`, `keys rotate`,
//! `services rotate-key`, `check-config`, `backup` and `restore`.

use std::path::PathBuf;
use std::process::ExitCode;

use auth_core::config;
use clap::{Parser, Subcommand};

/// The auth gateway.
#[derive(Debug, Parser)]
#[command(name = "auth-gateway", version, about)]
pub struct Cli {
    /// A TOML file overlaid on the built-in config/default.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// How log lines are written to standard error: `text` for people, `json` (one object a
    /// line) for a log collector.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an administrator. The password is read from the terminal (asked twice) or, when
    /// standard input is not a terminal, from its first line; never from the command line.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// admin (everything) or support (read-only).
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Manage the services behind the gateway.
    Services {
        #[command(subcommand)]
        action: ServicesAction,
    },
    /// Manage administrators.
    Admins {
        #[command(subcommand)]
        action: AdminsAction,
    },
    /// Manage the token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Validate the configuration and try its database, Redis and mail server; exit code 0 only
    /// when every check passed.
    CheckConfig,
    /// Write a consistent copy of the embedded store to FILE (safe while the gateway runs).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the embedded store with a backup. Refused while a gateway uses the data folder,
    /// and when the folder holds accounts, unless --force.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Replace a database that holds accounts.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServicesAction {
    /// Make a new API key for a service and print it (once); the old key stops working.
    RotateKey {
        /// The service's slug, e.g. service-b.
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminsAction {
    /// Remove an admin's second factor (a lost phone) and end its sessions; its next console
    /// sign-in enrols a new authenticator. Audited.
    #[command(name = "reset-2fa")]
    ResetSecondFactor {
        /// The admin's username.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Make a new signing key current; the old one verifies until its tokens expire.
    Rotate,
}

/// Runs the command; the exit code says how it went (2: bad configuration).
pub fn run(cli: Cli) -> ExitCode {
    init_tracing(cli.log_format);
    let code = run_command(cli);
    crate::log_writer::flush();
    code
}

fn run_command(cli: Cli) -> ExitCode {
    let checking = matches!(cli.command, Some(Command::CheckConfig));
    let config = match config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) if checking => {
            println!("FAIL  {:<10} {err}", "config");
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::server::serve(config, cli.config),
        Command::CheckConfig => {
            return crate::check_config::run(&config).unwrap_or_else(|err| {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            });
        }
        Command::Backup { to } => crate::backup::backup(&config, &to),
        Command::Restore { from, force } => crate::backup::restore(&config, &from, force),
        Command::Migrate => crate::server::migrate(&config),
        Command::CreateAdmin {
            username,
            email,
            role,
        } => crate::commands::create_admin(config, username, email, &role),
        Command::Admins {
            action: AdminsAction::ResetSecondFactor { username },
        } => crate::commands::reset_second_factor(config, &username),
        Command::Keys {
            action: KeysAction::Rotate,
        } => crate::commands::rotate_keys(config),
        Command::Services {
            action: ServicesAction::RotateKey { slug },
        } => crate::commands::rotate_service_key(config, &slug),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    crate::log_writer::set_json_lines(format == LogFormat::Json);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::log_writer::BatchedStderr::installed())
        // Colour codes only for a person at a terminal, never into a file or a collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        // Span fields (the request id) go with every line, so a collector can group them.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
