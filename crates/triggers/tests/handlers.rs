//! Each trigger with events shaped as Cognito sends them (`tests/fixtures`, after the shapes of
//! `aws_lambda_events`' own fixtures), through the one dispatching entry point the Lambda runs:
//! retries, malformed events, and what Cognito reads back.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first surprise"
)]

use std::sync::Arc;

use cognigraph_cognito::{UserPool as _, fake::FakeUserPool};
use cognigraph_domain::{Db, PageRequest, Role, TenantId, audit, members};
use cognigraph_triggers::{
    PoolAccess, SignUpPolicy, TriggerError, TriggerSettings, Triggers,
    post_confirmation::founded_tenant,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn settings(database_url: Option<String>) -> TriggerSettings {
    TriggerSettings {
        sign_up: SignUpPolicy::parse("acme.example", "closed.example").unwrap(),
        admin_group: "admin".to_owned(),
        database_url,
    }
}

/// A migrated SQLite database of the test's own.
async fn database() -> (tempfile::TempDir, String, Db) {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", folder.path().join("t.db").display());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    (folder, url, db)
}

fn triggers(settings: TriggerSettings, pool: &Arc<FakeUserPool>) -> Triggers {
    Triggers::new(settings, PoolAccess::Fixed(pool.clone()))
}

#[tokio::test]
async fn pre_sign_up_confirms_configured_domains_and_refuses_closed_ones() {
    let pool = Arc::new(FakeUserPool::default());
    let triggers = triggers(settings(None), &pool);
    let event = fixture("pre-sign-up");
    let answer = triggers.handle(event.clone()).await.unwrap();
    assert_eq!(
        answer["response"],
        json!({"autoConfirmUser": true, "autoVerifyEmail": true, "autoVerifyPhone": false})
    );
    assert_eq!(
        answer["request"], event["request"],
        "the request goes back as it came"
    );

    let mut other = event.clone();
    other["request"]["userAttributes"]["email"] = json!("bo@elsewhere.example");
    let answer = triggers.handle(other).await.unwrap();
    assert_eq!(
        answer["response"]["autoConfirmUser"], false,
        "a code by email, as usual"
    );

    let mut closed = event.clone();
    closed["request"]["userAttributes"]["email"] = json!("eve@Closed.Example");
    let refused = triggers.handle(closed.clone()).await.unwrap_err();
    assert!(matches!(refused, TriggerError::Refused(_)), "{refused:?}");
    let shown = lambda_runtime::Diagnostic::from(refused);
    assert_eq!(
        shown.error_message,
        "Sign-ups with closed.example addresses are closed; ask your administrator for an invitation."
    );
    // Federated first sign-ins obey the closed list too; an admin's invitation does not.
    closed["triggerSource"] = json!("PreSignUp_ExternalProvider");
    assert!(triggers.handle(closed.clone()).await.is_err());
    closed["triggerSource"] = json!("PreSignUp_AdminCreateUser");
    let invited = triggers.handle(closed).await.unwrap();
    assert_eq!(invited["response"]["autoConfirmUser"], false);
}

#[tokio::test]
async fn pre_token_generation_adds_the_tenant_to_the_access_token_and_keeps_the_groups() {
    let pool = Arc::new(FakeUserPool::default());
    let triggers = triggers(settings(None), &pool);
    let event = fixture("pre-token-generation-v2");
    let answer = triggers.handle(event.clone()).await.unwrap();
    let details = &answer["response"]["claimsAndScopeOverrideDetails"];
    assert_eq!(
        details["accessTokenGeneration"]["claimsToAddOrOverride"],
        json!({"custom:tenant": "acme"})
    );
    assert_eq!(
        details["accessTokenGeneration"]["claimsToSuppress"],
        json!([])
    );
    assert_eq!(
        details["groupOverrideDetails"]["groupsToOverride"],
        json!(["admin", "beta-testers"]),
        "cognito:groups stays as Cognito made it"
    );
    assert_eq!(
        details["idTokenGeneration"],
        Value::Null,
        "the ID token is left alone"
    );

    // No tenant: no claim, and the groups still kept.
    let mut untenanted = event.clone();
    untenanted["request"]["userAttributes"]
        .as_object_mut()
        .unwrap()
        .remove("custom:tenant");
    let answer = triggers.handle(untenanted).await.unwrap();
    let details = &answer["response"]["claimsAndScopeOverrideDetails"];
    assert_eq!(details["accessTokenGeneration"], Value::Null);
    assert_eq!(
        details["groupOverrideDetails"]["groupsToOverride"],
        json!(["admin", "beta-testers"])
    );
    // A null group configuration (a user in no group) stays empty.
    let mut groupless = event;
    groupless["request"]["groupConfiguration"] = Value::Null;
    let answer = triggers.handle(groupless).await.unwrap();
    assert_eq!(
        answer["response"]["claimsAndScopeOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"],
        json!([])
    );
}

#[tokio::test]
async fn post_confirmation_founds_a_tenant_once_however_often_it_runs() {
    let (_folder, url, db) = database().await;
    let pool = Arc::new(FakeUserPool::default());
    let sub = "7b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
    pool.add_user("ann", &[("sub", sub), ("email", "ann@acme.example")]);
    let triggers = triggers(settings(Some(url)), &pool);
    let event = fixture("post-confirmation");
    let answer = triggers.handle(event.clone()).await.unwrap();
    assert_eq!(answer, event, "Cognito gets its event back");

    let tenant = founded_tenant(sub);
    let user = pool.admin_get_user("ann").await.unwrap();
    assert_eq!(user.tenant(), Some(tenant.as_str()));
    assert_eq!(pool.groups_of("ann"), ["admin"]);
    let scope = cognigraph_domain::Scope::for_tests(tenant.clone(), Role::Admin, uuid::Uuid::nil());
    let listed = members::page(&scope, &db, None, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let (_, founder) = &listed.items[0];
    assert_eq!(
        (founder.sub.as_str(), founder.role),
        (sub, Some(Role::Admin))
    );
    assert_eq!(founder.email.as_deref(), Some("ann@acme.example"));

    // Cognito retries (a timeout, say): the event it resends now carries the tenant.
    let mut retried = event.clone();
    retried["request"]["userAttributes"]["custom:tenant"] = json!(tenant.as_str());
    let calls = pool.total_calls();
    triggers.handle(retried).await.unwrap();
    triggers.handle(event.clone()).await.unwrap();
    assert_eq!(pool.groups_of("ann"), ["admin"]);
    assert_eq!(
        pool.admin_get_user("ann").await.unwrap().tenant(),
        Some(tenant.as_str()),
        "the same tenant"
    );
    let listed = members::page(&scope, &db, None, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "one member");
    let events = audit::list(&scope, &db, PageRequest::first(10))
        .await
        .unwrap();
    let joined = events
        .items
        .iter()
        .filter(|(_, e)| e.action == "member.joined")
        .count();
    assert_eq!(joined, 1);
    assert!(
        pool.total_calls() > calls,
        "the retries did ask Cognito (idempotent calls)"
    );
}

#[tokio::test]
async fn post_confirmation_leaves_password_resets_and_users_with_a_tenant_alone() {
    let (_folder, url, db) = database().await;
    let pool = Arc::new(FakeUserPool::default());
    pool.add_user("ann", &[("sub", "7b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")]);
    let triggers = triggers(settings(Some(url)), &pool);
    let mut reset = fixture("post-confirmation");
    reset["triggerSource"] = json!("PostConfirmation_ConfirmForgotPassword");
    triggers.handle(reset).await.unwrap();
    let mut tenanted = fixture("post-confirmation");
    tenanted["request"]["userAttributes"]["custom:tenant"] = json!("acme");
    triggers.handle(tenanted).await.unwrap();
    assert_eq!(pool.total_calls(), 0, "Cognito untouched");
    assert!(pool.groups_of("ann").is_empty(), "no one became an admin");
    let acme = cognigraph_domain::Scope::for_tests(
        TenantId::parse("acme").unwrap(),
        Role::Admin,
        uuid::Uuid::nil(),
    );
    let listed = members::page(&acme, &db, None, PageRequest::first(10))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn failures_and_malformed_events_are_errors_cognito_can_retry_or_report() {
    let pool = Arc::new(FakeUserPool::default());
    // No database configured: post confirmation says what is missing.
    let unconfigured = triggers(settings(None), &pool);
    let error = unconfigured
        .handle(fixture("post-confirmation"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TriggerError::Misconfigured("DATABASE_URL")),
        "{error:?}"
    );

    let (_folder, url, _db) = database().await;
    let triggers = triggers(settings(Some(url)), &pool);
    // Cognito failing: an error (Cognito retries the trigger), not a half-founded tenant.
    pool.add_user("ann", &[("sub", "7b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")]);
    pool.fail_every_call(|| cognigraph_cognito::CognitoError::throttled("slow down"));
    let error = triggers
        .handle(fixture("post-confirmation"))
        .await
        .unwrap_err();
    assert!(matches!(error, TriggerError::Cognito(_)), "{error:?}");
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_message,
        "the user pool could not be updated; try again"
    );
    pool.clear_failures();

    for malformed in [
        json!({}),
        json!({"triggerSource": "CustomMessage_SignUp"}),
        json!({"triggerSource": 7}),
        json!({"triggerSource": "PreSignUp_SignUp", "request": "not an object"}),
        json!({"triggerSource": "TokenGeneration_Authentication", "request": {}}),
        json!({"triggerSource": "PostConfirmation_ConfirmSignUp", "userName": "ann", "callerContext": {}, "request": {"userAttributes": {}}, "response": {}}),
    ] {
        let error = triggers.handle(malformed.clone()).await.unwrap_err();
        assert!(
            matches!(error, TriggerError::UnexpectedEvent(_)),
            "{malformed}: {error:?}"
        );
    }
}
