//! Tenant isolation: another tenant's real ids are indistinguishable from missing ones, and no
//! operation from another tenant changes a byte of this tenant's rows.

use cognigraph_domain::projects::{self, ProjectFilter, ProjectPatch};
use cognigraph_domain::tasks::{self, TaskFilter, TaskPatch, TaskStatus};
use cognigraph_domain::{PageRequest, Role, audit, members};

use crate::support::{
    TestDb, assert_invalid, assert_not_found, db_tests, enter, new_task, project, raw_rows, task,
};

db_tests![
    tenant_isolation_sweep,
    same_sub_in_two_tenants_is_two_members
];

async fn tenant_isolation_sweep(t: TestDb) {
    let db = &t.db;
    // Tenant A: a project with a task assigned to a member, an archived project.
    let a = enter(db, "tenant-a", Role::Admin, "alice").await;
    let a_member = enter(db, "tenant-a", Role::Viewer, "arthur").await;
    let a_project = project(&a, db, "A's project").await;
    let a_task = task(&a, db, a_project.id, "A's task").await;
    let a_task = tasks::assign(&a, db, a_task.id, Some(a_member.actor_id()), a_task.version)
        .await
        .unwrap();
    let a_archived = project(&a, db, "A's archive").await;
    let a_archived = projects::archive(&a, db, a_archived.id, a_archived.version)
        .await
        .unwrap();

    // Tenant B: an admin (so no Forbidden can hide a leak) with a project and task of its own.
    let b = enter(db, "tenant-b", Role::Admin, "bob").await;
    let b_project = project(&b, db, "B's project").await;
    let b_task = task(&b, db, b_project.id, "B's task").await;

    let before = raw_rows(&t.owner_url, "tenant-a").await;
    let b_audit_before = audit::list(&b, db, PageRequest::first(100)).await.unwrap();

    // Reads.
    assert_not_found(projects::get(&b, db, a_project.id).await);
    assert_not_found(projects::get(&b, db, a_archived.id).await);
    assert_not_found(tasks::get(&b, db, a_task.id).await);
    assert_not_found(members::get(&b, db, a.actor_id()).await);
    assert!(
        projects::get_many(&b, db, &[a_project.id, a_archived.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tasks::get_many(&b, db, &[a_task.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        members::get_many(&b, db, &[a.actor_id(), a_member.actor_id()])
            .await
            .unwrap()
            .is_empty()
    );
    let listed = projects::list(&b, db, ProjectFilter::default(), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(listed.total_count, 1);
    assert_eq!(listed.items[0].1.id, b_project.id);
    let listed = tasks::list(
        &b,
        db,
        TaskFilter {
            project_id: Some(a_project.id),
            ..TaskFilter::default()
        },
        PageRequest::first(100),
    )
    .await
    .unwrap();
    assert_eq!(listed.total_count, 0);
    let listed = tasks::list(
        &b,
        db,
        TaskFilter {
            assignee_id: Some(a_member.actor_id()),
            ..TaskFilter::default()
        },
        PageRequest::first(100),
    )
    .await
    .unwrap();
    assert_eq!(listed.total_count, 0);
    let b_members = crate::support::all_members(&b, db).await.unwrap();
    assert_eq!(b_members.len(), 1);
    assert_eq!(b_members[0].id, b.actor_id());

    // Writes with A's real ids and A's real versions (so a conflict cannot hide a leak).
    let rename = ProjectPatch {
        name: Some("pwned".to_owned()),
        ..ProjectPatch::default()
    };
    assert_not_found(projects::update(&b, db, a_project.id, rename, a_project.version).await);
    assert_not_found(projects::archive(&b, db, a_project.id, a_project.version).await);
    assert_not_found(projects::delete(&b, db, a_project.id, a_project.version).await);
    assert_not_found(projects::delete(&b, db, a_archived.id, a_archived.version).await);
    let retitle = TaskPatch {
        title: Some("pwned".to_owned()),
        ..TaskPatch::default()
    };
    assert_not_found(tasks::update(&b, db, a_task.id, retitle, a_task.version).await);
    assert_not_found(tasks::assign(&b, db, a_task.id, Some(b.actor_id()), a_task.version).await);
    assert_not_found(tasks::assign(&b, db, a_task.id, None, a_task.version).await);
    assert_not_found(tasks::set_status(&b, db, a_task.id, TaskStatus::Done, a_task.version).await);
    assert_not_found(tasks::delete(&b, db, a_task.id, a_task.version).await);
    // Ids given as inputs: the documented answer is InvalidInput naming the field, the same as for
    // an id that exists nowhere.
    assert_invalid(
        tasks::create(&b, db, new_task(a_project.id, "In A's project")).await,
        "projectId",
    );
    let mut into_a = new_task(b_project.id, "Assigned to A's member");
    into_a.assignee_id = Some(a_member.actor_id());
    assert_invalid(tasks::create(&b, db, into_a).await, "assigneeId");
    assert_invalid(
        tasks::assign(&b, db, b_task.id, Some(a.actor_id()), b_task.version).await,
        "assigneeId",
    );

    assert_eq!(
        raw_rows(&t.owner_url, "tenant-a").await,
        before,
        "tenant A's rows changed"
    );
    let b_audit_after = audit::list(&b, db, PageRequest::first(100)).await.unwrap();
    assert_eq!(
        b_audit_after, b_audit_before,
        "a refused write left an audit event"
    );
    // B's own rows are intact too.
    assert_eq!(tasks::get(&b, db, b_task.id).await.unwrap(), b_task);
}

async fn same_sub_in_two_tenants_is_two_members(t: TestDb) {
    let db = &t.db;
    let in_a = enter(db, "tenant-a", Role::Admin, "same-sub").await;
    let in_b = enter(db, "tenant-b", Role::Admin, "same-sub").await;
    assert_ne!(in_a.actor_id(), in_b.actor_id());
    assert_eq!(in_a.tenant().as_str(), "tenant-a");
    assert_eq!(in_b.tenant().as_str(), "tenant-b");
    assert_eq!(
        crate::support::all_members(&in_a, db).await.unwrap().len(),
        1
    );
    assert_not_found(members::get(&in_a, db, in_b.actor_id()).await);
    // A project of A is invisible to the same person entering B.
    let p = project(&in_a, db, "Only in A").await;
    assert_not_found(projects::get(&in_b, db, p.id).await);
}
