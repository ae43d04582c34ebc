//! Every action the audit log records, as one enum: what is written is always one of these, and
//! the names are stable (admins filter on them).

use serde::Serialize;

/// An audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuditAction {
    UserRegistered,
    UserEmailVerified,
    UserEmailChangeRequested,
    UserEmailChanged,
    UserVerificationResent,
    UserApproved,
    UserRejected,
    UserBlocked,
    UserUnblocked,
    UserDeleted,
    UserRestored,
    UserProfileUpdated,
    UserUnlocked,
    UserLocked,
    UserPinLocked,
    AdminCreated,
    AdminInvited,
    AdminInviteAccepted,
    AdminLogin,
    AdminLocked,
    AdminSecondFactorEnrolled,
    AdminSecondFactorReset,
    AdminRecoveryCodeUsed,
    AdminRoleChanged,
    AdminDisabled,
    AdminEnabled,
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    PasswordChangeFailed,
    /// A wrong password given to confirm a step (deleting one's account).
    PasswordConfirmFailed,
    PatCreated,
    PatUsed,
    PatRevoked,
    QrScanned,
    ServiceRegistered,
    ServiceKeyRotated,
    ServiceEnabled,
    ServiceDisabled,
    ServiceUpdated,
    ScheduleChanged,
    SessionLogout,
    SessionRevoked,
    SessionRevokedAll,
    SessionRevokedAllOfService,
    SessionSignedOutEverywhere,
    TokenRefreshed,
    RefreshFamilyRevoked,
}

impl AuditAction {
    /// Every action, for documentation and tests.
    pub const ALL: [AuditAction; 48] = [
        AuditAction::UserRegistered,
        AuditAction::UserEmailVerified,
        AuditAction::UserEmailChangeRequested,
        AuditAction::UserEmailChanged,
        AuditAction::UserVerificationResent,
        AuditAction::UserApproved,
        AuditAction::UserRejected,
        AuditAction::UserBlocked,
        AuditAction::UserUnblocked,
        AuditAction::UserDeleted,
        AuditAction::UserRestored,
        AuditAction::UserProfileUpdated,
        AuditAction::UserUnlocked,
        AuditAction::UserLocked,
        AuditAction::UserPinLocked,
        AuditAction::AdminCreated,
        AuditAction::AdminInvited,
        AuditAction::AdminInviteAccepted,
        AuditAction::AdminLogin,
        AuditAction::AdminLocked,
        AuditAction::AdminSecondFactorEnrolled,
        AuditAction::AdminSecondFactorReset,
        AuditAction::AdminRecoveryCodeUsed,
        AuditAction::AdminRoleChanged,
        AuditAction::AdminDisabled,
        AuditAction::AdminEnabled,
        AuditAction::PasswordResetRequested,
        AuditAction::PasswordReset,
        AuditAction::PasswordChanged,
        AuditAction::PasswordChangeFailed,
        AuditAction::PasswordConfirmFailed,
        AuditAction::PatCreated,
        AuditAction::PatUsed,
        AuditAction::PatRevoked,
        AuditAction::QrScanned,
        AuditAction::ServiceRegistered,
        AuditAction::ServiceKeyRotated,
        AuditAction::ServiceEnabled,
        AuditAction::ServiceDisabled,
        AuditAction::ServiceUpdated,
        AuditAction::ScheduleChanged,
        AuditAction::SessionLogout,
        AuditAction::SessionRevoked,
        AuditAction::SessionRevokedAll,
        AuditAction::SessionRevokedAllOfService,
        AuditAction::SessionSignedOutEverywhere,
        AuditAction::TokenRefreshed,
        AuditAction::RefreshFamilyRevoked,
    ];

    /// The name stored and shown, e.g. `user.approved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserRegistered => "user.registered",
            AuditAction::UserEmailVerified => "user.email_verified",
            AuditAction::UserEmailChangeRequested => "user.email_change_requested",
            AuditAction::UserEmailChanged => "user.email_changed",
            AuditAction::UserVerificationResent => "user.verification_resent",
            AuditAction::UserApproved => "user.approved",
            AuditAction::UserRejected => "user.rejected",
            AuditAction::UserBlocked => "user.blocked",
            AuditAction::UserUnblocked => "user.unblocked",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::UserRestored => "user.restored",
            AuditAction::UserProfileUpdated => "user.profile_updated",
            AuditAction::UserUnlocked => "user.unlocked",
            AuditAction::UserLocked => "user.locked",
            AuditAction::UserPinLocked => "user.pin_locked",
            AuditAction::AdminCreated => "admin.created",
            AuditAction::AdminInvited => "admin.invited",
            AuditAction::AdminInviteAccepted => "admin.invite_accepted",
            AuditAction::AdminLogin => "admin.login",
            AuditAction::AdminLocked => "admin.locked",
            AuditAction::AdminSecondFactorEnrolled => "admin.second_factor_enrolled",
            AuditAction::AdminSecondFactorReset => "admin.second_factor_reset",
            AuditAction::AdminRecoveryCodeUsed => "admin.recovery_code_used",
            AuditAction::AdminRoleChanged => "admin.role_changed",
            AuditAction::AdminDisabled => "admin.disabled",
            AuditAction::AdminEnabled => "admin.enabled",
            AuditAction::PasswordResetRequested => "password.reset_requested",
            AuditAction::PasswordReset => "password.reset",
            AuditAction::PasswordChanged => "password.changed",
            AuditAction::PasswordChangeFailed => "password.change_failed",
            AuditAction::PasswordConfirmFailed => "password.confirm_failed",
            AuditAction::PatCreated => "pat.created",
            AuditAction::PatUsed => "pat.used",
            AuditAction::PatRevoked => "pat.revoked",
            AuditAction::QrScanned => "qr.scanned",
            AuditAction::ServiceRegistered => "service.registered",
            AuditAction::ServiceKeyRotated => "service.key_rotated",
            AuditAction::ServiceEnabled => "service.enabled",
            AuditAction::ServiceDisabled => "service.disabled",
            AuditAction::ServiceUpdated => "service.updated",
            AuditAction::ScheduleChanged => "schedule.changed",
            AuditAction::SessionLogout => "session.logout",
            AuditAction::SessionRevoked => "session.revoked",
            AuditAction::SessionRevokedAll => "session.revoked_all",
            AuditAction::SessionRevokedAllOfService => "session.revoked_all_of_service",
            AuditAction::SessionSignedOutEverywhere => "session.signed_out_everywhere",
            AuditAction::TokenRefreshed => "token.refreshed",
            AuditAction::RefreshFamilyRevoked => "refresh_family.revoked",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_dotted() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert!(names.iter().all(|n| n.split('.').count() == 2), "{names:?}");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }
}
