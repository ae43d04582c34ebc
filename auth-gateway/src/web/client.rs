//! Who sent a request, as the edge found out (the client address behind trusted proxies, the
//! user agent, TLS) and handed to the handlers it dispatches to.

/// Who sent the request, as handlers see it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client (the socket peer, or behind trusted proxies the address they name).
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    /// Whether the connection is HTTPS (cookies are then Secure).
    pub tls: bool,
}
