//! What the closing warning adds on the way through the proxy: the closing headers of a request
//! forwarded to a service, and the banner readied for a service's HTML answer (the body is then
//! fed through `banner::Inserter` in `response_body_filter`).

use http::{HeaderMap, HeaderName, HeaderValue};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use crate::edge::identity;
use crate::edge::routing::Route;
use crate::edge::{Gateway, RequestCtx};

/// `X-Auth-Closes-At` while a closing is scheduled, and `X-Auth-Closing-In` inside the
/// service's warning window; any copy a client sent went with the other `x-auth-*` headers.
pub fn request_headers(upstream: &mut HeaderMap, standing: &super::Standing) {
    if let Some(at) = standing.closes_at {
        upstream.insert(CLOSES_AT, identity::owned_value(at.to_string()));
    }
    if let Some(seconds) = standing.closing_in() {
        upstream.insert(CLOSING_IN, HeaderValue::from(seconds));
    }
}

const CLOSES_AT: HeaderName = HeaderName::from_static(super::CLOSES_AT);
const CLOSING_IN: HeaderName = HeaderName::from_static(super::CLOSING_IN);

impl Gateway {
    /// Readies the banner for a service's answer that wants one (see `super::banner::wanted`);
    /// `X-Auth-No-Banner` is for the gateway and goes no further.
    pub(in crate::edge) fn prepare_banner(
        &self,
        session: &Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        let (Some(warning), Some(standing)) = (ctx.warning, ctx.standing) else {
            return Ok(());
        };
        let head = session.req_header();
        let wanted = warning.banner && super::banner::wanted(response, &head.method);
        response.remove_header(super::NO_BANNER);
        if !wanted {
            return Ok(());
        }
        super::banner::reframe(response, head.version == http::Version::HTTP_11)?;
        let base = match &ctx.route {
            Some(Route::Service { base, .. }) => base.as_str(),
            _ => "",
        };
        let timezone = self.core.schedule().current().timezone.clone();
        ctx.banner = Some(super::banner::Inserter::new(super::banner::snippet(
            &standing, &timezone, base,
        )));
        Ok(())
    }
}
