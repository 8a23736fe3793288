//! The service under Lambda: API Gateway HTTP API events (payload 2.0, `$default` stage) through
//! `lambda_http` into the same router, and the answers as API Gateway receives them.

use cognigraph_server::{config::Settings, lambda};
use cognigraph_token::testing::TestIssuer;
use lambda_http::{
    Adapter, Context, LambdaEvent, Service as _, request::LambdaRequest, tower::ServiceExt as _,
};
use serde_json::{Value, json};

use crate::helpers::{AppOptions, build_app};

/// An HTTP API event for `method path` with `headers` and `body`, as API Gateway sends it.
fn event(method: &str, path: &str, headers: Value, body: Option<&str>) -> LambdaRequest {
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Dec/2026:01:02:03 +0000",
            "timeEpoch": 1_796_000_000_000_u64
        },
        "body": body,
        "isBase64Encoded": false
    });
    serde_json::from_value(event).unwrap()
}

/// What API Gateway gets back for `request`: status, headers and body, as JSON.
async fn answer(router: &axum::Router, request: LambdaRequest) -> Value {
    let mut adapter = Adapter::from(router.clone());
    let adapter = adapter.ready().await.unwrap();
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(&response).unwrap()
}

fn body_json(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
}

fn token(issuer: &TestIssuer, groups: &[&str]) -> String {
    let mut claims = issuer.access_claims();
    claims["cognito:groups"] = json!(groups);
    issuer.sign(&claims)
}

#[tokio::test]
async fn api_gateway_events_reach_the_same_router() {
    let issuer = TestIssuer::start().await;
    let built = build_app(
        &issuer,
        AppOptions {
            hydrate: true,
            ..AppOptions::default()
        },
    )
    .await;
    let router = built.app.router();
    let json_headers = |token: Option<String>| {
        let mut headers = json!({
            "content-type": "application/json",
            "accept": "application/graphql-response+json",
            "host": "abc123.execute-api.eu-west-1.amazonaws.com"
        });
        if let Some(token) = token {
            headers["authorization"] = json!(format!("Bearer {token}"));
        }
        headers
    };

    // A query with a token.
    let query = event(
        "POST",
        "/graphql",
        json_headers(Some(token(&issuer, &["admin"]))),
        Some(r#"{"query":"{ me { sub groups roles } }"}"#),
    );
    let ok = answer(&router, query).await;
    assert_eq!(ok["statusCode"], 200, "{ok}");
    assert_eq!(ok["isBase64Encoded"], false);
    assert_eq!(
        body_json(&ok)["data"]["me"],
        json!({"sub": "8f3e5a1c-0d4b-4c1e-9a57-2b6d7e8f9a01", "groups": ["admin"], "roles": ["ADMIN", "EDITOR", "VIEWER"]})
    );
    assert!(
        ok["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("application/graphql-response+json"),
        "{ok}"
    );

    // Without a token: 401 with its challenge, as over HTTP.
    let anonymous = event(
        "POST",
        "/graphql",
        json_headers(None),
        Some(r#"{"query":"{ me { sub } }"}"#),
    );
    let refused = answer(&router, anonymous).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    assert!(
        refused["headers"]["www-authenticate"]
            .as_str()
            .unwrap()
            .starts_with("Bearer"),
        "{refused}"
    );
    assert_eq!(
        body_json(&refused)["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    // A batch.
    let batch = event(
        "POST",
        "/graphql",
        json!({
            "content-type": "application/json",
            "accept": "application/json",
            "authorization": format!("Bearer {}", token(&issuer, &["viewer"]))
        }),
        Some(r#"[{"query":"{ me { sub } }"},{"query":"{ me { roles } }"}]"#),
    );
    let both = answer(&router, batch).await;
    assert_eq!(both["statusCode"], 200, "{both}");
    assert_eq!(
        body_json(&both),
        json!([
            {"data": {"me": {"sub": "8f3e5a1c-0d4b-4c1e-9a57-2b6d7e8f9a01"}}},
            {"data": {"me": {"roles": ["VIEWER"]}}}
        ])
    );

    // GraphiQL, served from the binary.
    let page = answer(
        &router,
        event("GET", "/", json!({"accept": "text/html"}), None),
    )
    .await;
    assert_eq!(page["statusCode"], 200, "{page}");
    assert!(
        page["body"].as_str().unwrap().contains("graphiql"),
        "{page}"
    );

    // The router alone, for a request lambda_http made: the same answer as the adapter's.
    let direct = router
        .clone()
        .oneshot(lambda_http::Request::from(event(
            "GET",
            "/healthz",
            json!({}),
            None,
        )))
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    drop(built);
}

#[test]
fn lambda_refuses_sqlite_and_logs_json() {
    let parse = |database: &str| {
        Settings::try_parse_from_args([
            "--region",
            "eu-west-1",
            "--user-pool-id",
            "eu-west-1_AbC",
            "--client-id",
            "client",
            "--database-url",
            database,
        ])
        .unwrap()
    };
    let refused = lambda::settings_for_lambda(&parse("sqlite://cognigraph.db?mode=rwc"));
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("set DATABASE_SECRET to a Secrets Manager secret")
            && message.contains("or DATABASE_URL to postgres://"),
        "{message}"
    );
    let settings =
        lambda::settings_for_lambda(&parse("postgres://app:secret@db/cognigraph")).unwrap();
    assert_eq!(
        settings.log_format,
        cognigraph_server::config::LogFormat::Json
    );
    assert_eq!(settings.listen_addr.port(), 0);
    assert!(settings.listen_addr.ip().is_loopback());
}
