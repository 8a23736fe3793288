//! GraphQL over HTTP: methods, media types, sizes, limits, request ids, CORS.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{AppOptions, configure, error_codes, spawn_app, spawn_app_with};

#[tokio::test]
async fn get_serves_queries_and_refuses_mutations_with_405() {
    let app = spawn_app().await;
    let token = app.token(&["admin"]);
    let get = |query: &str| {
        app.client
            .get(format!("{}/graphql", app.address))
            .query(&[("query", query)])
            .bearer_auth(&token)
            .send()
    };
    let response = get("{ me { username } }").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["username"], "alice");

    let response = get("mutation { refreshSigningKeys { loaded } }")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["METHOD_NOT_ALLOWED"]);

    // The same mutation over POST is served.
    let (status, body) = app
        .query(Some(&token), "mutation { refreshSigningKeys { loaded } }")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["refreshSigningKeys"]["loaded"], true);
}

#[tokio::test]
async fn media_types_follow_graphql_over_http() {
    let app = spawn_app().await;
    let token = app.token(&["viewer"]);
    let post = |accept: Option<&'static str>, query: &'static str| {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .json(&json!({ "query": query }));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        request.send()
    };
    let plain = post(None, "{ me { username } }").await.unwrap();
    assert_eq!(plain.headers()[header::CONTENT_TYPE], "application/json");

    let new = post(
        Some("application/graphql-response+json, application/json;q=0.9"),
        "{ me { username } }",
    )
    .await
    .unwrap();
    assert_eq!(new.status(), 200);
    assert_eq!(
        new.headers()[header::CONTENT_TYPE],
        "application/graphql-response+json"
    );

    // A document that does not parse: 200 under application/json, 400 under the new type.
    let legacy = post(None, "{ me { ").await.unwrap();
    assert_eq!(legacy.status(), 200);
    let body: Value = legacy.json().await.unwrap();
    assert_eq!(error_codes(&body), ["GRAPHQL_PARSE_FAILED"]);
    let strict = post(Some("application/graphql-response+json"), "{ me { ")
        .await
        .unwrap();
    assert_eq!(strict.status(), 400);
    let invalid = post(Some("application/graphql-response+json"), "{ nope }")
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    let body: Value = invalid.json().await.unwrap();
    assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"]);
}

#[tokio::test]
async fn bodies_must_be_json_and_not_too_large() {
    let app = spawn_app_with(AppOptions {
        settings: configure(|settings| settings.limits.max_body_bytes = 2048),
        hydrate: true,
        ..AppOptions::default()
    })
    .await;
    let token = app.token(&["viewer"]);
    let url = format!("{}/graphql", app.address);
    // The three media types a browser sends across origins without asking first (CORS
    // "simple" requests) are all refused, multipart uploads included.
    for (media_type, body) in [
        ("application/x-www-form-urlencoded", "query={me{sub}}"),
        (
            "multipart/form-data; boundary=b",
            "--b\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"{me{sub}}\"}\r\n--b--\r\n",
        ),
        ("text/plain", "{\"query\":\"{me{sub}}\"}"),
    ] {
        let refused = app
            .client
            .post(&url)
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, media_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{media_type}"
        );
        let refusal: Value = refused.json().await.unwrap();
        assert_eq!(error_codes(&refusal), ["BAD_REQUEST"], "{media_type}");
    }

    let not_graphql = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"nothing\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_graphql.status(), StatusCode::BAD_REQUEST);
    let body: Value = not_graphql.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_REQUEST"]);

    let padding = " ".repeat(4096);
    let big = app
        .post(
            Some(&token),
            &json!({ "query": format!("{{ me {{ sub }} }}{padding}") }),
        )
        .await;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = big.json().await.unwrap();
    assert_eq!(error_codes(&body), ["PAYLOAD_TOO_LARGE"]);
}

#[tokio::test]
async fn each_limit_has_its_own_code() {
    let app = spawn_app_with(AppOptions {
        settings: configure(|settings| {
            settings.limits.max_depth = 3;
            settings.limits.max_introspection_depth = 4;
            settings.limits.max_complexity = 8;
            settings.limits.max_aliases = 2;
            settings.limits.max_batch = 2;
        }),
        hydrate: true,
        ..AppOptions::default()
    })
    .await;
    let token = app.token(&["viewer"]);
    let code_of = |body: Value| error_codes(&body);

    let (_, body) = app
        .query(Some(&token), "{ accessPolicy { rules { requires } } }")
        .await;
    assert!(body.get("errors").is_none(), "depth 3 is allowed: {body}");
    let (_, body) = app
        .query(Some(&token), "{ projects { edges { node { id } } } }")
        .await;
    assert_eq!(code_of(body), ["QUERY_TOO_DEEP"]);
    let (_, body) = app
        .query(
            Some(&token),
            "{ __schema { types { fields { type { name } } } } }",
        )
        .await;
    assert_eq!(code_of(body), ["QUERY_TOO_DEEP"]);

    let (_, body) = app
        .query(
            Some(&token),
            "{ me { sub username groups roles scopes clientId expiresAt tenant } }",
        )
        .await;
    assert_eq!(code_of(body), ["QUERY_TOO_COMPLEX"]);

    let (_, body) = app
        .query(
            Some(&token),
            "{ a: me { sub } b: me { sub } c: me { sub } }",
        )
        .await;
    assert_eq!(code_of(body), ["TOO_MANY_ALIASES"]);
    let (_, body) = app
        .query(Some(&token), "{ a: me { sub } b: me { sub } }")
        .await;
    assert!(
        body.get("errors").is_none(),
        "two aliases are allowed: {body}"
    );

    let one = json!({ "query": "{ me { sub } }" });
    let response = app
        .post(Some(&token), &json!([one.clone(), one.clone(), one]))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code_of(response.json().await.unwrap()), ["BATCH_TOO_LARGE"]);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let given = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "req-123");
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    // Also on refusals.
    let refused = app.post(None, &json!({"query": "{ me { sub } }"})).await;
    assert!(refused.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let preflight = |app: &crate::helpers::TestApp| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header(header::ORIGIN, "https://app.example.com")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            )
            .send()
    };
    let closed = spawn_app().await;
    let response = preflight(&closed).await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    let open = spawn_app_with(AppOptions {
        settings: configure(|settings| {
            settings.cors_origins = vec!["https://app.example.com".to_owned()];
        }),
        hydrate: true,
        ..AppOptions::default()
    })
    .await;
    let response = preflight(&open).await.unwrap();
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let other = open
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/graphql", open.address),
        )
        .header(header::ORIGIN, "https://evil.example.com")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .send()
        .await
        .unwrap();
    assert!(
        !other
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

/// Every `/graphql` answer, served or refused, tells caches not to keep it (it is one caller's
/// data) and browsers not to sniff its type.
#[tokio::test]
async fn graphql_answers_are_never_cached_or_sniffed() {
    let app = spawn_app().await;
    let token = app.token(&["viewer"]);
    let url = format!("{}/graphql", app.address);
    let answers = [
        (
            "POST 200",
            app.post(Some(&token), &json!({"query": "{ me { sub } }"}))
                .await,
        ),
        (
            "POST 401",
            app.post(None, &json!({"query": "{ me { sub } }"})).await,
        ),
        (
            "POST 401 invalid",
            app.post(Some("garbage"), &json!({"query": "{ me { sub } }"}))
                .await,
        ),
        (
            "GET 200",
            app.client
                .get(&url)
                .query(&[("query", "{ me { sub } }")])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        ),
        (
            "GET 405",
            app.client
                .get(&url)
                .query(&[("query", "mutation { refreshSigningKeys { loaded } }")])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        ),
        (
            "POST 415",
            app.client
                .post(&url)
                .bearer_auth(&token)
                .body("{}")
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (what, response) in answers {
        let headers = response.headers();
        assert_eq!(
            headers
                .get(header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{what}: {headers:?}"
        );
        assert_eq!(
            headers
                .get(header::X_CONTENT_TYPE_OPTIONS)
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{what}: {headers:?}"
        );
    }
}

/// The GraphiQL page (which may carry a pre-filled token in development) cannot be framed,
/// cannot have its base URL or form targets changed, and is never cached.
#[tokio::test]
async fn the_graphiql_page_cannot_be_framed() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for directive in [
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "object-src 'none'",
        "script-src 'self'",
    ] {
        assert!(directives.contains(&directive), "{directive} not in {csp}");
    }
}
