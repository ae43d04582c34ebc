//! How fast a [`Verifier`] checks a gateway assertion with its keys cached: header, EdDSA
//! signature, claims, identity. No network in the measured loop; the keys come from a stand-in
//! gateway on 127.0.0.1 before it starts.
//!
//! `cargo bench -p auth-sdk`; compare with `python3 bench/pyjwt_verify.py`, and record both in
//! `docs/BENCHMARKS.md`.

// A benchmark, like a test, stops at the first thing that goes wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/sdk/support.rs"]
mod support;

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_sdk::Verifier;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use support::{Gateway, ISSUER, SERVICE, Signer, assertion};

fn verify_assertion(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let key = Signer::from_seed(1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let mut claims = assertion(now);
    // Valid for the whole run, however long criterion takes.
    claims["exp"] = (now + 3600).into();
    let token = key.sign(&claims);

    let verifier = runtime.block_on(async {
        let gateway = Gateway::start(&[&key]).await;
        let verifier = Verifier::builder(gateway.jwks_url(), ISSUER, SERVICE)
            .build()
            .expect("verifier");
        verifier.refresh_keys().await.expect("keys fetched");
        verifier.verify(&token).await.expect("the token verifies");
        verifier
    });

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("assertion_eddsa_cached_keys", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(verifier.verify(black_box(&token)).await) })
    });
    group.finish();
}

criterion_group!(benches, verify_assertion);
criterion_main!(benches);
