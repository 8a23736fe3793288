//! Sessions at the emulator: a refreshed access token is accepted; after GlobalSignOut the old
//! access token is not (every request with `REVOCATION_CHECK=getuser`; without it, requests that
//! look the tenant up in Cognito).

use cognigraph_server::tenancy::RevocationCheck;
use cognigraph_tests::{App, Pool};
use serde_json::json;

use crate::support::{assert_refused, data, jwt_claims, post, signed_in};

#[tokio::test]
async fn a_refreshed_access_token_is_accepted() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    let first = signed_in(&pool, "returning", &["viewer"], Some("acme")).await;
    let refresh_token = first.refresh_token.as_deref().expect("a refresh token");

    let refreshed = pool
        .api
        .refresh(&pool.client_id, refresh_token)
        .await
        .expect("REFRESH_TOKEN_AUTH");
    assert_ne!(refreshed.access_token, first.access_token);
    let (old, new) = (
        jwt_claims(&first.access_token),
        jwt_claims(&refreshed.access_token),
    );
    assert_ne!(new["jti"], old["jti"], "a new token, not the old one again");
    assert_eq!(new["token_use"], "access");

    let query = "{ me { sub username tenant } projects { totalCount } }";
    let seen = data(&app, &refreshed.access_token, query, json!({})).await;
    assert_eq!(
        seen,
        json!({
            "me": {"sub": old["sub"], "username": "returning", "tenant": "acme"},
            "projects": {"totalCount": 0},
        })
    );
}

#[tokio::test]
async fn after_global_sign_out_the_old_access_token_is_refused() {
    let pool = Pool::create().await;
    // Userinfo cache 0: every request asks GetUser, so the revocation shows at once.
    let app = App::start(&pool, 0, |settings| {
        settings.revocation_check = RevocationCheck::Getuser;
    })
    .await;
    let old = signed_in(&pool, "leaver", &["viewer"], Some("acme")).await;
    let me = "{ me { username tenant } }";
    let before = data(&app, &old.access_token, me, json!({})).await;
    assert_eq!(
        before["me"],
        json!({"username": "leaver", "tenant": "acme"})
    );

    pool.api
        .global_sign_out(&old.access_token)
        .await
        .expect("GlobalSignOut");

    assert_refused(&app, &old.access_token, "token_revoked").await;
    // The user is not locked out: a new sign-in works.
    let again = pool.sign_in("leaver").await;
    let after = data(&app, &again.access_token, me, json!({})).await;
    assert_eq!(after["me"], json!({"username": "leaver", "tenant": "acme"}));
}

#[tokio::test]
async fn without_the_revocation_check_a_tenant_lookup_still_notices_a_sign_out() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 0, |_| {}).await; // REVOCATION_CHECK=off, the default
    let old = signed_in(&pool, "leaver", &["viewer"], Some("acme")).await;
    pool.api
        .global_sign_out(&old.access_token)
        .await
        .expect("GlobalSignOut");
    // A verified token is trusted until it expires for what needs no tenant...
    let me = data(&app, &old.access_token, "{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "leaver");
    // ...but a request whose tenant comes from GetUser learns of the revocation: 401.
    let answer = post(
        &app,
        &old.access_token,
        "{ me { username } projects { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["reason"],
        "token_revoked"
    );
}
