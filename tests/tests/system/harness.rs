//! Starting a gateway with the example services behind it, and talking to it over HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use auth_test_support::{EchoService, GatewayProcess, Postgres, Redis, Smtp, free_port};
use serde_json::Value;

/// Where the gateway under test keeps its state.
pub enum Storage<'a> {
    Embedded,
    Postgres {
        url: String,
        redis: Option<&'a Redis>,
    },
}

impl Storage<'_> {
    /// PostgreSQL (a fresh database on the shared server) and the shared Redis.
    pub fn shared_servers() -> Storage<'static> {
        Storage::Postgres {
            url: Postgres::shared().create_database(),
            redis: Some(Redis::shared()),
        }
    }

    fn toml(&self) -> String {
        match self {
            Storage::Embedded => {
                "[storage]\nbackend = \"embedded\"\ndata_dir = \"{data_dir}\"\n".into()
            }
            Storage::Postgres { url, redis } => {
                let mut toml = format!(
                    "[storage]\nbackend = \"postgres\"\ndata_dir = \"{{data_dir}}\"\n\
                     [storage.postgres]\nurl = \"{url}\"\nconnect_timeout_secs = 1\nacquire_timeout_secs = 2\n"
                );
                if let Some(redis) = redis {
                    toml.push_str(&format!(
                        "[redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\n",
                        redis.url(),
                        redis.unique_prefix()
                    ));
                }
                toml
            }
        }
    }
}

/// A gateway with ServiceB and AppC behind it.
pub struct System {
    pub gateway: GatewayProcess,
    /// Kept running as long as the gateway in front of them.
    _upstreams: [EchoService; 2],
}

impl System {
    pub fn start(storage: Storage<'_>) -> System {
        Self::start_with(storage, "", &[])
    }

    /// Starts with mail going to the shared SMTP server, plus `extra_toml`.
    pub fn start_with_mail(storage: Storage<'_>, extra_toml: &str) -> System {
        let smtp = Smtp::shared();
        let mail = format!(
            "[mail]\nsmtp_url = \"smtp://127.0.0.1:{}\"\n{extra_toml}",
            smtp.port()
        );
        Self::start_with(storage, &mail, &[])
    }

    /// Starts with `extra_toml` appended to the generated config and `env` set.
    pub fn start_with(storage: Storage<'_>, extra_toml: &str, env: &[(&str, &str)]) -> System {
        let port = free_port();
        let gateway_url = format!("http://127.0.0.1:{port}");
        let service_b = EchoService::start("service-b", &gateway_url);
        let app_c = EchoService::start("app-c", &gateway_url);
        // Always open, so tests pass whenever they run (hours are tested through the schedule API),
        // and generous limits, unless the test sets its own.
        let mut defaults = String::new();
        if !extra_toml.contains("[schedule]") {
            defaults.push_str(
                "[schedule]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
                 open = \"00:00\"\nclose = \"24:00\"\n",
            );
        }
        if !extra_toml.contains("[rate_limits]") {
            defaults.push_str(
                "[rate_limits]\nlogin_per_minute = 100000\nregister_per_minute = 100000\n\
                 pin_per_minute = 100000\nscan_per_minute = 100000\n\
                 service_per_minute_per_session = 100000\nservice_per_minute_per_ip = 100000\n",
            );
        }
        let toml = format!(
            "[gateway]\nlisten = \"127.0.0.1:{{port}}\"\npublic_url = \"http://127.0.0.1:{{port}}\"\n\
             {defaults}{storage}\n{services}\n{extra_toml}",
            storage = storage.toml(),
            services = services_toml(&service_b, &app_c),
        );
        let gateway = GatewayProcess::start_on(port, &toml, env);
        System {
            gateway,
            _upstreams: [service_b, app_c],
        }
    }

    /// An HTTP client that resolves the services' `*.localhost` hosts to the gateway and never
    /// follows redirects, so tests see each answer as it is.
    pub fn client(&self) -> reqwest::Client {
        let gateway = SocketAddr::from(([127, 0, 0, 1], self.gateway.port));
        reqwest::Client::builder()
            .resolve("service-b.localhost", gateway)
            .resolve("app-c.localhost", gateway)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("build the HTTP client")
    }

    pub fn url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// Sends `method` to a gateway path with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client().request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        json(request.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, bearer, Some(body))
            .await
    }

    pub async fn get_as(&self, path: &str, bearer: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(bearer), None)
            .await
    }

    /// The value of one series (`name{labels}`, as printed) on the gateway's `/metrics`.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self
            .client()
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .find_map(|value| value.trim().parse().ok())
    }

    /// Like [`System::metric`], for series counted in the logging phase, after the answer has gone
    /// out: asks again for up to five seconds until the series reads `expected`; returns the last
    /// reading.
    pub async fn logged_metric(&self, series: &str, expected: f64) -> Option<f64> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let value = self.metric(series).await;
            if value == Some(expected) || std::time::Instant::now() > deadline {
                return value;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The config file the gateway runs with, for the command line.
    pub fn config_path(&self) -> String {
        self.gateway.dir.join("gateway.toml").display().to_string()
    }

    /// ServiceB's own address, to reach it without the gateway.
    pub fn service_b_url(&self, path: &str) -> String {
        format!("http://{}{path}", self._upstreams[0].addr())
    }

    /// GETs a gateway path; status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        json(
            self.client()
                .get(self.url(path))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// A URL on a service's own host, through the gateway.
    pub fn host_url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.gateway.port)
    }
}

/// ServiceB on its own host only, as in the default configuration; AppC also under `/app-c` on
/// the gateway's host, the opt-in for a trusted service that shares the gateway's origin.
pub fn services_toml(service_b: &EchoService, app_c: &EchoService) -> String {
    format!(
        "[[services]]\nslug = \"service-b\"\nname = \"ServiceB\"\nhosts = [\"service-b.localhost\"]\n\
         upstreams = [\"{}\"]\n\n\
         [[services]]\nslug = \"app-c\"\nname = \"AppC\"\nhosts = [\"app-c.localhost\"]\n\
         path_prefix = \"/app-c\"\nshare_gateway_origin = true\nupstreams = [\"{}\"]\n",
        service_b.addr(),
        app_c.addr()
    )
}

/// Status and JSON body of a response.
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}
