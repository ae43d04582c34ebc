//! Prometheus metrics of the edge: requests by service and status, refusals by reason, a latency
//! histogram, the gateway cookies services tried to set, connections (open now, refused at
//! accept, closed for a slow request head) and upstream health; and of the core, through its
//! [`Meter`]: logins, lockouts, QR challenges, wrong PINs, webhook attempts and store latency.
//! Rendered as text at `/metrics`.

use auth_core::measure::Meter;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
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
    upstream_healthy: IntGaugeVec,
    /// The last health check of each (service, upstream), for the console to show.
    upstream_checks: std::sync::Mutex<std::collections::BTreeMap<(String, String), bool>>,
    logins: IntCounterVec,
    lockouts: IntCounterVec,
    qr_challenges: IntCounterVec,
    pin_failures: IntCounter,
    webhook_attempts: IntCounterVec,
    store_latency: HistogramVec,
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
        let upstream_healthy = IntGaugeVec::new(
            Opts::new(
                "gateway_upstream_healthy",
                "1 when the last health check of a service's upstream passed, else 0.",
            ),
            &["service", "upstream"],
        )
        .expect("valid metric");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
        };
        let logins = counter(
            "auth_logins_total",
            "Login attempts, by method (password, qr, pat) and outcome (success or the \
             refusal's code).",
            &["method", "outcome"],
        );
        let lockouts = counter(
            "auth_lockouts_total",
            "Accounts locked by too many wrong passwords or PINs, by kind.",
            &["kind"],
        );
        let qr_challenges = counter(
            "auth_qr_challenges_total",
            "QR challenges by what happened to them: created, scanned, completed, expired, \
             locked.",
            &["outcome"],
        );
        let pin_failures =
            IntCounter::new("auth_pin_failures_total", "Wrong PINs typed.").expect("valid metric");
        let webhook_attempts = counter(
            "auth_webhook_attempts_total",
            "Attempts to deliver an event to a webhook, by outcome (delivered, retrying, \
             given_up).",
            &["outcome"],
        );
        let store_latency = HistogramVec::new(
            HistogramOpts::new(
                "auth_store_duration_seconds",
                "Time of one call to a store, by store (sql, redis).",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["store"],
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
            Box::new(upstream_healthy.clone()),
            Box::new(logins.clone()),
            Box::new(lockouts.clone()),
            Box::new(qr_challenges.clone()),
            Box::new(pin_failures.clone()),
            Box::new(webhook_attempts.clone()),
            Box::new(store_latency.clone()),
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
            upstream_healthy,
            upstream_checks: std::sync::Mutex::default(),
            logins,
            lockouts,
            qr_challenges,
            pin_failures,
            webhook_attempts,
            store_latency,
        }
    }

    /// The last health check of `upstream` of `service` passed (or not).
    pub fn upstream_health(&self, service: &str, upstream: &str, healthy: bool) {
        self.upstream_healthy
            .with_label_values(&[service, upstream])
            .set(i64::from(healthy));
        if let Ok(mut checks) = self.upstream_checks.lock() {
            checks.insert((service.to_string(), upstream.to_string()), healthy);
        }
    }

    /// How the last health check of each upstream of `service` went, by address; empty until
    /// the first check ran.
    pub fn upstream_checks_of(&self, service: &str) -> Vec<(String, bool)> {
        self.upstream_checks
            .lock()
            .map(|checks| {
                checks
                    .iter()
                    .filter(|((slug, _), _)| slug == service)
                    .map(|((_, upstream), healthy)| (upstream.clone(), *healthy))
                    .collect()
            })
            .unwrap_or_default()
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

impl Meter for Metrics {
    fn login(&self, method: &str, outcome: &str) {
        self.logins.with_label_values(&[method, outcome]).inc();
    }

    fn lockout(&self, kind: &str) {
        self.lockouts.with_label_values(&[kind]).inc();
    }

    fn qr_challenge(&self, outcome: &str) {
        self.qr_challenges.with_label_values(&[outcome]).inc();
    }

    fn pin_failure(&self) {
        self.pin_failures.inc();
    }

    fn webhook_attempt(&self, outcome: &str) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
    }

    fn store_call(&self, store: &str, seconds: f64) {
        self.store_latency
            .with_label_values(&[store])
            .observe(seconds);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
