//! The harness's world: a fresh database per test, fixtures and assertions.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use cognigraph_domain::members::{self, MemberProfile};
use cognigraph_domain::projects::{self, NewProject, Project};
use cognigraph_domain::tasks::{self, NewTask, Task};
use cognigraph_domain::testing::{PostgresDatabase, create_postgres_database};
use cognigraph_domain::{Action, Db, DomainError, PageRequest, Role, Scope, TenantId};
use sea_orm::sqlx::{self, Connection, Row, TypeInfo, ValueRef};
use uuid::Uuid;

/// Every test gets at most this long.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A test that runs once per backend, on its own fresh, migrated database.
pub(crate) struct DbTest {
    pub(crate) name: &'static str,
    pub(crate) run: fn(TestDb) -> BoxFuture,
}

pub(crate) fn boxed(test: impl Future<Output = ()> + Send + 'static) -> BoxFuture {
    Box::pin(test)
}

/// `db_tests![a, b]`: the list of a module's database tests.
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        pub(crate) fn tests() -> Vec<crate::support::DbTest> {
            vec![$(crate::support::DbTest {
                name: stringify!($name),
                run: |db| crate::support::boxed($name(db)),
            }),*]
        }
    };
}
pub(crate) use db_tests;

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite,
    /// The admin URL from `TEST_POSTGRES_URL`.
    Postgres(String),
}

impl Backend {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// The database a test runs on: the domain's handle and the URL it was opened with.
///
/// On PostgreSQL the two URLs differ as in production (README, "PostgreSQL roles"): `owner_url`
/// connects as the tables' owner (the cluster's superuser here), which migrated the database;
/// `url`, and so `db`, connects as an application role of the test's own, a login without
/// `BYPASSRLS` that owns nothing, granted what the README grants. On SQLite they are the same.
#[derive(Debug, Clone)]
pub(crate) struct TestDb {
    pub(crate) db: Db,
    pub(crate) url: String,
    pub(crate) owner_url: String,
}

impl TestDb {
    pub(crate) fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// Statements a domain transaction runs before its own: `set_config('app.tenant_id', …)` on
    /// PostgreSQL, nothing on SQLite.
    pub(crate) fn tenant_setting_statements(&self) -> u64 {
        u64::from(self.is_postgres())
    }
}

/// What to tear down after the test.
enum Owned {
    /// Deleted when dropped, after the test.
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
        app_role: String,
    },
}

/// Runs `test` on a fresh database of `backend`, in a runtime of its own; a panic in the test (or
/// a failure to set up) fails the trial.
pub(crate) fn run(backend: &Backend, test: fn(TestDb) -> BoxFuture) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let (test_db, owned) = setup(backend).await?;
        let outcome = tokio::time::timeout(TEST_TIMEOUT, tokio::spawn(test(test_db.clone()))).await;
        let closed = test_db.db.close().await;
        teardown(owned).await?;
        match outcome {
            Err(_) => Err(format!("timed out after {TEST_TIMEOUT:?}")),
            Ok(Err(join)) => Err(panic_message(join)),
            Ok(Ok(())) => closed.map_err(|e| format!("closing the database: {e:?}")),
        }
    })
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the test panicked".to_owned()),
        Err(join) => format!("the test did not finish: {join}"),
    }
}

async fn setup(backend: &Backend) -> Result<(TestDb, Owned), String> {
    let (url, owner_url, owned) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
            let url = format!("sqlite://{}", dir.path().join("cognigraph.db").display());
            (url.clone(), url, Owned::Sqlite(dir))
        }
        Backend::Postgres(admin_url) => {
            let PostgresDatabase {
                url: owner_url,
                name,
            } = create_postgres_database(admin_url, "test")
                .await
                .map_err(|e| format!("TEST_POSTGRES_URL: a new database: {e:?}"))?;
            let app_role = format!("app_{}", Uuid::new_v4().simple());
            // Migrate as the owner first: the grants below cover the tables that exist.
            migrate(&owner_url).await?;
            admin_statement(
                admin_url,
                &format!("CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS"),
            )
            .await?;
            admin_statement(&owner_url, &app_role_grants(&app_role)).await?;
            let url = cognigraph_domain::testing::with_user(&owner_url, &app_role);
            (
                url,
                owner_url,
                Owned::Postgres {
                    admin_url: admin_url.clone(),
                    name,
                    app_role,
                },
            )
        }
    };
    // On SQLite this applies the migrations; on PostgreSQL (as the application's role) it
    // finds nothing pending, as `serve --migrate` would.
    migrate(&url).await?;
    let db = Db::connect(&url)
        .await
        .map_err(|e| format!("connect to the test database: {e:?}"))?;
    Ok((TestDb { db, url, owner_url }, owned))
}

async fn migrate(url: &str) -> Result<(), String> {
    let db = Db::connect(url)
        .await
        .map_err(|e| format!("connect to the test database: {e:?}"))?;
    db.migrate()
        .await
        .map_err(|e| format!("migrate the test database: {e:?}"))?;
    db.close()
        .await
        .map_err(|e| format!("close the test database: {e:?}"))
}

/// What the README's "PostgreSQL roles" grants the application's role, run by the owner in the
/// database (the default privileges cover tables a later migration creates).
pub(crate) fn app_role_grants(role: &str) -> String {
    format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         REVOKE INSERT, UPDATE, DELETE ON seaql_migrations FROM {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};"
    )
}

async fn teardown(owned: Owned) -> Result<(), String> {
    match owned {
        Owned::Sqlite(_dir) => Ok(()),
        Owned::Postgres {
            admin_url,
            name,
            app_role,
        } => {
            admin_statement(&admin_url, &format!("DROP DATABASE {name} WITH (FORCE)")).await?;
            admin_statement(&admin_url, &format!("DROP ROLE {app_role}")).await
        }
    }
}

async fn admin_statement(admin_url: &str, sql: &str) -> Result<(), String> {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}"))?;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    conn.close().await.map_err(|e| format!("close: {e}"))
}

/// Every row of `tenant` in every table, ordered by primary key, as raw column bytes (with
/// SQLite's storage class): compares byte for byte, read past the domain (and, on PostgreSQL,
/// past row-level security: give it the owner's URL).
pub(crate) async fn raw_rows(url: &str, tenant: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let mut tables = Vec::new();
    for table in ["members", "projects", "tasks", "audit_events"] {
        let sql = format!("SELECT * FROM {table} WHERE tenant_id = '{tenant}' ORDER BY id");
        let rows = if url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            let rows = sqlx::query(&sql).fetch_all(&mut conn).await.unwrap();
            column_texts(&rows, |row, i| {
                let class = row.try_get_raw(i).unwrap().type_info().name().to_owned();
                let bytes: Vec<u8> = row.try_get_unchecked(i).unwrap();
                format!("{class}:{bytes:02x?}")
            })
        } else {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let rows = sqlx::query(&sql).fetch_all(&mut conn).await.unwrap();
            column_texts(&rows, |row, i| {
                format!("{:02x?}", row.try_get_raw(i).unwrap().as_bytes().unwrap())
            })
        };
        tables.push((table.to_owned(), rows));
    }
    tables
}

/// Each row's columns as text: `NULL`, or what `show` makes of the (non-null) column `i`.
fn column_texts<R>(rows: &[R], show: impl Fn(&R, usize) -> String) -> Vec<Vec<String>>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    if row.try_get_raw(i).unwrap().is_null() {
                        "NULL".to_owned()
                    } else {
                        show(row, i)
                    }
                })
                .collect()
        })
        .collect()
}

pub(crate) fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).unwrap()
}

/// `sub` enters `tenant` with `role` (username = sub, email `sub@example.com`).
pub(crate) async fn enter(db: &Db, tenant_id: &str, role: Role, sub: &str) -> Scope {
    members::enter(
        db,
        tenant(tenant_id),
        role,
        sub,
        MemberProfile {
            username: sub.to_owned(),
            email: Some(format!("{sub}@example.com")),
            token_issued_at: None,
        },
    )
    .await
    .unwrap()
}

/// Every member of `scope`'s tenant, oldest first (one page of 100).
pub(crate) async fn all_members(
    scope: &Scope,
    db: &Db,
) -> Result<Vec<members::Member>, DomainError> {
    let page = members::page(scope, db, None, PageRequest::first(100)).await?;
    Ok(page.items.into_iter().map(|(_, member)| member).collect())
}

pub(crate) fn new_project(name: &str) -> NewProject {
    NewProject {
        name: name.to_owned(),
        description: Some(format!("About {name}")),
        budget: Some(1_000),
    }
}

pub(crate) async fn project(scope: &Scope, db: &Db, name: &str) -> Project {
    projects::create(scope, db, new_project(name))
        .await
        .unwrap()
}

pub(crate) fn new_task(project_id: Uuid, title: &str) -> NewTask {
    NewTask {
        project_id,
        title: title.to_owned(),
        description: None,
        due_date: None,
        assignee_id: None,
    }
}

pub(crate) async fn task(scope: &Scope, db: &Db, project_id: Uuid, title: &str) -> Task {
    tasks::create(scope, db, new_task(project_id, title))
        .await
        .unwrap()
}

#[track_caller]
pub(crate) fn assert_not_found<T: Debug>(result: Result<T, DomainError>) {
    match result {
        Err(DomainError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn assert_forbidden<T: Debug>(result: Result<T, DomainError>, action: Action) {
    match result {
        Err(DomainError::Forbidden { action: refused }) if refused == action => {}
        other => panic!("expected Forbidden {{ {action:?} }}, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn assert_conflict<T: Debug>(
    result: Result<T, DomainError>,
    expected: i32,
    actual: i32,
) {
    match result {
        Err(DomainError::Conflict {
            expected: e,
            actual: a,
        }) if (e, a) == (expected, actual) => {}
        other => panic!("expected Conflict {{ {expected}, {actual} }}, got {other:?}"),
    }
}

/// What `error`'s causes say (its `source()` chain, `: `-separated), as a log would show them.
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes.join(": ")
}

#[track_caller]
pub(crate) fn assert_invalid<T: Debug>(result: Result<T, DomainError>, field: &str) {
    match result {
        Err(DomainError::InvalidInput { field: f, .. }) if f == field => {}
        other => panic!("expected InvalidInput {{ field: {field:?} }}, got {other:?}"),
    }
}
