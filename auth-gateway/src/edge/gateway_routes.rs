//! Requests for the gateway itself: its API and pages, answered in process after the rules of the
//! route's entry in the policy table (closed outside hours or not, which budget it draws on).

use auth_core::schedule::ScheduleStatus;
use pingora::proxy::Session;

use super::{Gateway, RequestCtx, dispatch, query_suffix};
use crate::web::client::ClientInfo;
use crate::web::policy;

impl Gateway {
    pub(super) async fn serve_gateway(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        path: &str,
        hours: &ScheduleStatus,
    ) -> pingora::Result<bool> {
        ctx.label = "gateway";
        let rule = policy::gateway_route(&session.req_header().method, path);
        if !hours.open && rule.closes {
            let err = self.closed_refusal("logins");
            return self.refuse(session, ctx, err, "closed").await;
        }
        let presented_key = session
            .req_header()
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok());
        if let Err(err) = self
            .limits
            .check(rule.budget, ctx.client_ip, presented_key)
            .await
        {
            return self.refuse(session, ctx, err, "rate_limited").await;
        }
        let head = session.req_header();
        let target = format!("{path}{}", query_suffix(head));
        let client = ClientInfo {
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
            ctx.marks(),
        )
        .await?;
        Ok(true)
    }
}
