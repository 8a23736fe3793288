//! `projects.task_count`: how many tasks the project has, kept by the writes that add or remove
//! tasks (in the same transaction), so that `Project.taskCount` is read with the project instead
//! of counted through the tasks index (a count grows with the project; a page must not).
//!
//! Existing projects are counted once here. On PostgreSQL the tables' row-level security is
//! forced on their owner too, and a migration sets no tenant: the count runs with `FORCE` lifted
//! for the statement, inside the migration's transaction, and put back right after.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::schema::impl_migration;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

impl_migration!();

#[derive(DeriveIden)]
enum Projects {
    Table,
    TaskCount,
}

/// Counts every project's tasks (whatever the tenant: the migration sees all rows).
const BACKFILL: &str = "UPDATE projects SET task_count = (\
     SELECT COUNT(*) FROM tasks \
     WHERE tasks.tenant_id = projects.tenant_id AND tasks.project_id = projects.id)";

async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Projects::Table)
                .add_column(
                    ColumnDef::new(Projects::TaskCount)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
    let db = manager.get_connection();
    if manager.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!(
            "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY; \
             ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY; \
             {BACKFILL}; \
             ALTER TABLE projects FORCE ROW LEVEL SECURITY; \
             ALTER TABLE tasks FORCE ROW LEVEL SECURITY;"
        ))
        .await?;
    } else {
        db.execute_unprepared(BACKFILL).await?;
    }
    Ok(())
}

async fn down(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Projects::Table)
                .drop_column(Projects::TaskCount)
                .to_owned(),
        )
        .await?;
    Ok(())
}
