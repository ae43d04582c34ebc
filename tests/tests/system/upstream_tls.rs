//! TLS to a service on another machine: a TLS upstream started here with its own CA (made with
//! rcgen), reached by the gateway with that CA and the right name, and refused, closed, with
//! another CA or another name; an upstream that asks for a client certificate, reached by the
//! gateway with the one it is configured with and refused without; a SIGHUP that turns TLS on for
//! a service, after which it is never reached in plain text.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System, json as read};

/// A CA, as PEM, and what it signs with.
fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Starts a TLS server for `upstream.test`, signed by `ca`, answering every request with a JSON
/// body naming the path it got; with `clients`, it accepts only clients with a certificate that
/// CA signed.
async fn tls_upstream(
    ca: &CertifiedIssuer<'static, KeyPair>,
    clients: Option<&CertifiedIssuer<'static, KeyPair>>,
) -> SocketAddr {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["upstream.test".to_string()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let chain = vec![rustls::pki_types::CertificateDer::from(cert.der().to_vec())];
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match clients {
        None => builder.with_no_client_auth(),
        Some(clients) => {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(rustls::pki_types::CertificateDer::from(
                    clients.der().to_vec(),
                ))
                .unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                let body = serde_json::json!({ "over_tls": true, "path": path }).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_upstream_is_reached_with_its_ca_and_refused_with_another_ca_or_name() {
    let ca = certificate_authority("upstream CA");
    let other_ca = certificate_authority("some other CA");
    let upstream = tls_upstream(&ca, None).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, other_file) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&other_file, other_ca.pem()).unwrap();
    let service = |slug: &str, sni: &str, ca: &std::path::Path| {
        format!(
            "[[services]]\nslug = \"{slug}\"\nname = \"{slug}\"\nhosts = [\"{slug}.localhost\"]\n\
             upstreams = [\"{upstream}\"]\ntls = true\nsni = \"{sni}\"\nca_file = \"{}\"\n",
            ca.display()
        )
    };
    let system = System::start_with_mail(
        Storage::Embedded,
        &format!(
            "{}{}{}",
            service("secure", "upstream.test", &ca_file),
            service("wrong-ca", "upstream.test", &other_file),
            service("wrong-name", "elsewhere.test", &ca_file),
        ),
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let gateway = SocketAddr::from(([127, 0, 0, 1], system.gateway.port));
    let client = reqwest::Client::builder()
        .resolve("secure.localhost", gateway)
        .resolve("wrong-ca.localhost", gateway)
        .resolve("wrong-name.localhost", gateway)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |slug: &'static str, session: String| {
        let client = client.clone();
        let url = system.host_url(&format!("{slug}.localhost"), "/over/there");
        async move {
            let response = client
                .get(url)
                .header("cookie", format!("auth_session={session}"))
                .send()
                .await
                .unwrap();
            read(response).await
        }
    };

    let session = qr_session(&system, &admin, &person, "secure").await;
    let (status, body) = get("secure", session).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["over_tls"], true);
    assert_eq!(body["path"], "/over/there");

    for slug in ["wrong-ca", "wrong-name"] {
        let session = qr_session(&system, &admin, &person, slug).await;
        let (status, body): (u16, Value) = get(slug, session).await;
        assert!(status == 502 || status == 503, "{slug}: {status} {body}");
        assert_eq!(body["success"], false, "{slug}: {body}");
        assert!(body["error"]["code"].is_string(), "{slug}: {body}");
        assert_ne!(body["over_tls"], true);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_asking_for_a_client_certificate_gets_the_configured_one() {
    let ca = certificate_authority("upstream CA");
    let clients = certificate_authority("client CA");
    let upstream = tls_upstream(&ca, Some(&clients)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["gateway.test".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &clients).unwrap();
    std::fs::write(path("client.pem"), cert.pem()).unwrap();
    std::fs::write(path("client.key"), key.serialize_pem()).unwrap();
    let service = |slug: &str, client: &str| {
        format!(
            "[[services]]\nslug = \"{slug}\"\nname = \"{slug}\"\nhosts = [\"{slug}.localhost\"]\n\
             upstreams = [\"{upstream}\"]\ntls = true\nsni = \"upstream.test\"\nca_file = \"{}\"\n{client}",
            path("ca.pem")
        )
    };
    let with_cert = format!(
        "client_cert = \"{}\"\nclient_key = \"{}\"\n",
        path("client.pem"),
        path("client.key")
    );
    let system = System::start_with_mail(
        Storage::Embedded,
        &format!(
            "{}{}",
            service("mutual", &with_cert),
            service("no-client-cert", "")
        ),
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let gateway = SocketAddr::from(([127, 0, 0, 1], system.gateway.port));
    let client = reqwest::Client::builder()
        .resolve("mutual.localhost", gateway)
        .resolve("no-client-cert.localhost", gateway)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (slug, reached) in [("mutual", true), ("no-client-cert", false)] {
        let session = qr_session(&system, &admin, &person, slug).await;
        let response = client
            .get(system.host_url(&format!("{slug}.localhost"), "/ledger"))
            .header("cookie", format!("auth_session={session}"))
            .send()
            .await
            .unwrap();
        let (status, body): (u16, Value) = read(response).await;
        if reached {
            assert_eq!(status, 200, "{slug}: {body}");
            assert_eq!(body["over_tls"], true);
            assert_eq!(body["path"], "/ledger");
        } else {
            assert!(status == 502 || status == 503, "{slug}: {status} {body}");
            assert_ne!(body["over_tls"], true);
        }
    }
}

/// How many times the gateway has logged a reload so far.
fn reloads(system: &System) -> usize {
    system
        .gateway
        .log()
        .matches("configuration reloaded")
        .count()
}

/// Rewrites the configuration to `toml`, sends SIGHUP, and waits for the reload to be logged.
async fn reload(system: &mut System, toml: &str) {
    let before = reloads(system);
    system.gateway.rewrite_config(toml);
    system.gateway.signal(libc::SIGHUP);
    for _ in 0..100 {
        if reloads(system) > before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no reload: {}", system.gateway.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_turns_tls_on_for_a_service_never_reaches_it_in_plain_text() {
    let ca = certificate_authority("upstream CA");
    let secure = tls_upstream(&ca, None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(|| async { "in plain text" });
        axum::serve(listener, app).await
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let moving = |upstream: SocketAddr, tls: bool| {
        let mut entry = format!(
            "[[services]]\nslug = \"moving\"\nname = \"Moving\"\nhosts = [\"moving.localhost\"]\n\
             upstreams = [\"{upstream}\"]\n"
        );
        if tls {
            entry.push_str(&format!(
                "tls = true\nsni = \"upstream.test\"\nca_file = \"{}\"\n",
                ca_file.display()
            ));
        }
        entry
    };
    let mut system = System::start_with_mail(Storage::Embedded, &moving(plain, false));
    let original = system
        .gateway
        .config_text()
        .replace(&moving(plain, false), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "moving").await;
    let gateway = SocketAddr::from(([127, 0, 0, 1], system.gateway.port));
    let client = reqwest::Client::builder()
        .resolve("moving.localhost", gateway)
        .no_proxy()
        .build()
        .unwrap();
    let url = system.host_url("moving.localhost", "/books");
    let get = || {
        let request = client
            .get(url.as_str())
            .header("cookie", format!("auth_session={session}"));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get().await, (200, "in plain text".to_string()));

    // TLS on, to the TLS upstream: reached over TLS.
    reload(&mut system, &format!("{original}{}", moving(secure, true))).await;
    let (status, body) = get().await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"over_tls\":true"), "{body}");

    // TLS on, but the upstream only speaks plain HTTP: refused, never sent in plain text.
    reload(&mut system, &format!("{original}{}", moving(plain, true))).await;
    let (status, body) = get().await;
    assert!(status == 502 || status == 503, "{status} {body}");
    assert!(!body.contains("in plain text"), "{body}");
}
