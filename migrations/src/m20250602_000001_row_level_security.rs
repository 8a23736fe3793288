//! Row-level security on every tenant table (PostgreSQL; nothing on SQLite, which has none).
//!
//! Each tenant table gets one policy, `tenant_isolation`, for every command and every role:
//! a row is visible, and may be written, only when its `tenant_id` equals the transaction's
//! `app.tenant_id` setting, which `cognigraph-domain` sets at the start of every transaction
//! (`set_config('app.tenant_id', …, true)`). With no tenant set, `current_setting(…, true)` is
//! NULL (or empty) and no row matches: a query that forgot its tenant sees nothing and writes
//! nothing. `FORCE` applies the policy to the tables' owner as well; only superusers and roles
//! with `BYPASSRLS` pass by it, so the service must not connect as one (README, "PostgreSQL
//! roles"). Foreign key checks and cascades are not subject to policies.
//!
//! A later migration that creates a tenant table must give it the same policy (a test finds
//! every table with a `tenant_id` column and fails for one without).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::schema::impl_migration;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

impl_migration!();

/// The tenant tables of `m20250601_000001_domain_tables`.
const TENANT_TABLES: [&str; 4] = ["members", "projects", "tasks", "audit_events"];

/// The policy's test, for `USING` (rows seen, updated, deleted) and `WITH CHECK` (rows written).
const SAME_TENANT: &str = "tenant_id = current_setting('app.tenant_id', true)";

/// Runs `statements(table)` for every tenant table, on PostgreSQL only.
async fn on_each_tenant_table(
    manager: &SchemaManager<'_>,
    statements: impl Fn(&str) -> String,
) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for table in TENANT_TABLES {
        db.execute_unprepared(&statements(table)).await?;
    }
    Ok(())
}

async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    on_each_tenant_table(manager, |table| {
        format!(
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; \
             ALTER TABLE {table} FORCE ROW LEVEL SECURITY; \
             CREATE POLICY tenant_isolation ON {table} \
                 USING ({SAME_TENANT}) WITH CHECK ({SAME_TENANT});"
        )
    })
    .await
}

async fn down(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    on_each_tenant_table(manager, |table| {
        format!(
            "DROP POLICY IF EXISTS tenant_isolation ON {table}; \
             ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY; \
             ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"
        )
    })
    .await
}
