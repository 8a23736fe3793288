//! Tenant user management against the emulator: an invited user signs in with the temporary
//! password, answers `NEW_PASSWORD_REQUIRED` and works in the right tenant and role; a role
//! change refuses the old refresh token; a disabled user cannot sign in; no admin reaches
//! another tenant's users.

use cognigraph_cognito::{CognitoError, SignIn, Tokens, UserPool as _};
use cognigraph_tests::{App, PASSWORD, Pool};
use serde_json::{Value, json};

use crate::support::{data, post, signed_in};

const MEMBER: &str = "id username role status version";

async fn app(pool: &Pool) -> App {
    App::start(pool, 60, |settings| settings.user_management = true).await
}

/// Invites `email` as `role` with `admin`'s token; returns the member.
async fn invite(app: &App, admin: &str, email: &str, role: &str) -> Value {
    let answer = data(
        app,
        admin,
        &format!(
            "mutation($email: String!) {{ inviteMember(input: {{email: $email, role: {role}}}) {{ {MEMBER} }} }}"
        ),
        json!({ "email": email }),
    )
    .await;
    answer["inviteMember"].clone()
}

/// What the invitation email carries, played by the test: a temporary password it knows
/// (moto sends no mail), then the first sign-in, the `NEW_PASSWORD_REQUIRED` challenge, and
/// the new password ([`PASSWORD`]).
async fn accept_invitation(pool: &Pool, email: &str) -> Tokens {
    let temporary = "Temporary-pass-1";
    pool.admin
        .admin_set_user_password(email, temporary, false)
        .await
        .expect("AdminSetUserPassword");
    let first = pool
        .api
        .sign_in(&pool.client_id, email, temporary)
        .await
        .expect("InitiateAuth");
    let SignIn::NewPasswordRequired { session } = first else {
        panic!("an invited user must choose a password first: {first:?}");
    };
    pool.api
        .respond_to_new_password_challenge(&pool.client_id, email, &session, PASSWORD)
        .await
        .and_then(SignIn::into_tokens)
        .expect("RespondToAuthChallenge")
}

async fn set_role(app: &App, admin: &str, id: &str, role: &str, version: i64) -> Value {
    post(
        app,
        admin,
        &format!(
            "mutation($id: ID!, $v: Int!) {{ setMemberRole(memberId: $id, role: {role}, expectedVersion: $v) {{ {MEMBER} }} }}"
        ),
        json!({ "id": id, "v": version }),
    )
    .await
    .body
}

async fn status_change(app: &App, admin: &str, mutation: &str, id: &str, version: i64) -> Value {
    post(
        app,
        admin,
        &format!(
            "mutation($id: ID!, $v: Int!) {{ {mutation}(memberId: $id, expectedVersion: $v) {{ {MEMBER} }} }}"
        ),
        json!({ "id": id, "v": version }),
    )
    .await
    .body
}

fn code(body: &Value) -> (&str, &str) {
    let extensions = &body["errors"][0]["extensions"];
    (
        extensions["code"].as_str().unwrap_or("(none)"),
        extensions["reason"].as_str().unwrap_or(""),
    )
}

async fn groups_of(pool: &Pool, username: &str) -> Vec<String> {
    pool.admin
        .admin_list_groups_for_user(username)
        .await
        .expect("AdminListGroupsForUser")
}

#[tokio::test]
async fn an_invited_user_signs_in_and_works_in_the_admins_tenant_and_role() {
    let pool = Pool::create().await;
    let app = app(&pool).await;
    let admin = signed_in(&pool, "acme-admin", &["admin"], Some("acme"))
        .await
        .access_token;
    let invited = invite(&app, &admin, "ann@example.com", "EDITOR").await;
    assert_eq!(invited["status"], "INVITED", "{invited}");
    assert_eq!(invited["role"], "EDITOR");
    let user = pool.admin.admin_get_user("ann@example.com").await.unwrap();
    assert_eq!(user.tenant(), Some("acme"));
    assert_eq!(groups_of(&pool, "ann@example.com").await, ["editor"]);

    let ann = accept_invitation(&pool, "ann@example.com")
        .await
        .access_token;
    let me = data(&app, &ann, "{ me { tenant roles } }", json!({})).await;
    assert_eq!(
        me["me"],
        json!({"tenant": "acme", "roles": ["EDITOR", "VIEWER"]})
    );
    let created = data(
        &app,
        &ann,
        "mutation { createProject(input: {name: \"Ann's\"}) { name } }",
        json!({}),
    )
    .await;
    assert_eq!(created["createProject"]["name"], "Ann's");
    let listed = data(
        &app,
        &admin,
        "{ members(status: ACTIVE) { nodes { username role status } } projects { nodes { name } } auditEvents { nodes { action } } }",
        json!({}),
    )
    .await;
    assert!(
        listed["members"]["nodes"].as_array().unwrap().contains(
            &json!({"username": "ann@example.com", "role": "EDITOR", "status": "ACTIVE"})
        ),
        "{listed}"
    );
    assert_eq!(listed["projects"]["nodes"], json!([{"name": "Ann's"}]));
    let actions: Vec<&str> = listed["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"member.invited") && actions.contains(&"member.joined"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_role_change_refuses_the_old_refresh_token_and_new_tokens_carry_the_new_group() {
    let pool = Pool::create().await;
    let app = app(&pool).await;
    let admin = signed_in(&pool, "acme-admin", &["admin"], Some("acme"))
        .await
        .access_token;
    let id = invite(&app, &admin, "ed@example.com", "EDITOR").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = accept_invitation(&pool, "ed@example.com").await;
    data(
        &app,
        &old.access_token,
        "{ projects { totalCount } }",
        json!({}),
    )
    .await;

    let body = set_role(&app, &admin, &id, "VIEWER", 1).await;
    assert_eq!(body["data"]["setMemberRole"]["role"], "VIEWER", "{body}");
    assert_eq!(body["data"]["setMemberRole"]["version"], 2);
    assert_eq!(groups_of(&pool, "ed@example.com").await, ["viewer"]);
    let refreshed = pool
        .api
        .refresh(&pool.client_id, old.refresh_token.as_deref().unwrap())
        .await;
    assert!(
        matches!(refreshed, Err(CognitoError::NotAuthorized { .. })),
        "the old refresh token is refused: {refreshed:?}"
    );
    let new = pool.sign_in("ed@example.com").await.access_token;
    let me = data(&app, &new, "{ me { roles } }", json!({})).await;
    assert_eq!(me["me"]["roles"], json!(["VIEWER"]));
    let denied = post(
        &app,
        &new,
        "mutation { createProject(input: {name: \"x\"}) { name } }",
        json!({}),
    )
    .await
    .body;
    assert_eq!(code(&denied).0, "FORBIDDEN", "{denied}");
    let stale = set_role(&app, &admin, &id, "EDITOR", 1).await;
    assert_eq!(code(&stale), ("CONFLICT", "stale_version"), "{stale}");
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_is_refused_until_enabled() {
    let pool = Pool::create().await;
    let app = app(&pool).await;
    let admin = signed_in(&pool, "acme-admin", &["admin"], Some("acme"))
        .await
        .access_token;
    let id = invite(&app, &admin, "dee@example.com", "VIEWER").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dee = accept_invitation(&pool, "dee@example.com")
        .await
        .access_token;
    let read = "{ projects { totalCount } }";
    data(&app, &dee, read, json!({})).await;

    let body = status_change(&app, &admin, "disableMember", &id, 1).await;
    assert_eq!(
        body["data"]["disableMember"]["status"], "DISABLED",
        "{body}"
    );
    let signed = pool
        .api
        .sign_in(&pool.client_id, "dee@example.com", PASSWORD)
        .await;
    assert!(
        matches!(signed, Err(CognitoError::NotAuthorized { .. })),
        "{signed:?}"
    );
    // Her access token still verifies (and its GetUser answer is cached): cognigraph refuses it.
    let refused = post(&app, &dee, read, json!({})).await.body;
    assert_eq!(
        code(&refused),
        ("FORBIDDEN", "member_disabled"),
        "{refused}"
    );

    let body = status_change(&app, &admin, "enableMember", &id, 2).await;
    assert_eq!(body["data"]["enableMember"]["status"], "ACTIVE", "{body}");
    let again = pool.sign_in("dee@example.com").await.access_token;
    assert_eq!(
        data(&app, &again, read, json!({})).await["projects"]["totalCount"],
        0
    );
}

#[tokio::test]
async fn an_admin_cannot_touch_another_tenants_users() {
    let pool = Pool::create().await;
    let app = app(&pool).await;
    let acme = signed_in(&pool, "acme-admin", &["admin"], Some("acme"))
        .await
        .access_token;
    let globex = signed_in(&pool, "globex-admin", &["admin"], Some("globex"))
        .await
        .access_token;
    let gil = invite(&app, &globex, "gil@example.com", "EDITOR").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gil_tokens = accept_invitation(&pool, "gil@example.com").await;

    // Every mutation with globex's real member id, as acme's admin.
    let answers = [
        set_role(&app, &acme, &gil, "ADMIN", 1).await,
        status_change(&app, &acme, "disableMember", &gil, 1).await,
        status_change(&app, &acme, "enableMember", &gil, 1).await,
        post(
            &app,
            &acme,
            "mutation($id: ID!) { signOutMember(memberId: $id) { id } }",
            json!({ "id": gil }),
        )
        .await
        .body,
    ];
    for body in answers {
        assert_eq!(code(&body).0, "NOT_FOUND", "{body}");
    }
    // Inviting gil's address from acme: the same CONFLICT as for an address of acme's own.
    let taken = post(
        &app,
        &acme,
        "mutation { inviteMember(input: {email: \"gil@example.com\", role: ADMIN}) { id } }",
        json!({}),
    )
    .await
    .body;
    assert_eq!(code(&taken), ("CONFLICT", "member_exists"), "{taken}");

    // Gil is as he was: his group, enabled, his refresh token good, his tenant globex.
    assert_eq!(groups_of(&pool, "gil@example.com").await, ["editor"]);
    let user = pool.admin.admin_get_user("gil@example.com").await.unwrap();
    assert_eq!(
        (user.enabled(), user.tenant()),
        (Some(true), Some("globex"))
    );
    pool.api
        .refresh(
            &pool.client_id,
            gil_tokens.refresh_token.as_deref().unwrap(),
        )
        .await
        .expect("gil's refresh token still works");
}

#[tokio::test]
async fn the_last_admin_stays_an_admin_in_cognito_and_every_change_is_audited() {
    let pool = Pool::create().await;
    let app = app(&pool).await;
    let admin = signed_in(&pool, "acme-admin", &["admin"], Some("acme"))
        .await
        .access_token;
    let listed = data(
        &app,
        &admin,
        "{ members { nodes { id username } } }",
        json!({}),
    )
    .await;
    let me = listed["members"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let demoted = set_role(&app, &admin, &me, "VIEWER", 1).await;
    assert_eq!(code(&demoted), ("CONFLICT", "last_admin"), "{demoted}");
    let disabled = status_change(&app, &admin, "disableMember", &me, 1).await;
    assert_eq!(code(&disabled), ("CONFLICT", "last_admin"), "{disabled}");
    assert_eq!(groups_of(&pool, "acme-admin").await, ["admin"]);
    assert_eq!(
        pool.admin
            .admin_get_user("acme-admin")
            .await
            .unwrap()
            .enabled(),
        Some(true)
    );

    // A second admin, invited and joined: now the first may step down. Each change is audited.
    let id = invite(&app, &admin, "second@example.com", "ADMIN").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = accept_invitation(&pool, "second@example.com")
        .await
        .access_token;
    data(&app, &second, "{ projects { totalCount } }", json!({})).await;
    let body = set_role(&app, &second, &me, "EDITOR", 1).await;
    assert_eq!(body["data"]["setMemberRole"]["role"], "EDITOR", "{body}");
    assert_eq!(groups_of(&pool, "acme-admin").await, ["editor"]);
    let body = post(
        &app,
        &second,
        "mutation($id: ID!) { signOutMember(memberId: $id) { id } }",
        json!({ "id": me }),
    )
    .await
    .body;
    assert_eq!(body["data"]["signOutMember"]["id"], me.as_str(), "{body}");
    let events = data(
        &app,
        &second,
        "{ auditEvents { nodes { action entityId } } }",
        json!({}),
    )
    .await;
    let actions: Vec<(&str, &str)> = events["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["entityId"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("member.signed_out", me.as_str()),
        ("member.role_changed", me.as_str()),
        ("member.joined", id.as_str()),
        ("member.invited", id.as_str()),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
}
