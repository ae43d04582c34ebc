//! One table of route rules: for every route the gateway answers itself, which budget a request
//! draws on, whether it closes outside operating hours, and who may call it. The edge reads the
//! budget and the hours from it before dispatching; the API's extractors and the pages read the
//! caller from it, and ask auth-core's credential table whether the credential presented is
//! accepted at that place. A test walks every route the router, the pages and the edge serve and
//! fails on one without an entry, so a new route cannot be forgotten.

use std::sync::LazyLock;

use auth_core::credentials::PlaceKind;
use http::Method;

/// Which budget a request draws on, and keyed by what the attacker spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// Not limited here (cheap reads, admin routes behind their own login).
    Unlimited,
    /// Per client address (IPv6 by its /64).
    PerAddress(Class),
    /// Per presented service API key; per address when none is presented.
    PerServiceKey(Class),
}

/// The classes of budget, each with its own quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Password logins and token refreshes.
    Login,
    /// Registration, verification and password recovery: each may send mail or spend a token.
    Recovery,
    /// Confirming a QR code on the phone.
    Scan,
    /// PINs typed into the login page, or sent by a service.
    Pin,
    /// New QR challenges.
    Challenge,
    /// Polling a challenge's state.
    Poll,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Anyone; the route checks what it is given (a password, a mailed token).
    Anyone,
    /// Someone presenting a credential accepted at this kind of place.
    At(PlaceKind),
    /// An administrator; `write` routes need a role that may change things.
    Admin { write: bool },
    /// An administrator signed in to the console (its session cookie); `write` as for `Admin`.
    Console { write: bool },
}

impl Caller {
    /// The kind of place a credential presented here is checked for.
    pub fn place(self) -> Option<PlaceKind> {
        match self {
            Caller::Anyone => None,
            Caller::At(place) => Some(place),
            Caller::Admin { .. } => Some(PlaceKind::AdminApi),
            Caller::Console { .. } => Some(PlaceKind::AdminConsole),
        }
    }
}

/// The rules of one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutePolicy {
    pub method: &'static str,
    /// The route as the router writes it (`{param}` for a segment).
    pub path: &'static str,
    pub budget: Budget,
    /// Closed (503 SYSTEM_CLOSED) outside operating hours: the routes that log people in.
    pub closes: bool,
    pub caller: Caller,
}

use Budget::{PerAddress, PerServiceKey, Unlimited};
use Caller::{Admin, Anyone, At, Console};
use Class::{Challenge, Login, Pin, Poll, Recovery, Scan};

const fn rule(
    method: &'static str,
    path: &'static str,
    budget: Budget,
    closes: bool,
    caller: Caller,
) -> RoutePolicy {
    RoutePolicy {
        method,
        path,
        budget,
        closes,
        caller,
    }
}

const OPEN: bool = false;
const CLOSES: bool = true;
const READ: Caller = Admin { write: false };
const WRITE: Caller = Admin { write: true };
const SEES: Caller = Console { write: false };
const ACTS: Caller = Console { write: true };

/// Every route the gateway answers itself, on its own hosts (API and pages) and on services'
/// hosts (the reserved `/_auth/` paths).
pub const ROUTES: &[RoutePolicy] = &[
    // Monitoring and public documents.
    rule("GET", "/health", Unlimited, OPEN, Anyone),
    rule("GET", "/metrics", Unlimited, OPEN, Anyone),
    rule("GET", "/.well-known/jwks.json", Unlimited, OPEN, Anyone),
    rule("GET", "/api/openapi.json", Unlimited, OPEN, Anyone),
    rule("GET", "/api/docs", Unlimited, OPEN, Anyone),
    rule("GET", "/api/system/status", Unlimited, OPEN, Anyone),
    rule(
        "GET",
        "/api/system/operating-hours",
        Unlimited,
        OPEN,
        Anyone,
    ),
    // Registration and recovery.
    rule("POST", "/api/register", PerAddress(Recovery), OPEN, Anyone),
    rule(
        "POST",
        "/api/auth/verify-email",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    rule(
        "POST",
        "/api/auth/resend-verification",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    rule(
        "POST",
        "/api/auth/password/forgot",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    rule(
        "POST",
        "/api/auth/password/reset",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    // Password login and its tokens.
    rule("POST", "/api/auth/login", PerAddress(Login), CLOSES, Anyone),
    rule(
        "POST",
        "/api/auth/refresh",
        PerAddress(Login),
        CLOSES,
        At(PlaceKind::TokenRefresh),
    ),
    rule(
        "POST",
        "/api/auth/logout",
        Unlimited,
        OPEN,
        At(PlaceKind::OwnSession),
    ),
    rule(
        "POST",
        "/api/auth/validate-token",
        PerAddress(Poll),
        OPEN,
        Anyone,
    ),
    rule(
        "GET",
        "/api/auth/session",
        Unlimited,
        OPEN,
        At(PlaceKind::OwnSession),
    ),
    // One's own account.
    rule(
        "GET",
        "/api/users/me",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountRead),
    ),
    rule(
        "PUT",
        "/api/users/me",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "DELETE",
        "/api/users/me",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "PUT",
        "/api/users/me/password",
        PerAddress(Login),
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/api/users/me/sign-out-everywhere",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/api/users/me/tokens",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "GET",
        "/api/users/me/tokens",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "DELETE",
        "/api/users/me/tokens/{id}",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "GET",
        "/api/users/me/logins",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    // The QR + PIN login: services with their key, the phone.
    rule(
        "POST",
        "/api/auth/qr/generate",
        PerServiceKey(Challenge),
        CLOSES,
        At(PlaceKind::QrService),
    ),
    rule(
        "GET",
        "/api/auth/qr/{token}/status",
        PerServiceKey(Poll),
        CLOSES,
        At(PlaceKind::QrService),
    ),
    rule(
        "POST",
        "/api/auth/pin/verify",
        PerServiceKey(Pin),
        CLOSES,
        At(PlaceKind::QrService),
    ),
    rule(
        "GET",
        "/api/auth/sessions/{id}",
        PerServiceKey(Poll),
        OPEN,
        At(PlaceKind::QrService),
    ),
    rule(
        "POST",
        "/api/auth/qr/scan",
        PerAddress(Scan),
        CLOSES,
        At(PlaceKind::PhoneScan),
    ),
    // Administration: open while closed, so the schedule can be changed.
    rule("POST", "/api/admin/login", PerAddress(Login), OPEN, Anyone),
    // An admin's own tokens, whatever the role.
    rule("POST", "/api/admin/tokens", Unlimited, OPEN, READ),
    rule("GET", "/api/admin/tokens", Unlimited, OPEN, READ),
    rule("DELETE", "/api/admin/tokens/{id}", Unlimited, OPEN, READ),
    rule("GET", "/api/admin/pending", Unlimited, OPEN, READ),
    rule("POST", "/api/admin/approve/{id}", Unlimited, OPEN, WRITE),
    rule("POST", "/api/admin/reject/{id}", Unlimited, OPEN, WRITE),
    rule("GET", "/api/admin/users", Unlimited, OPEN, READ),
    rule("GET", "/api/admin/users/{id}", Unlimited, OPEN, READ),
    rule("PUT", "/api/admin/users/{id}", Unlimited, OPEN, WRITE),
    rule("DELETE", "/api/admin/users/{id}", Unlimited, OPEN, WRITE),
    rule(
        "POST",
        "/api/admin/users/{id}/block",
        Unlimited,
        OPEN,
        WRITE,
    ),
    rule(
        "POST",
        "/api/admin/users/{id}/unblock",
        Unlimited,
        OPEN,
        WRITE,
    ),
    rule(
        "POST",
        "/api/admin/users/{id}/restore",
        Unlimited,
        OPEN,
        WRITE,
    ),
    rule(
        "POST",
        "/api/admin/users/{id}/unlock",
        Unlimited,
        OPEN,
        WRITE,
    ),
    rule("GET", "/api/admin/audit", Unlimited, OPEN, READ),
    rule("GET", "/api/admin/mail", Unlimited, OPEN, READ),
    rule(
        "GET",
        "/api/admin/webhooks/deliveries",
        Unlimited,
        OPEN,
        READ,
    ),
    rule("GET", "/api/admin/sessions", Unlimited, OPEN, READ),
    rule("DELETE", "/api/admin/sessions", Unlimited, OPEN, WRITE),
    rule("DELETE", "/api/admin/sessions/{id}", Unlimited, OPEN, WRITE),
    rule("GET", "/api/admin/login-history", Unlimited, OPEN, READ),
    rule(
        "GET",
        "/api/admin/login-history/summary",
        Unlimited,
        OPEN,
        READ,
    ),
    rule("GET", "/api/admin/schedule", Unlimited, OPEN, READ),
    rule("PUT", "/api/admin/schedule", Unlimited, OPEN, WRITE),
    rule("POST", "/api/services/register", Unlimited, OPEN, WRITE),
    rule("GET", "/api/services/list", Unlimited, OPEN, READ),
    rule("PUT", "/api/services/{slug}", Unlimited, OPEN, WRITE),
    rule(
        "POST",
        "/api/services/{slug}/enable",
        Unlimited,
        OPEN,
        WRITE,
    ),
    rule(
        "POST",
        "/api/services/{slug}/disable",
        Unlimited,
        OPEN,
        WRITE,
    ),
    rule(
        "POST",
        "/api/services/{slug}/rotate-key",
        Unlimited,
        OPEN,
        WRITE,
    ),
    // The admin console: its sign-in spends the login budget (the password is argon2, the code
    // is guessed); behind it, pages are read by any admin and forms posted by role `admin`.
    rule("GET", "/admin/login", Unlimited, OPEN, Anyone),
    rule("POST", "/admin/login", PerAddress(Login), OPEN, Anyone),
    rule("GET", "/admin/login/code", Unlimited, OPEN, Anyone),
    rule("POST", "/admin/login/code", PerAddress(Login), OPEN, Anyone),
    rule("POST", "/admin/sign-out", Unlimited, OPEN, SEES),
    rule("GET", "/admin", Unlimited, OPEN, SEES),
    rule("GET", "/admin/pending", Unlimited, OPEN, SEES),
    rule("POST", "/admin/pending/decide", Unlimited, OPEN, ACTS),
    rule("GET", "/admin/users", Unlimited, OPEN, SEES),
    rule("GET", "/admin/users/{id}", Unlimited, OPEN, SEES),
    rule("POST", "/admin/users/{id}/action", Unlimited, OPEN, ACTS),
    rule("POST", "/admin/users/{id}/edit", Unlimited, OPEN, ACTS),
    rule(
        "POST",
        "/admin/users/{id}/sessions/end",
        Unlimited,
        OPEN,
        ACTS,
    ),
    rule("GET", "/admin/history", Unlimited, OPEN, SEES),
    rule("GET", "/admin/history.csv", Unlimited, OPEN, SEES),
    rule("GET", "/admin/services", Unlimited, OPEN, SEES),
    rule("POST", "/admin/services", Unlimited, OPEN, ACTS),
    rule("GET", "/admin/services/{slug}", Unlimited, OPEN, SEES),
    rule("POST", "/admin/services/{slug}", Unlimited, OPEN, ACTS),
    rule(
        "POST",
        "/admin/services/{slug}/action",
        Unlimited,
        OPEN,
        ACTS,
    ),
    rule("GET", "/admin/sessions", Unlimited, OPEN, SEES),
    rule("POST", "/admin/sessions/end", Unlimited, OPEN, ACTS),
    rule("GET", "/admin/audit", Unlimited, OPEN, SEES),
    rule("GET", "/admin/audit.csv", Unlimited, OPEN, SEES),
    rule("GET", "/admin/staff", Unlimited, OPEN, SEES),
    rule("POST", "/admin/staff", Unlimited, OPEN, ACTS),
    rule("GET", "/admin/welcome", Unlimited, OPEN, Anyone),
    rule("POST", "/admin/welcome", PerAddress(Recovery), OPEN, Anyone),
    rule("POST", "/admin/staff/{id}/action", Unlimited, OPEN, ACTS),
    rule("GET", "/admin/schedule", Unlimited, OPEN, SEES),
    rule("POST", "/admin/schedule", Unlimited, OPEN, ACTS),
    rule(
        "POST",
        "/admin/users/{id}/tokens/revoke",
        Unlimited,
        OPEN,
        ACTS,
    ),
    // Pages: the login page, the phone, the mailed links, their assets.
    rule("GET", "/login", PerAddress(Challenge), CLOSES, Anyone),
    rule("POST", "/login/verify", PerAddress(Pin), CLOSES, Anyone),
    rule("GET", "/login/status", PerAddress(Poll), CLOSES, Anyone),
    rule(
        "GET",
        "/m/scan",
        PerAddress(Poll),
        CLOSES,
        At(PlaceKind::PhoneScan),
    ),
    rule(
        "POST",
        "/m/scan",
        PerAddress(Scan),
        CLOSES,
        At(PlaceKind::PhoneScan),
    ),
    rule("POST", "/m/login", PerAddress(Login), CLOSES, Anyone),
    rule("GET", "/verify-email", Unlimited, OPEN, Anyone),
    rule("POST", "/verify-email", PerAddress(Recovery), OPEN, Anyone),
    rule("GET", "/reset-password", Unlimited, OPEN, Anyone),
    rule(
        "POST",
        "/reset-password",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    // Pages for people: registering, recovering, their own account (the account API's rules).
    rule("GET", "/register", Unlimited, OPEN, Anyone),
    rule("POST", "/register", PerAddress(Recovery), OPEN, Anyone),
    rule("GET", "/forgot-password", Unlimited, OPEN, Anyone),
    rule(
        "POST",
        "/forgot-password",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    rule(
        "GET",
        "/account",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/sign-in",
        PerAddress(Login),
        CLOSES,
        Anyone,
    ),
    rule(
        "POST",
        "/account/sign-out",
        Unlimited,
        OPEN,
        At(PlaceKind::OwnSession),
    ),
    rule(
        "POST",
        "/account/profile",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/password",
        PerAddress(Login),
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/email",
        PerAddress(Login),
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule("GET", "/account/email/confirm", Unlimited, OPEN, Anyone),
    rule(
        "POST",
        "/account/email/confirm",
        PerAddress(Recovery),
        OPEN,
        Anyone,
    ),
    rule(
        "POST",
        "/account/delete",
        PerAddress(Login),
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "GET",
        "/account/sessions",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/sessions/end",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/sign-out-everywhere",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "GET",
        "/account/tokens",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/tokens",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "POST",
        "/account/tokens/revoke",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule(
        "GET",
        "/account/logins",
        Unlimited,
        OPEN,
        At(PlaceKind::AccountApi),
    ),
    rule("GET", "/assets/{file}", Unlimited, OPEN, Anyone),
];

/// The paths the gateway answers itself on every service's host (under its prefix when routed by
/// prefix); nothing under `/_auth/` reaches a service.
pub const SERVICE_HOST_ROUTES: &[RoutePolicy] = &[
    rule("GET", "/_auth/start", PerAddress(Challenge), CLOSES, Anyone),
    rule(
        "GET",
        "/_auth/callback",
        PerAddress(Pin),
        CLOSES,
        At(PlaceKind::HandoffCallback),
    ),
    rule(
        "POST",
        "/_auth/logout",
        Unlimited,
        OPEN,
        At(PlaceKind::Service),
    ),
    // The closing banner: operating hours are public (as /api/system/status), and the closed
    // overlay must reach a page whose session ended at closing. Every open page of an office
    // behind one address holds a stream, so no per-minute budget: a stream costs a parked
    // receiver, and the per-address connection cap bounds how many one address holds.
    rule("GET", "/_auth/status", Unlimited, OPEN, Anyone),
    rule("GET", "/_auth/events", Unlimited, OPEN, Anyone),
    rule("GET", "/_auth/banner.js", Unlimited, OPEN, Anyone),
];

/// What a route that is not in the table gets: the router's 404, unlimited, open.
pub const UNKNOWN: RoutePolicy = rule("", "", Unlimited, OPEN, Anyone);

struct Table {
    routes: matchit::Router<Vec<&'static RoutePolicy>>,
}

impl Table {
    fn build(entries: &'static [RoutePolicy]) -> Table {
        let mut routes: matchit::Router<Vec<&'static RoutePolicy>> = matchit::Router::new();
        let mut paths: Vec<&'static str> = entries.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        paths.dedup();
        for path in paths {
            let methods: Vec<&'static RoutePolicy> =
                entries.iter().filter(|r| r.path == path).collect();
            // The table is a constant; a path that does not parse fails the completeness test.
            let _ = routes.insert(path, methods);
        }
        Table { routes }
    }

    fn lookup(&self, method: &Method, path: &str) -> Option<&'static RoutePolicy> {
        // HEAD is served by the GET route.
        let method = if method == Method::HEAD {
            "GET"
        } else {
            method.as_str()
        };
        let found = self.routes.at(path).ok()?;
        found.value.iter().copied().find(|r| r.method == method)
    }
}

static GATEWAY: LazyLock<Table> = LazyLock::new(|| Table::build(ROUTES));
static SERVICE_HOST: LazyLock<Table> = LazyLock::new(|| Table::build(SERVICE_HOST_ROUTES));

/// The rules of a request for the gateway's own API and pages (canonical path).
pub fn gateway_route(method: &Method, path: &str) -> &'static RoutePolicy {
    GATEWAY.lookup(method, path).unwrap_or(&UNKNOWN)
}

/// The rules of a request to a reserved `/_auth/` path on a service's host.
pub fn service_host_route(method: &Method, path: &str) -> Option<&'static RoutePolicy> {
    SERVICE_HOST.lookup(method, path)
}

/// The rules of a route by the pattern the router matched (as axum's `MatchedPath` gives it).
pub fn by_pattern(method: &Method, pattern: &str) -> Option<&'static RoutePolicy> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|r| r.path == pattern && r.method == method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concrete_paths_find_their_rules() {
        let rule = gateway_route(&Method::POST, "/api/admin/approve/0190-abc");
        assert_eq!(rule.caller, Admin { write: true });
        assert_eq!(
            gateway_route(&Method::GET, "/login").budget,
            PerAddress(Challenge)
        );
        assert!(gateway_route(&Method::GET, "/login").closes);
        assert!(!gateway_route(&Method::PUT, "/api/admin/schedule").closes);
        assert_eq!(gateway_route(&Method::HEAD, "/health").path, "/health");
        assert_eq!(gateway_route(&Method::GET, "/nowhere"), &UNKNOWN);
        assert_eq!(
            gateway_route(&Method::POST, "/api/auth/pin/verify").budget,
            PerServiceKey(Pin)
        );
    }

    #[test]
    fn the_page_twins_of_api_routes_share_their_budgets() {
        for (page, api) in [
            ("/reset-password", "/api/auth/password/reset"),
            ("/verify-email", "/api/auth/verify-email"),
            ("/m/login", "/api/auth/login"),
            ("/m/scan", "/api/auth/qr/scan"),
            ("/register", "/api/register"),
            ("/forgot-password", "/api/auth/password/forgot"),
            ("/account/sign-in", "/api/auth/login"),
        ] {
            let class = |b: Budget| match b {
                PerAddress(c) | PerServiceKey(c) => Some(c),
                Unlimited => None,
            };
            assert_eq!(
                class(gateway_route(&Method::POST, page).budget),
                class(gateway_route(&Method::POST, api).budget),
                "{page} and {api}"
            );
        }
    }
}
