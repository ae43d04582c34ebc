//! Rate limits at the edge: the strict per-address budgets of the routes that log people in, the
//! budgets of service traffic per address and per session, and the client address behind a
//! trusted proxy.

use auth_test_support::{GatewayProcess, Postgres, Redis, free_port};
use serde_json::json;

use crate::flows::{active_person, admin_token, login, qr_session};
use crate::harness::{Storage, System, json as read};

#[tokio::test(flavor = "multi_thread")]
async fn the_eleventh_login_in_a_minute_from_one_address_is_refused() {
    let system = System::start_with(
        Storage::Embedded,
        "[rate_limits]\nlogin_per_minute = 10\n",
        &[],
    );
    // A new name each time: one name would lock after five tries, known or not.
    for attempt in 1..=10 {
        let (status, _) = login(&system, &format!("someone-{attempt}"), "not the password").await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let response = system
        .client()
        .post(system.url("/api/auth/login"))
        .json(&json!({ "login": "someone", "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let (_, body) = read(response).await;
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // Other routes keep their own budgets.
    assert_eq!(system.get("/health").await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_the_forwarded_client_counts() {
    let system = System::start_with(
        Storage::Embedded,
        "[rate_limits]\ntrusted_proxies = [\"127.0.0.1\"]\nlogin_per_minute = 2\n",
        &[],
    );
    let attempt = |client_ip: &'static str| {
        let system = &system;
        async move {
            system
                .client()
                .post(system.url("/api/auth/login"))
                .header("x-forwarded-for", format!("6.6.6.6, {client_ip}"))
                .json(&json!({ "login": "x", "password": "y" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(attempt("198.51.100.1").await, 401);
    assert_eq!(attempt("198.51.100.1").await, 401);
    assert_eq!(attempt("198.51.100.1").await, 429);
    // A different client behind the same proxy has its own budget.
    assert_eq!(attempt("198.51.100.2").await, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn service_traffic_draws_once_on_the_address_and_once_on_the_session() {
    let system = System::start_with_mail(
        Storage::Embedded,
        "[rate_limits]\nlogin_per_minute = 1000\nregister_per_minute = 1000\n\
         pin_per_minute = 1000\nscan_per_minute = 1000\n\
         service_per_minute_per_session = 3\nservice_per_minute_per_ip = 5\n",
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let ann = active_person(&system, &admin).await;
    let bob = active_person(&system, &admin).await;
    let ann_session = qr_session(&system, &admin, &ann, "service-b").await;
    let bob_session = qr_session(&system, &admin, &bob, "service-b").await;
    let page = system.host_url("service-b.localhost", "/");
    let fetch = |token: &str| {
        let request = system.client().get(&page).bearer_auth(token);
        async move { request.send().await.unwrap() }
    };

    // Ann's session has 3 requests a minute; the address's budget of 5 is not what stops her.
    for attempt in 1..=3 {
        assert_eq!(fetch(&ann_session).await.status(), 200, "attempt {attempt}");
    }
    let refused = fetch(&ann_session).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let (_, body) = read(refused).await;
    assert_eq!(body["error"]["code"], "RATE_LIMITED");

    // Bob, from the same address, has his own session budget; the address has one request left.
    assert_eq!(fetch(&bob_session).await.status(), 200);
    assert_eq!(fetch(&bob_session).await.status(), 429);
    assert_eq!(
        system
            .metric("gateway_refusals_total{reason=\"rate_limited\"}")
            .await,
        Some(2.0)
    );
    // The gateway's own routes are not service traffic.
    assert_eq!(system.get("/health").await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_limits_are_one_budget_for_every_gateway_and_fail_closed_without_redis() {
    let redis = Redis::start_new();
    let storage = Storage::Postgres {
        url: Postgres::shared().create_database(),
        redis: Some(&redis),
    };
    let system = System::start_with(
        storage,
        "[rate_limits]\nshared = true\nlogin_per_minute = 3\n",
        &[],
    );
    // A second gateway with the same configuration, on its own port.
    let first_port = system.gateway.port;
    let config = std::fs::read_to_string(system.config_path())
        .unwrap()
        .replace(&format!("127.0.0.1:{first_port}\""), "127.0.0.1:{port}\"");
    let second = GatewayProcess::start_on(free_port(), &config, &[]);
    let client = system.client();
    let attempt = |url: String| {
        let request = client
            .post(url)
            .json(&json!({ "login": "someone", "password": "not the password" }));
        async move { request.send().await.unwrap() }
    };

    assert_eq!(attempt(system.url("/api/auth/login")).await.status(), 401);
    assert_eq!(attempt(second.url("/api/auth/login")).await.status(), 401);
    assert_eq!(attempt(system.url("/api/auth/login")).await.status(), 401);
    // Three attempts in all have spent the one budget, whichever gateway took them.
    let refused = attempt(second.url("/api/auth/login")).await;
    assert_eq!(refused.status(), 429);
    let (_, body) = read(refused).await;
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert_eq!(attempt(system.url("/api/auth/login")).await.status(), 429);

    // Without Redis the shared budget is unknown: limited routes refuse rather than run unlimited.
    tokio::task::block_in_place(|| redis.stop());
    let refused = attempt(system.url("/api/auth/login")).await;
    assert_eq!(refused.status(), 503);
    // Temporary, and said so: the client is told when to try again.
    assert_eq!(refused.headers()["retry-after"], "1");
    let (_, body) = read(refused).await;
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_service_budgets_hold_across_gateways_without_a_round_trip_per_request() {
    const PER_MINUTE: usize = 600;
    let redis = Redis::start_new();
    let storage = Storage::Postgres {
        url: Postgres::shared().create_database(),
        redis: Some(&redis),
    };
    let system = System::start_with_mail(
        storage,
        &format!(
            "[rate_limits]\nshared = true\nlogin_per_minute = 1000\nregister_per_minute = 1000\n\
             pin_per_minute = 1000\nscan_per_minute = 1000\n\
             service_per_minute_per_session = {PER_MINUTE}\nservice_per_minute_per_ip = 100000\n"
        ),
    );
    let first_port = system.gateway.port;
    let config = std::fs::read_to_string(system.config_path())
        .unwrap()
        .replace(&format!("127.0.0.1:{first_port}\""), "127.0.0.1:{port}\"");
    let second = GatewayProcess::start_on(free_port(), &config, &[]);
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let gateways = [first_port, second.port].map(|port| {
        let client = reqwest::Client::builder()
            .resolve("service-b.localhost", ([127, 0, 0, 1], port).into())
            .no_proxy()
            .build()
            .unwrap();
        (client, format!("http://service-b.localhost:{port}/"))
    });
    let fetch = |n: usize| {
        let (client, page) = &gateways[n % 2];
        let request = client.get(page).bearer_auth(&session);
        async move { request.send().await.unwrap().status().as_u16() }
    };

    // Well inside the budget, both gateways together ask Redis far less than once a request.
    // Every shared budget is one script, run by its hash.
    let scripts_run = || tokio::task::block_in_place(|| redis.command_calls("evalsha"));
    let before = scripts_run();
    let started = std::time::Instant::now();
    for n in 0..400 {
        assert_eq!(fetch(n).await, 200, "request {n}");
    }
    let scripts = scripts_run() - before;
    assert!(scripts < 100, "{scripts} budget scripts for 400 requests");

    // Past it, whichever gateway is asked: never more than the budget and what refilled while
    // this ran (600 a minute is 10 a second), and no fewer than what leases held back unspent
    // (at most a second's worth, 10, at each gateway).
    let mut allowed = 400;
    for n in 400..800 {
        match fetch(n).await {
            200 => allowed += 1,
            429 => {}
            other => panic!("request {n}: {other}"),
        }
    }
    let refilled = (started.elapsed().as_secs_f64() * 10.0).ceil() as usize;
    assert!(
        allowed <= PER_MINUTE + refilled,
        "{allowed} let through, budget {PER_MINUTE} + {refilled}"
    );
    assert!(allowed >= PER_MINUTE - 2 * 10, "{allowed} let through");
}
