//! Requests for the gateway itself: its API and pages, answered in process after the hours and the
//! strict per-address limits of the routes that log people in.

use auth_core::schedule::ScheduleStatus;
use pingora::proxy::Session;

use super::limits::RouteClass;
use super::{Gateway, RequestCtx, dispatch, query_suffix};

/// Gateway paths that stay up while closed, so admins can change the schedule and monitors see.
fn open_while_closed(path: &str) -> bool {
    path == "/health"
        || path == "/metrics"
        || path.starts_with("/.well-known/")
        || path.starts_with("/api/admin/")
        || path.starts_with("/api/system/")
        || path.starts_with("/assets/")
}

/// Gateway paths that log people in: closed outside operating hours.
fn logs_in(path: &str) -> bool {
    matches!(
        path,
        "/api/auth/login"
            | "/api/auth/refresh"
            | "/api/auth/pin/verify"
            | "/login"
            | "/login/verify"
    ) || path.starts_with("/api/auth/qr/")
        || path.starts_with("/m/")
}

impl Gateway {
    pub(super) async fn serve_gateway(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        path: &str,
        hours: &ScheduleStatus,
    ) -> pingora::Result<bool> {
        ctx.label = "gateway";
        if !hours.open && logs_in(path) && !open_while_closed(path) {
            let err = self.closed("logins");
            return self.refuse(session, ctx, err, "closed").await;
        }
        if let Some(ip) = ctx.client_ip
            && let Err(err) = self.limits.check_route(RouteClass::of(path), ip).await
        {
            return self.refuse(session, ctx, err, "rate_limited").await;
        }
        let head = session.req_header();
        let target = format!("{path}{}", query_suffix(head));
        let client = dispatch::ClientInfo {
            ip: ctx.client_ip,
            user_agent: head
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            tls: ctx.tls,
        };
        dispatch::serve(
            session,
            &self.api,
            self.max_body_bytes,
            client,
            &target,
            ctx.closing_in,
        )
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_and_monitoring_paths_stay_open_and_logins_close() {
        for path in [
            "/health",
            "/metrics",
            "/.well-known/jwks.json",
            "/api/admin/schedule",
        ] {
            assert!(open_while_closed(path), "{path}");
        }
        for path in [
            "/api/auth/login",
            "/api/auth/qr/generate",
            "/m/scan",
            "/login",
        ] {
            assert!(logs_in(path) && !open_while_closed(path), "{path}");
        }
        assert!(!logs_in("/api/users/me"));
    }
}
