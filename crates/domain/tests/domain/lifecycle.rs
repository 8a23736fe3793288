//! Projects and tasks from creation to deletion: versions, validation and batching.

use chrono::NaiveDate;
use cognigraph_domain::projects::{self, NewProject, ProjectFilter, ProjectPatch};
use cognigraph_domain::tasks::{self, NewTask, TaskColumns, TaskFilter, TaskPatch, TaskStatus};
use cognigraph_domain::{PageRequest, Role, members};

use crate::support::{
    TestDb, assert_invalid, assert_not_found, db_tests, enter, new_task, project, task,
};

db_tests![
    project_lifecycle,
    task_lifecycle,
    deleting_a_project_deletes_its_tasks,
    project_input_is_validated,
    task_input_is_validated,
    batched_reads_cost_one_statement,
    first_tasks_per_project_in_one_statement,
];

async fn project_lifecycle(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let admin = enter(db, "acme", Role::Admin, "ada").await;

    let created = projects::create(
        &editor,
        db,
        NewProject {
            name: "  Apollo  ".to_owned(),
            description: Some("To the moon".to_owned()),
            budget: Some(0),
        },
    )
    .await
    .unwrap();
    assert_eq!(created.name, "Apollo", "stored trimmed");
    assert_eq!(created.version, 1);
    assert!(!created.archived);
    assert_eq!(created.budget, Some(0));
    assert_eq!(created.created_by, editor.actor_id());
    assert_eq!(created.updated_by, editor.actor_id());
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        projects::get(&editor, db, created.id).await.unwrap(),
        created
    );

    let patch = ProjectPatch {
        name: Some("Apollo 11".to_owned()),
        description: Some(None),
        budget: None,
    };
    let updated = projects::update(&admin, db, created.id, patch, 1)
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "Apollo 11");
    assert_eq!(updated.description, None, "Some(None) clears");
    assert_eq!(updated.budget, Some(0), "None keeps");
    assert_eq!(updated.created_by, editor.actor_id());
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.updated_by, admin.actor_id());
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(
        projects::get(&editor, db, created.id).await.unwrap(),
        updated
    );

    // An empty patch is still a write: a new version.
    let touched = projects::update(&editor, db, created.id, ProjectPatch::default(), 2)
        .await
        .unwrap();
    assert_eq!(touched.version, 3);

    let archived = projects::archive(&admin, db, created.id, 3).await.unwrap();
    assert!(archived.archived);
    assert_eq!(archived.version, 4);
    assert_eq!(
        projects::get(&editor, db, created.id).await.unwrap(),
        archived
    );
    assert_invalid(projects::archive(&admin, db, created.id, 4).await, "id");
    assert_invalid(
        tasks::create(&editor, db, new_task(created.id, "Too late")).await,
        "projectId",
    );

    projects::delete(&admin, db, created.id, 4).await.unwrap();
    assert_not_found(projects::get(&editor, db, created.id).await);
    assert_not_found(projects::delete(&admin, db, created.id, 4).await);
    assert_not_found(projects::archive(&admin, db, created.id, 4).await);
    assert_not_found(projects::update(&admin, db, created.id, ProjectPatch::default(), 4).await);
}

async fn task_lifecycle(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let viewer = enter(db, "acme", Role::Viewer, "vic").await;
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let p = project(&editor, db, "Board").await;
    let due = NaiveDate::from_ymd_opt(2030, 2, 28).unwrap();

    let created = tasks::create(
        &editor,
        db,
        NewTask {
            project_id: p.id,
            title: " Write the spec ".to_owned(),
            description: Some("All of it".to_owned()),
            due_date: Some(due),
            assignee_id: Some(viewer.actor_id()),
        },
    )
    .await
    .unwrap();
    assert_eq!(created.title, "Write the spec");
    assert_eq!(created.status, TaskStatus::Todo);
    assert_eq!(created.version, 1);
    assert_eq!(created.project_id, p.id);
    assert_eq!(created.assignee_id, Some(viewer.actor_id()));
    assert_eq!(created.due_date, Some(due));
    assert_eq!(created.created_by, editor.actor_id());
    assert_eq!(tasks::get(&viewer, db, created.id).await.unwrap(), created);

    let patch = TaskPatch {
        title: Some("Write the whole spec".to_owned()),
        description: None,
        due_date: Some(None),
    };
    let updated = tasks::update(&editor, db, created.id, patch, 1)
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.due_date, None);
    assert_eq!(updated.description.as_deref(), Some("All of it"));

    let unassigned = tasks::assign(&editor, db, created.id, None, 2)
        .await
        .unwrap();
    assert_eq!(unassigned.assignee_id, None);
    assert_eq!(unassigned.version, 3);
    let reassigned = tasks::assign(&editor, db, created.id, Some(admin.actor_id()), 3)
        .await
        .unwrap();
    assert_eq!(reassigned.assignee_id, Some(admin.actor_id()));

    let started = tasks::set_status(&editor, db, created.id, TaskStatus::InProgress, 4)
        .await
        .unwrap();
    assert_eq!(started.status, TaskStatus::InProgress);
    assert_eq!(started.version, 5);
    assert_eq!(started.updated_by, editor.actor_id());
    assert_eq!(tasks::get(&viewer, db, created.id).await.unwrap(), started);

    let counted = projects::get(&viewer, db, p.id).await.unwrap();
    assert_eq!(counted.task_count, 1);
    assert_eq!(
        counted.version, p.version,
        "counting a task is not a write of the project"
    );

    tasks::delete(&admin, db, created.id, 5).await.unwrap();
    assert_not_found(tasks::get(&viewer, db, created.id).await);
    assert_not_found(tasks::delete(&admin, db, created.id, 5).await);
    assert_not_found(tasks::set_status(&editor, db, created.id, TaskStatus::Done, 5).await);
    // The project is untouched by its tasks' writes, and its count is back to 0.
    assert_eq!(projects::get(&viewer, db, p.id).await.unwrap(), p);
}

async fn deleting_a_project_deletes_its_tasks(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let doomed = project(&admin, db, "Doomed").await;
    let kept = project(&admin, db, "Kept").await;
    let doomed_tasks = [
        task(&admin, db, doomed.id, "a").await,
        task(&admin, db, doomed.id, "b").await,
    ];
    let kept_task = task(&admin, db, kept.id, "c").await;
    projects::delete(&admin, db, doomed.id, 1).await.unwrap();
    for gone in &doomed_tasks {
        assert_not_found(tasks::get(&admin, db, gone.id).await);
    }
    assert_eq!(
        tasks::get(&admin, db, kept_task.id).await.unwrap(),
        kept_task
    );
    let all = tasks::list(&admin, db, TaskFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.total_count, 1);
    let events = cognigraph_domain::audit::list(&admin, db, PageRequest::first(1))
        .await
        .unwrap();
    let event = &events.items[0].1;
    assert_eq!(event.action, "project.deleted");
    assert_eq!(event.detail["deletedTasks"], 2);
    assert_eq!(event.detail["name"], "Doomed");
}

async fn project_input_is_validated(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let with = |name: &str, description: Option<String>, budget: Option<i64>| NewProject {
        name: name.to_owned(),
        description,
        budget,
    };
    assert_invalid(
        projects::create(&editor, db, with("", None, None)).await,
        "name",
    );
    assert_invalid(
        projects::create(&editor, db, with(" \t\n", None, None)).await,
        "name",
    );
    assert_invalid(
        projects::create(&editor, db, with(&"n".repeat(201), None, None)).await,
        "name",
    );
    assert_invalid(
        projects::create(&editor, db, with("ok", Some("d".repeat(5001)), None)).await,
        "description",
    );
    assert_invalid(
        projects::create(&editor, db, with("ok", None, Some(-1))).await,
        "budget",
    );
    // The limits themselves are accepted; characters, not bytes, are counted.
    let edge = projects::create(
        &editor,
        db,
        with(&"é".repeat(200), Some("ü".repeat(5000)), Some(i64::MAX)),
    )
    .await
    .unwrap();
    assert_eq!(edge.name.chars().count(), 200);
    assert_eq!(projects::get(&editor, db, edge.id).await.unwrap(), edge);

    let p = project(&editor, db, "Valid").await;
    let bad_patches = [
        (
            ProjectPatch {
                name: Some(" ".to_owned()),
                ..ProjectPatch::default()
            },
            "name",
        ),
        (
            ProjectPatch {
                description: Some(Some("d".repeat(5001))),
                ..ProjectPatch::default()
            },
            "description",
        ),
        (
            ProjectPatch {
                budget: Some(Some(-5)),
                ..ProjectPatch::default()
            },
            "budget",
        ),
    ];
    for (patch, field) in bad_patches {
        assert_invalid(projects::update(&editor, db, p.id, patch, 1).await, field);
    }
    assert_eq!(projects::get(&editor, db, p.id).await.unwrap(), p);
    let listed = projects::list(
        &editor,
        db,
        ProjectFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(listed.total_count, 2, "nothing invalid was stored");
}

async fn task_input_is_validated(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let p = project(&editor, db, "Board").await;
    assert_invalid(
        tasks::create(&editor, db, new_task(p.id, "")).await,
        "title",
    );
    assert_invalid(
        tasks::create(&editor, db, new_task(p.id, &"t".repeat(201))).await,
        "title",
    );
    let mut long = new_task(p.id, "ok");
    long.description = Some("d".repeat(5001));
    assert_invalid(tasks::create(&editor, db, long).await, "description");
    assert_invalid(
        tasks::create(&editor, db, new_task(uuid::Uuid::now_v7(), "ok")).await,
        "projectId",
    );
    let mut nobody = new_task(p.id, "ok");
    nobody.assignee_id = Some(uuid::Uuid::now_v7());
    assert_invalid(tasks::create(&editor, db, nobody).await, "assigneeId");

    let task = task(&editor, db, p.id, "Valid").await;
    let blank = TaskPatch {
        title: Some("  ".to_owned()),
        ..TaskPatch::default()
    };
    assert_invalid(tasks::update(&editor, db, task.id, blank, 1).await, "title");
    assert_invalid(
        tasks::assign(&editor, db, task.id, Some(uuid::Uuid::now_v7()), 1).await,
        "assigneeId",
    );
    assert_invalid(TaskStatus::parse("done"), "status");
    assert_eq!(
        TaskStatus::parse("IN_PROGRESS").unwrap(),
        TaskStatus::InProgress
    );
    assert_eq!(tasks::get(&editor, db, task.id).await.unwrap(), task);
}

/// What the GraphQL DataLoaders rely on: a batch of any size is one statement, and a page is two
/// (the rows and the total) whatever its size; on PostgreSQL each read's transaction first sets
/// the tenant for row-level security, one statement more.
async fn batched_reads_cost_one_statement(t: TestDb) {
    let db = &t.db;
    let setting = t.tenant_setting_statements();
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let mut project_ids = Vec::new();
    let mut task_ids = Vec::new();
    for i in 0..3 {
        let p = project(&editor, db, &format!("P{i}")).await;
        for j in 0..10 {
            task_ids.push(task(&editor, db, p.id, &format!("T{i}.{j}")).await.id);
        }
        project_ids.push(p.id);
    }
    let member_ids = [editor.actor_id()];

    let statements = |before: u64| db.statement_count() - before;
    let before = db.statement_count();
    assert_eq!(
        tasks::get_many(&editor, db, &task_ids).await.unwrap().len(),
        30
    );
    assert_eq!(statements(before), 1 + setting);
    let before = db.statement_count();
    let projects = projects::get_many(&editor, db, &project_ids).await.unwrap();
    assert_eq!(projects.len(), 3);
    assert!(projects.values().all(|project| project.task_count == 10));
    assert_eq!(statements(before), 1 + setting);
    let before = db.statement_count();
    assert_eq!(
        members::get_many(&editor, db, &member_ids)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(statements(before), 1 + setting);
    let before = db.statement_count();
    assert!(tasks::get_many(&editor, db, &[]).await.unwrap().is_empty());
    assert_eq!(statements(before), 0, "an empty batch asks nothing");
    for first in [1, 30] {
        let before = db.statement_count();
        tasks::list(
            &editor,
            db,
            TaskFilter::default(),
            PageRequest::first(first),
        )
        .await
        .unwrap();
        assert_eq!(statements(before), 2 + setting, "a page of {first}");
    }
    // Writes count too: a statement per step, the same for any input.
    let before = db.statement_count();
    project(&editor, db, "Counted").await;
    assert!(statements(before) >= 2, "the insert and its audit event");
}

async fn first_tasks_per_project_in_one_statement(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let busy = project(&admin, db, "Busy").await;
    let quiet = project(&admin, db, "Quiet").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(task(&admin, db, busy.id, &format!("t{i}")).await.id);
    }
    // Another tenant's tasks never show, even with the same project ids asked.
    let other = enter(db, "globex", Role::Admin, "gus").await;
    let theirs = project(&other, db, "Theirs").await;
    task(&other, db, theirs.id, "x").await;

    let viewer = enter(db, "acme", Role::Viewer, "vic").await;
    let before = db.statement_count();
    let first = tasks::first_by_project(
        &viewer,
        db,
        &[busy.id, quiet.id, theirs.id],
        3,
        TaskColumns::ALL,
    )
    .await
    .unwrap();
    assert_eq!(
        db.statement_count() - before,
        1 + t.tenant_setting_statements(),
        "one statement (after setting the tenant on PostgreSQL)"
    );
    let ids: Vec<_> = first[&busy.id].iter().map(|t| t.id()).collect();
    assert_eq!(ids, created[..3]);
    assert!(!first.contains_key(&quiet.id));
    assert!(!first.contains_key(&theirs.id));
    assert_invalid(
        tasks::first_by_project(&viewer, db, &[busy.id], 0, TaskColumns::ALL).await,
        "first",
    );
}
