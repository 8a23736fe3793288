//! A load generator: cognigraph in-process on 127.0.0.1, its tokens from the verifier's test
//! issuer, N concurrent clients sending a fixed number of requests. Prints throughput and
//! latency percentiles. Bounded in count and time; talks to loopback only.
//!
//! `cargo bench -p cognigraph-server --bench load` (`just bench` runs it). Settings through the
//! environment: LOAD_REQUESTS (default 20000), LOAD_CONCURRENCY (default 32).
#![expect(clippy::print_stdout, reason = "the report is what a benchmark prints")]
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "percentile arithmetic on small counts"
)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cognigraph_server::{config::Settings, startup::Application};
use cognigraph_token::{CognitoVerifier, testing::TestIssuer};
use serde_json::json;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let total = env_number("LOAD_REQUESTS", 20_000);
    let concurrency = env_number("LOAD_CONCURRENCY", 32).max(1);
    let issuer = TestIssuer::start().await;
    let database = tempfile::tempdir().expect("temporary folder");
    let settings = Settings::try_parse_from_args([
        "--region".to_owned(),
        "us-east-1".to_owned(),
        "--user-pool-id".to_owned(),
        issuer.pool_id().to_owned(),
        "--client-id".to_owned(),
        issuer.client_id().to_owned(),
        "--jwks-url".to_owned(),
        issuer.jwks_url(),
        "--tenant-source".to_owned(),
        "claim".to_owned(),
        "--database-url".to_owned(),
        format!(
            "sqlite://{}?mode=rwc",
            database.path().join("load.db").display()
        ),
        "--migrate".to_owned(),
        "--listen-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
    ])
    .expect("settings");
    let verifier = Arc::new(
        CognitoVerifier::new(settings.cognito.verifier_config().expect("pool")).expect("verifier"),
    );
    let app = Application::build_with_verifier(&settings, verifier)
        .await
        .expect("app");
    app.hydrate().await;
    let url = format!("http://{}/graphql", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let mut claims = issuer.access_claims();
    claims["cognito:groups"] = json!(["viewer"]);
    claims["custom:tenant"] = json!("acme");
    let token = issuer.sign(&claims);
    let body = json!({ "query": "{ me { sub username roles tenant } }" }).to_string();
    let client = reqwest::Client::new();

    let run = |count: usize| {
        let per_worker = count.div_ceil(concurrency);
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, url, token, body) =
                    (client.clone(), url.clone(), token.clone(), body.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_worker);
                    for _ in 0..per_worker {
                        let started = Instant::now();
                        let response = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("request");
                        assert!(response.status().is_success());
                        let _ = response.bytes().await.expect("body");
                        latencies.push(started.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        async move {
            let mut all = Vec::new();
            for worker in workers {
                all.extend(worker.await.expect("worker"));
            }
            all
        }
    };

    run(concurrency * 20).await; // warm-up: connections, caches, member sync
    let started = Instant::now();
    let mut latencies = run(total).await;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "load: {} requests of `{{ me {{ … }} }}` (full token verification each) by {concurrency} clients in {:.2} s",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "load: {:.0} requests/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(0.50)),
        ms(percentile(0.90)),
        ms(percentile(0.99)),
        ms(percentile(1.0)),
    );
}
