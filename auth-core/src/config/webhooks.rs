//! `[[webhooks]]` (where events are delivered) and `[events]` (how long delivered events and the
//! delivery log are kept, and how hard delivery tries). A webhook's secret is read from a file or
//! an environment variable, never written in the configuration itself, and never printed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::load::ConfigError;
use crate::secret::Secret;

/// The event types a webhook may subscribe to: every event the core writes to its outbox.
pub const EVENT_TYPES: &[&str] = &[
    "user.registered",
    "user.email_verified",
    "user.approved",
    "user.rejected",
    "user.logged_in",
    "user.locked",
    "session.revoked",
];

/// Shortest secret accepted: an HMAC key a person could guess is no key.
pub const MIN_SECRET_LEN: usize = 16;

/// One receiver of events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names the webhook in the delivery log; lowercase letters, digits and `-`.
    pub name: String,
    /// Where events are POSTed (http or https).
    pub url: String,
    /// A file holding the signing secret (surrounding whitespace is ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// An environment variable holding the signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Event types delivered here (`user.approved`, …), or `["*"]` for all.
    pub events: Vec<String>,
}

impl WebhookConfig {
    /// The signing secret, from its file or variable.
    pub fn secret(&self) -> Result<Secret, String> {
        let value = match (&self.secret_file, &self.secret_env) {
            (Some(path), None) => std::fs::read_to_string(path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?,
            (None, Some(var)) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?
            }
            _ => return Err("give exactly one of secret_file and secret_env".into()),
        };
        let value = value.trim();
        if value.len() < MIN_SECRET_LEN {
            return Err(format!(
                "the secret must be at least {MIN_SECRET_LEN} bytes"
            ));
        }
        Ok(Secret::new(value))
    }

    /// Whether events of type `kind` go to this webhook.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind)
    }
}

/// Delivery and retention of events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Days a fully delivered (or given up) event stays in the outbox.
    pub retention_days: u32,
    /// Days a delivery and its attempts stay in the delivery log.
    pub delivery_log_days: u32,
    /// Seconds a receiver has to answer one attempt.
    pub webhook_timeout_secs: u64,
    /// Attempts before a delivery is given up (the waits between them double from 5 s).
    pub webhook_max_attempts: u32,
}

pub(super) fn validate(
    webhooks: &[WebhookConfig],
    events: &EventsConfig,
) -> Result<(), ConfigError> {
    if events.retention_days == 0 || events.retention_days > 3650 {
        return Err(ConfigError::new(
            "events.retention_days",
            "must be 1 to 3650",
        ));
    }
    if events.delivery_log_days == 0 || events.delivery_log_days > 3650 {
        return Err(ConfigError::new(
            "events.delivery_log_days",
            "must be 1 to 3650",
        ));
    }
    if events.webhook_timeout_secs == 0 || events.webhook_timeout_secs > 120 {
        return Err(ConfigError::new(
            "events.webhook_timeout_secs",
            "must be 1 to 120",
        ));
    }
    if events.webhook_max_attempts == 0 || events.webhook_max_attempts > 30 {
        return Err(ConfigError::new(
            "events.webhook_max_attempts",
            "must be 1 to 30",
        ));
    }
    let mut names = std::collections::HashSet::new();
    for (i, hook) in webhooks.iter().enumerate() {
        let key = |field: &str| format!("webhooks[{i}].{field}");
        let name_ok = !hook.name.is_empty()
            && hook.name.len() <= 64
            && hook
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(ConfigError::new(
                key("name"),
                "must be 1 to 64 lowercase letters, digits or '-'",
            ));
        }
        if !names.insert(hook.name.as_str()) {
            return Err(ConfigError::new(
                key("name"),
                format!("`{}` is used twice", hook.name),
            ));
        }
        match url::Url::parse(&hook.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => return Err(ConfigError::new(key("url"), "must be an http or https URL")),
        }
        if hook.events.is_empty() {
            return Err(ConfigError::new(
                key("events"),
                "must name at least one event type or \"*\"",
            ));
        }
        for kind in &hook.events {
            if kind != "*" && !EVENT_TYPES.contains(&kind.as_str()) {
                return Err(ConfigError::new(
                    key("events"),
                    format!(
                        "`{kind}` is not an event type (known: {})",
                        EVENT_TYPES.join(", ")
                    ),
                ));
            }
        }
        let secret_key = if hook.secret_env.is_some() {
            "secret_env"
        } else {
            "secret_file"
        };
        hook.secret()
            .map_err(|message| ConfigError::new(key(secret_key), message))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::from_toml;

    fn refused(toml: &str) -> String {
        from_toml(toml).unwrap_err().to_string()
    }

    #[test]
    fn webhook_needs_a_secret_source_and_known_events() {
        let text = refused(
            "[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example/hook\"\nevents = [\"*\"]\n",
        );
        assert!(text.contains("webhooks[0].secret_file"), "{text}");
        assert!(text.contains("exactly one"), "{text}");
        let text = refused(
            "[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example/hook\"\n\
             secret_env = \"AUTH_TEST_UNSET_WEBHOOK_SECRET\"\nevents = [\"user.flew\"]\n",
        );
        assert!(text.contains("webhooks[0].events"), "{text}");
    }

    #[test]
    fn short_secret_and_bad_url_are_refused_without_printing_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "tiny-secret\n").unwrap();
        let text = refused(&format!(
            "[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example/hook\"\n\
             secret_file = \"{}\"\nevents = [\"*\"]\n",
            path.display()
        ));
        assert!(text.contains("at least 16"), "{text}");
        assert!(!text.contains("tiny-secret"), "{text}");
        std::fs::write(&path, "a-long-enough-signing-secret").unwrap();
        let text = refused(&format!(
            "[[webhooks]]\nname = \"crm\"\nurl = \"ftp://crm.example/\"\n\
             secret_file = \"{}\"\nevents = [\"*\"]\n",
            path.display()
        ));
        assert!(text.contains("webhooks[0].url"), "{text}");
    }

    #[test]
    fn event_retention_is_bounded() {
        assert!(refused("[events]\nretention_days = 0\n").contains("events.retention_days"));
        assert!(
            refused("[events]\nwebhook_max_attempts = 0\n").contains("events.webhook_max_attempts")
        );
    }
}
