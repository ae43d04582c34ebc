//! Prometheus metrics of the edge: requests by service and status, refusals by reason, a latency
//! histogram, and the gateway cookies services tried to set, rendered as text at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    refusals: IntCounterVec,
    latency: HistogramVec,
    planted_cookies: IntCounterVec,
}

impl Metrics {
    #[allow(
        clippy::expect_used,
        reason = "constant names and labels, registered once in a registry of their own"
    )]
    pub fn new() -> Metrics {
        let requests = IntCounterVec::new(
            Opts::new(
                "gateway_requests_total",
                "Requests answered, by service (or gateway) and status.",
            ),
            &["service", "status"],
        )
        .expect("valid metric");
        let refusals = IntCounterVec::new(
            Opts::new(
                "gateway_refusals_total",
                "Requests the gateway refused, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gateway_request_duration_seconds",
                "Time from request to response.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["service"],
        )
        .expect("valid metric");
        let planted_cookies = IntCounterVec::new(
            Opts::new(
                "gateway_upstream_cookies_dropped_total",
                "Set-Cookie headers for a gateway cookie that a service sent and the gateway \
                 dropped, by service.",
            ),
            &["service"],
        )
        .expect("valid metric");
        let registry = Registry::new();
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refusals.clone()),
            Box::new(latency.clone()),
            Box::new(planted_cookies.clone()),
        ] {
            registry
                .register(metric)
                .expect("metrics are registered once");
        }
        Metrics {
            registry,
            requests,
            refusals,
            latency,
            planted_cookies,
        }
    }

    /// A service tried to set one of the gateway's cookies.
    pub fn planted_cookie(&self, service: &str) {
        self.planted_cookies.with_label_values(&[service]).inc();
    }

    pub fn request(&self, service: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[service, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[service]).observe(seconds);
    }

    pub fn refusal(&self, reason: &str) {
        self.refusals.with_label_values(&[reason]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
