//! schemathesis (PyPI) against a live gateway: it generates requests from the OpenAPI document
//! the gateway serves, valid and invalid ones, and single calls as well as sequences (its
//! stateful phase, following the document's answers), with credentials for each security scheme:
//! a person, an admin and a service key. Every check is on; the run must find no failure: no
//! server error, no refusal of a request the document says is valid, no acceptance of one it says
//! is not, no status, header or body the document does not describe. One kind of refusal is not
//! counted, by `tests/schemathesis/hooks.py`: a 422 that names only fields of a rule JSON Schema
//! cannot state (a password's strength, one field against another, stored data such as the
//! current password), listed there per operation and field; any other field still fails the run.
//!
//! Bounded for CI: `SCHEMATHESIS_MAX_EXAMPLES` cases per operation (default 30, about two to
//! three minutes on a busy two-core machine: the coverage phase takes 1 to 2 minutes whatever the
//! number, the fuzzing phase grows with it; 50 took 3.5 minutes there). The seed is
//! printed; `SCHEMATHESIS_SEED=<seed>` replays a run. Run on the embedded store only: the
//! document and the validation it describes do not depend on the storage backend (both backends
//! pass one shared store test suite), and a second run would double the time it adds to CI.

use std::process::Command;

use auth_test_support::{run_gateway_command, unique_name};

use crate::flows::{PASSWORD, active_person, service_key};
use crate::harness::{Storage, System};

const ADMIN_PASSWORD: &str = "schemathesis lantern meadow 7";

/// Limits far above what the run sends, so that no answer follows from the cases before it: no
/// 429 from a rate limit, no 423 from the wrong passwords and PINs it sends locking the test
/// person, no 410 from wrong PINs killing a challenge or from a challenge the run made minutes
/// earlier expiring. Each of those is documented, and tested on its own (limits.rs, the lockout
/// and QR tests).
const GENEROUS: &str = "[rate_limits]\nlogin_per_minute = 1000000\nregister_per_minute = 1000000\n\
    pin_per_minute = 1000000\nscan_per_minute = 1000000\nchallenge_per_minute = 1000000\n\
    poll_per_minute = 1000000\nservice_key_per_minute = 1000000\n\
    service_per_minute_per_session = 1000000\nservice_per_minute_per_ip = 1000000\n\
    [lockout]\nmax_failures = 1000000\n[qr]\nmax_pin_attempts = 1000000\n\
    challenge_ttl_secs = 86400\npin_ttl_secs = 86400\n";

fn seed() -> u64 {
    std::env::var("SCHEMATHESIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 % 1_000_000_000)
                .unwrap_or(1)
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_the_api_as_its_document_says() {
    let system = System::start_with_mail(Storage::Embedded, GENEROUS);
    let admin = unique_name("fuzz-admin").replace('_', "-");
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &system.config_path(),
            "create-admin",
            "--username",
            &admin,
            "--email",
            &format!("{admin}@example.com"),
        ],
        &[],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{output}");
    let (status, login) = system
        .post(
            "/api/admin/login",
            None,
            serde_json::json!({ "username": admin, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let admin_token = login["data"]["access_token"].as_str().unwrap().to_string();
    let person = active_person(&system, &admin_token).await;
    let key = service_key(&system, &admin_token, "service-b").await;

    let seed = seed();
    let max_examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "30".into());
    println!(
        "schemathesis: seed {seed}, {max_examples} examples per operation \
         (replay: SCHEMATHESIS_SEED={seed} SCHEMATHESIS_MAX_EXAMPLES={max_examples})"
    );
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schemathesis");
    let gateway = system.url("");
    // The interpreter scripts/install-prerequisites.sh installed schemathesis into.
    let mut command = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    command
        .args(["-m", "schemathesis.cli"])
        .args([
            "--config-file",
            &format!("{dir}/schemathesis.toml"),
            "--no-color",
            "run",
        ])
        .arg(system.url("/api/openapi.json"))
        .args([
            "--checks",
            "all",
            "--workers",
            "1",
            "--max-examples",
            &max_examples,
        ])
        .args(["--seed", &seed.to_string(), "--generation-database", "none"])
        .env("PYTHONPATH", dir)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("ST_GATEWAY", gateway.trim_end_matches('/'))
        // By email: the run may change the username.
        .env("ST_USER_LOGIN", &person.email)
        .env("ST_USER_ID", &person.user_id)
        .env("ST_USER_PASSWORD", PASSWORD)
        .env("ST_ADMIN_LOGIN", &admin)
        .env("ST_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ST_SERVICE_KEY", &key)
        .current_dir(std::env::temp_dir());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!("python3 could not run ({e}); scripts/install-prerequisites.sh installs schemathesis")
        });
    let printed = String::from_utf8_lossy(&output.stdout);
    println!("{printed}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "schemathesis found failures (seed {seed}); see its report above"
    );
}

/// The edge refuses an encoded `/`, `\` or NUL in the path before routing; the document says so
/// for every operation with a path parameter, `qr/{token}/status` among them.
#[tokio::test(flavor = "multi_thread")]
async fn an_encoded_slash_in_a_path_parameter_is_a_documented_400() {
    let system = System::start(Storage::Embedded);
    let (status, body) = system.get("/api/auth/qr/abc%2Fdef/status").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BAD_REQUEST", "{body}");

    let (status, document) = system.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    let answers = &document["paths"]["/api/auth/qr/{token}/status"]["get"]["responses"];
    let documented = answers["400"]["description"].as_str().unwrap_or_default();
    assert!(documented.contains("encoded slash"), "{answers}");
}
