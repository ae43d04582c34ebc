//! The texts of every message the system sends. Plain text, short, and each says what to do next.

use super::OutgoingMail;

/// Sent on registration and on request: the single-use link that verifies the address.
pub fn verify_email(
    to: &str,
    name: &str,
    public_url: &str,
    token: &str,
    hours: u64,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Verify your email address".into(),
        body: format!(
            "Hello {name},\n\n\
             please confirm this is your email address by opening this link within {hours} hours:\n\n\
             {public_url}/verify-email?token={token}\n\n\
             Or send the token to the API yourself:\n\n\
             curl -X POST {public_url}/api/auth/verify-email -H 'Content-Type: application/json' \
             -d '{{\"token\": \"{token}\"}}'\n\n\
             After that an administrator reviews your account; you will hear from us.\n\n\
             If you did not register, ignore this message.\n"
        ),
    }
}

/// Sent to every admin when a verified account waits for a decision.
pub fn new_pending_account(
    to: &str,
    username: &str,
    email: &str,
    full_name: &str,
    public_url: &str,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: format!("New account waiting for approval: {username}"),
        body: format!(
            "{full_name} ({username}, {email}) verified their email address and waits for approval.\n\n\
             Review pending accounts with GET {public_url}/api/admin/pending.\n"
        ),
    }
}

/// Sent when an admin approves an account.
pub fn approved(to: &str, name: &str, public_url: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account is approved".into(),
        body: format!(
            "Hello {name},\n\n\
             your account is active. To log into a service such as ServiceB, open it in your browser: \
             it shows a QR code. Scan it with your phone, where you are signed in at {public_url}, \
             and type the PIN your phone shows.\n\n\
             API clients sign in with POST {public_url}/api/auth/login.\n"
        ),
    }
}

/// Sent when an admin rejects an account.
pub fn rejected(to: &str, name: &str, reason: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account request was declined".into(),
        body: format!(
            "Hello {name},\n\n\
             an administrator declined your account request, giving this reason:\n\n  {reason}\n\n\
             Reply to your administrator if you think this is a mistake.\n"
        ),
    }
}

/// Sent on request: the single-use link that sets a new password.
pub fn password_reset(
    to: &str,
    name: &str,
    public_url: &str,
    token: &str,
    minutes: u64,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Reset your password".into(),
        body: format!(
            "Hello {name},\n\n\
             someone asked to reset the password of your account. If it was you, open this link \
             within {minutes} minutes:\n\n\
             {public_url}/reset-password?token={token}\n\n\
             Or send the token with your new password to the API:\n\n\
             curl -X POST {public_url}/api/auth/password/reset -H 'Content-Type: application/json' \
             -d '{{\"token\": \"{token}\", \"new_password\": \"…\"}}'\n\n\
             If it was not you, ignore this message: your password stays as it is.\n"
        ),
    }
}

/// Sent after a password was changed, through a reset or by the person.
pub fn password_changed(to: &str, name: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your password was changed".into(),
        body: format!(
            "Hello {name},\n\n\
             the password of your account was just changed. Every session was signed out (but the \
             one that changed it), every refresh token ended, and every personal access token \
             revoked: scripts that use one need a new token.\n\n\
             If you did not do this, contact your administrator at once.\n"
        ),
    }
}

/// Sent to the new address when a person moves their account to it: the single-use link that
/// makes it the account's address.
pub fn email_change_link(
    to: &str,
    name: &str,
    public_url: &str,
    token: &str,
    hours: u64,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Confirm your new email address".into(),
        body: format!(
            "Hello {name},\n\n\
             you asked to use this address for your account. Confirm it by opening this link \
             within {hours} hours:\n\n\
             {public_url}/account/email/confirm?token={token}\n\n\
             Until then the account keeps its old address.\n\n\
             If you did not ask for this, ignore this message.\n"
        ),
    }
}

/// Sent to the current address when someone asks to move the account to another one.
pub fn email_change_notice(to: &str, name: &str, new_email: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account's email address is being changed".into(),
        body: format!(
            "Hello {name},\n\n\
             someone signed in to your account asked to move it to {new_email}. It moves once \
             the link mailed there is opened.\n\n\
             If this was not you, change your password now (which signs out every session) and \
             contact your administrator.\n"
        ),
    }
}
