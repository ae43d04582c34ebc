//! Identifier newtypes, so a user id can never be passed where a session id is expected. All are
//! UUIDv7: time-ordered, so newer rows sort after older ones.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<$name> for $crate::store::sql::SqlValue {
            fn from(id: $name) -> Self {
                $crate::store::sql::SqlValue::Text(id.to_string())
            }
        }

        impl $crate::store::sql::FromSqlValue for $name {
            fn from_sql(value: &$crate::store::sql::SqlValue) -> Result<Self, String> {
                let text = String::from_sql(value)?;
                text.parse().map_err(|_| format!("`{text}` is not an id"))
            }
        }
    };
}

id_type!(
    /// A person's account.
    UserId
);
id_type!(
    /// An administrator's account.
    AdminId
);
id_type!(
    /// A server-side session.
    SessionId
);
id_type!(
    /// A registered service.
    ServiceId
);

/// A new time-ordered id for rows that need no type of their own (audit, outbox, mail).
pub fn row_id() -> String {
    Uuid::now_v7().to_string()
}
