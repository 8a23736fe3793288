//! Page cost against data size: the release `cognigraph` binary on seeded data, on SQLite and on
//! PostgreSQL, driven by a load generator on loopback. For each case: requests per second and
//! the server's CPU time per request (the process's user + system time from `/proc/<pid>/stat`
//! over the timed run, divided by the requests answered: steadier than req/s on a shared
//! machine). On SQLite the database runs inside the server process, so its work is counted; on
//! PostgreSQL the database's own processes are not.
//!
//! The data, generated in bulk by SQL (`INSERT … SELECT` over a number series, seconds):
//! - tenant `acme`: 100 projects × 100 tasks (on PostgreSQL, with 99 more such tenants beside
//!   it when `PAGES_PG_TENANTS` is 100, the default: 1,000,000 tasks);
//! - tenants `one100`, `one1k`, `one10k`: one project of 100, 1,000 and 10,000 tasks;
//! - for the writes, `acme`'s audit trail before and after growing to `PAGES_AUDIT_ROWS`
//!   (default 1,000,000) rows.
//!
//! `cargo bench -p cognigraph-server --bench pages` (`just bench` runs it). Settings through the
//! environment: PAGES_SECS (seconds per timed run, default 2), PAGES_RUNS (timed runs per case,
//! the median is reported; default 3), PAGES_CONCURRENCY (clients, default 8), PAGES_AUDIT_ROWS,
//! PAGES_PG_TENANTS, PAGES_SQLITE_DIR (a folder to keep the SQLite database in), TEST_POSTGRES_URL (an admin URL; without one only SQLite runs),
//! PAGES_COGNIGRAPH_BIN (another `cognigraph` binary to measure, e.g. an older build, against
//! the same data), PAGES_ONLY (`sqlite` or `postgres`), PAGES_CASES (only the list cases whose
//! label in `LIST_CASES` contains this text, e.g. `assignee` while profiling one; `one project`
//! selects the one-project cases, `createTask` or `setTaskStatus` the writes). Loopback only,
//! bounded in time. The
//! report is printed and written to `target/bench-results/pages.md`.
#![expect(clippy::print_stdout, reason = "the report is what a benchmark prints")]
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "rates and medians of small counts"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark stops loudly on a broken set-up"
)]

mod support;

use std::{
    fmt::Write as _,
    sync::{
        Arc,
        atomic::{AtomicI32, Ordering},
    },
    time::Instant,
};

use cognigraph_token::testing::TestIssuer;
use sea_orm::sqlx::{self, Connection as _};
use serde_json::json;
use support::child_server::ChildServer;
use support::measure::{Body, Expect, Figures, Load, env_number, query};
use uuid::Uuid;

/// The list cases, on tenant `acme` (100 projects × 100 tasks).
const LIST_CASES: [(&str, &str); 6] = [
    (
        "`projects(first:20) { name }`",
        "{ projects(first: 20) { edges { node { name } } } }",
    ),
    (
        "… `{ name taskCount }`",
        "{ projects(first: 20) { edges { node { name taskCount } } } }",
    ),
    (
        "… `{ name tasks(first:10) { title } }`",
        "{ projects(first: 20) { edges { node { name tasks(first: 10) { title } } } } }",
    ),
    (
        "… `{ name taskCount tasks(first:10) { title assignee { username } } }`",
        NESTED,
    ),
    (
        "… `totalCount` and `{ name }`",
        "{ projects(first: 20) { totalCount edges { node { name } } } }",
    ),
    (
        "`tasks(first:20) { title createdBy { username } }`",
        "{ tasks(first: 20) { edges { node { title createdBy { username } } } } }",
    ),
];

/// The nested page of goal 2.
const NESTED: &str = "{ projects(first: 20) { edges { node { name taskCount \
    tasks(first: 10) { title assignee { username } } } } } }";
/// The nested page of goal 1, on a tenant of one project.
const ONE_PROJECT: &str =
    "{ projects(first: 20) { edges { node { name tasks(first: 10) { title } } } } }";

/// Tenants of one project, and how many tasks it has.
const ONE_PROJECT_TENANTS: [(&str, u32); 3] =
    [("one100", 100), ("one1k", 1_000), ("one10k", 10_000)];

const CREATE_TASK: &str = "mutation($p: ID!, $t: String!) { \
    createTask(input: { projectId: $p, title: $t }) { id } }";
const SET_STATUS: &str = "mutation($id: ID!, $v: Int!, $s: TaskStatus!) { \
    setTaskStatus(id: $id, expectedVersion: $v, status: $s) { version } }";
const STATUSES: [&str; 3] = ["IN_PROGRESS", "DONE", "TODO"];

/// Timestamps of seeded rows.
const SEEDED_AT: &str = "2025-01-01T00:00:00+00:00";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    Sqlite,
    Postgres,
}

/// A seeded row's id: `00`, the kind (1 member, 2 project, 3 task, 4 audit event), 3 bytes of
/// tenant, 4 of project, 7 of item. Below every UUID v7 made today, so rows the server creates
/// sort after the seeded ones.
fn seeded_id(kind: u8, tenant: u32, project: u32, item: u64) -> Uuid {
    Uuid::from_u128(
        (u128::from(kind) << 112)
            | (u128::from(tenant) << 88)
            | (u128::from(project) << 56)
            | u128::from(item),
    )
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgres => "PostgreSQL",
        }
    }

    /// SQL for [`seeded_id`] of SQL integer expressions.
    fn id_sql(self, kind: u8, tenant: u32, project: &str, item: &str) -> String {
        match self {
            Store::Sqlite => {
                format!("unhex(printf('00%02x%06x%08x%014x', {kind}, {tenant}, {project}, {item}))")
            }
            Store::Postgres => format!(
                "('00' || lpad(to_hex({kind}), 2, '0') || lpad(to_hex({tenant}), 6, '0') \
                 || lpad(to_hex({project}), 8, '0') || lpad(to_hex(({item})::bigint), 14, '0'))::uuid"
            ),
        }
    }

    /// [`SEEDED_AT`] as a timestamp literal.
    fn seeded_at(self) -> String {
        match self {
            Store::Sqlite => format!("'{SEEDED_AT}'"),
            Store::Postgres => format!("'{SEEDED_AT}'::timestamptz"),
        }
    }

    /// A JSON literal.
    fn json(self, text: &str) -> String {
        match self {
            Store::Sqlite => format!("'{text}'"),
            Store::Postgres => format!("'{text}'::jsonb"),
        }
    }

    /// A subquery of one column `x`: 0, 1, …, n - 1.
    fn series(self, n: u64) -> String {
        match self {
            Store::Sqlite => format!(
                "(WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < {n} - 1) \
                 SELECT x FROM s)"
            ),
            Store::Postgres => format!("(SELECT generate_series(0, {n} - 1) AS x)"),
        }
    }

    /// The statements that seed tenant number `t`, `name`: its member, `projects` projects of
    /// `tasks` tasks each (all assigned to the member).
    fn seed_tenant(self, t: u32, name: &str, projects: u64, tasks: u64) -> String {
        let member = self.id_sql(1, t, "0", "0");
        let project = self.id_sql(2, t, "p.x", "0");
        let task_project = self.id_sql(2, t, "p.x", "0");
        let task = self.id_sql(3, t, "p.x", "i.x");
        let at = self.seeded_at();
        format!(
            "INSERT INTO members (tenant_id, id, sub, username, email, first_seen_at, last_seen_at) \
             VALUES ('{name}', {member}, 'seed-{name}', 'seed-{name}', NULL, {at}, {at});
             INSERT INTO projects (tenant_id, id, name, description, budget, archived, version, \
                 task_count, created_by, created_at, updated_by, updated_at) \
             SELECT '{name}', {project}, 'Project ' || p.x, NULL, NULL, false, 1, {tasks}, \
                 {member}, {at}, {member}, {at} FROM {projects_series} AS p;
             INSERT INTO tasks (tenant_id, id, project_id, title, description, status, assignee_id, \
                 due_date, version, created_by, created_at, updated_by, updated_at) \
             SELECT '{name}', {task}, {task_project}, 'Task ' || p.x || '.' || i.x, NULL, 'TODO', \
                 {member}, NULL, 1, {member}, {at}, {member}, {at} \
             FROM {projects_series} AS p CROSS JOIN {tasks_series} AS i;",
            projects_series = self.series(projects),
            tasks_series = self.series(tasks),
        )
    }

    /// Audit events of tenant `acme` (number 0), numbered from `from`, `count` of them.
    fn seed_audit(self, from: u64, count: u64) -> String {
        let member = self.id_sql(1, 0, "0", "0");
        let event = self.id_sql(4, 0, "0", &format!("i.x + {from}"));
        let task = self.id_sql(3, 0, "0", "0");
        let at = self.seeded_at();
        let detail = self.json(r#"{"changed":["title"],"version":2}"#);
        format!(
            "INSERT INTO audit_events (tenant_id, id, actor_id, action, entity, entity_id, at, detail) \
             SELECT 'acme', {event}, {member}, 'task.updated', 'task', {task}, {at}, {detail} \
                 FROM {series} AS i;",
            series = self.series(count),
        )
    }
}

/// Runs `sql` (several statements) on `url` as the tables' owner, with foreign key checks off
/// (the seed is consistent by construction; checking a million rows one by one takes minutes).
async fn run_sql(store: Store, url: &str, sql: &str) {
    match store {
        Store::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("SQLite");
            sqlx::raw_sql(&format!("PRAGMA foreign_keys = OFF; {sql}"))
                .execute(&mut conn)
                .await
                .expect("the seed");
            conn.close().await.expect("close");
        }
        Store::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
            sqlx::raw_sql(&format!(
                "SET session_replication_role = replica; {sql}; \
                 SET session_replication_role = DEFAULT;"
            ))
            .execute(&mut conn)
            .await
            .expect("the seed");
            conn.close().await.expect("close");
        }
    }
}

/// Statistics for the planners, and PostgreSQL's visibility map (index-only scans).
async fn analyze(store: Store, url: &str) {
    match store {
        Store::Sqlite => run_sql(store, url, "ANALYZE;").await,
        Store::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
            sqlx::raw_sql("VACUUM ANALYZE")
                .execute(&mut conn)
                .await
                .expect("vacuum");
            conn.close().await.expect("close");
        }
    }
}

/// What one request of a case sends: a body made from the worker's number and its request
/// number (writes need distinct or versioned variables).
struct Tokens {
    issuer: TestIssuer,
}

impl Tokens {
    fn token(&self, tenant: &str, role: &str) -> String {
        let mut claims = self.issuer.access_claims();
        claims["sub"] = json!(format!("{tenant}-{role}"));
        claims["username"] = json!(format!("{tenant}-{role}"));
        claims["cognito:groups"] = json!([role]);
        claims["custom:tenant"] = json!(tenant);
        self.issuer.sign(&claims)
    }
}

/// A seeded database: the URL the server uses and the owner's URL (for more seeding).
struct Seeded {
    server_url: String,
    owner_url: String,
    /// Keeps a SQLite file's folder.
    _folder: Option<tempfile::TempDir>,
}

async fn seed(store: Store, report: &mut String) -> Seeded {
    let started = Instant::now();
    let (owner_url, server_url, folder) = match store {
        Store::Sqlite => {
            // PAGES_SQLITE_DIR keeps the database (for EXPLAIN QUERY PLAN afterwards).
            let (path, folder) = match std::env::var("PAGES_SQLITE_DIR") {
                Ok(dir) => {
                    let path = std::path::Path::new(&dir).join("pages.db");
                    let _ = std::fs::remove_file(&path);
                    (path, None)
                }
                Err(_) => {
                    let folder = tempfile::tempdir().expect("temporary folder");
                    (folder.path().join("pages.db"), Some(folder))
                }
            };
            let url = format!("sqlite://{}?mode=rwc", path.display());
            (url.clone(), url, folder)
        }
        Store::Postgres => {
            let admin = std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL");
            let database = cognigraph_domain::testing::create_postgres_database(&admin, "pages")
                .await
                .expect("a new database");
            // The server connects as an application role without BYPASSRLS, as in production.
            let role = database.name.replace("pages_", "pages_app_");
            let mut conn = sqlx::PgConnection::connect(&database.url)
                .await
                .expect("PostgreSQL");
            sqlx::raw_sql(&format!("CREATE ROLE {role} LOGIN"))
                .execute(&mut conn)
                .await
                .expect("the application role");
            conn.close().await.expect("close");
            let server_url = cognigraph_domain::testing::with_user(&database.url, &role);
            (database.url, server_url, None)
        }
    };
    let db = cognigraph_domain::Db::connect(&owner_url)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    drop(db);
    if store == Store::Postgres {
        let role = server_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('@').next())
            .expect("a role");
        run_sql(
            store,
            &owner_url,
            &format!(
                "GRANT USAGE ON SCHEMA public TO {role};
                 GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
                 REVOKE INSERT, UPDATE, DELETE ON seaql_migrations FROM {role};"
            ),
        )
        .await;
    }
    let mut sql = store.seed_tenant(0, "acme", 100, 100);
    for (i, (name, tasks)) in ONE_PROJECT_TENANTS.iter().enumerate() {
        sql.push_str(&store.seed_tenant(i as u32 + 1, name, 1, u64::from(*tasks)));
    }
    run_sql(store, &owner_url, &sql).await;
    let mut tenants = 1 + ONE_PROJECT_TENANTS.len();
    if store == Store::Postgres {
        let more = env_number("PAGES_PG_TENANTS", 100).saturating_sub(1);
        for t in 0..more {
            let number = 100 + t as u32;
            run_sql(
                store,
                &owner_url,
                &store.seed_tenant(number, &format!("bulk{number}"), 100, 100),
            )
            .await;
        }
        tenants += more as usize;
    }
    analyze(store, &owner_url).await;
    let _ = writeln!(
        report,
        "{}: seeded {tenants} tenants in {:.1} s\n",
        store.name(),
        started.elapsed().as_secs_f64()
    );
    Seeded {
        server_url,
        owner_url,
        _folder: folder,
    }
}

fn row(report: &mut String, store: Store, case: &str, measured: &Figures) {
    let line = format!(
        "| {} | {case} | {:.0} | {:.0} | {:.0}–{:.0} | {} |",
        store.name(),
        measured.per_second,
        measured.cpu_us,
        measured.cpu_us_min,
        measured.cpu_us_max,
        measured.failed
    );
    println!("{line}");
    report.push_str(&line);
    report.push('\n');
}

async fn bench_store(
    store: Store,
    bench: &Load,
    binary: &str,
    tokens: &Tokens,
    report: &mut String,
) {
    let seeded = seed(store, report).await;
    let server = ChildServer::start(binary, &tokens.issuer, &seeded.server_url, false).await;
    report
        .push_str("| store | request | req/s | server CPU µs/req (median) | min–max | failed |\n");
    report.push_str("|---|---|---|---|---|---|\n");

    let viewer = tokens.token("acme", "viewer");
    for (label, text) in LIST_CASES {
        if !selected(label) {
            continue;
        }
        let measured = bench
            .measure(&server, Some(&viewer), &query(text), Expect::GraphqlData)
            .await;
        row(
            report,
            store,
            &format!("acme (100 × 100): {label}"),
            &measured,
        );
    }
    for (tenant, tasks) in ONE_PROJECT_TENANTS {
        if !selected("one project") {
            continue;
        }
        let token = tokens.token(tenant, "viewer");
        let measured = bench
            .measure(
                &server,
                Some(&token),
                &query(ONE_PROJECT),
                Expect::GraphqlData,
            )
            .await;
        row(
            report,
            store,
            &format!("one project of {tasks} tasks: `tasks(first:10) {{ title }}`"),
            &measured,
        );
        let measured = bench
            .measure(&server, Some(&token), &query(NESTED), Expect::GraphqlData)
            .await;
        row(
            report,
            store,
            &format!(
                "one project of {tasks} tasks: the nested page with `taskCount` and assignees"
            ),
            &measured,
        );
    }

    // Writes: each client creates tasks in one project, or moves its own task through the
    // statuses (its version counted here), as the audit trail grows.
    let editor = tokens.token("acme", "editor");
    let project = seeded_id(2, 0, 0, 0).to_string();
    let create: Body = Arc::new(move |worker, n| {
        json!({
            "query": CREATE_TASK,
            "variables": { "p": project, "t": format!("bench {worker}.{n}") },
        })
        .to_string()
    });
    let versions: Arc<Vec<AtomicI32>> =
        Arc::new((0..bench.concurrency).map(|_| AtomicI32::new(1)).collect());
    let set_status: Body = Arc::new(move |worker, _| {
        let version = versions[worker].fetch_add(1, Ordering::Relaxed);
        json!({
            "query": SET_STATUS,
            "variables": {
                "id": seeded_id(3, 0, 1, worker as u64).to_string(),
                "v": version,
                "s": STATUSES[(version as usize) % STATUSES.len()],
            },
        })
        .to_string()
    });
    let audit_rows = env_number("PAGES_AUDIT_ROWS", 1_000_000);
    for grown in [false, true]
        .into_iter()
        .filter(|_| selected("createTask setTaskStatus"))
    {
        let size = if grown {
            let started = Instant::now();
            run_sql(store, &seeded.owner_url, &store.seed_audit(0, audit_rows)).await;
            analyze(store, &seeded.owner_url).await;
            let _ = writeln!(
                report,
                "\n{}: {audit_rows} audit events added in {:.1} s\n",
                store.name(),
                started.elapsed().as_secs_f64()
            );
            format!("audit trail + {audit_rows}")
        } else {
            "audit trail small".to_owned()
        };
        for (label, body) in [("`createTask`", &create), ("`setTaskStatus`", &set_status)] {
            let measured = bench
                .measure(&server, Some(&editor), body, Expect::GraphqlData)
                .await;
            row(report, store, &format!("{size}: {label}"), &measured);
        }
    }
    report.push('\n');
}

/// Whether a case is measured: all of them unless PAGES_CASES names a part of `label`.
fn selected(label: &str) -> bool {
    std::env::var("PAGES_CASES").map_or(true, |wanted| label.contains(wanted.as_str()))
}

fn main() {
    let pinned = support::child_server::pin_load_generator();
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(run(pinned));
}

async fn run(pinned: bool) {
    let bench = Load::from_env("PAGES", 8, 2, 3);
    let binary = std::env::var("PAGES_COGNIGRAPH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cognigraph").to_owned());
    let only = std::env::var("PAGES_ONLY").unwrap_or_default();
    let tokens = Tokens {
        issuer: TestIssuer::start().await,
    };
    let mut report = format!(
        "# Page cost against data size ({} clients, {} runs of {} s per case, median; {}{})\n\n\
         Binary: `{binary}`. Server CPU is the process's user + system time over a run divided \
         by its requests (on PostgreSQL the database's own CPU is not included).\n\n",
        bench.concurrency,
        bench.runs,
        bench.secs,
        std::fs::read_to_string("/proc/loadavg")
            .map(|load| format!("load average at start {}", load.trim()))
            .unwrap_or_default(),
        if pinned {
            "; server pinned to core 0, clients to core 1"
        } else {
            ""
        },
    );
    if only != "postgres" {
        bench_store(Store::Sqlite, &bench, &binary, &tokens, &mut report).await;
    }
    if only != "sqlite" {
        if std::env::var("TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
            bench_store(Store::Postgres, &bench, &binary, &tokens, &mut report).await;
        } else {
            println!("pages: no TEST_POSTGRES_URL: PostgreSQL skipped");
            report.push_str("PostgreSQL: skipped (no TEST_POSTGRES_URL).\n");
        }
    }
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench-results");
    std::fs::create_dir_all(folder).expect("target/bench-results");
    let path = format!("{folder}/pages.md");
    std::fs::write(&path, &report).expect("the report");
    println!("pages: report written to {path}");
}
