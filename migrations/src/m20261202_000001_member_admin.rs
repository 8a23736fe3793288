//! What tenant user management needs of a member: their role and status as cognigraph last set
//! or saw them, and a version and change stamp for admin writes.
//!
//! - `role`: `admin`, `editor` or `viewer`; NULL for members not seen since this migration (the
//!   next request of the member fills it in).
//! - `status`: `active` (has used the API), `invited` (created by an admin, not seen yet) or
//!   `disabled`. Existing members are `active`.
//! - `version`: starts at 1; every admin change (role, status) increments it.
//! - `changed_by`, `changed_at`: the admin and the time of the last admin change (NULL before
//!   any). A token issued after `changed_at` reflects that change, one issued before does not.
//!
//! One `ALTER TABLE` per column: SQLite adds one column per statement.

use sea_orm_migration::prelude::*;

use crate::schema::{impl_migration, index};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

impl_migration!();

#[derive(DeriveIden)]
enum Members {
    Table,
    TenantId,
    Id,
    Role,
    Status,
    Version,
    ChangedBy,
    ChangedAt,
}

/// The members' new columns, in the order they are added.
fn columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef::new(Members::Role)
            .string_len(16)
            .null()
            .to_owned(),
        ColumnDef::new(Members::Status)
            .string_len(16)
            .not_null()
            .default("active")
            .to_owned(),
        ColumnDef::new(Members::Version)
            .integer()
            .not_null()
            .default(1)
            .to_owned(),
        ColumnDef::new(Members::ChangedBy).uuid().null().to_owned(),
        ColumnDef::new(Members::ChangedAt)
            .timestamp_with_time_zone()
            .null()
            .to_owned(),
    ]
}

async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for mut column in columns() {
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
    }
    // `members(status: …)` pages by id within one status.
    manager
        .create_index(index(
            "members_tenant_status_id",
            Members::Table,
            [Members::TenantId, Members::Status, Members::Id],
        ))
        .await
}

async fn down(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .drop_index(
            Index::drop()
                .name("members_tenant_status_id")
                .table(Members::Table)
                .to_owned(),
        )
        .await?;
    for column in columns().into_iter().rev() {
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .drop_column(Alias::new(column.get_column_name()))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
