//! Request headers at the gateway's edge, over raw sockets so that every spelling goes out exactly
//! as written: what only the gateway may say (identity, forwarding), other claims of the client's
//! address, URL and method overrides never reach a service in any spelling, `X-Forwarded-Host` is
//! the host the gateway routed on, and a `Host` that is doubled, malformed or contradicted by the
//! request line is refused before routing, with the connection closed.

use serde_json::Value;

use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System};
use crate::hygiene::{Counter, RawAnswer, raw, system_with_counter};

/// Sends `request` to the gateway on a blocking thread.
async fn send(port: u16, request: String) -> RawAnswer {
    tokio::task::spawn_blocking(move || raw(port, &request))
        .await
        .unwrap()
}

/// The JSON body of an answer (the echo service and the gateway's refusals send one object).
fn body(answer: &RawAnswer) -> Value {
    let start = answer.text.find('{').unwrap_or(0);
    let end = answer.text.rfind('}').map_or(0, |i| i + 1);
    serde_json::from_str(answer.text.get(start..end).unwrap_or_default())
        .unwrap_or_else(|_| panic!("no JSON body in {}", answer.text))
}

/// Every value of header `name` the echo service reported receiving.
fn values(echo: &Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .expect("the echo service lists its headers")
        .iter()
        .filter(|h| h["name"] == name)
        .flat_map(|h| h["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A ServiceB session on a fresh gateway.
async fn service_b_session() -> (System, String, String) {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    (system, session, person.user_id)
}

/// Every header a client must not be able to hand a service, in the spellings servers fold
/// together (underscores for dashes, any case). Each value says `forged`.
const FORBIDDEN: &[&str] = &[
    // The gateway's own identity and forwarding headers, with underscores.
    "X_Auth_User_Id",
    "x_auth_assertion",
    "X-Auth_Username",
    "X_AUTH_SESSION_ID",
    "X_Forwarded_For",
    "X_Forwarded_Host",
    "X-Forwarded_Proto",
    "x_forwarded_prefix",
    "X_Real_IP",
    "X-Real_Ip",
    "FORWARDED",
    "X-Forwarded",
    "X_Forwarded",
    // Other claims of the client's address.
    "True-Client-IP",
    "True_Client_IP",
    "X-Client-IP",
    "CF-Connecting-IP",
    "CF_Connecting_IP",
    "X-Cluster-Client-IP",
    "Fastly-Client-IP",
    "X-Originating-IP",
    "X-Remote-IP",
    "X-Remote-Addr",
    "Client-IP",
    // URL and host overrides.
    "X-Original-URL",
    "X_Original_URL",
    "X-Rewrite-URL",
    "X-Original-URI",
    "X-Original-Host",
    "X-Host",
    // Method overrides.
    "X-HTTP-Method-Override",
    "X_HTTP_Method_Override",
    "X-HTTP-Method",
    "X-Method-Override",
    // The proxy setting of CGI programs (httpoxy) and hop-by-hop headers with underscores.
    "Proxy",
    "Proxy_Authorization",
    "Proxy_Connection",
    "Keep_Alive",
];

#[tokio::test(flavor = "multi_thread")]
async fn reserved_and_overriding_headers_never_reach_a_service_in_any_spelling() {
    let (system, session, user_id) = service_b_session().await;
    let port = system.gateway.port;
    let forged: String = FORBIDDEN
        .iter()
        .map(|name| format!("{name}: forged-{name}\r\n"))
        .collect();
    let request = format!(
        "GET /seen HTTP/1.1\r\nHost: service-b.localhost:{port}\r\n\
         Authorization: Bearer {session}\r\n{forged}X-Team_Note: kept\r\nConnection: close\r\n\r\n"
    );
    let answer = send(port, request).await;
    assert_eq!(answer.status, Some(200), "{}", answer.text);
    let echo = body(&answer);

    // Nothing the client forged arrived, under any name.
    let received = echo["headers"].as_array().unwrap();
    let leaked: Vec<&Value> = received
        .iter()
        .filter(|h| h["values"].to_string().contains("forged"))
        .collect();
    assert!(leaked.is_empty(), "reached ServiceB: {leaked:?}");
    // What the gateway set arrived once, with its value.
    assert_eq!(values(&echo, "x-auth-user-id"), [user_id]);
    assert_eq!(values(&echo, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(values(&echo, "x-real-ip"), ["127.0.0.1"]);
    assert_eq!(values(&echo, "x-forwarded-proto"), ["http"]);
    assert_eq!(
        values(&echo, "x-forwarded-host"),
        [format!("service-b.localhost:{port}")]
    );
    assert_eq!(values(&echo, "x-auth-assertion").len(), 1);
    // The credential was the gateway's; a header that only looks unusual is the service's.
    assert!(values(&echo, "authorization").is_empty());
    assert_eq!(values(&echo, "x-team_note"), ["kept"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn x_forwarded_host_is_the_host_the_gateway_routed_on() {
    let (system, session, _) = service_b_session().await;
    let port = system.gateway.port;
    let auth = format!("Authorization: Bearer {session}\r\n");
    let cases = [
        // The name in any case is one host; the service hears it in lower case.
        (
            format!("GET /a HTTP/1.1\r\nHost: SERVICE-B.LocalHost:{port}\r\n"),
            format!("service-b.localhost:{port}"),
        ),
        // Without a port, none is added.
        (
            "GET /a HTTP/1.1\r\nHost: service-b.localhost\r\n".to_string(),
            "service-b.localhost".to_string(),
        ),
        // An absolute-form request line that agrees with Host.
        (
            format!(
                "GET http://service-b.localhost:{port}/a HTTP/1.1\r\n\
                 Host: service-b.localhost:{port}\r\n"
            ),
            format!("service-b.localhost:{port}"),
        ),
    ];
    for (head, routed) in cases {
        let request = format!(
            "{head}{auth}X-Forwarded-Host: forged.example\r\nX_Forwarded_Host: forged.example\r\n\
             Connection: close\r\n\r\n"
        );
        let answer = send(port, request).await;
        assert_eq!(answer.status, Some(200), "{head}: {}", answer.text);
        let echo = body(&answer);
        assert_eq!(echo["path"], "/a", "{head}");
        assert_eq!(values(&echo, "x-forwarded-host"), [routed], "{head}");
        assert!(!echo["headers"].to_string().contains("forged"), "{head}");
    }
}

/// Sends each of `attacks` and checks it was refused with 400 and the connection closed, and
/// that nothing reached the service; with the gateway's JSON error when `ours`.
async fn assert_refused(port: u16, counter: &Counter, attacks: Vec<String>, ours: bool) {
    for attack in attacks {
        let answer = send(port, attack.clone()).await;
        assert_eq!(answer.status, Some(400), "{attack:?} -> {}", answer.text);
        if ours {
            assert_eq!(
                body(&answer)["error"]["code"],
                "BAD_REQUEST",
                "{attack:?} -> {}",
                answer.text
            );
        }
        assert!(answer.closed, "{attack:?} left the connection open");
        assert_eq!(counter.total(), 0, "{attack:?} reached the service");
    }
}

/// A request for `/probe` with one `Host` line per entry of `hosts`.
fn with_hosts(hosts: &[String], auth: &str) -> String {
    let hosts: String = hosts.iter().map(|h| format!("Host: {h}\r\n")).collect();
    format!("GET /probe HTTP/1.1\r\n{hosts}{auth}\r\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_host_is_refused_before_routing() {
    let (system, counter, session) = system_with_counter().await;
    let port = system.gateway.port;
    let auth = format!("Authorization: Bearer {session}\r\n");
    let at = |host: &str| with_hosts(&[host.to_string()], &auth);
    let attacks = vec![
        at("counter.localhost:http"),
        at("counter.localhost:"),
        at("counter.localhost:0"),
        at("counter.localhost:65536"),
        at("counter.localhost:+80"),
        at(&format!("counter.localhost:{port}:{port}")),
        at(&format!("counter.localhost:{port}/evil")),
        at("counter.localhost evil.example"),
        at("counter.localhost,evil.example"),
        at("[::1"),
        at(&format!("[counter.localhost]:{port}")),
        at(&format!("::1:{port}")),
        at(""),
        // HTTP/1.1 without any Host.
        format!("GET /probe HTTP/1.1\r\n{auth}\r\n"),
    ];
    assert_refused(port, &counter, attacks, true).await;

    // The same service under hosts that are well formed: reached, each once.
    for host in [
        format!("counter.localhost:{port}"),
        format!("COUNTER.localhost:{port}"),
        "counter.localhost".to_string(),
    ] {
        let request =
            format!("GET /ok HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n");
        let answer = send(port, request).await;
        assert_eq!(answer.status, Some(200), "{host}: {}", answer.text);
    }
    assert_eq!(counter.count("/ok"), 3);
    // An IPv6 literal is a well-formed host, one this gateway does not serve.
    let request = format!("GET /ok HTTP/1.1\r\nHost: [::1]:{port}\r\nConnection: close\r\n\r\n");
    let answer = send(port, request).await;
    assert_eq!(answer.status, Some(421), "{}", answer.text);
    assert_eq!(counter.total(), 3);
}

/// Pingora refuses these while it reads the head, before any filter of ours runs (a 400 with no
/// body, the connection closed); the edge's own check would refuse them too. This keeps both
/// true: should either change, the request must still not reach the service.
#[tokio::test(flavor = "multi_thread")]
async fn a_doubled_host_userinfo_or_a_contradicting_request_line_never_reaches_a_service() {
    let (system, counter, session) = system_with_counter().await;
    let port = system.gateway.port;
    let auth = format!("Authorization: Bearer {session}\r\n");
    let counter_host = format!("counter.localhost:{port}");
    let absolute =
        |target: &str| format!("GET {target} HTTP/1.1\r\nHost: {counter_host}\r\n{auth}\r\n");
    let attacks = vec![
        with_hosts(&[counter_host.clone(), counter_host.clone()], &auth),
        with_hosts(
            &[counter_host.clone(), format!("service-b.localhost:{port}")],
            &auth,
        ),
        with_hosts(&[format!("{counter_host}@evil.example")], &auth),
        with_hosts(&[format!("evil.example@{counter_host}")], &auth),
        absolute(&format!("http://service-b.localhost:{port}/probe")),
        absolute("http://counter.localhost:1/probe"),
        absolute(&format!("http://user@{counter_host}/probe")),
    ];
    assert_refused(port, &counter, attacks, false).await;
}
