//! `[retention]`: how long the durable store keeps what it no longer needs, and how the sweep
//! that removes it runs.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;

/// What the retention sweep removes, and when. A period of 0 days keeps the rows forever.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Minutes between two sweeps.
    pub sweep_every_minutes: u32,
    /// Rows removed per statement; each statement is short, so no sweep holds a long lock.
    pub batch_size: u32,
    /// Days login history is kept; 0: forever.
    pub login_history_days: u32,
    /// Days the audit log is kept; 0 (the default): forever.
    pub audit_days: u32,
    /// Days a sent (or given-up) mail stays in the queue's table.
    pub sent_mail_days: u32,
    /// Days a revoked refresh family or personal access token is kept after its revocation, so
    /// the reuse of one of its tokens is still recognised and reported.
    pub revoked_grace_days: u32,
}

impl RetentionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1440).contains(&self.sweep_every_minutes) {
            return Err(ConfigError::new(
                "retention.sweep_every_minutes",
                "must be between 1 and 1440",
            ));
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return Err(ConfigError::new(
                "retention.batch_size",
                "must be between 1 and 100000",
            ));
        }
        for (key, days) in [
            ("retention.login_history_days", self.login_history_days),
            ("retention.audit_days", self.audit_days),
        ] {
            // Under a month of history defeats "how often did John use ServiceB this month".
            if days != 0 && days < 31 {
                return Err(ConfigError::new(key, "must be 0 (forever) or at least 31"));
            }
        }
        for (key, days) in [
            ("retention.sent_mail_days", self.sent_mail_days),
            ("retention.revoked_grace_days", self.revoked_grace_days),
        ] {
            if !(1..=3650).contains(&days) {
                return Err(ConfigError::new(key, "must be between 1 and 3650"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::from_toml;

    fn refused_key(toml: &str) -> String {
        from_toml(toml).unwrap_err().key
    }

    #[test]
    fn defaults_keep_login_history_400_days_and_audit_forever() {
        let config = from_toml("").unwrap();
        assert_eq!(config.retention.login_history_days, 400);
        assert_eq!(config.retention.audit_days, 0);
    }

    #[test]
    fn short_history_and_bad_batches_name_their_key() {
        assert_eq!(
            refused_key("[retention]\nlogin_history_days = 7"),
            "retention.login_history_days"
        );
        assert_eq!(
            refused_key("[retention]\naudit_days = 30"),
            "retention.audit_days"
        );
        assert_eq!(
            refused_key("[retention]\nbatch_size = 0"),
            "retention.batch_size"
        );
        assert_eq!(
            refused_key("[retention]\nsweep_every_minutes = 0"),
            "retention.sweep_every_minutes"
        );
        assert_eq!(
            refused_key("[retention]\nsent_mail_days = 0"),
            "retention.sent_mail_days"
        );
    }
}
