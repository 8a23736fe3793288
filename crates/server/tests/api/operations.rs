//! Health, readiness, metrics, introspection policy, shutdown and logs.

use std::{sync::Arc, time::Duration};

use cognigraph_token::{
    ManualClock,
    testing::{JwksMode, TestIssuer},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use cognigraph_server::config::IntrospectionPolicy;

use crate::helpers::{
    AppOptions, CapturedLogs, TestApp, assert_no_token_in, error_codes, pool_args, spawn_app,
    spawn_app_configured, spawn_app_for, spawn_app_with,
};

#[tokio::test]
async fn healthz_answers_while_readyz_waits_for_the_keys() {
    let issuer = TestIssuer::start().await;
    issuer.set_mode(JwksMode::Down);
    let clock = Arc::new(ManualClock::starting_now());
    let app = spawn_app_for(
        issuer,
        AppOptions {
            clock: Some(Arc::clone(&clock)),
            hydrate: true,
            ..AppOptions::default()
        },
    )
    .await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    app.issuer.set_mode(JwksMode::Serve);
    // Within the cooldown readiness does not hammer the issuer.
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}

/// An app serving `/metrics` on a listener of its own.
async fn spawn_app_with_metrics() -> TestApp {
    spawn_app_configured(|settings| {
        settings.metrics_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await
}

/// GETs `path` from the metrics listener of `app`.
async fn get_metrics(app: &TestApp, path: &str) -> reqwest::Response {
    let metrics = app.metrics_address.as_deref().expect("a metrics address");
    app.client
        .get(format!("{metrics}{path}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_are_not_served_unless_asked_for() {
    let app = spawn_app().await;
    assert_eq!(app.metrics_address, None);
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

/// With METRICS_ADDR the metrics have a listener of their own, and only they: the API's port
/// still does not serve them, and theirs serves nothing else.
#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let app = spawn_app_with_metrics().await;
    let metrics = app.metrics_address.clone().expect("a metrics address");
    assert_ne!(metrics, app.address);
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    for path in ["/metrics", "/metrics/"] {
        let response = get_metrics(&app, path).await;
        let expected = if path == "/metrics" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(response.status(), expected, "{path}");
    }
    for path in ["/", "/graphql", "/healthz", "/readyz"] {
        let response = get_metrics(&app, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Shutdown closes both listeners.
    app.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_auth_failures_jwks_fetches_and_token_cache_lookups() {
    let app = spawn_app_with_metrics().await;
    let viewer = app.token(&["viewer"]);
    for _ in 0..2 {
        let _ = app.query(Some(&viewer), "{ me { sub } }").await;
    }
    let _ = app
        .query(Some(&app.expired_token()), "{ me { sub } }")
        .await;
    let response = get_metrics(&app, "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        "cognigraph_graphql_requests_total{operation_type=\"query\"} 2",
        "cognigraph_graphql_request_duration_seconds_count{operation_type=\"query\"} 2",
        "cognigraph_auth_failures_total{code=\"token_expired\"} 1",
        "cognigraph_jwks_fetches_total{outcome=\"success\"} 1",
        "cognigraph_jwks_fetches_total{outcome=\"failure\"} 0",
        // The viewer's token is verified in full once, then found; the expired one is a miss.
        "cognigraph_token_cache_lookups_total{outcome=\"hit\"} 1",
        "cognigraph_token_cache_lookups_total{outcome=\"miss\"} 2",
        "# TYPE cognigraph_graphql_requests_total counter",
        "# TYPE cognigraph_graphql_request_duration_seconds histogram",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    // Gauges whose values vary: present, with a plausible value.
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("missing `{name}` in:\n{text}"))
            .parse()
            .unwrap()
    };
    assert!(value("cognigraph_db_connections{state=\"idle\"}") >= 0.0);
    assert!(value("cognigraph_db_connections{state=\"in_use\"}") >= 0.0);
    assert!(value("process_resident_memory_bytes") > 1_000_000.0);
    assert!(value("process_open_fds") > 3.0);
    assert!(value("process_cpu_seconds_total") > 0.0);
    assert!(value("process_start_time_seconds") > 1_700_000_000.0);
}

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

#[tokio::test]
async fn introspection_is_for_authenticated_callers_by_default() {
    let app = spawn_app().await;
    let (status, _) = app.query(None, INTROSPECTION).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app.query(Some(&app.token(&[])), INTROSPECTION).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn public_introspection_serves_the_schema_but_nothing_else_anonymously() {
    let app =
        spawn_app_configured(|settings| settings.introspection = IntrospectionPolicy::Public).await;
    let (status, body) = app.query(None, INTROSPECTION).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let (status, _) = app.query(None, "{ me { sub } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .query(None, "{ __schema { queryType { name } } me { sub } }")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let app =
        spawn_app_configured(|settings| settings.introspection = IntrospectionPolicy::Off).await;
    let (_, body) = app.query(Some(&app.token(&["admin"])), INTROSPECTION).await;
    assert_eq!(error_codes(&body), ["INTROSPECTION_DISABLED"], "{body}");
    // Through a fragment, inline or spread, it is the same request.
    for hidden in [
        "{ ... on Query { __schema { types { name } } } }",
        "{ ...Schema } fragment Schema on Query { __type(name: \"Query\") { name } }",
    ] {
        let (_, body) = app.query(Some(&app.token(&["admin"])), hidden).await;
        assert_eq!(
            error_codes(&body),
            ["INTROSPECTION_DISABLED"],
            "{hidden}: {body}"
        );
        assert_eq!(body["data"], Value::Null, "{hidden}: {body}");
    }
    let (_, body) = app
        .query(Some(&app.token(&["admin"])), "{ me { sub } __typename }")
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let app = spawn_app_with(AppOptions::default()).await; // no keys yet
    app.issuer
        .set_mode(JwksMode::Slow(Duration::from_millis(400)));
    let token = app.token(&["viewer"]);
    let request = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ me { username } }" }))
        .send();
    let in_flight = tokio::spawn(request);
    // The request is in the server once it has asked for the keys (it then waits 400 ms on them).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.issuer.jwks_requests() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.shutdown().await;
    let response = in_flight.await.unwrap().expect("the request completed");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["username"], "alice");
}

#[test]
fn tokens_never_reach_the_logs() {
    let logs = CapturedLogs::default();
    let _capturing = logs.capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokens = runtime.block_on(async {
        let app = spawn_app().await;
        let good = app.token(&["viewer"]);
        let expired = app.expired_token();
        let _ = app.query(Some(&good), "{ me { sub } }").await;
        let _ = app.query(Some(&expired), "{ me { sub } }").await;
        let _ = app.query(Some("not.a.token"), "{ me { sub } }").await;
        app.shutdown().await;
        [good, expired]
    });
    let logs = logs.text();
    assert!(
        logs.contains("token refused"),
        "the requests were logged:\n{logs}"
    );
    assert!(logs.contains("token_expired"));
    assert_no_token_in(&logs, tokens);
}

#[tokio::test]
async fn token_inspect_explains_acceptance_and_refusal() {
    use clap::Parser as _;
    use cognigraph_server::cli::{Cli, Command, TokenCommand};

    let issuer = TestIssuer::start().await;
    let inspect = |token: String| {
        Cli::try_parse_from(
            ["cognigraph", "token", "inspect", &format!("Bearer {token}")]
                .map(str::to_owned)
                .into_iter()
                .chain(pool_args(&issuer)),
        )
        .expect("arguments")
    };
    let run = |cli: Cli| async move {
        let Some(Command::Token {
            command: TokenCommand::Inspect { token, cognito },
        }) = cli.command
        else {
            panic!("not token inspect")
        };
        cognigraph_server::inspect::inspect_token(&cognito, &token)
            .await
            .expect("settings")
    };
    let (report, accepted) = run(inspect(issuer.sign(&issuer.access_claims()))).await;
    assert!(accepted, "{report}");
    assert!(report.contains("\"username\": \"alice\""), "{report}");
    assert!(report.ends_with("verdict: accepted\n"), "{report}");

    let mut claims = issuer.access_claims();
    claims["exp"] = json!(1);
    claims["client_id"] = json!("someoneelse");
    let (report, accepted) = run(inspect(issuer.sign(&claims))).await;
    assert!(!accepted);
    assert!(
        report.contains("FAIL  exp         token_expired"),
        "{report}"
    );
    assert!(
        report.contains("FAIL  client_id   invalid_client"),
        "{report}"
    );
    assert!(report.contains("ok    signature"), "{report}");
    assert!(report.ends_with("verdict: refused\n"), "{report}");
}
