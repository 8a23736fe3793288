//! Row-level security on PostgreSQL: the database keeps tenants apart even for a query that
//! forgets its tenant filter. The harness connects the domain as an application role without
//! `BYPASSRLS` that owns nothing (see `support::setup`), so every other test here runs under
//! these policies too. SQLite has no row-level security: these tests return at once there.

use cognigraph_domain::{DomainError, Role, Scope};
use sea_orm::sqlx::{self, Connection};
use uuid::Uuid;

use crate::support::{TestDb, causes, db_tests, enter, project, raw_rows, task};

db_tests![
    every_tenant_table_forces_row_level_security,
    an_unscoped_query_sees_only_the_transactions_tenant,
    a_write_into_another_tenant_is_refused,
    the_service_can_tell_a_role_that_bypasses_row_security,
];

/// The start-up check behind the warning for a superuser or `BYPASSRLS` `DATABASE_URL`.
async fn the_service_can_tell_a_role_that_bypasses_row_security(t: TestDb) {
    assert!(!t.db.bypasses_row_security().await.unwrap(), "the app role");
    if !t.is_postgres() {
        return;
    }
    let owner = cognigraph_domain::Db::connect(&t.owner_url).await.unwrap();
    assert!(
        owner.bypasses_row_security().await.unwrap(),
        "the test owner is the cluster's superuser"
    );
}

/// The tables that have a `tenant_id` column, found by the database, so a new tenant table is
/// covered without anyone listing it here.
async fn tenant_tables(conn: &mut sqlx::PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

async fn every_tenant_table_forces_row_level_security(t: TestDb) {
    if !t.is_postgres() {
        return;
    }
    let mut conn = sqlx::PgConnection::connect(&t.owner_url).await.unwrap();
    let tables = tenant_tables(&mut conn).await;
    for known in ["audit_events", "members", "projects", "tasks"] {
        assert!(tables.iter().any(|t| t == known), "{known} in {tables:?}");
    }
    for table in &tables {
        let (enabled, forced): (bool, bool) = sqlx::query_as(
            "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relname = $1",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(enabled, "{table}: row-level security is not enabled");
        assert!(
            forced,
            "{table}: row-level security is not forced on its owner"
        );
        // One policy for every command, the same test for the rows seen and the rows written.
        let policies: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT cmd, qual, with_check FROM pg_policies \
             WHERE schemaname = 'public' AND tablename = $1",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let [(cmd, Some(using), Some(check))] = policies.as_slice() else {
            panic!("{table}: expected one policy with USING and WITH CHECK, got {policies:?}");
        };
        assert_eq!(cmd, "ALL", "{table}");
        assert_eq!(using, check, "{table}");
        assert!(
            using.contains("tenant_id") && using.contains("current_setting('app.tenant_id'"),
            "{table}: {using}"
        );
    }
    conn.close().await.unwrap();
}

/// Two tenants with a row in every tenant table (a member, a project, a task, audit events).
async fn two_tenants(t: &TestDb) -> (Scope, Scope) {
    let acme = enter(&t.db, "acme", Role::Admin, "ada").await;
    let globex = enter(&t.db, "globex", Role::Admin, "gus").await;
    for scope in [&acme, &globex] {
        let p = project(scope, &t.db, "Shared name").await;
        task(scope, &t.db, p.id, "Shared title").await;
    }
    (acme, globex)
}

async fn an_unscoped_query_sees_only_the_transactions_tenant(t: TestDb) {
    if !t.is_postgres() {
        return;
    }
    let (acme, globex) = two_tenants(&t).await;
    let mut conn = sqlx::PgConnection::connect(&t.owner_url).await.unwrap();
    let tables = tenant_tables(&mut conn).await;
    conn.close().await.unwrap();
    for table in &tables {
        // No tenant filter: only the policy stands between the query and the other tenant.
        let sql = format!("SELECT tenant_id::text FROM {table}");
        for scope in [&acme, &globex] {
            let seen =
                t.db.unscoped_sql_for_tests(Some(scope), &sql)
                    .await
                    .unwrap();
            assert!(!seen.is_empty(), "{table}: {scope:?} sees its own rows");
            assert!(
                seen.iter().all(|tenant| tenant == scope.tenant().as_str()),
                "{table}: {scope:?} saw {seen:?}"
            );
        }
        let seen = t.db.unscoped_sql_for_tests(None, &sql).await.unwrap();
        assert_eq!(
            seen,
            Vec::<String>::new(),
            "{table}: no tenant set, no rows"
        );
    }
    // The tenant is set per transaction: after scoped transactions, the pool's connections
    // start the next one with no tenant.
    for _ in 0..5 {
        t.db.unscoped_sql_for_tests(Some(&acme), "SELECT 'x'")
            .await
            .unwrap();
        let left =
            t.db.unscoped_sql_for_tests(
                None,
                "SELECT coalesce(current_setting('app.tenant_id', true), '')",
            )
            .await
            .unwrap();
        assert_eq!(left, [""], "a tenant outlived its transaction");
    }
}

#[track_caller]
fn assert_refused_by_policy(result: Result<Vec<String>, DomainError>, what: &str) {
    match result {
        Err(error @ DomainError::Database(_)) if causes(&error).contains("row-level security") => {}
        other => panic!("{what}: expected a row-level security violation, got {other:?}"),
    }
}

async fn a_write_into_another_tenant_is_refused(t: TestDb) {
    if !t.is_postgres() {
        return;
    }
    let (acme, globex) = two_tenants(&t).await;
    let before = raw_rows(&t.owner_url, "globex").await;
    // A valid author in globex, so the foreign keys would accept the row: only WITH CHECK
    // refuses it.
    let insert = |tenant: &str, author: Uuid| {
        format!(
            "INSERT INTO projects (tenant_id, id, name, archived, version, created_by, \
             created_at, updated_by, updated_at) \
             VALUES ('{tenant}', '{id}', 'Planted', false, 1, '{author}', now(), '{author}', \
             now()) RETURNING tenant_id::text",
            id = Uuid::now_v7(),
        )
    };
    assert_refused_by_policy(
        t.db.unscoped_sql_for_tests(Some(&acme), &insert("globex", globex.actor_id()))
            .await,
        "an insert into globex from acme's transaction",
    );
    assert_refused_by_policy(
        t.db.unscoped_sql_for_tests(None, &insert("globex", globex.actor_id()))
            .await,
        "an insert with no tenant set",
    );
    assert_refused_by_policy(
        t.db.unscoped_sql_for_tests(
            Some(&acme),
            "UPDATE projects SET tenant_id = 'globex' RETURNING tenant_id::text",
        )
        .await,
        "moving acme's rows into globex",
    );
    // Another tenant's rows are not there to update or delete.
    for sql in [
        "UPDATE projects SET name = 'Taken' WHERE tenant_id = 'globex' RETURNING id::text",
        "DELETE FROM tasks WHERE tenant_id = 'globex' RETURNING id::text",
        "DELETE FROM audit_events WHERE tenant_id = 'globex' RETURNING id::text",
    ] {
        for scope in [Some(&acme), None] {
            let touched = t.db.unscoped_sql_for_tests(scope, sql).await.unwrap();
            assert_eq!(touched, Vec::<String>::new(), "{sql} as {scope:?}");
        }
    }
    assert_eq!(
        raw_rows(&t.owner_url, "globex").await,
        before,
        "globex's rows are unchanged"
    );
    // The application's own insert, in its own tenant, still passes the check.
    let planted =
        t.db.unscoped_sql_for_tests(Some(&acme), &insert("acme", acme.actor_id()))
            .await
            .unwrap();
    assert_eq!(planted, ["acme"]);
}
