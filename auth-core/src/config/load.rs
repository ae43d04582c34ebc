//! Reads each configuration source on its own and folds them, in order, into one [`Config`]:
//! `config/default.toml` (built in), then an optional file, then `AUTH_*` environment variables.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};

use super::Config;

/// The built-in defaults, the same file as `config/default.toml`.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Why a configuration was refused, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Loads defaults, then `file` if given (it must exist), then the environment (`AUTH_SECTION__KEY`),
/// and validates the result.
pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
    if let Some(file) = file {
        if !file.is_file() {
            return Err(ConfigError::new(
                "--config",
                format!("{} is not a readable file", file.display()),
            ));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    figment = figment.merge(Env::prefixed("AUTH_").split("__"));
    extract(figment)
}

/// Loads defaults overlaid with the TOML text given; for embedding apps and tests.
pub fn from_toml(overrides: &str) -> Result<Config, ConfigError> {
    extract(Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(overrides)))
}

fn extract(figment: Figment) -> Result<Config, ConfigError> {
    let config: Config = figment.extract().map_err(|err| {
        let first = err.into_iter().next();
        match first {
            Some(err) => {
                let key = if err.path.is_empty() {
                    "(top level)".to_string()
                } else {
                    dotted(&err.path)
                };
                let source = err
                    .metadata
                    .as_ref()
                    .and_then(|m| m.source.as_ref())
                    .map(|s| format!(" (from {s})"))
                    .unwrap_or_default();
                ConfigError::new(key, format!("{}{source}", err.kind))
            }
            None => ConfigError::new("(unknown)", "the configuration could not be read"),
        }
    })?;
    config.validate()?;
    Ok(config)
}

/// A key path as TOML writes it: bare keys joined by dots, any other key (empty, spaced, dotted)
/// quoted, so `"" = 2` is named `""` rather than nothing.
fn dotted(path: &[String]) -> String {
    let bare = |key: &str| {
        !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    path.iter()
        .map(|key| {
            if bare(key) {
                key.clone()
            } else {
                format!("{key:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_key_is_named_even_when_empty_or_quoted() {
        let err = from_toml("\"\" = 2").unwrap_err();
        assert_eq!(err.key, "\"\"");
        let err = from_toml("[gateway]\n\"a.b\" = 1").unwrap_err();
        assert_eq!(err.key, "gateway.\"a.b\"");
        let err = from_toml("[gateway]\nnot_a_key = 1").unwrap_err();
        assert_eq!(err.key, "gateway.not_a_key");
    }
}
