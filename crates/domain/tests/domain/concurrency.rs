//! Optimistic concurrency: of several writes made against the same version, exactly one wins.

use cognigraph_domain::projects::{self, ProjectPatch};
use cognigraph_domain::tasks::{self, TaskFilter, TaskStatus};
use cognigraph_domain::{DomainError, PageRequest, Role, audit};

use crate::support::{
    TestDb, assert_conflict, assert_invalid, db_tests, enter, new_task, project, task,
};

db_tests![
    concurrent_project_updates_one_winner,
    concurrent_status_changes_one_winner,
    stale_version_changes_nothing,
    concurrent_creates_deletes_and_an_archive_keep_the_task_count,
];

const WRITERS: usize = 8;

/// Counts the outcomes: one `Ok`, the rest `Conflict { expected, actual: expected + 1 }`.
fn one_winner<T: std::fmt::Debug>(results: Vec<Result<T, DomainError>>, expected: i32) -> T {
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(value) => winners.push(value),
            other => assert_conflict(other, expected, expected + 1),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one write wins: {winners:?}");
    winners.pop().unwrap()
}

async fn concurrent_project_updates_one_winner(t: TestDb) {
    let editor = enter(&t.db, "acme", Role::Editor, "eve").await;
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    let p = project(&editor, &t.db, "Contended").await;
    let events_before = audit::list(&admin, &t.db, PageRequest::first(1))
        .await
        .unwrap()
        .total_count;

    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (scope, db) = (editor.clone(), t.db.clone());
            tokio::spawn(async move {
                let patch = ProjectPatch {
                    name: Some(format!("Writer {i}")),
                    ..ProjectPatch::default()
                };
                projects::update(&scope, &db, p.id, patch, 1).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for writer in writers {
        results.push(writer.await.unwrap());
    }
    let winner = one_winner(results, 1);

    let stored = projects::get(&editor, &t.db, p.id).await.unwrap();
    assert_eq!(stored.version, 2, "version advanced by exactly one");
    assert_eq!(stored, winner, "the stored project is the winner's");
    let events = audit::list(&admin, &t.db, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(events.total_count, events_before + 1, "one audit event");
    assert_eq!(events.items[0].1.action, "project.updated");
}

async fn concurrent_status_changes_one_winner(t: TestDb) {
    let editor = enter(&t.db, "acme", Role::Editor, "eve").await;
    let p = project(&editor, &t.db, "Board").await;
    let task = task(&editor, &t.db, p.id, "Contended task").await;
    let statuses = [TaskStatus::InProgress, TaskStatus::Done];
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (scope, db) = (editor.clone(), t.db.clone());
            let status = statuses[i % 2];
            tokio::spawn(async move { tasks::set_status(&scope, &db, task.id, status, 1).await })
        })
        .collect();
    let mut results = Vec::new();
    for writer in writers {
        results.push(writer.await.unwrap());
    }
    let winner = one_winner(results, 1);
    let stored = tasks::get(&editor, &t.db, task.id).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, winner.status);
}

async fn stale_version_changes_nothing(t: TestDb) {
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    let p = project(&admin, &t.db, "Versioned").await;
    let patch = ProjectPatch {
        budget: Some(None),
        ..ProjectPatch::default()
    };
    let p2 = projects::update(&admin, &t.db, p.id, patch.clone(), 1)
        .await
        .unwrap();
    assert_eq!(p2.version, 2);
    let before = crate::support::raw_rows(&t.owner_url, "acme").await;
    assert_conflict(projects::update(&admin, &t.db, p.id, patch, 1).await, 1, 2);
    assert_conflict(projects::archive(&admin, &t.db, p.id, 3).await, 3, 2);
    assert_conflict(projects::delete(&admin, &t.db, p.id, 1).await, 1, 2);
    let task = task(&admin, &t.db, p.id, "Versioned task").await;
    let before_task = crate::support::raw_rows(&t.owner_url, "acme").await;
    assert_ne!(before, before_task);
    assert_conflict(
        tasks::set_status(&admin, &t.db, task.id, TaskStatus::Done, 0).await,
        0,
        1,
    );
    assert_conflict(tasks::assign(&admin, &t.db, task.id, None, 2).await, 2, 1);
    assert_conflict(tasks::delete(&admin, &t.db, task.id, 7).await, 7, 1);
    assert_eq!(
        crate::support::raw_rows(&t.owner_url, "acme").await,
        before_task
    );
}

/// How many tasks `project` has, counted through the list.
async fn listed_tasks(t: &TestDb, scope: &cognigraph_domain::Scope, project: uuid::Uuid) -> u64 {
    let filter = TaskFilter {
        project_id: Some(project),
        ..TaskFilter::default()
    };
    tasks::list(scope, &t.db, filter, PageRequest::first(1))
        .await
        .unwrap()
        .total_count
}

/// `Project.task_count` is kept by the writes that create and delete tasks: concurrent creates
/// are all counted, concurrent deletes all taken off, and a create racing an archive is either
/// counted (it came first) or refused as archived, never lost from the count or counted without
/// its task.
async fn concurrent_creates_deletes_and_an_archive_keep_the_task_count(t: TestDb) {
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    let p = project(&admin, &t.db, "Counted").await;
    let creates: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (scope, db) = (admin.clone(), t.db.clone());
            tokio::spawn(async move {
                tasks::create(&scope, &db, new_task(p.id, &format!("t{i}"))).await
            })
        })
        .collect();
    let mut created = Vec::new();
    for create in creates {
        created.push(create.await.unwrap().unwrap());
    }
    let counted = projects::get(&admin, &t.db, p.id).await.unwrap();
    assert_eq!(counted.task_count, WRITERS as u64);
    assert_eq!(
        counted.version, 1,
        "counting tasks is not a write of the project"
    );

    let deletes: Vec<_> = created
        .iter()
        .take(3)
        .map(|task| {
            let (scope, db, id) = (admin.clone(), t.db.clone(), task.id);
            tokio::spawn(async move { tasks::delete(&scope, &db, id, 1).await })
        })
        .collect();
    for delete in deletes {
        delete.await.unwrap().unwrap();
    }
    let counted = projects::get(&admin, &t.db, p.id).await.unwrap();
    assert_eq!(counted.task_count, WRITERS as u64 - 3);
    assert_eq!(counted.task_count, listed_tasks(&t, &admin, p.id).await);

    let racing: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (scope, db) = (admin.clone(), t.db.clone());
            tokio::spawn(async move {
                tasks::create(&scope, &db, new_task(p.id, &format!("racing {i}"))).await
            })
        })
        .collect();
    projects::archive(&admin, &t.db, p.id, 1).await.unwrap();
    for create in racing {
        match create.await.unwrap() {
            Ok(_) => {}
            refused => assert_invalid(refused, "projectId"),
        }
    }
    let archived = projects::get(&admin, &t.db, p.id).await.unwrap();
    assert!(archived.archived);
    assert_eq!(archived.task_count, listed_tasks(&t, &admin, p.id).await);
    assert_invalid(
        tasks::create(&admin, &t.db, new_task(p.id, "late")).await,
        "projectId",
    );
}
