//! Tenant user management over HTTP, on the in-memory user pool: invitations, roles, disable
//! and enable, sign-out, the last-admin rule, and never across tenants.

use std::sync::Arc;

use cognigraph_cognito::{Action, UserPool as _, UserStatus, fake::FakeUserPool};
use serde_json::{Value, json};

use crate::helpers::{AppOptions, TestApp, configure, error_codes, spawn_app_with};

const MEMBER_FIELDS: &str = "id username email role status version";

async fn app_with(user_management: bool) -> TestApp {
    spawn_app_with(AppOptions {
        hydrate: true,
        settings: configure(move |settings| settings.user_management = user_management),
        user_pool: Some(Arc::new(FakeUserPool::default())),
        ..AppOptions::default()
    })
    .await
}

/// A user of `tenant` in the pool and their token (groups `[group]`), who has made a request
/// (so they are a member).
async fn member(app: &TestApp, tenant: &str, name: &str, group: &str) -> String {
    let email = format!("{name}@example.com");
    let sub = app
        .user_pool
        .add_user(name, &[("custom:tenant", tenant), ("email", &email)]);
    app.user_pool.add_to_group(name, group);
    let token = token_of(app, tenant, name, &sub, group);
    let body = gql(
        app,
        &token,
        "{ projects(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    assert!(body["data"]["projects"]["totalCount"].is_u64(), "{body}");
    token
}

fn token_of(app: &TestApp, tenant: &str, username: &str, sub: &str, group: &str) -> String {
    app.token_with(
        &[group],
        json!({"custom:tenant": tenant, "sub": sub, "username": username}),
    )
}

async fn gql(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app
        .post(
            Some(token),
            &json!({ "query": query, "variables": variables }),
        )
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

/// The error's `(code, reason)`.
fn refusal(body: &Value) -> (String, String) {
    let error = &body["errors"][0]["extensions"];
    (
        error["code"].as_str().unwrap_or("(none)").to_owned(),
        error["reason"].as_str().unwrap_or("").to_owned(),
    )
}

async fn invite(app: &TestApp, token: &str, email: &str, role: &str) -> Value {
    gql(
        app,
        token,
        &format!(
            "mutation($email: String!) {{ inviteMember(input: {{email: $email, role: {role}}}) {{ {MEMBER_FIELDS} }} }}"
        ),
        json!({"email": email}),
    )
    .await
}

async fn set_role(app: &TestApp, token: &str, id: &str, role: &str, version: i64) -> Value {
    gql(
        app,
        token,
        &format!(
            "mutation($id: ID!, $v: Int!) {{ setMemberRole(memberId: $id, role: {role}, expectedVersion: $v) {{ {MEMBER_FIELDS} }} }}"
        ),
        json!({"id": id, "v": version}),
    )
    .await
}

async fn status_change(
    app: &TestApp,
    token: &str,
    mutation: &str,
    id: &str,
    version: i64,
) -> Value {
    gql(
        app,
        token,
        &format!(
            "mutation($id: ID!, $v: Int!) {{ {mutation}(memberId: $id, expectedVersion: $v) {{ {MEMBER_FIELDS} }} }}"
        ),
        json!({"id": id, "v": version}),
    )
    .await
}

/// Cognito calls that change something.
fn writes(pool: &FakeUserPool) -> usize {
    [
        Action::AdminCreateUser,
        Action::AdminDeleteUser,
        Action::AdminAddUserToGroup,
        Action::AdminRemoveUserFromGroup,
        Action::AdminDisableUser,
        Action::AdminEnableUser,
        Action::AdminUserGlobalSignOut,
        Action::AdminUpdateUserAttributes,
    ]
    .into_iter()
    .map(|action| pool.calls(action))
    .sum()
}

async fn audit_actions(app: &TestApp, admin: &str) -> Vec<String> {
    let body = gql(
        app,
        admin,
        "{ auditEvents(first: 100) { nodes { action } } }",
        json!({}),
    )
    .await;
    body["data"]["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn user_management_is_off_unless_configured() {
    let app = app_with(false).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    member(&app, "acme", "ed", "editor").await;
    let admin_id = app.member_id(&admin, "boss").await;
    let editor_id = app.member_id(&admin, "ed").await;
    let answers = [
        invite(&app, &admin, "ann@example.com", "EDITOR").await,
        set_role(&app, &admin, &editor_id, "VIEWER", 1).await,
        status_change(&app, &admin, "disableMember", &editor_id, 1).await,
        status_change(&app, &admin, "enableMember", &editor_id, 1).await,
        gql(
            &app,
            &admin,
            "mutation($id: ID!) { signOutMember(memberId: $id) { id } }",
            json!({"id": admin_id}),
        )
        .await,
    ];
    for body in answers {
        assert_eq!(
            refusal(&body),
            (
                "FORBIDDEN".to_owned(),
                "user_management_disabled".to_owned()
            ),
            "{body}"
        );
        let field = body["data"].as_object().unwrap().values().next().unwrap();
        assert!(field.is_null(), "a denied nullable field is null: {body}");
    }
    assert_eq!(app.user_pool.total_calls(), 0, "Cognito was not asked");
}

#[tokio::test]
async fn an_invitation_creates_the_user_in_the_callers_tenant_and_they_join() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    let body = invite(&app, &admin, " ann@example.com ", "EDITOR").await;
    let invited = &body["data"]["inviteMember"];
    assert_eq!(invited["status"], "INVITED", "{body}");
    assert_eq!(invited["role"], "EDITOR");
    assert_eq!(invited["version"], 1);
    assert_eq!(invited["email"], "ann@example.com");

    let user = app
        .user_pool
        .admin_get_user("ann@example.com")
        .await
        .unwrap();
    assert_eq!(user.tenant(), Some("acme"), "the caller's tenant");
    assert_eq!(user.email(), Some("ann@example.com"));
    assert_eq!(user.attribute("email_verified"), Some("true"));
    assert_eq!(user.status(), Some(&UserStatus::ForceChangePassword));
    assert_eq!(app.user_pool.groups_of("ann@example.com"), ["editor"]);

    // Ann signs in: her token carries Cognito's sub, group and tenant.
    let ann = token_of(&app, "acme", "ann@example.com", user.sub(), "editor");
    let created = gql(
        &app,
        &ann,
        "mutation { createProject(input: {name: \"Ann's\"}) { id } }",
        json!({}),
    )
    .await;
    assert!(
        created["data"]["createProject"]["id"].is_string(),
        "{created}"
    );
    let listed = gql(
        &app,
        &admin,
        "{ active: members(status: ACTIVE) { totalCount nodes { username role } } invited: members(status: INVITED) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["data"]["invited"]["totalCount"], 0, "{listed}");
    assert!(
        listed["data"]["active"]["nodes"]
            .as_array()
            .unwrap()
            .contains(&json!({"username": "ann@example.com", "role": "EDITOR"})),
        "{listed}"
    );
    let actions = audit_actions(&app, &admin).await;
    let invited_at = actions.iter().position(|a| a == "member.invited").unwrap();
    let joined_at = actions.iter().position(|a| a == "member.joined").unwrap();
    assert!(
        joined_at < invited_at,
        "joined after the invitation (newest first): {actions:?}"
    );

    // Only admins invite; bad addresses never reach Cognito.
    let editor = member(&app, "acme", "ed", "editor").await;
    let calls = app.user_pool.total_calls();
    let denied = invite(&app, &editor, "x@example.com", "VIEWER").await;
    assert_eq!(refusal(&denied).0, "FORBIDDEN", "{denied}");
    let bad = invite(&app, &admin, "not an address", "VIEWER").await;
    assert_eq!(error_codes(&bad), ["BAD_USER_INPUT"], "{bad}");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "email");
    assert_eq!(app.user_pool.total_calls(), calls);
}

#[tokio::test]
async fn an_existing_address_is_the_same_conflict_in_any_tenant() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    app.user_pool
        .add_user("elsewhere@example.com", &[("custom:tenant", "globex")]);
    invite(&app, &admin, "here@example.com", "VIEWER").await;
    let other_tenant = invite(&app, &admin, "elsewhere@example.com", "VIEWER").await;
    let same_tenant = invite(&app, &admin, "here@example.com", "VIEWER").await;
    assert_eq!(
        refusal(&other_tenant),
        ("CONFLICT".to_owned(), "member_exists".to_owned())
    );
    assert_eq!(
        other_tenant, same_tenant,
        "one answer, whichever tenant has the address"
    );
    assert_eq!(
        app.user_pool
            .admin_get_user("elsewhere@example.com")
            .await
            .unwrap()
            .tenant(),
        Some("globex"),
        "unchanged"
    );
}

#[tokio::test]
async fn a_role_change_moves_the_role_groups_and_signs_the_member_out() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    member(&app, "acme", "ed", "editor").await;
    let ed = app.member_id(&admin, "ed").await;
    app.user_pool.add_group("beta");
    app.user_pool.add_to_group("ed", "beta");

    let stale = set_role(&app, &admin, &ed, "VIEWER", 7).await;
    assert_eq!(
        refusal(&stale),
        ("CONFLICT".to_owned(), "stale_version".to_owned()),
        "{stale}"
    );
    assert_eq!(writes(&app.user_pool), 0, "refused before Cognito");

    let body = set_role(&app, &admin, &ed, "VIEWER", 1).await;
    let changed = &body["data"]["setMemberRole"];
    assert_eq!(changed["role"], "VIEWER", "{body}");
    assert_eq!(changed["version"], 2);
    assert_eq!(
        app.user_pool.groups_of("ed"),
        ["beta", "viewer"],
        "other groups stay"
    );
    assert_eq!(app.user_pool.calls(Action::AdminUserGlobalSignOut), 1);
    assert_eq!(audit_actions(&app, &admin).await[0], "member.role_changed");
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_disabled() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    let me = app.member_id(&admin, "boss").await;
    let calls = writes(&app.user_pool);
    let demoted = set_role(&app, &admin, &me, "EDITOR", 1).await;
    assert_eq!(
        refusal(&demoted),
        ("CONFLICT".to_owned(), "last_admin".to_owned()),
        "{demoted}"
    );
    let disabled = status_change(&app, &admin, "disableMember", &me, 1).await;
    assert_eq!(
        refusal(&disabled),
        ("CONFLICT".to_owned(), "last_admin".to_owned()),
        "{disabled}"
    );
    assert_eq!(writes(&app.user_pool), calls, "refused before Cognito");
    assert_eq!(app.user_pool.groups_of("boss"), ["admin"]);
}

#[tokio::test]
async fn another_tenants_users_cannot_be_touched() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    let globex_admin = member(&app, "globex", "gina", "admin").await;
    member(&app, "globex", "gus", "editor").await;
    let foreign = app.member_id(&globex_admin, "gus").await;
    // A row in acme whose Cognito user is in globex (a stale or forged row): Cognito decides.
    member(&app, "acme", "mover", "editor").await;
    let moved = app.member_id(&admin, "mover").await;
    app.user_pool.add_user(
        "mover",
        &[("custom:tenant", "globex"), ("sub", "not-the-row's")],
    );
    let calls = writes(&app.user_pool);
    for id in [&foreign, &moved] {
        let answers = [
            set_role(&app, &admin, id, "ADMIN", 1).await,
            status_change(&app, &admin, "disableMember", id, 1).await,
            status_change(&app, &admin, "enableMember", id, 1).await,
            gql(
                &app,
                &admin,
                "mutation($id: ID!) { signOutMember(memberId: $id) { id } }",
                json!({"id": id}),
            )
            .await,
        ];
        for body in answers {
            assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
        }
    }
    assert_eq!(writes(&app.user_pool), calls, "nothing written in Cognito");
    assert_eq!(app.user_pool.groups_of("gus"), ["editor"]);
}

#[tokio::test]
async fn a_disabled_member_is_refused_at_once_and_welcome_after_enable() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    let ed_token = member(&app, "acme", "ed", "editor").await;
    let ed = app.member_id(&admin, "ed").await;
    let read = "{ projects(first: 1) { totalCount } }";
    let body = status_change(&app, &admin, "disableMember", &ed, 1).await;
    assert_eq!(
        body["data"]["disableMember"]["status"], "DISABLED",
        "{body}"
    );
    assert_eq!(
        app.user_pool.admin_get_user("ed").await.unwrap().enabled(),
        Some(false)
    );
    assert_eq!(app.user_pool.calls(Action::AdminUserGlobalSignOut), 1);
    let refused = gql(&app, &ed_token, read, json!({})).await;
    assert_eq!(
        refusal(&refused),
        ("FORBIDDEN".to_owned(), "member_disabled".to_owned()),
        "{refused}"
    );
    assert!(refused["data"]["projects"].is_null());

    let body = status_change(&app, &admin, "enableMember", &ed, 2).await;
    assert_eq!(body["data"]["enableMember"]["status"], "ACTIVE", "{body}");
    assert_eq!(body["data"]["enableMember"]["version"], 3);
    assert_eq!(
        app.user_pool.admin_get_user("ed").await.unwrap().enabled(),
        Some(true)
    );
    let welcome = gql(&app, &ed_token, read, json!({})).await;
    assert_eq!(welcome["data"]["projects"]["totalCount"], 0, "{welcome}");
    let actions = audit_actions(&app, &admin).await;
    assert_eq!(
        actions[..2],
        ["member.enabled".to_owned(), "member.disabled".to_owned()]
    );
}

#[tokio::test]
async fn a_lost_database_write_heals_on_the_members_next_token() {
    let app = app_with(true).await;
    let admin = member(&app, "acme", "boss", "admin").await;
    member(&app, "acme", "ed", "editor").await;
    let ed = app.member_id(&admin, "ed").await;
    let sub = app
        .user_pool
        .admin_get_user("ed")
        .await
        .unwrap()
        .sub()
        .to_owned();
    let body = set_role(&app, &admin, &ed, "VIEWER", 1).await;
    assert_eq!(body["data"]["setMemberRole"]["role"], "VIEWER", "{body}");
    // A second role change whose Cognito half succeeded and whose database write was lost:
    // Cognito has the user in `admin`, the row still says VIEWER.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.user_pool.add_to_group("ed", "admin");
    let role_of_ed = || async {
        let body = gql(
            &app,
            &admin,
            "{ members(first: 100) { nodes { username role version } } }",
            json!({}),
        )
        .await;
        body["data"]["members"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["username"] == "ed")
            .cloned()
            .unwrap()
    };
    // A token from before the change (still EDITOR) does not undo it...
    let old = app.token_with(
        &["editor"],
        json!({"custom:tenant": "acme", "sub": sub, "username": "ed", "iat": cognigraph_token::testing::unix_now() - 30}),
    );
    gql(
        &app,
        &old,
        "{ projects(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(role_of_ed().await["role"], "VIEWER");
    // ...the member's next token, issued now with Cognito's groups, heals the row.
    let new = token_of(&app, "acme", "ed", &sub, "admin");
    gql(
        &app,
        &new,
        "{ projects(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    let healed = role_of_ed().await;
    assert_eq!(healed["role"], "ADMIN", "{healed}");
    assert_eq!(healed["version"], 2, "a heal is not an admin change");
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin_and_cognito_in_line() {
    let app = app_with(true).await;
    for round in 0..4 {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let tenant = format!("t{round}");
        let a_token = member(&app, &tenant, &a, "admin").await;
        let b_token = member(&app, &tenant, &b, "admin").await;
        let a_id = app.member_id(&a_token, &a).await;
        let b_id = app.member_id(&a_token, &b).await;
        let (by_a, by_b) = tokio::join!(
            set_role(&app, &a_token, &b_id, "EDITOR", 1),
            set_role(&app, &b_token, &a_id, "EDITOR", 1),
        );
        let succeeded = [&by_a, &by_b]
            .iter()
            .filter(|body| body["errors"].is_null())
            .count();
        assert_eq!(succeeded, 1, "exactly one wins: {by_a} {by_b}");
        let loser = if by_a["errors"].is_null() {
            &by_b
        } else {
            &by_a
        };
        assert_eq!(
            refusal(loser),
            ("CONFLICT".to_owned(), "last_admin".to_owned()),
            "{loser}"
        );
        // Cognito agrees with the rows: one admin, one editor.
        let mut groups = [app.user_pool.groups_of(&a), app.user_pool.groups_of(&b)];
        groups.sort();
        assert_eq!(
            groups,
            [vec!["admin".to_owned()], vec!["editor".to_owned()]]
        );
    }
}
