//! The audit trail: exactly one event per successful write, none for a refused one.

use cognigraph_domain::audit::{self, AuditEvent};
use cognigraph_domain::projects::{self, ProjectPatch};
use cognigraph_domain::tasks::{self, TaskPatch, TaskStatus};
use cognigraph_domain::{Db, DomainError, PageRequest, Role, Scope};
use uuid::Uuid;

use crate::support::{TestDb, db_tests, enter, new_project, new_task};

db_tests![every_write_appends_one_event, refused_writes_append_nothing];

/// The newest event, after checking that exactly one was added since `before` events.
async fn one_new_event(admin: &Scope, db: &Db, before: &mut u64) -> AuditEvent {
    let page = audit::list(admin, db, PageRequest::first(1)).await.unwrap();
    assert_eq!(page.total_count, *before + 1, "exactly one new event");
    *before = page.total_count;
    page.items.into_iter().next().unwrap().1
}

#[track_caller]
fn assert_event(event: &AuditEvent, actor: &Scope, action: &str, entity: &str, entity_id: Uuid) {
    assert_eq!(event.actor_id, actor.actor_id(), "{action}");
    assert_eq!(event.action, action);
    assert_eq!(event.entity, entity, "{action}");
    assert_eq!(event.entity_id, entity_id, "{action}");
}

async fn every_write_appends_one_event(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let mut count = 0;
    let joined = one_new_event(&admin, db, &mut count).await;
    assert_event(&joined, &admin, "member.joined", "member", admin.actor_id());
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let joined = one_new_event(&admin, db, &mut count).await;
    assert_event(
        &joined,
        &editor,
        "member.joined",
        "member",
        editor.actor_id(),
    );
    // Entering again (same profile) is not a write worth an event.
    enter(db, "acme", Role::Editor, "eve").await;
    assert_eq!(
        audit::list(&admin, db, PageRequest::first(1))
            .await
            .unwrap()
            .total_count,
        count
    );

    let p = projects::create(&editor, db, new_project("Audited"))
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &editor, "project.created", "project", p.id);
    assert_eq!(event.detail["name"], "Audited");
    assert!(event.at >= p.created_at);

    let patch = ProjectPatch {
        name: Some("Audited!".to_owned()),
        budget: Some(Some(99)),
        ..ProjectPatch::default()
    };
    let p = projects::update(&editor, db, p.id, patch, p.version)
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &editor, "project.updated", "project", p.id);
    assert_eq!(
        event.detail["changed"],
        serde_json::json!(["name", "budget"])
    );
    assert_eq!(event.detail["version"], 2);

    let task = tasks::create(&editor, db, new_task(p.id, "Audited task"))
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &editor, "task.created", "task", task.id);
    assert_eq!(event.detail["projectId"], p.id.to_string());

    let patch = TaskPatch {
        description: Some(Some("More".to_owned())),
        ..TaskPatch::default()
    };
    let task = tasks::update(&editor, db, task.id, patch, task.version)
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &editor, "task.updated", "task", task.id);
    assert_eq!(event.detail["changed"], serde_json::json!(["description"]));

    let task = tasks::assign(&editor, db, task.id, Some(admin.actor_id()), task.version)
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &editor, "task.assigned", "task", task.id);
    assert_eq!(event.detail["from"], serde_json::Value::Null);
    assert_eq!(event.detail["to"], admin.actor_id().to_string());

    let task = tasks::set_status(&editor, db, task.id, TaskStatus::Done, task.version)
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &editor, "task.status_changed", "task", task.id);
    assert_eq!(event.detail["from"], "TODO");
    assert_eq!(event.detail["to"], "DONE");

    tasks::delete(&admin, db, task.id, task.version)
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &admin, "task.deleted", "task", task.id);

    let p = projects::archive(&admin, db, p.id, p.version)
        .await
        .unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &admin, "project.archived", "project", p.id);

    projects::delete(&admin, db, p.id, p.version).await.unwrap();
    let event = one_new_event(&admin, db, &mut count).await;
    assert_event(&event, &admin, "project.deleted", "project", p.id);

    // The whole trail, newest first, with distinct ids.
    let all = audit::list(&admin, db, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(all.total_count, count);
    let actions: Vec<_> = all.items.iter().map(|(_, e)| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "project.deleted",
            "project.archived",
            "task.deleted",
            "task.status_changed",
            "task.assigned",
            "task.updated",
            "task.created",
            "project.updated",
            "project.created",
            "member.joined",
            "member.joined",
        ]
    );
}

async fn refused_writes_append_nothing(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let viewer = enter(db, "acme", Role::Viewer, "vic").await;
    let p = projects::create(&admin, db, new_project("Guarded"))
        .await
        .unwrap();
    let before = audit::list(&admin, db, PageRequest::first(100))
        .await
        .unwrap();

    let refusals: Vec<Result<(), DomainError>> = vec![
        projects::create(&viewer, db, new_project("No"))
            .await
            .map(drop),
        projects::create(&admin, db, new_project(""))
            .await
            .map(drop),
        projects::update(&admin, db, p.id, ProjectPatch::default(), 7)
            .await
            .map(drop),
        projects::archive(&admin, db, Uuid::now_v7(), 1)
            .await
            .map(drop),
        tasks::create(&admin, db, new_task(Uuid::now_v7(), "No"))
            .await
            .map(drop),
        tasks::set_status(&viewer, db, Uuid::now_v7(), TaskStatus::Done, 1)
            .await
            .map(drop),
    ];
    assert!(refusals.iter().all(Result::is_err), "{refusals:?}");
    let after = audit::list(&admin, db, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(after, before);
}
