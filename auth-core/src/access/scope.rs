//! Where each kind of credential may be used: the one table that every entry point asks (the
//! API's extractors, the pages, the edge in front of services, and applications that embed this
//! crate). A credential that checks out cryptographically is still refused anywhere its kind is
//! not listed, so a service that holds a person's session token for itself cannot use it on the
//! account API, and a password login cannot open a service without the QR + PIN login.

use serde::Serialize;

use crate::error::{Error, Result};

/// What a credential is. Every credential the system hands out is exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A person's session at one service, made by the QR + PIN login (a cookie on the service's
    /// host, or a bearer token the service holds).
    ServiceSession,
    /// The short-lived token of a password login (API clients, the phone, the account pages).
    AccessToken,
    /// The opaque token that renews an access token.
    RefreshToken,
    /// A person's personal access token, naming the services it may open.
    PersonalAccessToken,
    /// An administrator's token from the admin login.
    AdminToken,
    /// An administrator's personal access token, for scripts against the admin API.
    AdminPersonalAccessToken,
    /// An administrator's console session (password and second factor), a cookie on the
    /// gateway's host.
    ConsoleSession,
    /// A service's key for the QR login calls.
    ServiceApiKey,
    /// The one-time code that carries a new session from the login page to the service's host.
    HandoffCode,
}

impl CredentialKind {
    /// Every kind, for tables and tests that must cover them all.
    pub const ALL: [CredentialKind; 9] = [
        CredentialKind::ServiceSession,
        CredentialKind::AccessToken,
        CredentialKind::RefreshToken,
        CredentialKind::PersonalAccessToken,
        CredentialKind::AdminToken,
        CredentialKind::AdminPersonalAccessToken,
        CredentialKind::ConsoleSession,
        CredentialKind::ServiceApiKey,
        CredentialKind::HandoffCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ServiceSession => "service_session",
            CredentialKind::AccessToken => "access_token",
            CredentialKind::RefreshToken => "refresh_token",
            CredentialKind::PersonalAccessToken => "personal_access_token",
            CredentialKind::AdminToken => "admin_token",
            CredentialKind::AdminPersonalAccessToken => "admin_personal_access_token",
            CredentialKind::ConsoleSession => "console_session",
            CredentialKind::ServiceApiKey => "service_api_key",
            CredentialKind::HandoffCode => "handoff_code",
        }
    }
}

/// A kind of place a credential is presented at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// Changing one's own account: profile, password, tokens, deletion, signing out everywhere.
    AccountApi,
    /// Reading one's own account (`GET /api/users/me`).
    AccountRead,
    /// The phone confirming a QR code (the scan API and the phone page).
    PhoneScan,
    /// The credential's own session: checking it and ending it.
    OwnSession,
    /// Asking whether a credential is good (`validate-token`): an answer, not an access.
    Introspection,
    /// The admin API.
    AdminApi,
    /// The admin console's pages and forms.
    AdminConsole,
    /// Requests to a service behind the gateway.
    Service,
    /// A service's QR login calls (generate, poll, verify the PIN, session liveness).
    QrService,
    /// Renewing an access token.
    TokenRefresh,
    /// The service host's hand-off callback after a PIN.
    HandoffCallback,
}

impl PlaceKind {
    /// Every kind of place, for tables and tests that must cover them all.
    pub const ALL: [PlaceKind; 11] = [
        PlaceKind::AccountApi,
        PlaceKind::AccountRead,
        PlaceKind::PhoneScan,
        PlaceKind::OwnSession,
        PlaceKind::Introspection,
        PlaceKind::AdminApi,
        PlaceKind::AdminConsole,
        PlaceKind::Service,
        PlaceKind::QrService,
        PlaceKind::TokenRefresh,
        PlaceKind::HandoffCallback,
    ];
}

/// Where a credential is presented, with what the place is (the service, for service places).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    AccountApi,
    AccountRead,
    PhoneScan,
    OwnSession,
    Introspection,
    AdminApi,
    AdminConsole,
    /// The service with this slug.
    Service(&'a str),
    QrService,
    TokenRefresh,
    /// The hand-off callback on the host of the service with this slug.
    HandoffCallback(&'a str),
}

impl Place<'_> {
    pub fn kind(&self) -> PlaceKind {
        match self {
            Place::AccountApi => PlaceKind::AccountApi,
            Place::AccountRead => PlaceKind::AccountRead,
            Place::PhoneScan => PlaceKind::PhoneScan,
            Place::OwnSession => PlaceKind::OwnSession,
            Place::Introspection => PlaceKind::Introspection,
            Place::AdminApi => PlaceKind::AdminApi,
            Place::AdminConsole => PlaceKind::AdminConsole,
            Place::Service(_) => PlaceKind::Service,
            Place::QrService => PlaceKind::QrService,
            Place::TokenRefresh => PlaceKind::TokenRefresh,
            Place::HandoffCallback(_) => PlaceKind::HandoffCallback,
        }
    }

    /// The service a service place is about.
    fn service(&self) -> Option<&str> {
        match self {
            Place::Service(slug) | Place::HandoffCallback(slug) => Some(slug),
            _ => None,
        }
    }
}

/// How far a kind reaches at a place it is listed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anywhere of that kind of place.
    Any,
    /// Only at the one service the credential was made for.
    ItsService,
    /// Only at the services named when the credential was made.
    NamedServices,
}

/// The table. A pair that is not listed is refused.
const TABLE: &[(CredentialKind, PlaceKind, Reach)] = &[
    (
        CredentialKind::ServiceSession,
        PlaceKind::Service,
        Reach::ItsService,
    ),
    (
        CredentialKind::ServiceSession,
        PlaceKind::OwnSession,
        Reach::Any,
    ),
    (
        CredentialKind::ServiceSession,
        PlaceKind::Introspection,
        Reach::Any,
    ),
    (
        CredentialKind::AccessToken,
        PlaceKind::AccountApi,
        Reach::Any,
    ),
    (
        CredentialKind::AccessToken,
        PlaceKind::AccountRead,
        Reach::Any,
    ),
    (
        CredentialKind::AccessToken,
        PlaceKind::PhoneScan,
        Reach::Any,
    ),
    (
        CredentialKind::AccessToken,
        PlaceKind::OwnSession,
        Reach::Any,
    ),
    (
        CredentialKind::AccessToken,
        PlaceKind::Introspection,
        Reach::Any,
    ),
    (
        CredentialKind::RefreshToken,
        PlaceKind::TokenRefresh,
        Reach::Any,
    ),
    (
        CredentialKind::PersonalAccessToken,
        PlaceKind::Service,
        Reach::NamedServices,
    ),
    (
        CredentialKind::PersonalAccessToken,
        PlaceKind::AccountRead,
        Reach::Any,
    ),
    (
        CredentialKind::PersonalAccessToken,
        PlaceKind::Introspection,
        Reach::Any,
    ),
    (CredentialKind::AdminToken, PlaceKind::AdminApi, Reach::Any),
    (
        CredentialKind::AdminToken,
        PlaceKind::OwnSession,
        Reach::Any,
    ),
    (
        CredentialKind::AdminPersonalAccessToken,
        PlaceKind::AdminApi,
        Reach::Any,
    ),
    (
        CredentialKind::ConsoleSession,
        PlaceKind::AdminConsole,
        Reach::Any,
    ),
    (
        CredentialKind::ServiceApiKey,
        PlaceKind::QrService,
        Reach::Any,
    ),
    (
        CredentialKind::HandoffCode,
        PlaceKind::HandoffCallback,
        Reach::ItsService,
    ),
];

/// How far `kind` reaches at places of `place`, or None where it is never accepted.
pub fn reach(kind: CredentialKind, place: PlaceKind) -> Option<Reach> {
    TABLE
        .iter()
        .find(|(k, p, _)| *k == kind && *p == place)
        .map(|(_, _, reach)| *reach)
}

/// What a credential was made for, as far as the table needs to know.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binding<'a> {
    /// The one service a service session or hand-off code was made for.
    pub service: Option<&'a str>,
    /// The services a personal access token names.
    pub services: &'a [String],
}

/// Accepts a credential of `kind`, made for `binding`, at `place`; otherwise the refusal.
///
/// At a service the refusal is [`Error::InvalidToken`], so a browser is sent to log in there as
/// any other unauthenticated one; elsewhere it is [`Error::CredentialNotAccepted`] (403).
pub fn check(kind: CredentialKind, binding: Binding<'_>, place: Place<'_>) -> Result<()> {
    let refused = || match place {
        Place::Service(_) | Place::HandoffCallback(_) => Error::InvalidToken,
        _ => Error::CredentialNotAccepted(kind.as_str()),
    };
    let reaches = match reach(kind, place.kind()) {
        None => false,
        Some(Reach::Any) => true,
        Some(Reach::ItsService) => binding.service.is_some() && binding.service == place.service(),
        Some(Reach::NamedServices) => place
            .service()
            .is_some_and(|slug| binding.services.iter().any(|s| s == slug)),
    };
    if reaches { Ok(()) } else { Err(refused()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CredentialKind as K;
    use PlaceKind as P;

    /// The table as a reader of the design sees it: every kind against every place.
    #[test]
    fn each_kind_reaches_only_its_places() {
        let expected: &[(K, &[P])] = &[
            (
                K::ServiceSession,
                &[P::Service, P::OwnSession, P::Introspection],
            ),
            (
                K::AccessToken,
                &[
                    P::AccountApi,
                    P::AccountRead,
                    P::PhoneScan,
                    P::OwnSession,
                    P::Introspection,
                ],
            ),
            (K::RefreshToken, &[P::TokenRefresh]),
            (
                K::PersonalAccessToken,
                &[P::Service, P::AccountRead, P::Introspection],
            ),
            (K::AdminToken, &[P::AdminApi, P::OwnSession]),
            (K::AdminPersonalAccessToken, &[P::AdminApi]),
            (K::ConsoleSession, &[P::AdminConsole]),
            (K::ServiceApiKey, &[P::QrService]),
            (K::HandoffCode, &[P::HandoffCallback]),
        ];
        for kind in K::ALL {
            let places = expected
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, p)| *p)
                .unwrap_or_default();
            for place in P::ALL {
                assert_eq!(
                    reach(kind, place).is_some(),
                    places.contains(&place),
                    "{kind:?} at {place:?}"
                );
            }
        }
    }

    #[test]
    fn a_service_session_opens_its_own_service_only() {
        let binding = Binding {
            service: Some("service-b"),
            services: &[],
        };
        assert!(check(K::ServiceSession, binding, Place::Service("service-b")).is_ok());
        assert!(matches!(
            check(K::ServiceSession, binding, Place::Service("app-c")),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            check(K::ServiceSession, binding, Place::AccountApi),
            Err(Error::CredentialNotAccepted("service_session"))
        ));
        assert!(check(K::ServiceSession, binding, Place::PhoneScan).is_err());
    }

    #[test]
    fn a_personal_access_token_opens_the_services_it_names() {
        let named = ["app-c".to_string()];
        let binding = Binding {
            service: None,
            services: &named,
        };
        assert!(check(K::PersonalAccessToken, binding, Place::Service("app-c")).is_ok());
        assert!(check(K::PersonalAccessToken, binding, Place::Service("service-b")).is_err());
        assert!(check(K::PersonalAccessToken, binding, Place::AccountApi).is_err());
        assert!(check(K::PersonalAccessToken, binding, Place::PhoneScan).is_err());
    }

    #[test]
    fn a_password_login_opens_no_service() {
        let binding = Binding::default();
        assert!(check(K::AccessToken, binding, Place::Service("service-b")).is_err());
        assert!(check(K::AccessToken, binding, Place::PhoneScan).is_ok());
        assert!(check(K::AccessToken, binding, Place::AdminApi).is_err());
    }

    #[test]
    fn a_handoff_code_works_only_at_its_service() {
        let binding = Binding {
            service: Some("service-b"),
            services: &[],
        };
        assert!(check(K::HandoffCode, binding, Place::HandoffCallback("service-b")).is_ok());
        assert!(check(K::HandoffCode, binding, Place::HandoffCallback("app-c")).is_err());
        assert!(check(K::HandoffCode, binding, Place::Service("service-b")).is_err());
    }
}
