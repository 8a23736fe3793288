//! Roles from the emulator's `cognito:groups`: every role of two tenants against every root
//! field, and a role lost with the group.

use cognigraph_cognito::UserPool as _;
use cognigraph_tests::{App, Pool};
use serde_json::{Value, json};

use crate::support::{Fixture, assert_denied, data, post, signed_in};

const OK: &str = "ok";
const DENIED: &str = "FORBIDDEN";

/// A caller of the matrix: a user of the pool in one group and one tenant.
#[derive(Debug, Clone, Copy)]
struct Caller {
    username: &'static str,
    group: &'static str,
    tenant: &'static str,
}

/// The matrix's columns.
const CALLERS: [Caller; 5] = [
    Caller {
        username: "acme-viewer",
        group: "viewer",
        tenant: "acme",
    },
    Caller {
        username: "acme-editor",
        group: "editor",
        tenant: "acme",
    },
    Caller {
        username: "acme-admin",
        group: "admin",
        tenant: "acme",
    },
    Caller {
        username: "globex-admin",
        group: "admin",
        tenant: "globex",
    },
    Caller {
        username: "globex-viewer",
        group: "viewer",
        tenant: "globex",
    },
];

/// Every root field of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Me,
    AccessPolicy,
    Projects,
    Project,
    Tasks,
    Task,
    Members,
    AuditEvents,
    CreateProject,
    UpdateProject,
    ArchiveProject,
    DeleteProject,
    CreateTask,
    UpdateTask,
    AssignTask,
    SetTaskStatus,
    DeleteTask,
    RefreshSigningKeys,
    InviteMember,
    SetMemberRole,
    DisableMember,
    EnableMember,
    SignOutMember,
}

/// The expected outcome of every root field for every caller: `ok`, or the error's code.
#[rustfmt::skip]
const MATRIX: [(Op, [&str; 5]); 23] = [
    //                        acme                    globex
    //                        viewer  editor  admin   admin   viewer
    (Op::Me,                 [OK,     OK,     OK,     OK,     OK]),
    (Op::AccessPolicy,       [OK,     OK,     OK,     OK,     OK]),
    (Op::Projects,           [OK,     OK,     OK,     OK,     OK]),
    (Op::Project,            [OK,     OK,     OK,     OK,     OK]),
    (Op::Tasks,              [OK,     OK,     OK,     OK,     OK]),
    (Op::Task,               [OK,     OK,     OK,     OK,     OK]),
    (Op::Members,            [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::AuditEvents,        [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::CreateProject,      [DENIED, OK,     OK,     OK,     DENIED]),
    (Op::UpdateProject,      [DENIED, OK,     OK,     OK,     DENIED]),
    (Op::ArchiveProject,     [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::DeleteProject,      [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::CreateTask,         [DENIED, OK,     OK,     OK,     DENIED]),
    (Op::UpdateTask,         [DENIED, OK,     OK,     OK,     DENIED]),
    (Op::AssignTask,         [DENIED, OK,     OK,     OK,     DENIED]),
    (Op::SetTaskStatus,      [DENIED, OK,     OK,     OK,     DENIED]),
    (Op::DeleteTask,         [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::RefreshSigningKeys, [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::InviteMember,       [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::SetMemberRole,      [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::DisableMember,      [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::EnableMember,       [DENIED, DENIED, OK,     OK,     DENIED]),
    (Op::SignOutMember,      [DENIED, DENIED, OK,     OK,     DENIED]),
];

/// What one cell runs against: the tenant's rows, and its admin (who owns them) as a member.
#[derive(Debug)]
struct Setting<'a> {
    fixture: &'a Fixture,
    owner_member_id: &'a str,
    /// A member invited for this cell (member management cells), at version 1.
    invitee: Option<&'a str>,
    owner: &'a str,
}

impl Op {
    /// The root field.
    fn field(self) -> &'static str {
        match self {
            Self::Me => "me",
            Self::AccessPolicy => "accessPolicy",
            Self::Projects => "projects",
            Self::Project => "project",
            Self::Tasks => "tasks",
            Self::Task => "task",
            Self::Members => "members",
            Self::AuditEvents => "auditEvents",
            Self::CreateProject => "createProject",
            Self::UpdateProject => "updateProject",
            Self::ArchiveProject => "archiveProject",
            Self::DeleteProject => "deleteProject",
            Self::CreateTask => "createTask",
            Self::UpdateTask => "updateTask",
            Self::AssignTask => "assignTask",
            Self::SetTaskStatus => "setTaskStatus",
            Self::DeleteTask => "deleteTask",
            Self::RefreshSigningKeys => "refreshSigningKeys",
            Self::InviteMember => "inviteMember",
            Self::SetMemberRole => "setMemberRole",
            Self::DisableMember => "disableMember",
            Self::EnableMember => "enableMember",
            Self::SignOutMember => "signOutMember",
        }
    }

    /// Member management on an existing member gets a freshly invited one in each cell.
    fn needs_invitee(self) -> bool {
        matches!(
            self,
            Self::SetMemberRole | Self::DisableMember | Self::EnableMember | Self::SignOutMember
        )
    }

    /// Mutations on the tenant's rows get fresh rows in each cell.
    fn writes(self) -> bool {
        matches!(
            self,
            Self::CreateProject
                | Self::UpdateProject
                | Self::ArchiveProject
                | Self::DeleteProject
                | Self::CreateTask
                | Self::UpdateTask
                | Self::AssignTask
                | Self::SetTaskStatus
                | Self::DeleteTask
        )
    }

    fn request(self, at: &Setting<'_>) -> (&'static str, Value) {
        let fx = at.fixture;
        let project = json!({ "id": fx.project, "v": fx.project_version });
        let task = json!({ "id": fx.task, "v": fx.task_version });
        match self {
            Self::Me => ("{ me { username } }", json!({})),
            Self::AccessPolicy => ("{ accessPolicy { operationType field } }", json!({})),
            Self::Projects => ("{ projects(first: 100) { nodes { id } } }", json!({})),
            Self::Project => (
                "query($id: ID!) { project(id: $id) { id } }",
                json!({ "id": fx.project }),
            ),
            Self::Tasks => ("{ tasks(first: 100) { nodes { id } } }", json!({})),
            Self::Task => (
                "query($id: ID!) { task(id: $id) { id } }",
                json!({ "id": fx.task }),
            ),
            Self::Members => ("{ members { nodes { id username } } }", json!({})),
            Self::AuditEvents => (
                "{ auditEvents(first: 100) { nodes { action entityId } } }",
                json!({}),
            ),
            Self::CreateProject => (
                "mutation { createProject(input: {name: \"New\"}) { name version } }",
                json!({}),
            ),
            Self::UpdateProject => (
                "mutation($id: ID!, $v: Int!) { updateProject(id: $id, expectedVersion: $v, input: {name: \"Renamed\"}) { name version } }",
                project,
            ),
            Self::ArchiveProject => (
                "mutation($id: ID!, $v: Int!) { archiveProject(id: $id, expectedVersion: $v) { archived version } }",
                project,
            ),
            Self::DeleteProject => (
                "mutation($id: ID!, $v: Int!) { deleteProject(id: $id, expectedVersion: $v) }",
                project,
            ),
            Self::CreateTask => (
                "mutation($p: ID!) { createTask(input: {projectId: $p, title: \"New\"}) { title project { id } } }",
                json!({ "p": fx.project }),
            ),
            Self::UpdateTask => (
                "mutation($id: ID!, $v: Int!) { updateTask(id: $id, expectedVersion: $v, input: {title: \"Renamed\"}) { title version } }",
                task,
            ),
            Self::AssignTask => (
                "mutation($id: ID!, $v: Int!, $a: ID) { assignTask(id: $id, expectedVersion: $v, assigneeId: $a) { assignee { id } version } }",
                json!({ "id": fx.task, "v": fx.task_version, "a": at.owner_member_id }),
            ),
            Self::SetTaskStatus => (
                "mutation($id: ID!, $v: Int!) { setTaskStatus(id: $id, expectedVersion: $v, status: DONE) { status version } }",
                task,
            ),
            Self::DeleteTask => (
                "mutation($id: ID!, $v: Int!) { deleteTask(id: $id, expectedVersion: $v) }",
                task,
            ),
            Self::RefreshSigningKeys => ("mutation { refreshSigningKeys { loaded } }", json!({})),
            Self::InviteMember => (
                "mutation($email: String!) { inviteMember(input: {email: $email, role: VIEWER}) { role status } }",
                json!({ "email": format!("invitee-{}@example.com", uuid::Uuid::new_v4().simple()) }),
            ),
            Self::SetMemberRole => (
                "mutation($id: ID!) { setMemberRole(memberId: $id, role: EDITOR, expectedVersion: 1) { role version } }",
                json!({ "id": at.invitee }),
            ),
            Self::DisableMember => (
                "mutation($id: ID!) { disableMember(memberId: $id, expectedVersion: 1) { status version } }",
                json!({ "id": at.invitee }),
            ),
            Self::EnableMember => (
                "mutation($id: ID!) { enableMember(memberId: $id, expectedVersion: 1) { status version } }",
                json!({ "id": at.invitee }),
            ),
            Self::SignOutMember => (
                "mutation($id: ID!) { signOutMember(memberId: $id) { id } }",
                json!({ "id": at.invitee }),
            ),
        }
    }

    /// Asserts what an allowed call returned.
    fn assert_result(self, result: &Value, caller: Caller, at: &Setting<'_>) {
        let fx = at.fixture;
        let ids = |list: &Value| -> Vec<String> {
            list.as_array()
                .expect("a list")
                .iter()
                .map(|n| n["id"].as_str().expect("an id").to_owned())
                .collect()
        };
        let context = format!("{self:?} as {}: {result}", caller.username);
        match self {
            Self::Me => assert_eq!(result["username"], caller.username, "{context}"),
            Self::AccessPolicy => {
                let fields: Vec<&Value> = result
                    .as_array()
                    .expect("a list")
                    .iter()
                    .map(|p| &p["field"])
                    .collect();
                assert_eq!(fields.len(), MATRIX.len(), "{context}");
                for (op, _) in MATRIX {
                    assert!(fields.contains(&&json!(op.field())), "{context}");
                }
            }
            Self::Projects => assert!(ids(&result["nodes"]).contains(&fx.project), "{context}"),
            Self::Project => assert_eq!(result["id"], fx.project.as_str(), "{context}"),
            Self::Tasks => assert!(ids(&result["nodes"]).contains(&fx.task), "{context}"),
            Self::Task => assert_eq!(result["id"], fx.task.as_str(), "{context}"),
            Self::Members => {
                let members = result["nodes"].as_array().expect("a list");
                assert!(
                    members
                        .iter()
                        .any(|m| m["id"] == at.owner_member_id && m["username"] == at.owner),
                    "{context}"
                );
                assert!(
                    members.iter().all(|m| m["username"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(caller.tenant))),
                    "only members of the tenant: {context}"
                );
            }
            Self::AuditEvents => {
                let events = result["nodes"].as_array().expect("a list");
                assert!(
                    events.iter().any(|e| e["entityId"] == fx.project.as_str()),
                    "{context}"
                );
            }
            Self::CreateProject => assert_eq!(result, &json!({"name": "New", "version": 1})),
            Self::UpdateProject => assert_eq!(
                result,
                &json!({"name": "Renamed", "version": fx.project_version + 1}),
                "{context}"
            ),
            Self::ArchiveProject => assert_eq!(
                result,
                &json!({"archived": true, "version": fx.project_version + 1}),
                "{context}"
            ),
            Self::DeleteProject => assert_eq!(result, fx.project.as_str(), "{context}"),
            Self::CreateTask => assert_eq!(
                result,
                &json!({"title": "New", "project": {"id": fx.project}}),
                "{context}"
            ),
            Self::UpdateTask => assert_eq!(
                result,
                &json!({"title": "Renamed", "version": fx.task_version + 1}),
                "{context}"
            ),
            Self::AssignTask => assert_eq!(
                result,
                &json!({"assignee": {"id": at.owner_member_id}, "version": fx.task_version + 1}),
                "{context}"
            ),
            Self::SetTaskStatus => assert_eq!(
                result,
                &json!({"status": "DONE", "version": fx.task_version + 1}),
                "{context}"
            ),
            Self::DeleteTask => assert_eq!(result, fx.task.as_str(), "{context}"),
            Self::RefreshSigningKeys => assert_eq!(result, &json!({"loaded": true}), "{context}"),
            Self::InviteMember => assert_eq!(
                result,
                &json!({"role": "VIEWER", "status": "INVITED"}),
                "{context}"
            ),
            Self::SetMemberRole => assert_eq!(
                result,
                &json!({"role": "EDITOR", "version": 2}),
                "{context}"
            ),
            Self::DisableMember => assert_eq!(
                result,
                &json!({"status": "DISABLED", "version": 2}),
                "{context}"
            ),
            // Not disabled, and no password chosen yet: still invited.
            Self::EnableMember => assert_eq!(
                result,
                &json!({"status": "INVITED", "version": 2}),
                "{context}"
            ),
            Self::SignOutMember => assert_eq!(result["id"], json!(at.invitee), "{context}"),
        }
    }
}

#[tokio::test]
async fn every_role_of_two_tenants_against_every_root_field() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |settings| settings.user_management = true).await;
    let mut tokens = Vec::new();
    for caller in CALLERS {
        let signed = signed_in(&pool, caller.username, &[caller.group], Some(caller.tenant)).await;
        tokens.push(signed.access_token);
    }
    let token_of = |username: &str| {
        let index = CALLERS
            .iter()
            .position(|c| c.username == username)
            .expect("a caller");
        tokens[index].clone()
    };

    // Each tenant's admin owns its rows; read-only cells share one fixture per tenant.
    let mut tenants = Vec::new();
    for (tenant, owner) in [("acme", "acme-admin"), ("globex", "globex-admin")] {
        let owner_token = token_of(owner);
        let fixture = Fixture::create(&app, &owner_token, &format!("{tenant} shared")).await;
        let members = data(
            &app,
            &owner_token,
            "{ members { nodes { id username } } }",
            json!({}),
        )
        .await;
        let owner_member_id = members["members"]["nodes"]
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["username"] == owner)
            .and_then(|m| m["id"].as_str())
            .expect("the owner is a member")
            .to_owned();
        tenants.push((tenant, owner, owner_token, fixture, owner_member_id));
    }

    let mut mismatches = Vec::new();
    let mut cells = 0;
    for (op, expected) in MATRIX {
        for ((caller, token), want) in CALLERS.iter().zip(&tokens).zip(expected) {
            let (_, owner, owner_token, shared, owner_member_id) = tenants
                .iter()
                .find(|t| t.0 == caller.tenant)
                .expect("a tenant");
            let fresh;
            let fixture = if op.writes() {
                fresh = Fixture::create(&app, owner_token, "cell").await;
                &fresh
            } else {
                shared
            };
            let invitee = if op.needs_invitee() {
                let invited = data(
                    &app,
                    owner_token,
                    "mutation($email: String!) { inviteMember(input: {email: $email, role: VIEWER}) { id } }",
                    json!({ "email": format!("cell-{}@example.com", uuid::Uuid::new_v4().simple()) }),
                )
                .await;
                invited["inviteMember"]["id"].as_str().map(str::to_owned)
            } else {
                None
            };
            let at = Setting {
                fixture,
                owner_member_id,
                invitee: invitee.as_deref(),
                owner,
            };
            // What a refused call must leave alone.
            let before = if want == OK {
                Value::Null
            } else {
                fixture.state(&app, owner_token).await
            };
            let (query, variables) = op.request(&at);
            let answer = post(&app, token, query, variables).await;
            assert_eq!(answer.status, 200, "{op:?} as {}", caller.username);
            let body = answer.body;
            let got = cognigraph_tests::error_codes(&body)
                .first()
                .cloned()
                .unwrap_or_else(|| OK.to_owned());
            cells += 1;
            if got != want {
                mismatches.push(format!(
                    "{op:?} as {} ({}): expected {want}, got {body}",
                    caller.username, caller.tenant
                ));
                continue;
            }
            if want == OK {
                assert!(body.get("errors").is_none(), "{body}");
                op.assert_result(&body["data"][op.field()], *caller, &at);
            } else {
                assert_denied(&body, op.field(), DENIED, Some("insufficient_role"));
                assert_eq!(
                    fixture.state(&app, owner_token).await,
                    before,
                    "{op:?} refused to {} changed nothing",
                    caller.username
                );
            }
        }
    }
    assert_eq!(cells, MATRIX.len() * CALLERS.len());
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn a_user_removed_from_a_group_loses_the_role_on_the_next_token() {
    let pool = Pool::create().await;
    let app = App::start(&pool, 60, |_| {}).await;
    let old = signed_in(&pool, "demoted", &["editor", "viewer"], Some("acme")).await;
    let me = "{ me { groups roles } }";
    let create = "mutation { createProject(input: {name: \"By an editor\"}) { name } }";

    let before = data(&app, &old.access_token, me, json!({})).await;
    let mut groups: Vec<String> =
        serde_json::from_value(before["me"]["groups"].clone()).expect("groups");
    groups.sort();
    assert_eq!(groups, ["editor", "viewer"]);
    assert_eq!(before["me"]["roles"], json!(["EDITOR", "VIEWER"]));
    let created = data(&app, &old.access_token, create, json!({})).await;
    assert_eq!(created["createProject"]["name"], "By an editor");

    pool.admin
        .admin_remove_user_from_group("demoted", "editor")
        .await
        .expect("AdminRemoveUserFromGroup");
    let new = pool.sign_in("demoted").await;

    let after = data(&app, &new.access_token, me, json!({})).await;
    assert_eq!(
        after["me"],
        json!({"groups": ["viewer"], "roles": ["VIEWER"]})
    );
    let (status, body) = app.graphql(&new.access_token, create, json!({})).await;
    assert_eq!(status, 200);
    assert_denied(&body, "createProject", DENIED, Some("insufficient_role"));
    let listed = data(
        &app,
        &new.access_token,
        "{ projects { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["projects"]["totalCount"], 1, "still a viewer");

    // Groups are claims: the token issued before the change keeps them until it expires.
    let stale = data(&app, &old.access_token, me, json!({})).await;
    assert_eq!(stale["me"]["roles"], json!(["EDITOR", "VIEWER"]));
}
