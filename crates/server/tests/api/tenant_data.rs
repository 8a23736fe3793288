//! Tenant data over HTTP: the role × operation matrix in two tenants, isolation, field policies,
//! NOT_FOUND for foreign ids, DataLoader batching.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes, spawn_app};

/// A user of the test pool: groups, tenant, sub.
struct User {
    token: String,
}

fn user(app: &TestApp, group: &str, tenant: &str) -> User {
    let sub = format!("{tenant}-{group}");
    let groups: Vec<&str> = if group.is_empty() {
        vec![]
    } else {
        vec![group]
    };
    User {
        token: app.token_with(
            &groups,
            json!({"custom:tenant": tenant, "sub": sub, "username": sub}),
        ),
    }
}

async fn gql(app: &TestApp, who: &User, query: &str, variables: Value) -> Value {
    let response = app
        .post(
            Some(&who.token),
            &json!({ "query": query, "variables": variables }),
        )
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

async fn create_project(app: &TestApp, who: &User, name: &str) -> (String, i64) {
    let body = gql(
        app,
        who,
        "mutation($name: String!) { createProject(input: {name: $name, budget: 1000}) { id version } }",
        json!({"name": name}),
    )
    .await;
    let project = &body["data"]["createProject"];
    assert!(project.is_object(), "{body}");
    (
        project["id"].as_str().unwrap().to_owned(),
        project["version"].as_i64().unwrap(),
    )
}

async fn create_task(app: &TestApp, who: &User, project: &str, title: &str) -> (String, i64) {
    let body = gql(
        app,
        who,
        "mutation($p: ID!, $t: String!) { createTask(input: {projectId: $p, title: $t}) { id version } }",
        json!({"p": project, "t": title}),
    )
    .await;
    let task = &body["data"]["createTask"];
    assert!(task.is_object(), "{body}");
    (
        task["id"].as_str().unwrap().to_owned(),
        task["version"].as_i64().unwrap(),
    )
}

/// Assigns `task`, at `version`, to the member `assignee` (an id) as `who`; its new version.
async fn assign_task(app: &TestApp, who: &User, task: &str, version: i64, assignee: &str) -> i64 {
    let body = gql(
        app,
        who,
        "mutation($id: ID!, $v: Int!, $a: ID) { assignTask(id: $id, expectedVersion: $v, assigneeId: $a) { version } }",
        json!({"id": task, "v": version, "a": assignee}),
    )
    .await;
    body["data"]["assignTask"]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// Moves `task`, at `version`, to `status` as `who`; its new version.
async fn set_task_status(app: &TestApp, who: &User, task: &str, version: i64, status: &str) -> i64 {
    let body = gql(
        app,
        who,
        "mutation($id: ID!, $v: Int!, $s: TaskStatus!) { setTaskStatus(id: $id, expectedVersion: $v, status: $s) { version } }",
        json!({"id": task, "v": version, "s": status}),
    )
    .await;
    body["data"]["setTaskStatus"]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// The fields `fields` of task `id`, as `who` reads it alone (`task(id:)`).
async fn task_alone(app: &TestApp, who: &User, id: &Value, fields: &str) -> Value {
    let query = format!("query($id: ID!) {{ task(id: $id) {{ {fields} }} }}");
    let body = gql(app, who, &query, json!({"id": id})).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["task"].clone()
}

/// The outcome of one operation: ok, or its error code.
fn outcome(body: &Value) -> String {
    error_codes(body)
        .first()
        .cloned()
        .unwrap_or_else(|| "ok".to_owned())
}

#[tokio::test]
async fn every_role_against_every_operation() {
    let app = spawn_app().await;
    // Each operation runs on its own fresh rows, so the order of cells does not matter.
    type Cell = (&'static str, [&'static str; 3]); // (operation, expected for viewer/editor/admin)
    let matrix: [Cell; 13] = [
        ("projects", ["ok", "ok", "ok"]),
        ("project", ["ok", "ok", "ok"]),
        ("tasks", ["ok", "ok", "ok"]),
        ("task", ["ok", "ok", "ok"]),
        ("members", ["FORBIDDEN", "FORBIDDEN", "ok"]),
        ("auditEvents", ["FORBIDDEN", "FORBIDDEN", "ok"]),
        ("createProject", ["FORBIDDEN", "ok", "ok"]),
        ("updateProject", ["FORBIDDEN", "ok", "ok"]),
        ("archiveProject", ["FORBIDDEN", "FORBIDDEN", "ok"]),
        ("deleteProject", ["FORBIDDEN", "FORBIDDEN", "ok"]),
        ("createTask", ["FORBIDDEN", "ok", "ok"]),
        ("setTaskStatus", ["FORBIDDEN", "ok", "ok"]),
        ("deleteTask", ["FORBIDDEN", "FORBIDDEN", "ok"]),
    ];
    let more: [Cell; 2] = [
        ("updateTask", ["FORBIDDEN", "ok", "ok"]),
        ("assignTask", ["FORBIDDEN", "ok", "ok"]),
    ];
    for (tenant_index, tenant) in ["acme", "globex"].into_iter().enumerate() {
        let owner = user(&app, "admin", tenant);
        for (operation, expected) in matrix.iter().chain(more.iter()) {
            for (role, want) in ["viewer", "editor", "admin"].iter().zip(expected) {
                let caller = user(&app, role, tenant);
                let (project, project_version) = create_project(&app, &owner, "P").await;
                let (task, task_version) = create_task(&app, &owner, &project, "T").await;
                let (query, variables) = match *operation {
                    "projects" => ("{ projects { totalCount } }", json!({})),
                    "project" => (
                        "query($id: ID!) { project(id: $id) { name } }",
                        json!({"id": project}),
                    ),
                    "tasks" => ("{ tasks { totalCount } }", json!({})),
                    "task" => (
                        "query($id: ID!) { task(id: $id) { title } }",
                        json!({"id": task}),
                    ),
                    "members" => ("{ members { nodes { username } } }", json!({})),
                    "auditEvents" => ("{ auditEvents { totalCount } }", json!({})),
                    "createProject" => (
                        "mutation { createProject(input: {name: \"N\"}) { id } }",
                        json!({}),
                    ),
                    "updateProject" => (
                        "mutation($id: ID!, $v: Int!) { updateProject(id: $id, expectedVersion: $v, input: {name: \"R\"}) { version } }",
                        json!({"id": project, "v": project_version}),
                    ),
                    "archiveProject" => (
                        "mutation($id: ID!, $v: Int!) { archiveProject(id: $id, expectedVersion: $v) { archived } }",
                        json!({"id": project, "v": project_version}),
                    ),
                    "deleteProject" => (
                        "mutation($id: ID!, $v: Int!) { deleteProject(id: $id, expectedVersion: $v) }",
                        json!({"id": project, "v": project_version}),
                    ),
                    "createTask" => (
                        "mutation($p: ID!) { createTask(input: {projectId: $p, title: \"X\"}) { id } }",
                        json!({"p": project}),
                    ),
                    "updateTask" => (
                        "mutation($id: ID!, $v: Int!) { updateTask(id: $id, expectedVersion: $v, input: {title: \"Y\"}) { version } }",
                        json!({"id": task, "v": task_version}),
                    ),
                    "assignTask" => (
                        "mutation($id: ID!, $v: Int!) { assignTask(id: $id, expectedVersion: $v, assigneeId: null) { version } }",
                        json!({"id": task, "v": task_version}),
                    ),
                    "setTaskStatus" => (
                        "mutation($id: ID!, $v: Int!) { setTaskStatus(id: $id, expectedVersion: $v, status: DONE) { status } }",
                        json!({"id": task, "v": task_version}),
                    ),
                    "deleteTask" => (
                        "mutation($id: ID!, $v: Int!) { deleteTask(id: $id, expectedVersion: $v) }",
                        json!({"id": task, "v": task_version}),
                    ),
                    other => unreachable!("{other}"),
                };
                let body = gql(&app, &caller, query, variables).await;
                assert_eq!(
                    outcome(&body),
                    *want,
                    "{operation} as {role} of {tenant} (#{tenant_index}): {body}"
                );
            }
        }
    }
    // A caller without a tenant gets `me` but nothing of any tenant's data.
    let loner = User {
        token: app.token(&["admin"]),
    };
    let body = gql(
        &app,
        &loner,
        "{ me { tenant } projects { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["me"]["tenant"], Value::Null);
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["extensions"]["reason"], "no_tenant");
}

/// Every row of tenant `acme`, as an admin of acme sees it.
async fn snapshot(app: &TestApp, admin: &User) -> Value {
    gql(
        app,
        admin,
        "{ projects(first: 100) { edges { node { id name description budget archived version updatedAt } } }
           tasks(first: 100) { edges { node { id title description status dueDate version updatedAt assignee { id } } } } }",
        json!({}),
    )
    .await["data"]
        .clone()
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_change_nothing() {
    let app = spawn_app().await;
    let acme = user(&app, "admin", "acme");
    let intruder = user(&app, "admin", "globex");
    let (project, pv) = create_project(&app, &acme, "Secret").await;
    let (task, tv) = create_task(&app, &acme, &project, "Secret task").await;
    let before = snapshot(&app, &acme).await;

    let attempts = [
        (
            "query($id: ID!) { project(id: $id) { name } }",
            json!({"id": project}),
        ),
        (
            "query($id: ID!) { task(id: $id) { title } }",
            json!({"id": task}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { updateProject(id: $id, expectedVersion: $v, input: {name: \"pwned\"}) { id } }",
            json!({"id": project, "v": pv}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { archiveProject(id: $id, expectedVersion: $v) { id } }",
            json!({"id": project, "v": pv}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { deleteProject(id: $id, expectedVersion: $v) }",
            json!({"id": project, "v": pv}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { updateTask(id: $id, expectedVersion: $v, input: {title: \"pwned\"}) { id } }",
            json!({"id": task, "v": tv}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { assignTask(id: $id, expectedVersion: $v, assigneeId: null) { id } }",
            json!({"id": task, "v": tv}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { setTaskStatus(id: $id, expectedVersion: $v, status: DONE) { id } }",
            json!({"id": task, "v": tv}),
        ),
        (
            "mutation($id: ID!, $v: Int!) { deleteTask(id: $id, expectedVersion: $v) }",
            json!({"id": task, "v": tv}),
        ),
    ];
    for (query, variables) in attempts {
        let body = gql(&app, &intruder, query, variables).await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{query}: {body}");
    }
    // Creating a task in acme's project from globex: the project is not there for globex.
    let body = gql(
        &app,
        &intruder,
        "mutation($p: ID!) { createTask(input: {projectId: $p, title: \"x\"}) { id } }",
        json!({"p": project}),
    )
    .await;
    let code = outcome(&body);
    assert!(code == "NOT_FOUND" || code == "BAD_USER_INPUT", "{body}");
    // Listings show nothing of acme.
    let body = gql(
        &app,
        &intruder,
        "{ projects { totalCount } tasks { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["projects"]["totalCount"], 0);
    assert_eq!(body["data"]["tasks"]["totalCount"], 0);

    assert_eq!(
        snapshot(&app, &acme).await,
        before,
        "acme's rows are unchanged"
    );
}

#[tokio::test]
async fn budgets_and_emails_are_admin_fields() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let editor = user(&app, "editor", "acme");
    let (project, _) = create_project(&app, &admin, "Budgeted").await;
    // The editor becomes a member (first tenant request) and gets a task assigned.
    let seen = gql(&app, &editor, "{ projects { totalCount } }", json!({})).await;
    assert_eq!(seen["data"]["projects"]["totalCount"], 1, "{seen}");
    let editor_id = app.member_id(&admin.token, "acme-editor").await;
    let (task, version) = create_task(&app, &admin, &project, "T").await;
    let assigned = gql(
        &app,
        &admin,
        "mutation($id: ID!, $v: Int!, $a: ID) { assignTask(id: $id, expectedVersion: $v, assigneeId: $a) { assignee { username } } }",
        json!({"id": task, "v": version, "a": editor_id}),
    )
    .await;
    assert_eq!(
        assigned["data"]["assignTask"]["assignee"]["username"],
        "acme-editor"
    );

    let query = "query($id: ID!) { project(id: $id) { name budget } task: tasks { edges { node { title assignee { username email } } } } }";
    let as_editor = gql(&app, &editor, query, json!({"id": project})).await;
    assert_eq!(as_editor["data"]["project"]["name"], "Budgeted");
    assert_eq!(as_editor["data"]["project"]["budget"], Value::Null);
    let node = &as_editor["data"]["task"]["edges"][0]["node"];
    assert_eq!(node["assignee"]["username"], "acme-editor");
    assert_eq!(node["assignee"]["email"], Value::Null);
    let mut paths: Vec<Value> = as_editor["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["extensions"]["code"], "FORBIDDEN");
            e["path"].clone()
        })
        .collect();
    paths.sort_by_key(ToString::to_string);
    assert_eq!(
        paths,
        [
            json!(["project", "budget"]),
            json!(["task", "edges", 0, "node", "assignee", "email"])
        ]
    );

    let as_admin = gql(&app, &admin, query, json!({"id": project})).await;
    assert!(as_admin.get("errors").is_none(), "{as_admin}");
    assert_eq!(as_admin["data"]["project"]["budget"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_versions_conflict_and_change_nothing() {
    let app = spawn_app().await;
    let editor = user(&app, "editor", "acme");
    let (project, version) = create_project(&app, &editor, "Race").await;
    let update = "mutation($id: ID!, $v: Int!, $n: String!) { updateProject(id: $id, expectedVersion: $v, input: {name: $n}) { version } }";
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let request = app
                .client
                .post(format!("{}/graphql", app.address))
                .bearer_auth(&editor.token)
                .json(&json!({
                    "query": update,
                    "variables": {"id": project, "v": version, "n": format!("name {i}")},
                }));
            tokio::spawn(
                async move { request.send().await.unwrap().json::<Value>().await.unwrap() },
            )
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let wins = results.iter().filter(|b| outcome(b) == "ok").count();
    let conflicts = results.iter().filter(|b| outcome(b) == "CONFLICT").count();
    assert_eq!((wins, conflicts), (1, 5), "{results:?}");
    let body = gql(
        &app,
        &editor,
        "query($id: ID!) { project(id: $id) { version } }",
        json!({"id": project}),
    )
    .await;
    assert_eq!(body["data"]["project"]["version"], version + 1);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = spawn_app().await;
    let editor = user(&app, "editor", "acme");
    // The domain names the field, and so does a value of the wrong type, a date that is not
    // one included (in a literal or in a variable).
    let cases = [
        (
            "mutation { createProject(input: {name: \"  \"}) { id } }",
            Some("name"),
        ),
        (
            "mutation { createProject(input: {name: \"ok\", budget: -1}) { id } }",
            Some("budget"),
        ),
        ("{ projects(first: 0) { totalCount } }", Some("first")),
        (
            "{ projects(after: \"garbage\") { totalCount } }",
            Some("after"),
        ),
        ("{ project(id: \"not-an-id\") { id } }", Some("id")),
        (
            "mutation { createTask(input: {projectId: \"00000000-0000-0000-0000-000000000000\", title: \"t\", dueDate: \"someday\"}) { id } }",
            Some("dueDate"),
        ),
        (
            "mutation { updateTask(id: \"00000000-0000-0000-0000-000000000000\", expectedVersion: 1, input: {dueDate: \"2001-02-29\"}) { id } }",
            Some("dueDate"),
        ),
        (
            "mutation { createProject(input: {name: \"n\", budget: \"lots\"}) { id } }",
            Some("budget"),
        ),
        // A whole number validation lets through, out of `Int`'s range.
        (
            "mutation { updateTask(id: \"00000000-0000-0000-0000-000000000000\", expectedVersion: 3000000000, input: {title: \"t\"}) { id } }",
            Some("expectedVersion"),
        ),
    ];
    for (query, field) in cases {
        let body = gql(&app, &editor, query, json!({})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{query}: {body}");
        if let Some(field) = field {
            assert_eq!(
                body["errors"][0]["extensions"]["field"], field,
                "{query}: {body}"
            );
        }
    }
    let body = gql(
        &app,
        &editor,
        "mutation($due: NaiveDate) { createTask(input: {projectId: \"00000000-0000-0000-0000-000000000000\", title: \"t\", dueDate: $due}) { id } }",
        json!({ "due": "someday" }),
    )
    .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "dueDate",
        "{body}"
    );
}

#[tokio::test]
async fn nested_fields_are_batched_per_page() {
    // (P0 gets eight tasks t0..t7; P1..P8 one task each.)
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let (project, _) = create_project(&app, &admin, "P0").await;
    for i in 0..8 {
        let (p, _) = create_project(&app, &admin, &format!("P{}", i + 1)).await;
        create_task(&app, &admin, &p, "t").await;
        create_task(&app, &admin, &project, &format!("t{i}")).await;
    }
    // Each root field on its own: two root fields in one request may or may not share a
    // DataLoader batch (they resolve concurrently), which would make the counts jitter.
    // The most statements each page may cost whatever its size: the rows, the total, and one
    // batch per DataLoader wave (two waves may merge into one when they meet in the loader's
    // window, which is why this is a bound rather than an exact count). One query per item
    // would cost at least 8.
    let queries = [
        // rows + total + taskCount + members (createdBy, updatedBy) + the projects' first tasks
        // + members (the tasks' assignees and creators)
        (
            "query($n: Int!) { projects(first: $n) { edges { node {
            name taskCount createdBy { username } updatedBy { username }
            tasks(first: 3) { title createdBy { username } } } } } }",
            6,
        ),
        // rows + total + projects + members (assignee, createdBy) + members (project.createdBy)
        (
            "query($n: Int!) { tasks(first: $n) { edges { node {
            title project { name createdBy { username } } assignee { username } createdBy { username } } } } }",
            5,
        ),
    ];
    for (query, bound) in queries {
        let mut counts = Vec::new();
        for n in [2, 8] {
            let before = app.db.statement_count();
            let body = gql(&app, &admin, query, json!({"n": n})).await;
            assert!(body.get("errors").is_none(), "{body}");
            let edges = body["data"].as_object().unwrap().values().next().unwrap()["edges"]
                .as_array()
                .unwrap()
                .len();
            assert_eq!(edges, n);
            counts.push(app.db.statement_count() - before);
        }
        assert!(
            counts.iter().all(|count| *count <= bound),
            "statements for 2 and 8 items: {counts:?}, more than {bound} ({query})"
        );
    }
}

/// A page of tasks reads its members ahead for the whole page: each task still gets its own
/// assignee, creator and last editor (three different members here), the same as a task read
/// alone, whether the fields are selected directly, under an alias or in fragments.
#[tokio::test]
async fn a_pages_members_are_each_tasks_own() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let editor = user(&app, "editor", "acme");
    let viewer = user(&app, "viewer", "acme");
    // The viewer becomes a member (first tenant request).
    gql(&app, &viewer, "{ projects { totalCount } }", json!({})).await;
    let (first, _) = create_project(&app, &admin, "First").await;
    let (second, _) = create_project(&app, &admin, "Second").await;
    // Assigned to the viewer by the admin, then moved on by the editor.
    let (assigned, version) = create_task(&app, &admin, &first, "assigned").await;
    let viewer_id = app.member_id(&admin.token, "acme-viewer").await;
    let version = assign_task(&app, &admin, &assigned, version, &viewer_id).await;
    set_task_status(&app, &editor, &assigned, version, "IN_PROGRESS").await;
    create_task(&app, &editor, &first, "unassigned").await;
    create_task(&app, &admin, &second, "other project").await;

    let people = "assignee { username } createdBy { username } updatedBy { username }";
    let pages = [
        format!(
            "{{ projects {{ edges {{ node {{ tasks(first: 10) {{ id ...People }} }} }} }} }}
             fragment People on Task {{ {people} }}"
        ),
        "{ tasks { edges { node { id who: assignee { username } createdBy { username }
           ... on Task { updatedBy { username } } } } } }"
            .to_owned(),
    ];
    for query in pages {
        let body = gql(&app, &admin, &query, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let mut tasks: Vec<Value> = match body["data"]["projects"]["edges"].as_array() {
            Some(projects) => projects
                .iter()
                .flat_map(|edge| edge["node"]["tasks"].as_array().unwrap().clone())
                .collect(),
            None => body["data"]["tasks"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"].clone())
                .collect(),
        };
        assert_eq!(tasks.len(), 3, "{body}");
        for task in &mut tasks {
            let task = task.as_object_mut().unwrap();
            if let Some(who) = task.remove("who") {
                task.insert("assignee".to_owned(), who);
            }
            let id = task.remove("id").unwrap();
            let read_alone = task_alone(&app, &admin, &id, people).await;
            assert_eq!(
                Value::Object(task.clone()),
                read_alone,
                "task {id}: {query}"
            );
            if id == json!(assigned) {
                assert_eq!(
                    read_alone,
                    json!({
                        "assignee": {"username": "acme-viewer"},
                        "createdBy": {"username": "acme-admin"},
                        "updatedBy": {"username": "acme-editor"},
                    })
                );
            }
        }
    }
}

/// A project's page of tasks reads only the columns its selection shows: each field still
/// answers what the task read alone answers, whether selected directly, under an alias, in a
/// fragment or an inline fragment, and in as many statements whatever is selected (a column the
/// read-ahead missed would cost a read per task).
#[tokio::test]
async fn a_projects_tasks_show_every_field_as_read_alone() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let editor = user(&app, "editor", "acme");
    let (project, _) = create_project(&app, &admin, "Columns").await;
    // One task with every column set, by two members; one with the optional ones empty.
    let (full, version) = create_task(&app, &admin, &project, "every column").await;
    let body = gql(
        &app,
        &editor,
        "mutation($id: ID!, $v: Int!) { updateTask(id: $id, expectedVersion: $v,
           input: { description: \"words\", dueDate: \"2027-01-31\" }) { version } }",
        json!({"id": full, "v": version}),
    )
    .await;
    let version = body["data"]["updateTask"]["version"].as_i64().unwrap();
    let editor_id = app.member_id(&admin.token, "acme-editor").await;
    let version = assign_task(&app, &admin, &full, version, &editor_id).await;
    set_task_status(&app, &editor, &full, version, "DONE").await;
    create_task(&app, &admin, &project, "optional columns empty").await;

    let fields = "id title description status dueDate version createdAt updatedAt \
                  project { name } assignee { username } createdBy { username } \
                  updatedBy { username }";
    let body = gql(
        &app,
        &admin,
        "query($id: ID!) { project(id: $id) { tasks { id } } }",
        json!({"id": project}),
    )
    .await;
    let mut expected = Vec::new();
    for task in body["data"]["project"]["tasks"].as_array().unwrap() {
        expected.push(task_alone(&app, &admin, &task["id"], fields).await);
    }
    assert_eq!(expected[0]["id"], json!(full));
    assert_eq!(expected[0]["status"], "DONE");
    assert_eq!(expected[1]["description"], Value::Null);
    let aliased = fields
        .split_whitespace()
        .map(|word| match word {
            "{" | "}" | "name" | "username" => word.to_owned(),
            field => format!("a_{field}: {field}"),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let shapes = [
        format!("query($id: ID!) {{ project(id: $id) {{ tasks {{ {fields} }} }} }}"),
        format!(
            "query($id: ID!) {{ project(id: $id) {{ tasks {{ ...Fields }} }} }}
             fragment Fields on Task {{ {fields} }}"
        ),
        format!(
            "query($id: ID!) {{ project(id: $id) {{ tasks {{ id ... on Task {{ {fields} }} }} }} }}"
        ),
        // Every field under an alias (named back below).
        format!("query($id: ID!) {{ project(id: $id) {{ tasks {{ {aliased} }} }} }}"),
    ];
    // The same reads of members and projects, and no column but the id and the project.
    let before = app.db.statement_count();
    let body = gql(
        &app,
        &admin,
        "query($id: ID!) { project(id: $id) { tasks { id project { name } assignee { username }
           createdBy { username } updatedBy { username } } } }",
        json!({"id": project}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let mut statements = vec![app.db.statement_count() - before];
    for query in shapes {
        let before = app.db.statement_count();
        let body = gql(&app, &admin, &query, json!({"id": project})).await;
        statements.push(app.db.statement_count() - before);
        assert!(body.get("errors").is_none(), "{body}");
        let tasks: Vec<Value> = body["data"]["project"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|task| {
                Value::Object(
                    task.as_object()
                        .unwrap()
                        .iter()
                        .map(|(key, value)| {
                            (
                                key.strip_prefix("a_").unwrap_or(key).to_owned(),
                                value.clone(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        assert_eq!(tasks, expected, "{query}");
    }
    assert!(
        statements.iter().all(|count| *count == statements[0]),
        "statements of the id-only page, then per shape: {statements:?}"
    );
}

/// `totalCount` costs a statement only when the query selects it, however it is selected
/// (directly, under an alias, in a fragment or an inline fragment), and answers the same then.
#[tokio::test]
async fn the_total_is_counted_only_when_selected() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    for i in 0..3 {
        create_project(&app, &admin, &format!("P{i}")).await;
    }
    let statements = |query: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let before = app.db.statement_count();
            let body = gql(app, admin, query, json!({})).await;
            assert!(body.get("errors").is_none(), "{body}");
            (app.db.statement_count() - before, body)
        }
    };
    // Twice first: the member sync of the first request is not counted.
    statements("{ projects(first: 2) { edges { node { name } } } }").await;
    let (page_only, body) = statements("{ projects(first: 2) { edges { node { name } } } }").await;
    assert_eq!(
        body["data"]["projects"]["edges"].as_array().unwrap().len(),
        2
    );
    for query in [
        "{ projects(first: 2) { totalCount edges { node { name } } } }",
        "{ projects(first: 2) { n: totalCount edges { node { name } } } }",
        "{ projects(first: 2) { ...Counted edges { node { name } } } }
         fragment Counted on ProjectConnection { totalCount }",
        "{ projects(first: 2) { ... on ProjectConnection { totalCount } edges { node { name } } } }",
    ] {
        let (counted, body) = statements(query).await;
        assert_eq!(counted, page_only + 1, "one statement more: {query}");
        let projects = body["data"]["projects"].as_object().unwrap();
        let total = projects.get("totalCount").or_else(|| projects.get("n"));
        assert_eq!(total, Some(&json!(3)), "{body}");
    }
}

#[tokio::test]
async fn a_projects_tasks_are_its_first_tasks_oldest_first() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let (busy, _) = create_project(&app, &admin, "Busy").await;
    create_project(&app, &admin, "Quiet").await;
    for i in 0..5 {
        create_task(&app, &admin, &busy, &format!("t{i}")).await;
    }
    let body = gql(
        &app,
        &admin,
        "{ projects { edges { node { name taskCount tasks(first: 3) { title } all: tasks { title } } } } }",
        json!({}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let edges = body["data"]["projects"]["edges"].as_array().unwrap();
    let node = |name: &str| {
        edges
            .iter()
            .map(|e| &e["node"])
            .find(|n| n["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(node("Busy")["taskCount"], 5);
    assert_eq!(
        node("Busy")["tasks"],
        json!([{"title": "t0"}, {"title": "t1"}, {"title": "t2"}])
    );
    assert_eq!(node("Busy")["all"].as_array().unwrap().len(), 5);
    assert_eq!(node("Quiet")["tasks"], json!([]));
    let body = gql(
        &app,
        &admin,
        "{ projects { edges { node { tasks(first: 0) { title } } } } }",
        json!({}),
    )
    .await;
    // `tasks` is `[Task!]!`: its failure nulls the project, the edge and the (non-null)
    // edge list up to `projects`, the nearest nullable field (GraphQL spec 6.4.4).
    assert_eq!(body["data"], json!({ "projects": null }), "{body}");
    assert!(!error_codes(&body).is_empty(), "{body}");
    assert!(
        error_codes(&body)
            .iter()
            .all(|code| code == "BAD_USER_INPUT"),
        "{body}"
    );
}

/// A page of projects reads its projects' first tasks ahead, with the page, when every `tasks`
/// field selected on it asks for the same `first` (aliases, fragments, variables and the
/// default included); each project still gets its own first tasks, with every field its
/// selections show, and a `first` out of range is still the field's error.
#[tokio::test]
async fn a_page_reads_its_projects_first_tasks_ahead() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let (busy, _) = create_project(&app, &admin, "Busy").await;
    let (quiet, _) = create_project(&app, &admin, "Quiet").await;
    let (assigned, version) = create_task(&app, &admin, &busy, "b0").await;
    let admin_id = app.member_id(&admin.token, "acme-admin").await;
    assign_task(&app, &admin, &assigned, version, &admin_id).await;
    for title in ["b1", "b2"] {
        create_task(&app, &admin, &busy, title).await;
    }
    create_task(&app, &admin, &quiet, "q0").await;

    let expected = json!([
        {"node": {"name": "Busy", "a": [
            {"title": "b0", "status": "TODO", "assignee": {"username": "acme-admin"}},
            {"title": "b1", "status": "TODO", "assignee": null}]}},
        {"node": {"name": "Quiet", "a": [
            {"title": "q0", "status": "TODO", "assignee": null}]}},
    ]);
    let shapes = [
        // Two aliases, one `first`, different fields.
        (
            "{ projects { edges { node { name a: tasks(first: 2) { title status }
           b: tasks(first: 2) { assignee { username } } } } } }",
            json!({}),
        ),
        // A variable and a fragment.
        (
            "query($n: Int!) { projects { edges { node { name ...Tasks } } } }
          fragment Tasks on Project { a: tasks(first: $n) { title status assignee { username } } }",
            json!({"n": 2}),
        ),
    ];
    for (query, variables) in shapes {
        let body = gql(&app, &admin, query, variables).await;
        assert!(body.get("errors").is_none(), "{body}");
        let edges: Vec<Value> = body["data"]["projects"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| {
                let node = &edge["node"];
                let mut tasks = node["a"].as_array().unwrap().clone();
                if let Some(b) = node.get("b") {
                    for (task, other) in tasks.iter_mut().zip(b.as_array().unwrap()) {
                        task["assignee"] = other["assignee"].clone();
                    }
                }
                json!({"node": {"name": node["name"], "a": tasks}})
            })
            .collect();
        assert_eq!(Value::from(edges), expected, "{query}");
    }
    // No `first`: the default, 20.
    let body = gql(
        &app,
        &admin,
        "{ projects { edges { node { tasks { title } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["projects"]["edges"][0]["node"]["tasks"],
        json!([{"title": "b0"}, {"title": "b1"}, {"title": "b2"}]),
        "{body}"
    );
    // Out of range, the same for every alias: nothing read ahead, each field's own error.
    let body = gql(
        &app,
        &admin,
        "{ projects { edges { node { tasks(first: 101) { title } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"], json!({ "projects": null }), "{body}");
    assert!(
        error_codes(&body)
            .iter()
            .all(|code| code == "BAD_USER_INPUT"),
        "{body}"
    );
}

#[tokio::test]
async fn members_are_synced_once_not_on_every_request() {
    let app = spawn_app().await;
    let viewer = user(&app, "viewer", "acme");
    let first = app.db.statement_count();
    gql(&app, &viewer, "{ me { username } }", json!({})).await;
    assert_eq!(
        app.db.statement_count(),
        first,
        "a request for no tenant data never touches the database"
    );
    let cost = || async {
        let before = app.db.statement_count();
        gql(&app, &viewer, "{ projects { totalCount } }", json!({})).await;
        app.db.statement_count() - before
    };
    let entering = cost().await;
    let reading = cost().await;
    assert!(
        entering > reading,
        "the first tenant request makes the member ({entering} statements, then {reading})"
    );
    for _ in 0..2 {
        assert_eq!(cost().await, reading, "later requests write nothing");
    }
    let admin = user(&app, "admin", "acme");
    let body = gql(
        &app,
        &admin,
        "{ members { nodes { username firstSeenAt lastSeenAt } } }",
        json!({}),
    )
    .await;
    let members = body["data"]["members"]["nodes"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{body}");
    assert!(members.iter().any(|m| m["username"] == "acme-viewer"));
}

#[tokio::test]
async fn a_viewer_gets_null_budgets_and_the_rest_of_the_data() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let viewer = user(&app, "viewer", "acme");
    let (project, _) = create_project(&app, &admin, "Visible").await;
    let body = gql(
        &app,
        &viewer,
        "query($id: ID!) { project(id: $id) { name budget archived } }",
        json!({"id": project}),
    )
    .await;
    assert_eq!(body["data"]["project"]["name"], "Visible");
    assert_eq!(body["data"]["project"]["archived"], false);
    assert_eq!(body["data"]["project"]["budget"], Value::Null);
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["path"], json!(["project", "budget"]));
}

#[tokio::test]
async fn an_invalid_tenant_attribute_is_refused_not_truncated() {
    let app = spawn_app().await;
    let token = app.token_with(&["admin"], json!({"custom:tenant": "acme corp"}));
    let body = gql(
        &app,
        &User { token },
        "{ me { tenant } projects { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["me"]["tenant"], Value::Null);
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert_eq!(body["errors"][0]["extensions"]["reason"], "invalid_tenant");
}

#[tokio::test]
async fn denied_fields_are_null_in_data_as_the_spec_says() {
    let app = spawn_app().await;
    let admin = user(&app, "admin", "acme");
    let viewer = user(&app, "viewer", "acme");
    create_project(&app, &admin, "P1").await;
    let body = gql(
        &app,
        &viewer,
        "{ me { username } members { nodes { username } } projects(first: 1) { edges { node { name budget } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"],
        json!({
            "me": { "username": "acme-viewer" },
            "members": null,
            "projects": { "edges": [{ "node": { "name": "P1", "budget": null } }] },
        }),
        "{body}"
    );
    let paths: Vec<&Value> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["path"])
        .collect();
    assert_eq!(paths.len(), 2, "{body}");
    assert!(paths.contains(&&json!(["members"])), "{body}");
    assert!(
        paths.contains(&&json!(["projects", "edges", 0, "node", "budget"])),
        "{body}"
    );

    let body = gql(
        &app,
        &viewer,
        r#"mutation { createProject(input: { name: "x" }) { id } }"#,
        json!({}),
    )
    .await;
    assert_eq!(body["data"], json!({ "createProject": null }), "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["createProject"]),
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}

#[tokio::test]
async fn an_odd_but_valid_profile_is_refused_clearly_not_a_503() {
    let app = spawn_app().await;
    for (name, claims) in [
        (
            "a 300-character username",
            json!({"custom:tenant": "acme", "username": "u".repeat(300)}),
        ),
        (
            "a sub with a trailing space",
            json!({"custom:tenant": "acme", "sub": "8f3e5a1c-0d4b-4c1e-9a57-2b6d7e8f9a01 "}),
        ),
    ] {
        let token = app.token_with(&["viewer"], claims);
        let response = app
            .post(
                Some(&token),
                &json!({ "query": "{ me { sub } projects { totalCount } }" }),
            )
            .await;
        assert_eq!(response.status(), 200, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(body["data"]["me"]["sub"].is_string(), "{name}: {body}");
        assert_eq!(body["data"]["projects"], Value::Null, "{name}: {body}");
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{name}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "invalid_profile",
            "{name}: {body}"
        );
    }
}

async fn send(app: &TestApp, who: &User, request: Value) -> (u16, Value) {
    let response = app.post(Some(&who.token), &request).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A document that passed validation before keeps its answers: the same request again, the
/// same document with variables that do not fit, another operation name, a document that fails.
/// Each is answered as a server that never saw the document answers it.
#[tokio::test]
async fn a_document_validated_before_is_answered_as_on_first_sight() {
    let app = spawn_app().await;
    let viewer = user(&app, "viewer", "acme");
    let query =
        "query Q($first: Int) { projects(first: $first) { totalCount } } query R { me { sub } }";
    for _ in 0..3 {
        let (status, body) =
            send(&app, &viewer, json!({"query": query, "operationName": "Q"})).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"data": {"projects": {"totalCount": 0}}}));
    }
    let requests = [
        json!({"query": query, "operationName": "Q", "variables": {"first": "ten"}}),
        json!({"query": query, "operationName": "Q", "variables": {"first": 1, "extra": 2}}),
        json!({"query": query, "operationName": "Nope"}),
        json!({"query": query}),
        json!({"query": "{ projects { nope } }"}),
    ];
    for request in &requests {
        let fresh = spawn_app().await;
        let stranger = user(&fresh, "viewer", "acme");
        let expected = send(&fresh, &stranger, request.clone()).await;
        for _ in 0..2 {
            assert_eq!(
                send(&app, &viewer, request.clone()).await,
                expected,
                "{request}"
            );
        }
    }
}
