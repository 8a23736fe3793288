//! The policy table and the role × action matrix, checked through the operations themselves.

use cognigraph_domain::projects::{self, ProjectFilter, ProjectPatch};
use cognigraph_domain::tasks::{self, TaskColumns, TaskFilter, TaskPatch, TaskStatus};
use cognigraph_domain::{Action, DomainError, PageRequest, Role, Scope, audit, members};

use crate::support::{
    TestDb, assert_forbidden, db_tests, enter, new_project, new_task, project, task,
};

pub(crate) fn pure_tests() -> Vec<(&'static str, fn())> {
    vec![("policy_table", policy_table), ("role_order", role_order)]
}

db_tests![role_action_matrix];

/// The table as the issue states it: viewers read projects and tasks; editors also create and
/// update them, assign and change status; admins do everything else.
fn policy_table() {
    use Action::*;
    let expected = [
        (ReadProjects, Role::Viewer),
        (ReadTasks, Role::Viewer),
        (CreateProject, Role::Editor),
        (UpdateProject, Role::Editor),
        (CreateTask, Role::Editor),
        (UpdateTask, Role::Editor),
        (AssignTask, Role::Editor),
        (SetTaskStatus, Role::Editor),
        (ArchiveProject, Role::Admin),
        (DeleteProject, Role::Admin),
        (DeleteTask, Role::Admin),
        (ReadMembers, Role::Admin),
        (ManageMembers, Role::Admin),
        (ReadMemberEmail, Role::Admin),
        (ReadBudget, Role::Admin),
        (ReadAuditLog, Role::Admin),
    ];
    assert_eq!(expected.len(), Action::ALL.len());
    for (action, role) in expected {
        assert_eq!(action.required_role(), role, "{action:?}");
        assert!(
            Action::ALL.contains(&action),
            "{action:?} missing from Action::ALL"
        );
    }
    let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Action::ALL.len(), "action names are unique");
}

fn role_order() {
    assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
    assert_eq!(Role::ALL, [Role::Viewer, Role::Editor, Role::Admin]);
    for action in Action::ALL {
        for role in Role::ALL {
            assert_eq!(action.allows(role), role >= action.required_role());
        }
    }
}

/// Performs `action` as `scope` on fresh fixtures made by `admin`.
async fn perform(
    action: Action,
    scope: &Scope,
    admin: &Scope,
    t: &TestDb,
) -> Result<(), DomainError> {
    let db = &t.db;
    let p = project(admin, db, "Fixture").await;
    let task = task(admin, db, p.id, "Fixture task").await;
    let page = PageRequest::default();
    match action {
        Action::ReadProjects => {
            projects::get(scope, db, p.id).await?;
            projects::get_many(scope, db, &[p.id]).await?;
            projects::list(scope, db, ProjectFilter::default(), page).await?;
            members::get(scope, db, admin.actor_id()).await?;
            members::get_many(scope, db, &[admin.actor_id()]).await?;
        }
        Action::CreateProject => {
            projects::create(scope, db, new_project("New")).await?;
        }
        Action::UpdateProject => {
            let patch = ProjectPatch {
                name: Some("Renamed".to_owned()),
                ..ProjectPatch::default()
            };
            projects::update(scope, db, p.id, patch, p.version).await?;
        }
        Action::ArchiveProject => {
            projects::archive(scope, db, p.id, p.version).await?;
        }
        Action::DeleteProject => projects::delete(scope, db, p.id, p.version).await?,
        Action::ReadTasks => {
            tasks::get(scope, db, task.id).await?;
            tasks::get_many(scope, db, &[task.id]).await?;
            tasks::list(scope, db, TaskFilter::default(), page).await?;
            tasks::first_by_project(scope, db, &[p.id], 1, TaskColumns::ALL).await?;
        }
        Action::CreateTask => {
            tasks::create(scope, db, new_task(p.id, "New task")).await?;
        }
        Action::UpdateTask => {
            let patch = TaskPatch {
                title: Some("Renamed".to_owned()),
                ..TaskPatch::default()
            };
            tasks::update(scope, db, task.id, patch, task.version).await?;
        }
        Action::AssignTask => {
            tasks::assign(scope, db, task.id, Some(admin.actor_id()), task.version).await?;
        }
        Action::SetTaskStatus => {
            tasks::set_status(scope, db, task.id, TaskStatus::Done, task.version).await?;
        }
        Action::DeleteTask => tasks::delete(scope, db, task.id, task.version).await?,
        Action::ReadMembers => {
            crate::support::all_members(scope, db).await?;
        }
        Action::ManageMembers => {
            members::record_sign_out(scope, db, admin.actor_id()).await?;
        }
        // Field policies: the GraphQL layer asks the scope.
        Action::ReadMemberEmail | Action::ReadBudget => scope.authorize(action)?,
        Action::ReadAuditLog => {
            audit::list(scope, db, page).await?;
        }
    }
    Ok(())
}

/// Every action as every role: allowed exactly when the policy table says so, else
/// `Forbidden { action }`.
async fn role_action_matrix(t: TestDb) {
    let admin = enter(&t.db, "acme", Role::Admin, "admin").await;
    for role in Role::ALL {
        let scope = enter(&t.db, "acme", role, &format!("{role}-user")).await;
        for action in Action::ALL {
            let result = perform(action, &scope, &admin, &t).await;
            assert_eq!(scope.can(action), role >= action.required_role());
            if role >= action.required_role() {
                assert!(result.is_ok(), "{role:?} {action:?}: {result:?}");
            } else {
                assert_forbidden(result, action);
            }
        }
    }
}
