//! Each way authentication fails: status, challenge header and code.

use cognigraph_token::testing::JwksMode;
use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{AppOptions, error_codes, spawn_app, spawn_app_with};

const ME: &str = "{ me { sub username } }";

#[tokio::test]
async fn no_header_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let response = app.post(None, &json!({ "query": ME })).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        r#"Bearer realm="cognigraph""#
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    assert_eq!(body["errors"][0]["extensions"]["reason"], "missing_token");
}

#[tokio::test]
async fn refused_tokens_are_401_invalid_token_with_the_verifier_code() {
    let app = spawn_app().await;
    let id_token = app.issuer.sign(&app.issuer.id_claims());
    let other_client = app.token_with(&["admin"], json!({"client_id": "someoneelse"}));
    let bogus_kid = app.issuer.sign_raw(
        &json!({"alg": "RS256", "kid": "not-there"}).to_string(),
        &app.issuer.access_claims().to_string(),
    );
    let cases = [
        ("garbage".to_owned(), "malformed"),
        (app.expired_token(), "token_expired"),
        (id_token, "invalid_token_use"),
        (other_client, "invalid_client"),
        (bogus_kid, "unknown_kid"),
    ];
    for (token, code) in cases {
        let response = app.post(Some(&token), &json!({ "query": ME })).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            format!(
                r#"Bearer realm="cognigraph", error="invalid_token", error_description="{code}""#
            )
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{code}");
        assert_eq!(body["errors"][0]["extensions"]["reason"], code);
    }
}

#[tokio::test]
async fn other_schemes_and_empty_bearer_are_refused() {
    let app = spawn_app().await;
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token abc"] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header(header::AUTHORIZATION, value)
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="cognigraph""#
        );
    }
}

#[tokio::test]
async fn the_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let token = app.token(&["viewer"]);
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(header::AUTHORIZATION, format!("bEaReR {token}"))
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_are_503_with_retry_after() {
    let app = spawn_app_with(AppOptions::default()).await;
    app.issuer.set_mode(JwksMode::Status(500));
    let response = app
        .post(Some(&app.token(&["admin"])), &json!({ "query": ME }))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "10");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "keys_unavailable"
    );
}

#[tokio::test]
async fn a_kid_missing_from_fetched_keys_is_the_tokens_fault_even_in_the_cooldown() {
    let app = spawn_app().await; // keys fetched at start: the cooldown is running
    let bogus_kid = app.issuer.sign_raw(
        &json!({"alg": "RS256", "kid": "rotated-away"}).to_string(),
        &app.issuer.access_claims().to_string(),
    );
    for _ in 0..2 {
        let response = app.post(Some(&bogus_kid), &json!({ "query": ME })).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.issuer.jwks_requests(), 1);
}

/// A proxy that reads the last of two Authorization headers would see another caller than the
/// service (which read the first): such a request is refused whatever the tokens, even when
/// both are valid or both are the same.
#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let viewer = format!("Bearer {}", app.token(&["viewer"]));
    let admin = format!(
        "Bearer {}",
        app.token_with(
            &["admin"],
            json!({"sub": "someone-else", "username": "mallory"})
        )
    );
    for (first, second) in [
        (&viewer, &admin),
        (&admin, &viewer),
        (&viewer, &viewer),
        (&viewer, &"Basic dXNlcjpwYXNz".to_owned()),
    ] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header(header::AUTHORIZATION, first)
            .header(header::AUTHORIZATION, second)
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error_codes(&body), ["BAD_REQUEST"], "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["reason"],
            "multiple_authorization_headers"
        );
        assert!(body.get("data").is_none(), "{body}");
    }
    // One header is still fine.
    let (status, body) = app.query(Some(&app.token(&["viewer"])), ME).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["username"], "alice");
}
