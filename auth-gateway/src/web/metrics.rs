//! Prometheus metrics of the edge: requests by service and status, refusals by reason, a latency
//! histogram, the gateway cookies services tried to set, and connections (open now, refused at
//! accept, closed for a slow request head), rendered as text at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    refusals: IntCounterVec,
    latency: HistogramVec,
    planted_cookies: IntCounterVec,
    connections_open: IntGauge,
    connections_refused: IntCounterVec,
    connections_cut: IntCounterVec,
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
        let connections_open =
            IntGauge::new("gateway_connections_open", "Client connections open now.")
                .expect("valid metric");
        let connections_refused = IntCounterVec::new(
            Opts::new(
                "gateway_connections_refused_total",
                "Client connections closed as soon as they were accepted, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let connections_cut = IntCounterVec::new(
            Opts::new(
                "gateway_connections_closed_total",
                "Client connections the gateway closed before a request was complete, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let registry = Registry::new();
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refusals.clone()),
            Box::new(latency.clone()),
            Box::new(planted_cookies.clone()),
            Box::new(connections_open.clone()),
            Box::new(connections_refused.clone()),
            Box::new(connections_cut.clone()),
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
            connections_open,
            connections_refused,
            connections_cut,
        }
    }

    /// A client connection was admitted.
    pub fn connection_opened(&self) {
        self.connections_open.inc();
    }

    /// An admitted client connection ended.
    pub fn connection_closed(&self) {
        self.connections_open.dec();
    }

    /// A client connection was closed at accept, for `reason`.
    pub fn connection_refused(&self, reason: &str) {
        self.connections_refused.with_label_values(&[reason]).inc();
    }

    /// A client connection was closed before its request was complete, for `reason`.
    pub fn connection_cut(&self, reason: &str) {
        self.connections_cut.with_label_values(&[reason]).inc();
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
