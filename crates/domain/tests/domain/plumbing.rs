//! The plumbing: tenant ids, errors, connections, migrations, statement counting, and the guard
//! that keeps every query tenant-scoped.

use cognigraph_domain::projects::{self, NewProject};
use cognigraph_domain::{Action, Db, DomainError, InvalidTenantId, Role, Scope, TenantId};
use cognigraph_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnAcquireErr, DbErr};
use sea_orm_migration::SchemaManager;
use uuid::Uuid;

use crate::support::{
    TestDb, assert_invalid, causes, db_tests, enter, new_project, project, tenant,
};

pub(crate) fn pure_tests() -> Vec<(&'static str, fn())> {
    vec![
        ("tenant_id_parse_edge_cases", tenant_id_parse_edge_cases),
        ("errors_leak_nothing", errors_leak_nothing),
        (
            "every_query_goes_through_the_tenant_scoped_store",
            every_query_goes_through_the_tenant_scoped_store,
        ),
        ("connect_rejects_unknown_urls", connect_rejects_unknown_urls),
        (
            "sqlite_file_is_wal_and_persistent",
            sqlite_file_is_wal_and_persistent,
        ),
        ("sqlite_memory_database", sqlite_memory_database),
        (
            "sqlite_is_built_without_stat4",
            sqlite_is_built_without_stat4,
        ),
    ]
}

db_tests![
    ping_and_statement_count,
    the_database_refuses_an_author_from_outside_the_tenant,
    migrations_go_down_and_up_again,
    the_task_count_migration_counts_existing_tasks,
    concurrent_migrations_do_not_race,
    a_migration_this_build_lacks_is_named,
];

fn tenant_id_parse_edge_cases() {
    for ok in [
        "a",
        "A",
        "0",
        "_",
        "-",
        "acme",
        "Tenant_01-x",
        &"x".repeat(64),
    ] {
        let parsed = TenantId::parse(ok).unwrap();
        assert_eq!(parsed.as_str(), ok);
        assert_eq!(parsed.to_string(), ok);
    }
    assert_eq!(TenantId::parse(""), Err(InvalidTenantId::Empty));
    assert_eq!(
        TenantId::parse(&"x".repeat(65)),
        Err(InvalidTenantId::TooLong { length: 65 })
    );
    assert_eq!(
        TenantId::parse(&"é".repeat(65)),
        Err(InvalidTenantId::TooLong { length: 65 })
    );
    for (bad, position) in [
        (" acme", 0),
        ("acme ", 4),
        ("ac me", 2),
        ("acme\n", 4),
        ("acme.corp", 4),
        ("acme/..", 4),
        ("tenant:a", 6),
        ("a'b", 1),
        ("a%20", 1),
        ("ümlaut", 0),
        ("ｆｕｌｌ", 0),
        ("a\u{0}", 1),
    ] {
        assert_eq!(
            TenantId::parse(bad),
            Err(InvalidTenantId::InvalidCharacter { position }),
            "{bad:?}"
        );
    }
    // Never normalised: case matters, so these are two tenants.
    assert_ne!(tenant("Acme"), tenant("acme"));
    let message = TenantId::parse("evil<script>").unwrap_err().to_string();
    assert!(
        !message.contains("evil"),
        "the raw value is not echoed: {message}"
    );
}

fn errors_leak_nothing() {
    // Codes are the server's business (`errors.rs`, the one mapping); here, only that no
    // error's Display shows what it carries for the logs, and that its causes do carry it.
    let database = DomainError::from(DbErr::Custom("SELECT secret FROM t: syntax error".into()));
    let unavailable = DomainError::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "secret peer");
    let lost = DomainError::from(sea_orm::sqlx::Error::Io(io));
    assert!(matches!(database, DomainError::Database(_)), "{database:?}");
    assert!(
        matches!(unavailable, DomainError::Unavailable(_)),
        "{unavailable:?}"
    );
    assert!(matches!(lost, DomainError::Unavailable(_)), "{lost:?}");
    assert!(
        causes(&database).contains("SELECT secret FROM t"),
        "{database:?}"
    );
    assert!(
        causes(&unavailable).contains("pool timed out"),
        "{unavailable:?}"
    );
    assert!(causes(&lost).contains("secret peer"), "{lost:?}");
    // Equal when of the same kind and reading the same; clones share the driver's error.
    assert_eq!(database.clone(), database);
    assert_eq!(
        DomainError::from(DbErr::Custom("SELECT secret FROM t: syntax error".into())),
        database
    );
    assert_ne!(DomainError::from(DbErr::Custom("other".into())), database);
    let cases = [
        DomainError::NotFound,
        DomainError::Forbidden {
            action: Action::ReadBudget,
        },
        DomainError::Conflict {
            expected: 1,
            actual: 2,
        },
        DomainError::InvalidInput {
            field: "name",
            message: "must not be empty".to_owned(),
        },
        database,
        lost,
    ];
    for error in cases {
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    let scope = Scope::for_tests(tenant("acme"), Role::Editor, Uuid::nil());
    assert_eq!(scope.role(), Role::Editor);
    assert_eq!(scope.actor_id(), Uuid::nil());
    assert_eq!(
        scope.authorize(Action::ReadBudget),
        Err(DomainError::Forbidden {
            action: Action::ReadBudget
        })
    );
    assert_eq!(scope.authorize(Action::UpdateTask), Ok(()));
}

/// The crate's modules, other than the tenant-scoped store, never reach sea-orm's entry points, and
/// every public operation takes the scope first.
fn every_query_goes_through_the_tenant_scoped_store() {
    let sources = [
        ("audit.rs", include_str!("../../src/audit.rs")),
        ("members.rs", include_str!("../../src/members.rs")),
        ("projects.rs", include_str!("../../src/projects.rs")),
        ("tasks.rs", include_str!("../../src/tasks.rs")),
        ("page.rs", include_str!("../../src/page.rs")),
        ("scope.rs", include_str!("../../src/scope.rs")),
        ("lib.rs", include_str!("../../src/lib.rs")),
        ("input.rs", include_str!("../../src/input.rs")),
    ];
    let forbidden = [
        "::find(",
        "find_by_id",
        "find_related",
        "find_also",
        "find_with",
        "update_many",
        "delete_many",
        "insert_many",
        "::insert(",
        "Statement",
        "execute_unprepared",
        "query_all",
        "query_one",
        "from_raw_sql",
        "DatabaseConnection",
        "sqlx",
    ];
    for (file, source) in sources {
        let source = source.replace("store::insert(", "store::insert_scoped(");
        for pattern in forbidden {
            assert!(
                !source.contains(pattern),
                "{file} uses `{pattern}`: go through crate::store's tenant-scoped helpers"
            );
        }
    }
    for (file, source) in &sources[..4] {
        let flat = source.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut operations = 0;
        for signature in flat.split("pub async fn ").skip(1) {
            let (name, rest) = signature.split_once('(').unwrap();
            let rest = rest.trim_start();
            operations += 1;
            if *file == "members.rs" && name == "enter" {
                assert!(rest.starts_with("db: &Db, tenant: TenantId, role: Role, sub: &str"));
                continue;
            }
            assert!(
                rest.starts_with("scope: &Scope, db: &Db"),
                "{file}: `{name}` must take `scope: &Scope` first"
            );
        }
        assert!(operations > 0, "{file} has operations");
    }
    let db = include_str!("../../src/db.rs");
    for line in db
        .lines()
        .filter(|line| line.trim_start().starts_with("pub "))
    {
        assert!(
            !line.contains("Connection") && !line.contains("Transaction"),
            "db.rs hands out a connection: {line}"
        );
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn connect_rejects_unknown_urls() {
    block_on(async {
        for url in ["", "mysql://root@127.0.0.1/db", "postgres:/x", "file.db"] {
            assert_invalid(Db::connect(url).await, "databaseUrl");
        }
        // A malformed URL fails at once (an unreachable server is retried for sqlx's acquire
        // timeout); neither the error nor its log detail repeats the password.
        let error = Db::connect("postgres://user:hunter2@127.0.0.1:99999/db")
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::Database(_)), "{error:?}");
        assert!(!error.to_string().contains("hunter2"));
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        assert!(!causes(&error).contains("hunter2"), "{}", causes(&error));
    });
}

fn sqlite_file_is_wal_and_persistent() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested.db");
        let url = format!("sqlite:{}", path.display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let admin = enter(&db, "acme", Role::Admin, "ada").await;
        let p = project(&admin, &db, "Persisted").await;
        assert!(
            dir.path().join("nested.db-wal").exists(),
            "the database is in WAL mode"
        );
        db.close().await.unwrap();

        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let admin = enter(&db, "acme", Role::Admin, "ada").await;
        assert_eq!(projects::get(&admin, &db, p.id).await.unwrap(), p);
        db.close().await.unwrap();
    });
}

fn sqlite_memory_database() {
    block_on(async {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        db.migrate().await.unwrap();
        db.ping().await.unwrap();
        let admin = enter(&db, "acme", Role::Admin, "ada").await;
        let p = project(&admin, &db, "In memory").await;
        assert_eq!(projects::get(&admin, &db, p.id).await.unwrap(), p);
        // Another in-memory database is another world.
        let other = Db::connect("sqlite::memory:").await.unwrap();
        other.migrate().await.unwrap();
        let admin = enter(&other, "acme", Role::Admin, "ada").await;
        assert!(projects::get(&admin, &other, p.id).await.is_err());
    });
}

/// `.cargo/config.toml` builds the bundled SQLite without STAT4: with it, once ANALYZE has run,
/// every statement binding a value against an indexed column is compiled again on each execution
/// (the benchmark in the README measured a third to a half of a page request's CPU time). And
/// without memory statistics, which take a global mutex on every allocation.
fn sqlite_is_built_without_stat4() {
    use sea_orm::sqlx::{Connection as _, Row as _};
    block_on(async {
        let mut conn = sea_orm::sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let options: Vec<String> = sea_orm::sqlx::query("PRAGMA compile_options")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect();
        assert!(
            options
                .iter()
                .any(|option| option.starts_with("THREADSAFE")),
            "the compile options are listed: {options:?}"
        );
        assert!(
            !options.iter().any(|option| option.contains("STAT4")),
            "SQLite was built with STAT4 (is LIBSQLITE3_FLAGS from .cargo/config.toml set?): {options:?}"
        );
        assert!(
            options.iter().any(|option| option == "DEFAULT_MEMSTATUS=0"),
            "SQLite was built with memory statistics (is LIBSQLITE3_FLAGS from .cargo/config.toml set?): {options:?}"
        );
    });
}

async fn ping_and_statement_count(t: TestDb) {
    t.db.ping().await.unwrap();
    let before = t.db.statement_count();
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    let after_enter = t.db.statement_count();
    assert!(after_enter > before, "enter ran statements");
    let clone = t.db.clone();
    projects::get(&admin, &clone, Uuid::now_v7())
        .await
        .unwrap_err();
    assert_eq!(
        t.db.statement_count(),
        after_enter + 1 + t.tenant_setting_statements(),
        "clones share the counter (the read, after setting the tenant on PostgreSQL)"
    );
    // A refused operation never reaches the database.
    let viewer = enter(&t.db, "acme", Role::Viewer, "vic").await;
    let before = t.db.statement_count();
    projects::create(&viewer, &t.db, new_project("No"))
        .await
        .unwrap_err();
    assert_eq!(t.db.statement_count(), before);
    assert!(format!("{:?}", t.db).contains("statements"));
}

/// Composite foreign keys: even a scope made by hand (outside `members::enter`) cannot write rows
/// whose author is not a member of the tenant; foreign keys are on for SQLite too.
async fn the_database_refuses_an_author_from_outside_the_tenant(t: TestDb) {
    let outsider = enter(&t.db, "other", Role::Admin, "mallory").await;
    let forged = Scope::for_tests(tenant("acme"), Role::Admin, outsider.actor_id());
    let result = projects::create(
        &forged,
        &t.db,
        NewProject {
            name: "Forged".to_owned(),
            description: None,
            budget: None,
        },
    )
    .await;
    match result {
        Err(DomainError::Database(_)) => {}
        other => panic!("expected a foreign key violation, got {other:?}"),
    }
    let admin = enter(&t.db, "acme", Role::Admin, "ada").await;
    let all = projects::list(&admin, &t.db, Default::default(), Default::default())
        .await
        .unwrap();
    assert_eq!(all.total_count, 0);
}

async fn migrations_go_down_and_up_again(t: TestDb) {
    let conn = sea_orm::Database::connect(&t.owner_url).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&conn)
            .await
            .unwrap()
            .is_empty()
    );
    Migrator::down(&conn, None).await.unwrap();
    let manager = SchemaManager::new(&conn);
    for table in ["members", "projects", "tasks", "audit_events"] {
        assert!(!manager.has_table(table).await.unwrap(), "{table} dropped");
    }
    Migrator::up(&conn, None).await.unwrap();
    for table in ["members", "projects", "tasks", "audit_events"] {
        assert!(manager.has_table(table).await.unwrap(), "{table} created");
    }
    for index in ["members_tenant_sub", "tasks_tenant_project"] {
        let table = if index.starts_with("members") {
            "members"
        } else {
            "tasks"
        };
        assert!(manager.has_index(table, index).await.unwrap(), "{index}");
    }
    conn.close().await.unwrap();
    // Idempotent: migrating a migrated database does nothing.
    t.db.migrate().await.unwrap();
    let db = Db::connect(&t.url).await.unwrap();
    let admin = enter(&db, "acme", Role::Admin, "ada").await;
    project(&admin, &db, "After the round trip").await;
    db.close().await.unwrap();
}

/// The migration that adds `projects.task_count` counts the tasks already there, every tenant's
/// (on PostgreSQL through the row-level security that a migration sets no tenant for).
async fn the_task_count_migration_counts_existing_tasks(t: TestDb) {
    let mut expected = Vec::new();
    for (tenant_id, tasks) in [("acme", 3), ("globex", 1)] {
        let admin = enter(&t.db, tenant_id, Role::Admin, "ada").await;
        let busy = project(&admin, &t.db, "Busy").await;
        let quiet = project(&admin, &t.db, "Quiet").await;
        for i in 0..tasks {
            crate::support::task(&admin, &t.db, busy.id, &format!("t{i}")).await;
        }
        expected.push((admin, busy.id, tasks));
        expected.push((expected[expected.len() - 1].0.clone(), quiet.id, 0));
    }
    // On PostgreSQL, as an owner that is no superuser: row-level security applies to it too.
    let owner = format!("owner_{}", Uuid::new_v4().simple());
    let migrator_url = if t.url.starts_with("sqlite") {
        t.owner_url.clone()
    } else {
        let handover = format!(
            "CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS;
             GRANT USAGE, CREATE ON SCHEMA public TO {owner};
             ALTER TABLE projects OWNER TO {owner};
             ALTER TABLE tasks OWNER TO {owner};
             ALTER TABLE seaql_migrations OWNER TO {owner};"
        );
        superuser_statement(&t.owner_url, &handover).await;
        cognigraph_domain::testing::with_user(&t.owner_url, &owner)
    };
    let conn = sea_orm::Database::connect(&migrator_url).await.unwrap();
    let newest = Migrator::migrations().len() - 1;
    let before = Migrator::get_applied_migrations(&conn).await.unwrap();
    assert_eq!(
        before[newest].name(),
        "m20261202_000002_project_task_count",
        "this test goes one migration down: keep it on the task count's"
    );
    Migrator::down(&conn, Some(1)).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    conn.close().await.unwrap();
    if !t.url.starts_with("sqlite") {
        let handback = format!(
            "REASSIGN OWNED BY {owner} TO CURRENT_USER; DROP OWNED BY {owner}; DROP ROLE {owner};"
        );
        superuser_statement(&t.owner_url, &handback).await;
    }
    for (scope, project_id, tasks) in expected {
        let project = projects::get(&scope, &t.db, project_id).await.unwrap();
        assert_eq!(project.task_count, tasks, "{}", project.name);
    }
}

/// Runs `sql` (several statements) on the database at `url`.
async fn superuser_statement(url: &str, sql: &str) {
    use sea_orm::ConnectionTrait as _;
    let conn = sea_orm::Database::connect(url).await.unwrap();
    conn.execute_unprepared(sql).await.unwrap();
    conn.close().await.unwrap();
}

async fn concurrent_migrations_do_not_race(t: TestDb) {
    // Several instances share one PostgreSQL database; a SQLite file serves one instance (one
    // writer), so there is no race to test there.
    if t.url.starts_with("sqlite") {
        return;
    }
    // Back to an empty schema, then four instances migrate at once.
    let conn = sea_orm::Database::connect(&t.owner_url).await.unwrap();
    Migrator::down(&conn, None).await.unwrap();
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(Db::connect(&t.owner_url).await.unwrap());
    }
    let runs: Vec<_> = instances
        .iter()
        .map(|db| {
            let db = db.clone();
            tokio::spawn(async move { db.migrate().await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    assert!(
        Migrator::get_pending_migrations(&conn)
            .await
            .unwrap()
            .is_empty()
    );
    t.db.ping().await.unwrap();
}

/// A database migrated by a newer cognigraph: the error says which migration this build lacks
/// (in its causes, for the log), and nothing of it in its `Display`.
async fn a_migration_this_build_lacks_is_named(t: TestDb) {
    let name = "m29990101_000001_from_the_future";
    superuser_statement(
        &t.owner_url,
        &format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{name}', 0)"),
    )
    .await;
    let error = t.db.pending_migrations().await.unwrap_err();
    assert!(matches!(error, DomainError::Database(_)), "{error:?}");
    assert_eq!(error.to_string(), "database error");
    assert!(causes(&error).contains(name), "{}", causes(&error));
}
