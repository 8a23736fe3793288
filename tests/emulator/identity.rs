//! `me` against the emulator's own claims: what cognigraph reports is what moto signed.

use cognigraph_cognito::UserPool as _;
use cognigraph_tests::{App, Pool};
use serde_json::{Value, json};

use crate::support::{data, jwt_claims, rfc3339, signed_in};

/// A JSON array of strings, sorted (for claims that are sets).
fn sorted(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = serde_json::from_value(value.clone()).expect("strings");
    items.sort();
    items
}

#[tokio::test]
async fn me_reports_the_emulators_claims_and_the_users_tenant() {
    let pool = Pool::create().await;
    // A group that grants no role is still reported among the groups.
    pool.api
        .create_group(pool.admin.pool_id(), "beta-testers")
        .await
        .expect("CreateGroup");
    let tokens = signed_in(
        &pool,
        "claimant",
        &["editor", "viewer", "beta-testers"],
        Some("acme"),
    )
    .await;
    let app = App::start(&pool, 60, |_| {}).await;

    let claims = jwt_claims(&tokens.access_token);
    assert_eq!(claims["token_use"], "access");
    assert_eq!(
        claims["iss"],
        format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{}",
            pool.pool_id
        )
    );
    assert_eq!(
        claims.get("custom:tenant"),
        None,
        "moto's access tokens carry no tenant"
    );
    // The tenant is the user's attribute (which the ID token shows).
    let id_claims = jwt_claims(&tokens.id_token);
    assert_eq!(id_claims["custom:tenant"], "acme");

    let me = data(
        &app,
        &tokens.access_token,
        "{ me { sub username groups roles scopes clientId expiresAt tenant } }",
        json!({}),
    )
    .await["me"]
        .clone();

    assert_eq!(me["sub"], claims["sub"]);
    assert_eq!(me["username"], claims["username"]);
    assert_eq!(me["username"], "claimant");
    assert_eq!(me["clientId"], claims["client_id"]);
    assert_eq!(me["clientId"], pool.client_id.as_str());
    assert_eq!(sorted(&me["groups"]), sorted(&claims["cognito:groups"]));
    assert_eq!(sorted(&me["groups"]), ["beta-testers", "editor", "viewer"]);
    assert_eq!(me["roles"], json!(["EDITOR", "VIEWER"]));
    let mut scopes: Vec<String> = claims["scope"]
        .as_str()
        .expect("a scope claim")
        .split(' ')
        .map(str::to_owned)
        .collect();
    scopes.sort();
    assert_eq!(sorted(&me["scopes"]), scopes);
    assert_eq!(scopes, ["aws.cognito.signin.user.admin"]);
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(me["expiresAt"], rfc3339(exp));
    assert_eq!(me["tenant"], id_claims["custom:tenant"]);
}
