//! Running the gateway for months, through the real binary: `/health` names the gateway and what
//! is down, `check-config` finds a bad configuration, `backup`/`restore` move the embedded store
//! (taken while logins run) to a fresh data folder whose gateway lets the same people in, the
//! documented `pg_dump`/`pg_restore` do the same on PostgreSQL, and `SIGHUP` reloads services.

use std::time::Duration;

use auth_test_support::{GatewayProcess, Postgres, Redis, Smtp, free_port, run_gateway_command};
use serde_json::json;

use crate::flows::{PASSWORD, Person, active_person, admin_token};
use crate::harness::{Storage, System, json as read};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// A plain gateway's config (always open, generous limits) on `storage_toml`.
fn plain_toml(storage_toml: &str, extra: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:{{port}}\"\npublic_url = \"http://127.0.0.1:{{port}}\"\n\
         [schedule]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
         open = \"00:00\"\nclose = \"24:00\"\n\
         [rate_limits]\nlogin_per_minute = 100000\n\
         {storage_toml}\n{extra}"
    )
}

async fn logs_in(gateway: &GatewayProcess, person: &Person) -> u16 {
    client()
        .post(gateway.url("/api/auth/login"))
        .json(&json!({ "login": person.username, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn health_names_the_version_the_instance_the_time_and_what_is_down() {
    let system = System::start_with(
        Storage::Embedded,
        "",
        &[("AUTH_GATEWAY__INSTANCE", "gw-blue")],
    );
    let (status, body) = system.get("/health").await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(data["instance"], "gw-blue");
    assert!(
        data["time"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
    assert_eq!(data["down"], json!([]));
    // The fields load balancers and bench/soak.sh read are still there.
    assert_eq!(data["status"], "ok");
    assert_eq!(data["database"]["up"], true);

    // Without a configured name: the host name and the port. With Redis stopped: 503, naming it.
    let redis = Redis::start_new();
    let system = System::start(Storage::Postgres {
        url: Postgres::shared().create_database(),
        redis: Some(&redis),
    });
    let (_, body) = system.get("/health").await;
    let instance = body["data"]["instance"].as_str().unwrap().to_string();
    assert!(
        instance.ends_with(&format!(":{}", system.gateway.port)),
        "{instance}"
    );
    tokio::task::spawn_blocking(move || {
        redis.stop();
        redis
    })
    .await
    .unwrap();
    let (status, body) = system.get("/health").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["details"]["down"], json!(["redis"]));
    assert_eq!(body["error"]["details"]["database"]["up"], true);
}

#[test]
fn check_config_passes_a_good_configuration_and_names_what_is_wrong_in_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[storage]\nbackend = \"postgres\"\ndata_dir = \"{data}\"\n\
             [storage.postgres]\nurl = \"{url}\"\n\
             [redis]\nurl = \"{redis}\"\n\
             [mail]\nsmtp_url = \"smtp://127.0.0.1:{smtp}\"\n",
            data = dir.path().join("data").display(),
            url = Postgres::shared().create_database(),
            redis = Redis::shared().url(),
            smtp = Smtp::shared().port(),
        ),
    )
    .unwrap();
    let (code, output) = run_gateway_command(
        &["--config", good.to_str().unwrap(), "check-config"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{output}");
    for line in [
        "ok    database",
        "ok    redis",
        "ok    mail",
        "ok    tls",
        "all checks passed",
    ] {
        assert!(output.contains(line), "{line:?} missing in:\n{output}");
    }

    // Reachable-looking but dead: nothing listens on these ports; and a service's CA file exists
    // (so the configuration validates) but holds no certificate.
    let not_a_ca = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_a_ca, "this is not PEM\n").unwrap();
    let dead = dir.path().join("dead.toml");
    std::fs::write(
        &dead,
        format!(
            "[storage]\nbackend = \"postgres\"\ndata_dir = \"{data}\"\n\
             [storage.postgres]\nurl = \"postgres://auth@127.0.0.1:{pg}/auth\"\n\
             connect_timeout_secs = 1\n\
             [redis]\nurl = \"redis://127.0.0.1:{redis}\"\n\
             [mail]\nsmtp_url = \"smtp://127.0.0.1:{smtp}\"\n\
             [[services]]\nslug = \"billing\"\nname = \"Billing\"\n\
             hosts = [\"billing.localhost\"]\nupstreams = [\"127.0.0.1:1\"]\n\
             tls = true\nsni = \"billing.internal\"\nca_file = \"{ca}\"\n",
            data = dir.path().join("data").display(),
            ca = not_a_ca.display(),
            pg = free_port(),
            redis = free_port(),
            smtp = free_port(),
        ),
    )
    .unwrap();
    let (code, output) = run_gateway_command(
        &["--config", dead.to_str().unwrap(), "check-config"],
        &[],
        "",
    );
    assert_eq!(code, 1, "{output}");
    for line in [
        "FAIL  database",
        "FAIL  redis",
        "FAIL  mail",
        "FAIL  tls",
        "4 check(s) failed",
    ] {
        assert!(output.contains(line), "{line:?} missing in:\n{output}");
    }

    // A configuration that does not validate: the key is named, exit code 2.
    let invalid = dir.path().join("invalid.toml");
    std::fs::write(&invalid, "[retention]\nlogin_history_days = 3\n").unwrap();
    let (code, output) = run_gateway_command(
        &["--config", invalid.to_str().unwrap(), "check-config"],
        &[],
        "",
    );
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("FAIL  config") && output.contains("retention.login_history_days"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_logins_run_restores_into_a_fresh_gateway() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let mut people = Vec::new();
    for _ in 0..3 {
        people.push(active_person(&system, &admin).await);
    }

    // Logins go on while the backup is taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, url, person) = (
            stop.clone(),
            system.url("/api/auth/login"),
            people[0].clone(),
        );
        tokio::spawn(async move {
            let mut ok = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let status = client()
                    .post(&url)
                    .json(&json!({ "login": person.username, "password": PASSWORD }))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 200);
                ok += 1;
            }
            ok
        })
    };
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("auth-backup.db");
    let config = system.config_path();
    let backup_arg = backup.display().to_string();
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_gateway_command(
            &["--config", &config, "backup", "--to", &backup_arg],
            &[],
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("master key"), "{output}");
    // Once more the same file: refused, the first stays.
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &system.config_path(),
            "backup",
            "--to",
            &backup.display().to_string(),
        ],
        &[],
        "",
    );
    assert_ne!(code, 0, "{output}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(load.await.unwrap() > 0, "logins ran during the backup");

    // Restoring over the running gateway's folder is refused.
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &system.config_path(),
            "restore",
            "--from",
            &backup.display().to_string(),
            "--force",
        ],
        &[],
        "",
    );
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("running"), "{output}");

    // A file that is not a backup is refused.
    let junk = backup_dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let mut fresh = GatewayProcess::prepared(
        free_port(),
        &plain_toml(
            "[storage]\nbackend = \"embedded\"\ndata_dir = \"{data_dir}\"\n",
            "",
        ),
    );
    let fresh_config = fresh.config_path().display().to_string();
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &fresh_config,
            "restore",
            "--from",
            junk.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("not a usable backup"), "{output}");

    // Into a fresh folder, with the master key kept apart: the same people log in.
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &fresh_config,
            "restore",
            "--from",
            &backup.display().to_string(),
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{output}");
    std::fs::copy(
        system.gateway.dir.join("data/master.key"),
        fresh.dir.join("data/master.key"),
    )
    .unwrap();
    fresh.start_again();
    for person in &people {
        assert_eq!(logs_in(&fresh, person).await, 200, "{}", fresh.log());
    }
    let (status, _) = read(
        client()
            .post(fresh.url("/api/auth/login"))
            .json(&json!({ "login": people[1].username, "password": "wrong password here" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    // A second restore over a folder that now holds accounts needs --force (and no gateway).
    fresh.kill();
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &fresh_config,
            "restore",
            "--from",
            &backup.display().to_string(),
        ],
        &[],
        "",
    );
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("--force"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_dump_and_pg_restore_as_documented_give_a_working_gateway() {
    let server = Postgres::shared();
    let url = server.create_database();
    let system = System::start_with_mail(
        Storage::Postgres {
            url: url.clone(),
            redis: None,
        },
        "",
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("auth.dump");
    let output = server
        .tool("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let restored = server.create_database();
    let output = server
        .tool("pg_restore")
        .args(["--no-owner", "--dbname", &restored])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A new gateway on the restored database, with the master key of the first.
    let mut fresh = GatewayProcess::prepared(
        free_port(),
        &plain_toml(
            &format!(
                "[storage]\nbackend = \"postgres\"\ndata_dir = \"{{data_dir}}\"\n\
                 [storage.postgres]\nurl = \"{restored}\"\n"
            ),
            "",
        ),
    );
    std::fs::create_dir_all(fresh.dir.join("data")).unwrap();
    std::fs::copy(
        system.gateway.dir.join("data/master.key"),
        fresh.dir.join("data/master.key"),
    )
    .unwrap();
    fresh.start_again();
    assert_eq!(logs_in(&fresh, &person).await, 200, "{}", fresh.log());
    // And the audit log is still append-only there.
    let output = server
        .psql(&restored)
        .args(["-c", "DELETE FROM audit_log"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_services_and_keeps_the_old_config_when_the_new_one_is_bad() {
    let mut gateway = GatewayProcess::start(
        &plain_toml(
            "[storage]\nbackend = \"embedded\"\ndata_dir = \"{data_dir}\"\n",
            "",
        ),
        &[],
    );
    let original = gateway.config_text().to_string();

    // A keep-alive connection opened before the reload answers after it.
    let kept = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    assert_eq!(
        kept.get(gateway.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A bad edit: logged, and the gateway keeps serving as before.
    gateway.rewrite_config(&format!("{original}\n[retention]\nbatch_size = 0\n"));
    gateway.signal(libc::SIGHUP);
    wait_for_log(&gateway, "configuration not reloaded").await;
    assert!(
        gateway.log().contains("retention.batch_size"),
        "{}",
        gateway.log()
    );
    assert_eq!(
        kept.get(gateway.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A good edit: a new service, routed by its host from then on.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(|| async { "reloaded upstream" });
        axum::serve(upstream, app).await
    });
    let before = client()
        .get(gateway.url("/"))
        .header("host", "reloaded.localhost")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_ne!(before, 302, "no such service yet");
    gateway.rewrite_config(&format!(
        "{original}\n[[services]]\nslug = \"reloaded\"\nname = \"Reloaded\"\n\
         hosts = [\"reloaded.localhost\"]\nupstreams = [\"{upstream_addr}\"]\n"
    ));
    gateway.signal(libc::SIGHUP);
    wait_for_log(&gateway, "configuration reloaded").await;
    let after = client()
        .get(gateway.url("/"))
        .header("host", "reloaded.localhost")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    // An unauthenticated browser is now sent to the login page for the new service.
    assert_eq!(after.status().as_u16(), 302, "{}", gateway.log());
    let location = after.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("reloaded"), "{location}");
    assert_eq!(
        kept.get(gateway.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(gateway.is_running());
}

async fn wait_for_log(gateway: &GatewayProcess, text: &str) {
    gateway.log_with(text).await;
}
