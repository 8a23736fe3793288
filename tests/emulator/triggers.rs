//! The post-confirmation trigger against the emulator. moto stores trigger settings but never
//! invokes them, so the test does what Cognito would: a user signs up and confirms in moto, the
//! handler gets the event Cognito would send, and then moto's user, their groups, the member row
//! and the service itself are checked.

use cognigraph_cognito::{Attribute, ClientSettings, CognitoClient, UserPool as _};
use cognigraph_tests::{App, PASSWORD, Pool, TestDatabase};
use cognigraph_triggers::{
    PoolAccess, SignUpPolicy, TriggerSettings, Triggers, post_confirmation::founded_tenant,
};
use serde_json::json;

use crate::support::data;

#[tokio::test]
async fn a_self_signed_up_user_founds_a_tenant_and_is_its_admin() {
    let pool = Pool::create().await;
    let database = TestDatabase::create().await;
    let database_url = database.url.clone();
    // The service first: it migrates the database the trigger writes to.
    let app = App::start_on(&pool, database, 60, |_| {}).await;

    let sub = pool
        .api
        .sign_up(
            &pool.client_id,
            "founder",
            PASSWORD,
            &[Attribute::new("email", "founder@startup.example")],
        )
        .await
        .expect("SignUp");
    pool.api
        .confirm_sign_up(&pool.client_id, "founder", "123456")
        .await
        .expect("ConfirmSignUp");
    let user = pool.admin.admin_get_user("founder").await.unwrap();
    assert_eq!(user.tenant(), None, "no tenant before the trigger");
    let attributes: serde_json::Map<String, serde_json::Value> = user
        .attributes()
        .iter()
        .map(|a| (a.name.clone(), json!(a.value)))
        .chain([("cognito:user_status".to_owned(), json!("CONFIRMED"))])
        .collect();
    let event = json!({
        "version": "1",
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "region": "us-east-1",
        "userPoolId": pool.pool_id,
        "userName": "founder",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": pool.client_id},
        "request": {"userAttributes": attributes},
        "response": {}
    });
    // The function as deployed: each event's pool through the SDK client.
    let triggers = Triggers::new(
        TriggerSettings {
            sign_up: SignUpPolicy::default(),
            admin_group: "admin".to_owned(),
            database_url: Some(database_url),
        },
        PoolAccess::Sdk(CognitoClient::new(&ClientSettings::emulator(&pool.emulator)).await),
    );
    let answer = triggers.handle(event.clone()).await.expect("the trigger");
    assert_eq!(answer, event);
    // Cognito retrying after a timeout changes nothing.
    triggers.handle(event).await.expect("the retried trigger");

    let tenant = founded_tenant(&sub);
    let user = pool.admin.admin_get_user("founder").await.unwrap();
    assert_eq!(user.tenant(), Some(tenant.as_str()));
    assert_eq!(
        pool.admin
            .admin_list_groups_for_user("founder")
            .await
            .unwrap(),
        ["admin"]
    );

    // The founder signs in (moto runs no pre-token trigger: the service asks GetUser for the
    // tenant) and is the admin of the new tenant, its only member.
    let token = pool.sign_in("founder").await.access_token;
    let seen = data(
        &app,
        &token,
        "{ me { tenant roles } members { totalCount nodes { username role status } } }",
        json!({}),
    )
    .await;
    assert_eq!(seen["me"]["tenant"], tenant.as_str(), "{seen}");
    assert_eq!(seen["me"]["roles"][0], "ADMIN");
    assert_eq!(seen["members"]["totalCount"], 1, "{seen}");
    assert_eq!(
        seen["members"]["nodes"][0],
        json!({"username": "founder", "role": "ADMIN", "status": "ACTIVE"})
    );
}
