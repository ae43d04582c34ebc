//! A person's account and the states it moves through:
//! unverified → pending → active ⇄ blocked, pending → rejected, and any state → deleted → restored.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::Serialize;

use crate::error::Error;
use crate::ids::UserId;
use crate::store::StoreError;
use crate::store::sql::Row;

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// Registered; the email address is not verified yet.
    Unverified,
    /// Verified; waits for an admin's decision.
    Pending,
    Active,
    Blocked,
    Rejected,
    /// Soft-deleted; can be restored.
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Unverified => "unverified",
            UserStatus::Pending => "pending",
            UserStatus::Active => "active",
            UserStatus::Blocked => "blocked",
            UserStatus::Rejected => "rejected",
            UserStatus::Deleted => "deleted",
        }
    }

    /// The refusal a login meets in this state, or None when the account may log in.
    pub fn login_refusal(self) -> Option<Error> {
        match self {
            UserStatus::Active => None,
            UserStatus::Unverified => Some(Error::EmailNotVerified),
            UserStatus::Pending => Some(Error::AccountPending),
            UserStatus::Rejected => Some(Error::AccountRejected),
            UserStatus::Blocked => Some(Error::AccountBlocked),
            // A deleted account answers like one that never existed.
            UserStatus::Deleted => Some(Error::InvalidCredentials),
        }
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "unverified" => UserStatus::Unverified,
            "pending" => UserStatus::Pending,
            "active" => UserStatus::Active,
            "blocked" => UserStatus::Blocked,
            "rejected" => UserStatus::Rejected,
            "deleted" => UserStatus::Deleted,
            other => {
                return Err(Error::invalid(
                    "status",
                    format!(
                        "`{other}` is not one of unverified, pending, active, blocked, rejected, deleted"
                    ),
                ));
            }
        })
    }
}

/// An account as the rest of the system sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub username: String,
    pub full_name: String,
    pub status: UserStatus,
    /// Given on approval; stable for the life of the account.
    pub auth_key: Option<String>,
    pub email_verified_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub blocked_reason: Option<String>,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// The columns [`User::from_row`] reads.
pub(crate) const USER_COLUMNS: &str = "id, email, username, full_name, status, auth_key, \
     email_verified_at, decided_at, decided_by, rejection_reason, blocked_reason, locked_until, \
     created_at, updated_at, deleted_at";

impl User {
    pub(crate) fn from_row(row: &Row) -> Result<User, StoreError> {
        let status: String = row.get("status")?;
        Ok(User {
            id: row.get("id")?,
            email: row.get("email")?,
            username: row.get("username")?,
            full_name: row.get("full_name")?,
            status: status
                .parse()
                .map_err(|_| StoreError::Malformed(format!("user status `{status}`")))?,
            auth_key: row.get("auth_key")?,
            email_verified_at: row.get("email_verified_at")?,
            decided_at: row.get("decided_at")?,
            decided_by: row.get("decided_by")?,
            rejection_reason: row.get("rejection_reason")?,
            blocked_reason: row.get("blocked_reason")?,
            locked_until: row.get("locked_until")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            deleted_at: row.get("deleted_at")?,
        })
    }
}
