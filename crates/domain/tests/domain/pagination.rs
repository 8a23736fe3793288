//! Pagination: first/after, cursors stable under inserts, and every bad argument named.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognigraph_domain::page::{DEFAULT_FIRST, MAX_FIRST};
use cognigraph_domain::projects::{self, ProjectFilter};
use cognigraph_domain::tasks::{self, Task, TaskColumns, TaskFilter, TaskPatch, TaskStatus};
use cognigraph_domain::{Cursor, PageRequest, Role, audit};
use uuid::Uuid;

use crate::support::{TestDb, assert_invalid, db_tests, enter, new_project, project, task};

pub(crate) fn pure_tests() -> Vec<(&'static str, fn())> {
    vec![
        ("cursor_round_trip", cursor_round_trip),
        ("invalid_cursors", invalid_cursors),
        ("page_request_from_args", page_request_from_args),
    ]
}

db_tests![
    first_one_walks_every_item,
    default_and_largest_pages,
    cursor_stable_under_inserts,
    audit_cursor_stable_under_newer_events,
    first_out_of_range_is_invalid,
    project_filters,
    search_finds_names_beyond_ascii,
    task_filters,
    nested_pages_at_the_edges,
    nested_pages_read_only_the_columns_asked,
    nested_pages_of_many_projects,
    project_task_pages_walk_with_cursors,
    total_count_only_when_asked,
];

fn cursor_round_trip() {
    for id in [Uuid::nil(), Uuid::max(), Uuid::now_v7()] {
        let request = PageRequest::from_args(None, None).unwrap();
        assert_eq!(request.after, None);
        // Cursors are made by the domain; a round trip through the string form is the identity.
        let cursor = Cursor::decode(&encode_raw(1, id.as_bytes())).unwrap();
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(cursor.to_string(), cursor.encode());
        assert!(
            !cursor.encode().contains(&id.simple().to_string()),
            "opaque"
        );
    }
}

fn encode_raw(format: u8, key: &[u8]) -> String {
    let mut bytes = vec![format];
    bytes.extend_from_slice(key);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn invalid_cursors() {
    let id = Uuid::now_v7();
    let too_long = "A".repeat(10_000);
    for bad in [
        "",
        "not a cursor",
        "!!!!",
        &encode_raw(2, id.as_bytes()),
        &encode_raw(1, &id.as_bytes()[..15]),
        &encode_raw(1, &[0; 17]),
        &URL_SAFE_NO_PAD.encode(id.as_bytes()),
        &too_long,
    ] {
        assert_invalid(Cursor::decode(bad), "after");
        assert_invalid(PageRequest::from_args(Some(5), Some(bad)), "after");
    }
}

fn page_request_from_args() {
    assert_eq!(PageRequest::default().first, DEFAULT_FIRST);
    assert_eq!(PageRequest::from_args(None, None).unwrap().first, 20);
    assert_eq!(PageRequest::from_args(Some(1), None).unwrap().first, 1);
    assert_eq!(
        PageRequest::from_args(Some(100), None).unwrap().first,
        MAX_FIRST
    );
    for bad in [0, 101, -1, i32::MIN, i32::MAX] {
        assert_invalid(PageRequest::from_args(Some(bad), None), "first");
    }
}

async fn first_one_walks_every_item(t: TestDb) {
    let editor = enter(&t.db, "acme", Role::Editor, "eve").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(project(&editor, &t.db, &format!("P{i}")).await);
    }
    let mut seen = Vec::new();
    let mut request = PageRequest::first(1);
    loop {
        let page = projects::list(&editor, &t.db, ProjectFilter::default(), request)
            .await
            .unwrap();
        assert_eq!(page.total_count, 5);
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.has_previous_page, request.after.is_some());
        assert_eq!(page.start_cursor(), page.end_cursor());
        seen.push(page.items[0].1.clone());
        if !page.has_next_page {
            break;
        }
        request = PageRequest::first(1).after(page.end_cursor().unwrap());
    }
    assert_eq!(seen, created, "every project once, oldest first");

    // A page that ends exactly at the last item says so; after it comes an empty page.
    let page = projects::list(
        &editor,
        &t.db,
        ProjectFilter::default(),
        PageRequest::first(5),
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(!page.has_next_page);
    let after_last = PageRequest::first(3).after(page.end_cursor().unwrap());
    let page = projects::list(&editor, &t.db, ProjectFilter::default(), after_last)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert!(!page.has_next_page);
    assert_eq!(page.total_count, 5);
    let page = projects::list(
        &editor,
        &t.db,
        ProjectFilter::default(),
        PageRequest::first(4),
    )
    .await
    .unwrap();
    assert!(page.has_next_page);
}

async fn default_and_largest_pages(t: TestDb) {
    let editor = enter(&t.db, "acme", Role::Editor, "eve").await;
    let p = project(&editor, &t.db, "Big").await;
    for i in 0..(MAX_FIRST + 1) {
        task(&editor, &t.db, p.id, &format!("T{i}")).await;
    }
    let page = tasks::list(
        &editor,
        &t.db,
        TaskFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), DEFAULT_FIRST as usize);
    assert!(page.has_next_page);
    assert_eq!(page.total_count, u64::from(MAX_FIRST) + 1);
    let page = tasks::list(
        &editor,
        &t.db,
        TaskFilter::default(),
        PageRequest::first(MAX_FIRST),
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), MAX_FIRST as usize);
    assert!(page.has_next_page);
    let rest = PageRequest::first(MAX_FIRST).after(page.end_cursor().unwrap());
    let page = tasks::list(&editor, &t.db, TaskFilter::default(), rest)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(!page.has_next_page);
    assert!(page.has_previous_page);
}

async fn cursor_stable_under_inserts(t: TestDb) {
    let editor = enter(&t.db, "acme", Role::Editor, "eve").await;
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    for i in 0..4 {
        project(&editor, &t.db, &format!("P{i}")).await;
    }
    let first = projects::list(
        &editor,
        &t.db,
        ProjectFilter::default(),
        PageRequest::first(2),
    )
    .await
    .unwrap();
    let next = PageRequest::first(2).after(first.end_cursor().unwrap());
    let second = projects::list(&editor, &t.db, ProjectFilter::default(), next)
        .await
        .unwrap();
    // Insert after (new projects) and delete before the cursor: the next page does not move.
    project(&editor, &t.db, "Newer").await;
    let oldest = &first.items[0].1;
    projects::delete(&admin, &t.db, oldest.id, oldest.version)
        .await
        .unwrap();
    let again = projects::list(&editor, &t.db, ProjectFilter::default(), next)
        .await
        .unwrap();
    assert_eq!(again.items, second.items);
    assert!(again.has_next_page, "the new project follows");
    assert_eq!(again.total_count, 4);
    // A cursor whose item is gone still works.
    let deleted_cursor = first.items[0].0;
    let from_deleted = projects::list(
        &editor,
        &t.db,
        ProjectFilter::default(),
        PageRequest::first(1).after(deleted_cursor),
    )
    .await
    .unwrap();
    assert_eq!(from_deleted.items[0].0, first.items[1].0);
}

/// The audit log is newest first, so new events land before a cursor: pages after it stay put.
async fn audit_cursor_stable_under_newer_events(t: TestDb) {
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    for i in 0..4 {
        project(&admin, &t.db, &format!("P{i}")).await;
    }
    let first = audit::list(&admin, &t.db, PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(
        first.total_count, 5,
        "member.joined and four project.created"
    );
    let next = PageRequest::first(2).after(first.end_cursor().unwrap());
    let second = audit::list(&admin, &t.db, next).await.unwrap();
    project(&admin, &t.db, "Newer").await;
    let again = audit::list(&admin, &t.db, next).await.unwrap();
    assert_eq!(again.items, second.items);
    let newest = audit::list(&admin, &t.db, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(newest.items[0].1.detail["name"], "Newer");
    assert!(first.items[0].1.at >= first.items[1].1.at, "newest first");
}

async fn first_out_of_range_is_invalid(t: TestDb) {
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    for first in [0, MAX_FIRST + 1, u32::MAX] {
        let request = PageRequest::first(first);
        assert_invalid(
            projects::list(&admin, &t.db, ProjectFilter::default(), request).await,
            "first",
        );
        assert_invalid(
            tasks::list(&admin, &t.db, TaskFilter::default(), request).await,
            "first",
        );
        assert_invalid(audit::list(&admin, &t.db, request).await, "first");
    }
}

async fn project_filters(t: TestDb) {
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    let apollo = project(&admin, &t.db, "Apollo Launch").await;
    let gemini = project(&admin, &t.db, "Gemini").await;
    let odd = projects::create(&admin, &t.db, new_project("100%_done\\ok"))
        .await
        .unwrap();
    projects::archive(&admin, &t.db, gemini.id, gemini.version)
        .await
        .unwrap();
    let list = |filter: ProjectFilter| {
        let (admin, db) = (admin.clone(), t.db.clone());
        async move {
            let page = projects::list(&admin, &db, filter, PageRequest::first(100))
                .await
                .unwrap();
            assert_eq!(page.total_count as usize, page.items.len());
            page.items
                .into_iter()
                .map(|(_, p)| p.id)
                .collect::<Vec<_>>()
        }
    };
    let search = |text: &str| ProjectFilter {
        search: Some(text.to_owned()),
        ..ProjectFilter::default()
    };
    assert_eq!(
        list(ProjectFilter::default()).await,
        [apollo.id, gemini.id, odd.id]
    );
    let archived = |archived| ProjectFilter {
        archived: Some(archived),
        ..ProjectFilter::default()
    };
    assert_eq!(list(archived(true)).await, [gemini.id]);
    assert_eq!(list(archived(false)).await, [apollo.id, odd.id]);
    assert_eq!(list(search("apollo")).await, [apollo.id]);
    assert_eq!(list(search("  LAUNCH ")).await, [apollo.id]);
    assert_eq!(
        list(search("   ")).await.len(),
        3,
        "blank search is no filter"
    );
    assert_eq!(list(search("%")).await, [odd.id], "% is literal");
    assert_eq!(list(search("_")).await, [odd.id], "_ is literal");
    assert_eq!(list(search("\\")).await, [odd.id], "\\ is literal");
    assert!(list(search("zeppelin")).await.is_empty());
    let both = ProjectFilter {
        archived: Some(false),
        search: Some("gem".to_owned()),
    };
    assert!(list(both).await.is_empty());
    assert_invalid(
        projects::list(
            &admin,
            &t.db,
            search(&"x".repeat(101)),
            PageRequest::default(),
        )
        .await,
        "search",
    );
    assert_eq!(list(search(&"x".repeat(100))).await.len(), 0);
}

async fn task_filters(t: TestDb) {
    let editor = enter(&t.db, "acme", Role::Editor, "eve").await;
    let other = enter(&t.db, "acme", Role::Viewer, "otto").await;
    let p1 = project(&editor, &t.db, "One").await;
    let p2 = project(&editor, &t.db, "Two").await;
    let t1 = task(&editor, &t.db, p1.id, "a").await;
    let t2 = task(&editor, &t.db, p1.id, "b").await;
    let t3 = task(&editor, &t.db, p2.id, "c").await;
    tasks::set_status(&editor, &t.db, t2.id, TaskStatus::Done, 1)
        .await
        .unwrap();
    tasks::assign(&editor, &t.db, t3.id, Some(other.actor_id()), 1)
        .await
        .unwrap();
    let ids = |filter: TaskFilter| {
        let (scope, db) = (editor.clone(), t.db.clone());
        async move {
            let page = tasks::list(&scope, &db, filter, PageRequest::first(10))
                .await
                .unwrap();
            assert_eq!(page.total_count as usize, page.items.len());
            page.items
                .into_iter()
                .map(|(_, t)| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(TaskFilter::default()).await, [t1.id, t2.id, t3.id]);
    let by_project = TaskFilter {
        project_id: Some(p1.id),
        ..TaskFilter::default()
    };
    assert_eq!(ids(by_project.clone()).await, [t1.id, t2.id]);
    let done = TaskFilter {
        status: Some(TaskStatus::Done),
        ..by_project
    };
    assert_eq!(ids(done).await, [t2.id]);
    let assigned = TaskFilter {
        assignee_id: Some(other.actor_id()),
        ..TaskFilter::default()
    };
    assert_eq!(ids(assigned).await, [t3.id]);
    let todo = TaskFilter {
        status: Some(TaskStatus::Todo),
        ..TaskFilter::default()
    };
    assert_eq!(ids(todo).await, [t1.id, t3.id]);
}

async fn search_finds_names_beyond_ascii(t: TestDb) {
    let db = &t.db;
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let ecole = project(&admin, db, "École Polytechnique").await;
    project(&admin, db, "Other").await;
    let search = |text: &str| {
        let (admin, db) = (admin.clone(), t.db.clone());
        let filter = ProjectFilter {
            search: Some(text.to_owned()),
            ..ProjectFilter::default()
        };
        async move {
            projects::list(&admin, &db, filter, PageRequest::first(10))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|(_, p)| p.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("École").await, [ecole.id], "the exact text matches");
    assert_eq!(
        search("polytech").await,
        [ecole.id],
        "ASCII letters in any case"
    );
}

/// `first_by_project`: each project's oldest `first` tasks, in order, whatever `first` is
/// against the project's size (none, fewer, exactly, more), with the projects' tasks created
/// interleaved (so ids of one project are not contiguous).
async fn nested_pages_at_the_edges(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let sizes = [0_usize, 1, 2, 3, 4, 7];
    let mut projects_made = Vec::new();
    for size in sizes {
        projects_made.push((project(&editor, db, &format!("P{size}")).await.id, size));
    }
    let mut created: Vec<Vec<Uuid>> = vec![Vec::new(); sizes.len()];
    for round in 0..*sizes.iter().max().unwrap() {
        for (i, (project_id, size)) in projects_made.iter().enumerate() {
            if round < *size {
                created[i].push(
                    task(&editor, db, *project_id, &format!("t{round}"))
                        .await
                        .id,
                );
            }
        }
    }
    let ids: Vec<Uuid> = projects_made.iter().map(|(id, _)| *id).collect();
    for first in [1_u32, 3, 4, MAX_FIRST] {
        let got = tasks::first_by_project(&editor, db, &ids, first, TaskColumns::ALL)
            .await
            .unwrap();
        for (i, (project_id, size)) in projects_made.iter().enumerate() {
            let expected = &created[i][..(*size).min(first as usize)];
            let listed: Vec<Uuid> = got
                .get(project_id)
                .map(|tasks| tasks.iter().map(|task| task.id()).collect())
                .unwrap_or_default();
            assert_eq!(listed, expected, "project of {size} tasks, first {first}");
            assert!(
                got.get(project_id)
                    .is_none_or(|tasks| tasks.iter().all(|task| task.project_id() == *project_id)),
                "only the project's own tasks"
            );
        }
        assert_eq!(got.len(), sizes.iter().filter(|size| **size > 0).count());
    }
    // The same project asked twice, and an unknown id: no duplicates, nothing invented.
    let twice = [ids[5], ids[5], Uuid::now_v7()];
    let got = tasks::first_by_project(&editor, db, &twice, 2, TaskColumns::ALL)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[&ids[5]]
            .iter()
            .map(|task| task.id())
            .collect::<Vec<_>>(),
        created[5][..2]
    );
    assert!(
        tasks::first_by_project(&editor, db, &[], 2, TaskColumns::ALL)
            .await
            .unwrap()
            .is_empty(),
        "no projects, no tasks"
    );
}

/// `first_by_project` with some columns: each column read gives the stored value, on both
/// stores; a column not read is never given out; the id and the project always are.
async fn nested_pages_read_only_the_columns_asked(t: TestDb) {
    let db = &t.db;
    let eve = enter(db, "acme", Role::Editor, "eve").await;
    let ed = enter(db, "acme", Role::Editor, "ed").await;
    let p = project(&eve, db, "Columns").await;
    // Every column set, and created and updated by different members.
    let made = task(&eve, db, p.id, "Every column").await;
    let patch = TaskPatch {
        title: None,
        description: Some(Some("Words".to_owned())),
        due_date: Some(chrono::NaiveDate::from_ymd_opt(2027, 1, 31)),
    };
    let made = tasks::update(&ed, db, made.id, patch, made.version)
        .await
        .unwrap();
    let made = tasks::assign(&ed, db, made.id, Some(eve.actor_id()), made.version)
        .await
        .unwrap();
    let stored = tasks::set_status(&ed, db, made.id, TaskStatus::Done, made.version)
        .await
        .unwrap();
    assert_ne!(stored.created_by, stored.updated_by);
    let single = [
        TaskColumns::TITLE,
        TaskColumns::DESCRIPTION,
        TaskColumns::STATUS,
        TaskColumns::ASSIGNEE,
        TaskColumns::DUE_DATE,
        TaskColumns::VERSION,
        TaskColumns::CREATED_BY,
        TaskColumns::CREATED_AT,
        TaskColumns::UPDATED_BY,
        TaskColumns::UPDATED_AT,
    ];
    // The column's value, as text.
    let shown = |task: &Task, column: TaskColumns| match column {
        TaskColumns::TITLE => task.title.clone(),
        TaskColumns::DESCRIPTION => format!("{:?}", task.description),
        TaskColumns::STATUS => task.status.to_string(),
        TaskColumns::ASSIGNEE => format!("{:?}", task.assignee_id),
        TaskColumns::DUE_DATE => format!("{:?}", task.due_date),
        TaskColumns::VERSION => task.version.to_string(),
        TaskColumns::CREATED_BY => task.created_by.to_string(),
        TaskColumns::CREATED_AT => task.created_at.to_rfc3339(),
        TaskColumns::UPDATED_BY => task.updated_by.to_string(),
        TaskColumns::UPDATED_AT => task.updated_at.to_rfc3339(),
        _ => unreachable!("one column at a time"),
    };
    let sets = single.into_iter().chain([
        TaskColumns::NONE,
        TaskColumns::TITLE | TaskColumns::ASSIGNEE,
        TaskColumns::STATUS | TaskColumns::DUE_DATE | TaskColumns::UPDATED_AT,
        TaskColumns::ALL,
    ]);
    for columns in sets {
        let got = tasks::first_by_project(&eve, db, &[p.id], 10, columns)
            .await
            .unwrap();
        let [read] = got[&p.id].as_slice() else {
            panic!("one task: {got:?}");
        };
        assert_eq!(
            (read.id(), read.project_id(), read.columns()),
            (stored.id, p.id, columns)
        );
        for column in single {
            match read.read(column) {
                Some(task) => {
                    assert!(columns.contains(column), "{column:?} not read: {columns:?}");
                    assert_eq!(shown(task, column), shown(&stored, column), "{columns:?}");
                }
                None => assert!(!columns.contains(column), "{column:?} read: {columns:?}"),
            }
        }
        assert_eq!(
            read.read(TaskColumns::ALL).is_some(),
            columns == TaskColumns::ALL
        );
    }
}

/// More projects in one call than fit one statement (100): every one answered, each with its
/// own tasks.
async fn nested_pages_of_many_projects(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let mut ids = Vec::new();
    let mut expected = std::collections::HashMap::new();
    for i in 0..(MAX_FIRST as usize + 3) {
        let p = project(&editor, db, &format!("P{i}")).await;
        ids.push(p.id);
        // The first, a middle, the last of the first hundred and those beyond have tasks.
        if [0, 50, 99, 100, 102].contains(&i) {
            let mut made = Vec::new();
            for j in 0..2 {
                made.push(task(&editor, db, p.id, &format!("t{i}.{j}")).await.id);
            }
            expected.insert(p.id, made);
        }
    }
    let got = tasks::first_by_project(&editor, db, &ids, 1, TaskColumns::ALL)
        .await
        .unwrap();
    assert_eq!(got.len(), expected.len());
    for (project_id, made) in &expected {
        let listed: Vec<Uuid> = got[project_id].iter().map(|task| task.id()).collect();
        assert_eq!(listed, made[..1]);
    }
}

/// One project's tasks (`tasks(projectId:)`), page by page: ids interleaved with another
/// project's, pages of every size from 1 to past the end, `has_next_page` exactly at the end.
async fn project_task_pages_walk_with_cursors(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let mine = project(&editor, db, "Mine").await;
    let noise = project(&editor, db, "Noise").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(task(&editor, db, mine.id, &format!("m{i}")).await.id);
        task(&editor, db, noise.id, &format!("n{i}")).await;
    }
    let filter = TaskFilter {
        project_id: Some(mine.id),
        ..TaskFilter::default()
    };
    for size in 1..=8_u32 {
        let mut seen = Vec::new();
        let mut request = PageRequest::first(size).without_total_count();
        loop {
            let page = tasks::list(&editor, db, filter.clone(), request)
                .await
                .unwrap();
            assert!(page.items.len() <= size as usize);
            seen.extend(page.items.iter().map(|(_, task)| task.id));
            assert_eq!(
                page.has_next_page,
                seen.len() < created.len(),
                "has_next_page after {} of {} (pages of {size})",
                seen.len(),
                created.len()
            );
            match page.end_cursor() {
                Some(end) if page.has_next_page => request = request.after(end),
                _ => break,
            }
        }
        assert_eq!(seen, created, "pages of {size}");
    }
}

/// `totalCount` costs a statement only when asked; the page is the same either way.
async fn total_count_only_when_asked(t: TestDb) {
    let db = &t.db;
    let editor = enter(db, "acme", Role::Editor, "eve").await;
    let p = project(&editor, db, "P").await;
    for i in 0..3 {
        task(&editor, db, p.id, &format!("t{i}")).await;
    }
    let setting = t.tenant_setting_statements();
    let filter = TaskFilter {
        project_id: Some(p.id),
        ..TaskFilter::default()
    };
    let before = db.statement_count();
    let counted = tasks::list(&editor, db, filter.clone(), PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(db.statement_count() - before, 2 + setting);
    assert_eq!(counted.total_count, 3);
    let before = db.statement_count();
    let uncounted = tasks::list(
        &editor,
        db,
        filter,
        PageRequest::first(2).without_total_count(),
    )
    .await
    .unwrap();
    assert_eq!(db.statement_count() - before, 1 + setting, "the page alone");
    assert_eq!(uncounted.total_count, 0, "not counted");
    assert_eq!(uncounted.items, counted.items);
    assert_eq!(uncounted.has_next_page, counted.has_next_page);

    let before = db.statement_count();
    let projects_page = projects::list(
        &editor,
        db,
        ProjectFilter::default(),
        PageRequest::first(5).without_total_count(),
    )
    .await
    .unwrap();
    assert_eq!(db.statement_count() - before, 1 + setting);
    assert_eq!(projects_page.items.len(), 1);
    let admin = enter(db, "acme", Role::Admin, "ada").await;
    let before = db.statement_count();
    audit::list(&admin, db, PageRequest::first(5).without_total_count())
        .await
        .unwrap();
    assert_eq!(db.statement_count() - before, 1 + setting);
}
