//! The login history: one row per successful login (user, service, method, time, client) and per
//! failed attempt (with the reason), for questions such as "how many times did John use ServiceB
//! this week".

use jiff::Timestamp;

use crate::context::RequestContext;
use crate::ids::{UserId, row_id};
use crate::params;
use crate::sessions::LoginMethod;
use crate::store::StoreError;
use crate::store::sql::Executor;

/// One login attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt<'a> {
    pub user_id: Option<UserId>,
    /// The service logged into; None for the auth API itself.
    pub service: Option<&'a str>,
    pub method: LoginMethod,
    /// None on success; otherwise why it failed (a stable code).
    pub failure: Option<&'a str>,
    pub context: &'a RequestContext,
}

impl LoginAttempt<'_> {
    pub async fn record(self, ex: &mut dyn Executor, at: Timestamp) -> Result<(), StoreError> {
        ex.run_execute(
            "INSERT INTO login_history (id, at, user_id, service, method, success, failure_reason,
                                        client_ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![
                row_id(),
                at,
                self.user_id,
                self.service,
                self.method.as_str(),
                self.failure.is_none(),
                self.failure,
                self.context.ip_string(),
                self.context.user_agent.clone()
            ],
        )
        .await?;
        Ok(())
    }
}
