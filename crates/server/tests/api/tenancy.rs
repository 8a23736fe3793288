//! Tenant resolution: the claim, Cognito's GetUser (an in-memory user pool standing in for
//! Cognito here; the emulator suite uses the real API), its cache, and what GetUser's refusals
//! and failures become.

use std::sync::Arc;

use cognigraph_cognito::{Action, CognitoError, fake::FakeUserPool};
use serde_json::{Value, json};

use cognigraph_server::tenancy::{RevocationCheck, TenantSource};

use crate::helpers::{
    CapturedLogs, TestApp, assert_no_token_in, error_codes, spawn_app_configured,
};

/// What the user pool answers for an access token.
enum Answer {
    /// The user `alice` with these attributes.
    Attributes(Vec<(&'static str, &'static str)>),
    /// Signed out: NotAuthorizedException.
    Revoked,
    /// HTTP 500.
    Broken,
}

/// The test app's in-memory user pool, scripted per token; GetUser calls counted.
struct ScriptedPool(Arc<FakeUserPool>);

impl ScriptedPool {
    fn set(&self, token: &str, answer: Answer) {
        let pool = &self.0;
        match answer {
            Answer::Attributes(attributes) => {
                pool.add_user("alice", &attributes);
                pool.accept_token(token, "alice");
            }
            Answer::Revoked => pool.revoke_token(token),
            Answer::Broken => {
                pool.fail_token(token, || CognitoError::unavailable("HTTP 500 from Cognito"));
            }
        }
    }

    fn calls(&self) -> usize {
        self.0.calls(Action::GetUser)
    }
}

async fn app_with_pool(source: TenantSource, cache_secs: u64) -> (TestApp, ScriptedPool) {
    let app = spawn_app_configured(move |settings| {
        settings.tenant_source = source;
        settings.userinfo_cache_secs = cache_secs;
    })
    .await;
    let cognito = ScriptedPool(app.user_pool.clone());
    (app, cognito)
}

const ME: &str = "{ me { tenant username } }";

#[tokio::test]
async fn the_claim_source_reads_custom_tenant_and_never_calls_cognito() {
    let (app, cognito) = app_with_pool(TenantSource::Claim, 60).await;
    let token = app.token_with(&["viewer"], json!({"custom:tenant": "acme"}));
    let (_, body) = app.query(Some(&token), ME).await;
    assert_eq!(body["data"]["me"]["tenant"], "acme");
    let without = app.token(&["viewer"]);
    let (_, body) = app.query(Some(&without), ME).await;
    assert_eq!(body["data"]["me"]["tenant"], Value::Null);
    let invalid = app.token_with(&["viewer"], json!({"custom:tenant": "acme corp"}));
    let (status, body) = app.query(Some(&invalid), ME).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["me"]["tenant"],
        Value::Null,
        "refused, not cleaned up"
    );
    assert_eq!(cognito.calls(), 0);
}

#[tokio::test]
async fn userinfo_answers_are_cached_per_token() {
    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 60).await;
    let token = app.token(&["viewer"]);
    cognito.set(
        &token,
        Answer::Attributes(vec![
            ("custom:tenant", "globex"),
            ("email", "a@example.com"),
        ]),
    );
    for _ in 0..3 {
        let (_, body) = app.query(Some(&token), ME).await;
        assert_eq!(body["data"]["me"]["tenant"], "globex");
    }
    assert_eq!(cognito.calls(), 1, "one GetUser for three requests");
    let claimed = app.token_with(&["viewer"], json!({"custom:tenant": "acme"}));
    cognito.set(
        &claimed,
        Answer::Attributes(vec![("custom:tenant", "globex")]),
    );
    let (_, body) = app.query(Some(&claimed), ME).await;
    assert_eq!(
        body["data"]["me"]["tenant"], "globex",
        "userinfo ignores the claim"
    );
}

#[tokio::test]
async fn auto_prefers_the_claim_and_falls_back_to_userinfo() {
    let (app, cognito) = app_with_pool(TenantSource::Auto, 60).await;
    let claimed = app.token_with(&["viewer"], json!({"custom:tenant": "acme"}));
    let (_, body) = app.query(Some(&claimed), ME).await;
    assert_eq!(body["data"]["me"]["tenant"], "acme");
    assert_eq!(cognito.calls(), 0);
    let plain = app.token(&["viewer"]);
    cognito.set(
        &plain,
        Answer::Attributes(vec![("custom:tenant", "globex")]),
    );
    let (_, body) = app.query(Some(&plain), ME).await;
    assert_eq!(body["data"]["me"]["tenant"], "globex");
    assert_eq!(cognito.calls(), 1);
}

#[tokio::test]
async fn a_revoked_token_is_refused_once_the_cache_lets_go() {
    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 0).await;
    let token = app.token(&["viewer"]);
    cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
    let (status, _) = app.query(Some(&token), ME).await;
    assert_eq!(status, 200);
    cognito.set(&token, Answer::Revoked); // the user signed out everywhere
    assert_refused(app.post_query(Some(&token), ME).await, "token_revoked").await;
    assert_eq!(cognito.calls(), 2, "cache time 0: asked on every request");
}

#[tokio::test]
async fn cognito_unreachable_is_503_not_401() {
    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 60).await;
    let token = app.token(&["viewer"]);
    cognito.set(&token, Answer::Broken);
    // Only the fields that need the tenant fail; `me.username` is served.
    let (status, body) = app.query(Some(&token), ME).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["username"], "alice", "{body}");
    assert_eq!(body["data"]["me"]["tenant"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["me", "tenant"]), "{body}");
    assert_eq!(error_codes(&body), ["SERVICE_UNAVAILABLE"]);
    // Nothing else to serve: the whole response is a 503.
    assert_unavailable(app.post_query(Some(&token), PROJECTS).await).await;
}

#[tokio::test]
async fn requests_that_need_no_tenant_never_ask_cognito_nor_the_database() {
    let (app, cognito) = app_with_pool(TenantSource::Auto, 0).await;
    let token = app.token(&["viewer"]); // no custom:tenant claim: auto would ask GetUser
    cognito.set(&token, Answer::Broken); // and Cognito is down
    let statements = app.db.statement_count();
    for query in [
        "{ me { username sub groups roles scopes } }",
        "{ __typename }",
        "{ accessPolicy { field } }",
        "{ __schema { queryType { name } } }",
    ] {
        let (status, body) = app.query(Some(&token), query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert!(body.get("errors").is_none(), "{query}: {body}");
    }
    assert_eq!(cognito.calls(), 0, "GetUser was called");
    assert_eq!(
        app.db.statement_count(),
        statements,
        "the database was used"
    );
}

#[tokio::test]
async fn the_tenant_is_looked_up_once_per_request_when_first_needed() {
    let (app, cognito) = app_with_pool(TenantSource::Auto, 0).await;
    let token = app.token(&["viewer"]);
    cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
    let query = "{ me { tenant } a: projects { totalCount } b: tasks { totalCount } }";
    let (status, body) = app.query(Some(&token), query).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["me"]["tenant"], "acme");
    assert_eq!(
        cognito.calls(),
        1,
        "one GetUser for three fields that need the tenant"
    );
}

#[tokio::test]
async fn a_tenant_lookup_failure_fails_only_the_fields_that_need_it() {
    let (app, cognito) = app_with_pool(TenantSource::Auto, 60).await;
    let token = app.token(&["viewer"]);
    cognito.set(&token, Answer::Broken);
    let (status, body) = app
        .query(Some(&token), "{ me { username } projects { totalCount } }")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({ "me": { "username": "alice" }, "projects": null })
    );
    assert_eq!(error_codes(&body), ["SERVICE_UNAVAILABLE"]);
    assert_eq!(body["errors"][0]["path"], json!(["projects"]));
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "identity_provider_unavailable"
    );
}

#[tokio::test]
async fn the_revocation_check_asks_cognito_on_every_request_when_on() {
    let app = spawn_app_configured(|settings| {
        settings.userinfo_cache_secs = 0;
        settings.revocation_check = RevocationCheck::Getuser;
    })
    .await;
    let cognito = ScriptedPool(app.user_pool.clone());
    // The tenant comes from the claim (the test apps' default source), yet GetUser is asked.
    let token = app.token_with(&["viewer"], json!({"custom:tenant": "acme"}));
    cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
    let (status, _) = app.query(Some(&token), "{ me { username } }").await;
    assert_eq!(status, 200);
    assert_eq!(cognito.calls(), 1);
    cognito.set(&token, Answer::Revoked);
    let response = app.post_query(Some(&token), "{ me { username } }").await;
    assert_refused(response, "token_revoked").await;

    // Off (the default): the same revoked token is trusted until it expires.
    let (default_app, default_cognito) = app_with_pool(TenantSource::Claim, 0).await;
    let token = default_app.token_with(&["viewer"], json!({"custom:tenant": "acme"}));
    default_cognito.set(&token, Answer::Revoked);
    let (status, _) = default_app.query(Some(&token), "{ me { username } }").await;
    assert_eq!(status, 200);
    assert_eq!(default_cognito.calls(), 0);
}

/// Asserts that `response` is the refusal of a token: 401, the Bearer challenge and the body
/// naming `reason`.
async fn assert_refused(response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), 401, "{reason}");
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="cognigraph", error="invalid_token", error_description="{reason}""#
        )
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "errors": [{
            "message": "invalid token",
            "extensions": { "code": "UNAUTHENTICATED", "reason": reason },
        }] })
    );
}

/// Asserts that `response` is a 503 with Retry-After, reason `identity_provider_unavailable`.
async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "10");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["SERVICE_UNAVAILABLE"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "identity_provider_unavailable"
    );
}

const PROJECTS: &str = "{ projects { totalCount } }";

#[tokio::test]
async fn each_getuser_refusal_is_a_401_with_its_own_reason() {
    type MakeError = fn() -> CognitoError;
    let cases: [(MakeError, &str); 4] = [
        (CognitoError::revoked, "token_revoked"),
        (|| CognitoError::UserNotFound, "user_not_found"),
        (
            || CognitoError::PasswordResetRequired,
            "password_reset_required",
        ),
        (|| CognitoError::UserNotConfirmed, "user_not_confirmed"),
    ];
    for (error, reason) in cases {
        // Through a tenant lookup...
        let (app, cognito) = app_with_pool(TenantSource::Userinfo, 60).await;
        let token = app.token(&["viewer"]);
        cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
        cognito.0.fail_token(&token, error);
        let response = app.post_query(Some(&token), PROJECTS).await;
        assert_refused(response, reason).await;
        // ...and through the revocation check.
        let checked =
            spawn_app_configured(|settings| settings.revocation_check = RevocationCheck::Getuser)
                .await;
        let token = checked.token_with(&["viewer"], json!({"custom:tenant": "acme"}));
        checked.user_pool.fail_token(&token, error);
        let response = checked
            .post_query(Some(&token), "{ me { username } }")
            .await;
        assert_refused(response, reason).await;
    }
}

#[tokio::test]
async fn a_deleted_user_is_401_user_not_found_not_503() {
    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 0).await;
    let token = app.token(&["viewer"]);
    cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
    let (status, _) = app.query(Some(&token), PROJECTS).await;
    assert_eq!(status, 200);
    app.user_pool.delete_user("alice");
    let response = app.post_query(Some(&token), PROJECTS).await;
    assert_refused(response, "user_not_found").await;
}

#[tokio::test]
async fn throttling_and_outages_are_503_with_retry_after() {
    type MakeError = fn() -> CognitoError;
    let cases: [MakeError; 2] = [
        || CognitoError::throttled("TooManyRequestsException"),
        || CognitoError::unavailable("operation timed out"),
    ];
    for error in cases {
        let (app, cognito) = app_with_pool(TenantSource::Userinfo, 60).await;
        let token = app.token(&["viewer"]);
        cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
        app.user_pool.fail_every_call(error);
        let response = app.post_query(Some(&token), PROJECTS).await;
        assert_unavailable(response).await;
    }
}

#[tokio::test]
async fn a_revoked_token_replayed_100_times_costs_one_getuser() {
    // Cache time 0, the setting that asks Cognito most: a refusal is kept all the same.
    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 0).await;
    let token = app.token(&["viewer"]);
    cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
    cognito.set(&token, Answer::Revoked);
    for _ in 0..100 {
        let response = app.post_query(Some(&token), PROJECTS).await;
        assert_refused(response, "token_revoked").await;
    }
    assert_eq!(cognito.calls(), 1, "one GetUser for 100 replays");
    // Another token of the same user is asked about on its own.
    let other = app.token(&["viewer"]);
    cognito.set(&other, Answer::Attributes(vec![("custom:tenant", "acme")]));
    let (status, body) = app.query(Some(&other), PROJECTS).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cognito.calls(), 2);
}

#[tokio::test]
async fn a_failing_cognito_is_not_asked_once_per_request() {
    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 0).await;
    app.user_pool
        .fail_every_call(|| CognitoError::throttled("TooManyRequestsException"));
    // A storm of requests, each with a token of its own (no cache can help).
    for _ in 0..100 {
        let token = app.token(&["viewer"]);
        cognito.set(&token, Answer::Attributes(vec![("custom:tenant", "acme")]));
        let response = app.post_query(Some(&token), PROJECTS).await;
        assert_unavailable(response).await;
    }
    assert_eq!(
        cognito.calls(),
        1,
        "one GetUser per cool-down, not one per request"
    );
}

#[tokio::test]
async fn tokens_and_getuser_answers_never_reach_the_logs() {
    // The test runs on one thread: the capture sees all the service logs.
    let logs = CapturedLogs::default();
    let _capturing = logs.capture();

    let (app, cognito) = app_with_pool(TenantSource::Userinfo, 0).await;
    let token = app.token(&["admin"]);
    cognito.set(
        &token,
        Answer::Attributes(vec![
            ("custom:tenant", "acme"),
            ("email", "secret-address@example.com"),
        ]),
    );
    let (status, body) = app
        .query(
            Some(&token),
            "{ me { tenant } members { nodes { email } } }",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["members"]["nodes"][0]["email"],
        "secret-address@example.com"
    );
    // A refused token (bad signature), a revoked one, and one Cognito cannot answer for.
    let forged = format!("{}x", &token[..token.len() - 1]);
    app.query(Some(&forged), "{ me { sub } }").await;
    let revoked = app.token(&["viewer"]);
    cognito.set(&revoked, Answer::Revoked);
    app.query(Some(&revoked), "{ projects { totalCount } }")
        .await;
    let broken = app.token(&["editor"]);
    cognito.set(&broken, Answer::Broken);
    app.query(Some(&broken), "{ projects { totalCount } }")
        .await;

    let logs = logs.text();
    assert!(logs.contains("token revoked"), "the capture works: {logs}");
    assert_no_token_in(&logs, [&token, &forged, &revoked, &broken]);
    assert!(
        !logs.contains("secret-address@example.com"),
        "a GetUser answer is in the logs"
    );
}
