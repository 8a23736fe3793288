//! Tenants from the emulator's user attribute (`custom:tenant`, through GetUser): another tenant's
//! ids lead nowhere, and a user without a tenant sees no tenant's data.

use cognigraph_tests::{App, Pool};
use serde_json::{Value, json};

use crate::support::{Fixture, assert_denied, data, signed_in};

/// Everything of a tenant, as its admin sees it: rows, members, and the length of the audit
/// trail (which any write, even a partial one, would lengthen).
async fn snapshot(app: &App, admin: &str) -> Value {
    data(
        app,
        admin,
        "{ projects(first: 100) { totalCount nodes { id name description budget archived version updatedAt } }
           tasks(first: 100) { totalCount nodes { id title description status dueDate version updatedAt assignee { id } project { id } } }
           members { nodes { id username email } }
           auditEvents(first: 100) { totalCount } }",
        json!({}),
    )
    .await
}

#[tokio::test]
async fn another_tenants_real_ids_are_not_found_and_change_nothing() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    let acme = signed_in(&pool, "acme-admin", &["admin"], Some("acme"))
        .await
        .access_token;
    let intruder = signed_in(&pool, "globex-admin", &["admin"], Some("globex"))
        .await
        .access_token;

    let secret = Fixture::create(&app, &acme, "Secret").await;
    let members = data(&app, &acme, "{ members { nodes { id } } }", json!({})).await;
    let acme_member = members["members"]["nodes"][0]["id"]
        .as_str()
        .expect("a member")
        .to_owned();
    let assigned = data(
        &app,
        &acme,
        "mutation($id: ID!, $v: Int!, $a: ID) { assignTask(id: $id, expectedVersion: $v, assigneeId: $a) { version } }",
        json!({ "id": secret.task, "v": secret.task_version, "a": acme_member }),
    )
    .await;
    let task_version = assigned["assignTask"]["version"]
        .as_i64()
        .expect("a version");
    let before = snapshot(&app, &acme).await;
    assert_eq!(before["projects"]["totalCount"], 1, "{before}");
    assert_eq!(before["tasks"]["totalCount"], 1, "{before}");

    let (p, pv) = (&secret.project, secret.project_version);
    let (t, tv) = (&secret.task, task_version);
    let attempts = [
        (
            "project",
            "query($id: ID!) { project(id: $id) { name } }",
            json!({"id": p}),
        ),
        (
            "task",
            "query($id: ID!) { task(id: $id) { title } }",
            json!({"id": t}),
        ),
        (
            "updateProject",
            "mutation($id: ID!, $v: Int!) { updateProject(id: $id, expectedVersion: $v, input: {name: \"pwned\", budget: 0}) { id } }",
            json!({"id": p, "v": pv}),
        ),
        (
            "archiveProject",
            "mutation($id: ID!, $v: Int!) { archiveProject(id: $id, expectedVersion: $v) { id } }",
            json!({"id": p, "v": pv}),
        ),
        (
            "deleteProject",
            "mutation($id: ID!, $v: Int!) { deleteProject(id: $id, expectedVersion: $v) }",
            json!({"id": p, "v": pv}),
        ),
        (
            "updateTask",
            "mutation($id: ID!, $v: Int!) { updateTask(id: $id, expectedVersion: $v, input: {title: \"pwned\"}) { id } }",
            json!({"id": t, "v": tv}),
        ),
        (
            "assignTask",
            "mutation($id: ID!, $v: Int!) { assignTask(id: $id, expectedVersion: $v, assigneeId: null) { id } }",
            json!({"id": t, "v": tv}),
        ),
        (
            "setTaskStatus",
            "mutation($id: ID!, $v: Int!) { setTaskStatus(id: $id, expectedVersion: $v, status: DONE) { id } }",
            json!({"id": t, "v": tv}),
        ),
        (
            "deleteTask",
            "mutation($id: ID!, $v: Int!) { deleteTask(id: $id, expectedVersion: $v) }",
            json!({"id": t, "v": tv}),
        ),
    ];
    for (field, query, variables) in attempts {
        let (status, body) = app.graphql(&intruder, query, variables).await;
        assert_eq!(status, 200, "{field}");
        assert_denied(&body, field, "NOT_FOUND", None);
    }

    // Ids of acme used as inputs: refused as input, like any id that is not there.
    let (_, body) = app
        .graphql(
            &intruder,
            "mutation($p: ID!) { createTask(input: {projectId: $p, title: \"x\"}) { id } }",
            json!({"p": p}),
        )
        .await;
    assert_denied(&body, "createTask", "BAD_USER_INPUT", None);
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "projectId",
        "{body}"
    );
    let own = Fixture::create(&app, &intruder, "Globex's own").await;
    let (_, body) = app
        .graphql(
            &intruder,
            "mutation($id: ID!, $v: Int!, $a: ID) { assignTask(id: $id, expectedVersion: $v, assigneeId: $a) { id } }",
            json!({"id": own.task, "v": own.task_version, "a": acme_member}),
        )
        .await;
    assert_denied(&body, "assignTask", "BAD_USER_INPUT", None);
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "assigneeId",
        "{body}"
    );

    // Filters and listings show nothing of acme.
    let seen = data(
        &app,
        &intruder,
        "query($p: ID!, $a: ID!) {
           byProject: tasks(projectId: $p) { totalCount }
           byAssignee: tasks(assigneeId: $a) { totalCount }
           projects { nodes { id } }
           tasks { nodes { id } }
           members { nodes { username } }
           auditEvents(first: 100) { nodes { entityId } }
         }",
        json!({"p": p, "a": acme_member}),
    )
    .await;
    assert_eq!(seen["byProject"]["totalCount"], 0);
    assert_eq!(seen["byAssignee"]["totalCount"], 0);
    assert_eq!(seen["projects"]["nodes"], json!([{"id": own.project}]));
    assert_eq!(seen["tasks"]["nodes"], json!([{"id": own.task}]));
    assert_eq!(
        seen["members"]["nodes"],
        json!([{"username": "globex-admin"}])
    );
    let foreign = [p.as_str(), t.as_str(), acme_member.as_str()];
    let events = seen["auditEvents"]["nodes"].as_array().expect("events");
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| !foreign.contains(&e["entityId"].as_str().unwrap_or_default())),
        "{events:?}"
    );

    assert_eq!(
        snapshot(&app, &acme).await,
        before,
        "acme's rows are unchanged"
    );
}

#[tokio::test]
async fn a_user_without_a_tenant_gets_me_but_no_tenant_data() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    let token = signed_in(&pool, "drifter", &["admin"], None)
        .await
        .access_token;

    // The role is intact: what needs no tenant is served.
    let served = data(
        &app,
        &token,
        "{ me { username roles tenant } accessPolicy { field } }",
        json!({}),
    )
    .await;
    assert_eq!(
        served["me"],
        json!({"username": "drifter", "roles": ["ADMIN", "EDITOR", "VIEWER"], "tenant": null})
    );
    assert!(
        served["accessPolicy"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );

    for (field, query) in [
        ("projects", "{ projects { totalCount } }"),
        ("tasks", "{ tasks { totalCount } }"),
        ("members", "{ members { nodes { id } } }"),
        ("auditEvents", "{ auditEvents { totalCount } }"),
        (
            "createProject",
            "mutation { createProject(input: {name: \"x\"}) { id } }",
        ),
    ] {
        let (status, body) = app.graphql(&token, query, json!({})).await;
        assert_eq!(status, 200, "{field}");
        assert_denied(&body, field, "FORBIDDEN", Some("no_tenant"));
    }
}
