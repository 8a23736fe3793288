//! Tokens the emulator really signed that cognigraph must still refuse: an ID token, a token of
//! another app client, a token of another user pool.

use cognigraph_cognito::{SignIn, UserPool as _};
use cognigraph_tests::{App, PASSWORD, Pool};
use serde_json::json;

use crate::support::{assert_refused, data, jwt_claims, jwt_header, signed_in};

#[tokio::test]
async fn an_id_token_is_refused() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    let tokens = signed_in(&pool, "holder", &["viewer"], Some("acme")).await;
    assert_eq!(jwt_claims(&tokens.id_token)["token_use"], "id");

    assert_refused(&app, &tokens.id_token, "invalid_token_use").await;
    // The same sign-in's access token is fine.
    let me = data(&app, &tokens.access_token, "{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "holder");
}

#[tokio::test]
async fn a_token_for_another_app_client_is_refused() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    pool.user("roamer", &["viewer"], Some("acme")).await;
    let other_client = pool
        .api
        .create_user_pool_client(pool.admin.pool_id(), "another-app")
        .await
        .expect("CreateUserPoolClient");
    assert_ne!(other_client, pool.client_id);
    let foreign = pool
        .api
        .sign_in(&other_client, "roamer", PASSWORD)
        .await
        .and_then(SignIn::into_tokens)
        .expect("InitiateAuth");
    let claims = jwt_claims(&foreign.access_token);
    assert_eq!(claims["client_id"], other_client.as_str());
    assert_eq!(claims["token_use"], "access");

    assert_refused(&app, &foreign.access_token, "invalid_client").await;
    let own = pool.sign_in("roamer").await;
    let me = data(&app, &own.access_token, "{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "roamer");
}

#[tokio::test]
async fn a_token_of_another_user_pool_is_refused() {
    let pool = Pool::create().await;
    let other = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    let own = signed_in(&pool, "twin", &["admin"], Some("acme")).await;
    let foreign = signed_in(&other, "twin", &["admin"], Some("acme")).await;
    // moto signs every pool with one key: only the issuer tells the pools apart.
    assert_eq!(
        jwt_header(&foreign.access_token),
        jwt_header(&own.access_token)
    );
    assert_ne!(
        jwt_claims(&foreign.access_token)["iss"],
        jwt_claims(&own.access_token)["iss"]
    );

    assert_refused(&app, &foreign.access_token, "invalid_issuer").await;
    let me = data(&app, &own.access_token, "{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "twin");
}
