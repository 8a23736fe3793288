//! The key endpoint failing while the service runs: a key rotation under load, the endpoint slow
//! or down once keys are cached, and the endpoint unreachable at start. Every wait is bounded.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use cognigraph_token::{JwksSettings, ManualClock, testing::JwksMode};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{AppOptions, TestApp, spawn_app_with};

const ME: &str = "{ me { sub } }";

/// Past the verifier's cooldown (10 s, `JwksSettings::standard`): the next unknown kid refetches.
const PAST_COOLDOWN: Duration = Duration::from_secs(11);

/// Longest any single request of these tests may take before the test calls it hung.
const HUNG: Duration = Duration::from_secs(10);

/// POSTs `{ me { sub } }` with `token`; the status, the body and how long the answer took.
async fn me(app: &TestApp, token: &str) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let answer = async {
        let response = app.post(Some(token), &json!({ "query": ME })).await;
        let status = response.status();
        (status, response.json::<Value>().await.unwrap())
    };
    let (status, body) = tokio::time::timeout(HUNG, answer)
        .await
        .unwrap_or_else(|_| panic!("no answer within {HUNG:?}"));
    (status, body, started.elapsed())
}

/// An access token for alice signed with the issuer's newest key but naming `kid`.
fn token_with_kid(app: &TestApp, kid: &str) -> String {
    app.issuer.sign_raw(
        &json!({"alg": "RS256", "kid": kid}).to_string(),
        &app.issuer.access_claims().to_string(),
    )
}

/// Polls `done` every 5 ms, failing the test after `limit`.
async fn wait_until(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Cognito publishes a new key next to the old one, then signs with it; tokens signed with the old
/// key stay valid until they expire. 16 clients send old-kid tokens for 2 s, the issuer rotates
/// half-way and from then on each client alternates old-kid and new-kid tokens: every answer is
/// 200, and the new kid costs one refetch, shared by all the clients that met it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_under_load_fails_no_request() {
    const CLIENTS: usize = 16;
    const RUN: Duration = Duration::from_secs(2);
    let clock = Arc::new(ManualClock::starting_now());
    let app = Arc::new(
        spawn_app_with(AppOptions {
            hydrate: true,
            clock: Some(Arc::clone(&clock)),
            ..AppOptions::default()
        })
        .await,
    );
    assert_eq!(app.issuer.jwks_requests(), 1, "keys loaded at start");
    // Keys are fetched long before a rotation: the start-up fetch's cooldown is over.
    clock.advance(PAST_COOLDOWN);

    // tokens[0] is signed with the old key; tokens[1], once there, with the new one.
    let tokens = Arc::new(RwLock::new(vec![app.token(&["viewer"])]));
    // Set a while after the new key's token is in use (making a key may take a while on a busy
    // machine, so the run is timed from then, not from the start).
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let app = Arc::clone(&app);
            let tokens = Arc::clone(&tokens);
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                // (which key, status, body) of every answer
                let mut answers = Vec::new();
                let mut sent = client;
                while !stop.load(Ordering::SeqCst) {
                    let (key, token) = {
                        let tokens = tokens.read().unwrap();
                        let key = sent % tokens.len();
                        (key, tokens[key].clone())
                    };
                    sent += 1;
                    let (status, body, _) = me(&app, &token).await;
                    answers.push((key, status, body));
                }
                answers
            })
        })
        .collect();

    tokio::time::sleep(RUN / 2).await;
    let old_kid = app.issuer.active_kid();
    let new_kid = app.issuer.rotate();
    assert_eq!(
        app.issuer.jwks()["keys"].as_array().unwrap().len(),
        2,
        "both keys are published during the overlap"
    );
    assert_eq!(
        app.issuer.active_kid(),
        new_kid,
        "new tokens are signed with it"
    );
    let new_token = app.token(&["viewer"]);
    tokens.write().unwrap().push(new_token);
    tokio::time::sleep(RUN / 2).await;
    stop.store(true, Ordering::SeqCst);

    let mut served = [0_usize; 2];
    let mut failed = Vec::new();
    for client in clients {
        for (key, status, body) in client.await.unwrap() {
            if status == StatusCode::OK && body["data"]["me"]["sub"].is_string() {
                served[key] += 1;
            } else {
                failed.push((key, status, body));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed requests (key 0 = {old_kid}, 1 = {new_kid}), first: {:?}",
        failed.len(),
        failed.first()
    );
    assert!(
        served[0] > CLIENTS && served[1] > CLIENTS,
        "both keys were in use: {served:?}"
    );
    assert_eq!(
        app.issuer.jwks_requests(),
        2,
        "one fetch at start, one shared refetch for the new kid ({served:?} requests served)"
    );
}

/// Once keys are cached, the key endpoint going slow (past the fetch timeout) or down costs
/// requests with a known kid nothing: while a fetch for an unknown kid hangs, they keep answering
/// 200 at normal latency. The unknown kid is refused (401: the cached keys do not have it) once
/// the fetch gives up, bounded by the fetch timeout (retry included); with the endpoint down,
/// at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_dead_key_endpoint_does_not_slow_requests_with_cached_keys() {
    // Shorter than the default 3 s so the test is quick; the app's fetch timeout is a setting of
    // the verifier, and what is proven does not depend on its value.
    let timeout = Duration::from_secs(1);
    // Well under the fetch timeout: a request that waited on the fetch could not answer in this.
    let normal = Duration::from_millis(500);
    let clock = Arc::new(ManualClock::starting_now());
    let app = Arc::new(
        spawn_app_with(AppOptions {
            hydrate: true,
            clock: Some(Arc::clone(&clock)),
            jwks: Some(JwksSettings {
                connect_timeout: timeout,
                timeout,
                ..JwksSettings::standard()
            }),
            ..AppOptions::default()
        })
        .await,
    );
    let known = app.token(&["viewer"]);
    let stranger = token_with_kid(&app, "published-later");
    let (status, _, _) = me(&app, &known).await;
    assert_eq!(status, StatusCode::OK);

    // Slow: the endpoint accepts the connection and answers after 30 s.
    clock.advance(PAST_COOLDOWN);
    app.issuer.set_mode(JwksMode::Slow(Duration::from_secs(30)));
    let fetches = app.issuer.jwks_requests();
    let unknown = tokio::spawn({
        let app = Arc::clone(&app);
        async move { me(&app, &stranger).await }
    });
    wait_until(
        Duration::from_secs(2),
        "the refetch reaches the issuer",
        || app.issuer.jwks_requests() > fetches,
    )
    .await;
    let mut served_during_the_fetch = 0;
    while !unknown.is_finished() {
        let (status, body, took) = me(&app, &known).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            took < normal,
            "a known kid took {took:?} while the key endpoint hung"
        );
        served_during_the_fetch += 1;
    }
    assert!(
        served_during_the_fetch >= 5,
        "only {served_during_the_fetch} requests during the fetch"
    );
    let (status, body, took) = unknown.await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "unknown_kid");
    // The fetch timeout bounds the whole fetch, retry included (`JwksSettings::timeout`): one
    // attempt, and the unknown kid waited one timeout, not two.
    assert_eq!(app.issuer.jwks_requests(), fetches + 1);
    assert!(
        took < timeout + normal,
        "the unknown kid waited {took:?}, past the fetch timeout"
    );

    // Down: connections are closed unanswered.
    clock.advance(PAST_COOLDOWN);
    app.issuer.set_mode(JwksMode::Down);
    let fetches = app.issuer.jwks_requests();
    let stranger = token_with_kid(&app, "published-later");
    let (status, body, took) = me(&app, &stranger).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "unknown_kid");
    assert!(took < normal, "the unknown kid waited {took:?}");
    assert!(app.issuer.jwks_requests() > fetches, "a refetch was tried");
    for _ in 0..5 {
        let (status, body, took) = me(&app, &known).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(took < normal, "a known kid took {took:?}");
    }
    let readyz = app.get("/readyz").await;
    assert_eq!(readyz.status(), StatusCode::OK, "cached keys: still ready");
}

/// Started while the key endpoint is unreachable (no keys preloaded), the service says it is not
/// ready and answers 503 with `Retry-After`; once the endpoint is back, a client that waited as
/// told finds it ready and served, in the same process. Nothing is fetched in between.
#[tokio::test]
async fn a_key_endpoint_unreachable_at_start_recovers_without_a_restart() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = spawn_app_with(AppOptions {
        hydrate: false,
        clock: Some(Arc::clone(&clock)),
        ..AppOptions::default()
    })
    .await;
    app.issuer.set_mode(JwksMode::Down);
    let token = app.token(&["viewer"]);

    let readyz = tokio::time::timeout(HUNG, app.get("/readyz"))
        .await
        .unwrap();
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readyz.text().await.unwrap(), "signing keys not loaded");
    let response = tokio::time::timeout(HUNG, app.post(Some(&token), &json!({ "query": ME })))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "keys_unavailable"
    );
    // One attempt (from /readyz), its network error retried once; the request found the
    // cooldown running and did not fetch.
    assert_eq!(app.issuer.jwks_requests(), 2);

    app.issuer.set_mode(JwksMode::Serve);
    // Retry-After is honest: before it has passed, nothing is fetched and the answer is the same.
    clock.advance(Duration::from_secs(retry_after) - Duration::from_millis(1));
    let readyz = tokio::time::timeout(HUNG, app.get("/readyz"))
        .await
        .unwrap();
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.issuer.jwks_requests(),
        2,
        "nothing fetched in the cooldown"
    );

    clock.advance(Duration::from_millis(1));
    let readyz = tokio::time::timeout(HUNG, app.get("/readyz"))
        .await
        .unwrap();
    assert_eq!(
        readyz.status(),
        StatusCode::OK,
        "ready once Retry-After has passed"
    );
    let (status, body, _) = me(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["sub"], app.issuer.access_claims()["sub"]);
    assert_eq!(app.issuer.jwks_requests(), 3, "one fetch recovered it");
}
