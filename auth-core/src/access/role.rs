//! The two roles an administrator can have.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What an admin may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Read-only: lists and history.
    Support,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
        }
    }

    /// Whether this role may change things (approve, block, rotate…).
    pub fn may_write(self) -> bool {
        self == Role::Admin
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "support" => Ok(Role::Support),
            other => Err(Error::invalid(
                "role",
                format!("`{other}` is not one of admin, support"),
            )),
        }
    }
}
