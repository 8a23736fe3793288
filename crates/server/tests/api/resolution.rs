//! How objects are resolved. The schema resolves projects, tasks, members and audit events in
//! place (one field after another, joined from the first that waits) rather than through the
//! engine's per-field machinery: it must answer exactly as the engine does, which a schema with
//! resolver tracing still uses, keep the selection's order, and batch sibling fields that wait.

use async_graphql::Request;
use cognigraph_domain::{
    Scope, TenantId,
    members::{self, MemberProfile},
    projects::{self, NewProject},
    tasks::{self, NewTask},
};
use cognigraph_server::{
    authz::{Principal, Role},
    graphql::{
        ApiSchema,
        context::{LazyTenantContext, TenantContext},
    },
};
use serde_json::{Value, json};

use crate::helpers::{schema_without_limits, temporary_sqlite};

/// A tenant `acme` with an admin (`owner`, who made everything) and a viewer, two projects of
/// three tasks each, the first task (`task`) assigned to the viewer and the others to the owner.
struct Seeded {
    _folder: tempfile::TempDir,
    db: cognigraph_domain::Db,
    owner: Scope,
    viewer: Scope,
    task: String,
}

async fn seeded() -> Seeded {
    let (folder, db) = temporary_sqlite("resolution.db").await;
    let enter = |role: Role, sub: &'static str| {
        let db = db.clone();
        async move {
            let profile = MemberProfile {
                username: sub.to_owned(),
                email: Some(format!("{sub}@example.com")),
                token_issued_at: None,
            };
            let tenant = TenantId::parse("acme").unwrap();
            members::enter(&db, tenant, role, sub, profile)
                .await
                .unwrap()
        }
    };
    let owner = enter(Role::Admin, "owner").await;
    let viewer = enter(Role::Viewer, "viewer").await;
    let mut task = None;
    for p in 0..2 {
        let new = NewProject {
            name: format!("P{p}"),
            description: None,
            budget: Some(10),
        };
        let project = projects::create(&owner, &db, new).await.unwrap();
        for t in 0..3 {
            let new = NewTask {
                project_id: project.id,
                title: format!("T{p}.{t}"),
                description: None,
                due_date: None,
                assignee_id: Some(if task.is_none() {
                    viewer.actor_id()
                } else {
                    owner.actor_id()
                }),
            };
            let created = tasks::create(&owner, &db, new).await.unwrap();
            task.get_or_insert(created.id.to_string());
        }
    }
    Seeded {
        _folder: folder,
        db,
        owner,
        viewer,
        task: task.unwrap(),
    }
}

impl Seeded {
    /// `query` (variable `$task`: the first task) as `scope`'s member, on `schema`: the response
    /// as JSON text, in the order the schema answered.
    async fn run(&self, schema: &ApiSchema, scope: &Scope, query: &str) -> String {
        let role = scope.role();
        let request = Request::new(query)
            .variables(async_graphql::Variables::from_json(
                json!({ "task": self.task }),
            ))
            .data(Principal::for_tests(Some(role), &[], Some("acme")))
            .data(LazyTenantContext::ready(TenantContext::new(
                scope.clone(),
                self.db.clone(),
            )));
        serde_json::to_string(&schema.execute(request).await).unwrap()
    }
}

/// Queries over every object type resolved in place, with how many errors each gives the owner
/// and the viewer: nested pages, fragments (named, inline, on a type and without), aliases, a
/// field selected twice with different sub-selections, `__typename`, denied fields (budgets,
/// emails, admin-only roots; one after fields that wait), fields that fail and a variable.
const QUERIES: [(&str, usize, usize); 7] = [
    (
        "{ projects(first: 5) { totalCount edges { cursor node { name taskCount budget
           tasks(first: 2) { title assignee { username email } } } } } }",
        0,
        6,
    ),
    (
        "{ projects(first: 2) { edges { node { tasks(first: 2) { assignee { email } } budget } } } }",
        0,
        6,
    ),
    (
        "{ projects(first: 2) { edges { node { ...Named ... on Project { tasks(first: 2) { title } }
           tasks(first: 2) { id createdBy { __typename username } } renamed: name __typename
           ... { archived } createdBy { id } } } } }
         fragment Named on Project { name createdBy { username } }",
        0,
        0,
    ),
    (
        "query($task: ID!) { task(id: $task) { project { name createdBy { username } updatedBy { id } }
           title createdBy { username } updatedBy { username } assignee { ...Who } status }
           tasks(first: 4) { edges { node { title project { name } } } } }
         fragment Who on Member { username role }",
        0,
        0,
    ),
    (
        "{ members(first: 5) { edges { node { username email role } } }
           auditEvents(first: 5) { edges { node { action actor { username } } } } }",
        0,
        2,
    ),
    (
        "{ projects(first: 1) { edges { node { name tasks(first: 0) { title } } } } }",
        1,
        1,
    ),
    (
        "query($task: ID!) { a: task(id: $task) { title } b: task(id: \"nope\") { title } }",
        1,
        1,
    ),
];

/// `answer` (a response's JSON text) with its errors in the order of their paths: neither the
/// engine nor in-place resolution promises an order, and theirs differ.
fn errors_sorted(answer: &str) -> Value {
    let mut answer: Value = serde_json::from_str(answer).expect("JSON");
    if let Some(errors) = answer.get_mut("errors").and_then(Value::as_array_mut) {
        errors.sort_by_key(|error| error["path"].to_string());
    }
    answer
}

#[tokio::test]
async fn objects_resolved_in_place_answer_as_the_engine_does() {
    let seeded = seeded().await;
    let (in_place, engine) = (schema_without_limits(false), schema_without_limits(true));
    for (query, owners_errors, viewers_errors) in QUERIES {
        for (scope, errors) in [
            (&seeded.owner, owners_errors),
            (&seeded.viewer, viewers_errors),
        ] {
            let ours = errors_sorted(&seeded.run(&in_place, scope, query).await);
            let theirs = errors_sorted(&seeded.run(&engine, scope, query).await);
            assert_eq!(ours, theirs, "{query} as {:?}", scope.role());
            let role = scope.role();
            assert!(ours["data"].is_object(), "{query} as {role:?}: {ours}");
            let listed = ours
                .get("errors")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            assert_eq!(listed, errors, "{query} as {role:?}: {ours}");
        }
    }
}

#[tokio::test]
async fn fields_keep_the_selections_order() {
    let seeded = seeded().await;
    // `project` and `createdBy` wait for their loaders; `title` and `id` are ready at once,
    // which is the order they finish in: the engine's order (a schema with resolver tracing),
    // which shows that the other schema's is not the engine's.
    let query = "query($task: ID!) { task(id: $task) { project { name } title createdBy { username } id } }";
    for (trace_resolvers, in_order) in [(false, true), (true, false)] {
        let schema = schema_without_limits(trace_resolvers);
        let answer = seeded.run(&schema, &seeded.owner, query).await;
        let keys: Vec<usize> = ["\"project\"", "\"title\"", "\"createdBy\"", "\"id\""]
            .iter()
            .map(|key| {
                answer
                    .find(key)
                    .unwrap_or_else(|| panic!("{key} in {answer}"))
            })
            .collect();
        assert_eq!(
            keys.is_sorted(),
            in_order,
            "resolvers traced: {trace_resolvers}: {answer}"
        );
    }
}

#[tokio::test]
async fn sibling_fields_that_wait_share_their_loaders_batches() {
    let seeded = seeded().await;
    let schema = schema_without_limits(false);
    let statements = |query: &'static str| {
        let (seeded, schema) = (&seeded, &schema);
        async move {
            let before = seeded.db.statement_count();
            let answer = seeded.run(schema, &seeded.owner, query).await;
            assert!(!answer.contains("\"errors\""), "{answer}");
            seeded.db.statement_count() - before
        }
    };
    let alone = statements("query($task: ID!) { task(id: $task) { id } }").await;
    // Three member fields naming two members (one batch of the member loader) and the project
    // (one of the project loader), each waiting: resolved one after another, they would be
    // four batches. (A test runs on one thread: a loader's batch, a task of its own, starts
    // only once the request waits, so the count does not depend on timing.)
    let with_siblings = statements(
        "query($task: ID!) { task(id: $task) { id createdBy { username } updatedBy { username }
           assignee { username } project { name } } }",
    )
    .await;
    assert_eq!(with_siblings, alone + 2);
}
