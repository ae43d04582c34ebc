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
             API clients sign in with POST {public_url}/api/auth/login.\n\n\
             If you never asked for an account, tell your administrator: someone registered \
             with your address.\n"
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
             Reply to your administrator if you think this is a mistake. If you never asked \
             for an account, there is nothing to do: someone else used your address.\n"
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

/// Sent to a person invited to the staff: the single-use link with which they choose a password.
pub fn staff_invite(
    to: &str,
    username: &str,
    role: &str,
    public_url: &str,
    token: &str,
    hours: i64,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "You are invited to the admin console".into(),
        body: format!(
            "Hello {username},\n\n\
             you have been made {role}.\n\n\
             Choose your password by opening this link within {hours} hours:\n\n\
             {public_url}/admin/welcome?token={token}\n\n\
             Then sign in at {public_url}/admin/login as {username}. The first time, you set up an \
             authenticator app (any TOTP app) and get recovery codes to keep somewhere safe.\n\n\
             If you did not expect this, ignore this message; the link stops working by itself.\n"
        ),
    }
}

/// Sent to an admin when accounts wait for a decision: one mail for every account verified
/// since the admin's last such mail, at most one each notice window.
pub fn accounts_waiting(
    to: &str,
    waiting: &[(String, String, String)],
    public_url: &str,
) -> OutgoingMail {
    let mut list = String::new();
    for (username, email, full_name) in waiting {
        list.push_str(&format!("  - {full_name} ({username}, {email})\n"));
    }
    let subject = match waiting {
        [(username, _, _)] => format!("New account waiting for approval: {username}"),
        _ => format!("{} new accounts waiting for approval", waiting.len()),
    };
    OutgoingMail {
        to: to.to_string(),
        subject,
        body: format!(
            "These people verified their email address and wait for approval:\n\n{list}\n\
             Approve or reject them in the console: {public_url}/admin/pending\n\n\
             (Scripts: GET {public_url}/api/admin/pending, then POST \
             /api/admin/approve/{{user_id}} or /api/admin/reject/{{user_id}}.)\n\n\
             More arrivals within the next minutes are gathered into one mail.\n"
        ),
    }
}

/// Sent when an admin blocks an account.
pub fn blocked(to: &str, name: &str, reason: Option<&str>) -> OutgoingMail {
    let reason = reason.map_or(String::new(), |r| {
        format!(", giving this reason:\n\n  {r}\n")
    });
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account was blocked".into(),
        body: format!(
            "Hello {name},\n\n\
             an administrator blocked your account{reason}\n\
             You were signed out everywhere and cannot log in until it is unblocked.\n\n\
             If you do not know why, contact your administrator.\n"
        ),
    }
}

/// Sent when an admin unblocks an account.
pub fn unblocked(to: &str, name: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account was unblocked".into(),
        body: format!(
            "Hello {name},\n\n\
             an administrator unblocked your account: you can log in again.\n\n\
             If you did not expect this, tell your administrator.\n"
        ),
    }
}

/// Sent when wrong passwords lock an account.
pub fn locked_out(
    to: &str,
    name: &str,
    failures: u32,
    until: jiff::Timestamp,
    public_url: &str,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account was locked after wrong passwords".into(),
        body: format!(
            "Hello {name},\n\n\
             someone tried your password {failures} times without success, so your account is \
             locked until {until} (UTC).\n\n\
             If it was you, wait until then, or ask for a password reset with POST {public_url}/api/auth/password/forgot.\n\
             If it was not you, someone is guessing your password: once the lock ends, choose a \
             new, longer one, and tell your administrator.\n"
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

/// Sent to the old and the new address when an admin moves an account to `new_email`.
pub fn email_changed_by_admin(to: &str, name: &str, new_email: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your account's email address was changed".into(),
        body: format!(
            "Hello {name},\n\n\
             an administrator changed your account's email address to {new_email}. Mail about \
             your account, password reset links included, goes there from now on.\n\n\
             If you did not ask for this, contact your administrator.\n"
        ),
    }
}

/// Sent when a personal access token is made for an account.
pub fn pat_created(
    to: &str,
    name: &str,
    token_name: &str,
    services: &[String],
    expires_at: jiff::Timestamp,
) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "A new personal access token was created".into(),
        body: format!(
            "Hello {name},\n\n\
             a personal access token named \"{token_name}\" was created for your account. It \
             opens {} and expires at {expires_at} (UTC).\n\n\
             If you did not create it, revoke it at once (DELETE /api/users/me/tokens/{{id}}), \
             change your password, and tell your administrator.\n",
            services.join(", ")
        ),
    }
}
