//! Several gateways with one configuration (one database, one Redis deployment, one master key),
//! as instances behind a load balancer run them; with no balancer in front, each request goes to
//! a gateway picked at random, as a client of a DNS round robin would.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use auth_test_support::{GatewayProcess, free_port};
use serde_json::Value;

use crate::harness::{Storage, System, json as read};

/// Gateways sharing their state; the first also carries ServiceB and AppC.
pub struct Fleet {
    pub first: System,
    pub others: Vec<GatewayProcess>,
}

impl Fleet {
    /// `count` gateways on `storage`, mail to the shared SMTP server, plus `extra_toml`.
    pub fn start(count: usize, storage: Storage<'_>, extra_toml: &str) -> Fleet {
        let first = System::start_with_mail(storage, extra_toml);
        let port = first.gateway.port;
        let config = std::fs::read_to_string(first.config_path())
            .expect("the first gateway's config")
            .replace(&format!("127.0.0.1:{port}\""), "127.0.0.1:{port}\"");
        let others = (1..count)
            .map(|_| GatewayProcess::start_on(free_port(), &config, &[]))
            .collect();
        Fleet { first, others }
    }

    /// Every gateway's port.
    pub fn ports(&self) -> Vec<u16> {
        std::iter::once(self.first.gateway.port)
            .chain(self.others.iter().map(|g| g.port))
            .collect()
    }

    /// A gateway picked at random.
    pub fn any(&self) -> u16 {
        let ports = self.ports();
        let pick = RandomState::new().build_hasher().finish() as usize % ports.len();
        ports[pick]
    }

    /// A client that resolves the services' hosts to the gateway on `port`.
    pub fn client(port: u16) -> reqwest::Client {
        let gateway = SocketAddr::from(([127, 0, 0, 1], port));
        reqwest::Client::builder()
            .resolve("service-b.localhost", gateway)
            .resolve("app-c.localhost", gateway)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("build the HTTP client")
    }

    /// Sends `method` to `path` of a gateway picked at random.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        Self::call_on(self.any(), method, path, bearer, body).await
    }

    /// Sends `method` to `path` of the gateway on `port`.
    pub async fn call_on(
        port: u16,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request =
            Self::client(port).request(method, format!("http://127.0.0.1:{port}{path}"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        match request.send().await {
            Ok(response) => read(response).await,
            // A gateway that is down answers nothing; 0 says so.
            Err(_) => (0, Value::Null),
        }
    }

    /// GETs `path` on a service host through the gateway on `port`, with a bearer.
    pub async fn service_get(port: u16, host: &str, path: &str, bearer: &str) -> u16 {
        Self::client(port)
            .get(format!("http://{host}:{port}{path}"))
            .bearer_auth(bearer)
            .send()
            .await
            .map_or(0, |r| r.status().as_u16())
    }
}

/// Asks `ask` until `wanted` holds for its answer, for at most `within`; the last answer and how
/// long it took.
pub async fn until<F, Fut, T>(
    what: &str,
    within: Duration,
    ask: F,
    wanted: impl Fn(&T) -> bool,
) -> (T, Duration)
where
    F: Fn() -> Fut,
    Fut: Future<Output = T>,
    T: std::fmt::Debug,
{
    let started = Instant::now();
    loop {
        let answer = ask().await;
        if wanted(&answer) {
            return (answer, started.elapsed());
        }
        assert!(
            started.elapsed() < within,
            "{what}: not within {within:?}; last answer {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
