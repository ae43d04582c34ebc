//! What every operation runs in: who is asking and from where (recorded in the audit log and the
//! login history), and the `Base` every domain shares: configuration, clock and stores.

use std::net::IpAddr;

use serde::Serialize;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::ids::{AdminId, UserId};
use crate::store::Stores;

/// What every domain runs on, and nothing more: the configuration, the clock and the stores. A
/// domain's own state (the hasher, the signing keys, the mailer, the schedule) stays with its
/// domain, and each domain borrows only the others' it calls.
pub(crate) struct Base {
    pub config: Config,
    pub clock: SharedClock,
    pub stores: Stores,
}

/// The client of a request, as the transport saw it.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    pub fn ip_string(&self) -> Option<String> {
        self.client_ip.map(|ip| ip.to_string())
    }
}

/// Who performed an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Actor {
    Admin(AdminId),
    User(UserId),
    /// The system itself (start-up seeding, background work, the command line).
    System,
    /// Someone not (yet) identified, e.g. a failed login.
    Anonymous,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Admin(_) => "admin",
            Actor::User(_) => "user",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }

    pub fn id(&self) -> Option<String> {
        match self {
            Actor::Admin(id) => Some(id.to_string()),
            Actor::User(id) => Some(id.to_string()),
            Actor::System | Actor::Anonymous => None,
        }
    }
}
