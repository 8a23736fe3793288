//! Members, projects, tasks and audit events, every one keyed by `(tenant_id, id)`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Longest tenant id `TenantId::parse` accepts.
const TENANT_ID_LEN: u32 = 64;

#[derive(DeriveIden)]
enum Members {
    Table,
    TenantId,
    Id,
    Sub,
    Username,
    Email,
    FirstSeenAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    TenantId,
    Id,
    Name,
    Description,
    Budget,
    Archived,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    TenantId,
    Id,
    ProjectId,
    Title,
    Description,
    Status,
    AssigneeId,
    DueDate,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    TenantId,
    Id,
    ActorId,
    Action,
    Entity,
    EntityId,
    At,
    Detail,
}

fn tenant_id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .string_len(TENANT_ID_LEN)
        .not_null()
        .to_owned()
}

/// A composite foreign key `(tenant_id, from) -> members (tenant_id, id)`.
fn member_fk(
    name: &str,
    table: impl IntoTableRef,
    tenant: impl IntoIden,
    from: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(table)
        .from_col(tenant)
        .from_col(from)
        .to_tbl(Members::Table)
        .to_col(Members::TenantId)
        .to_col(Members::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait's expansion of `MigrationTrait` needs the elided lifetime; naming it is rejected"
)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(tenant_id(Members::TenantId))
                    .col(ColumnDef::new(Members::Id).uuid().not_null())
                    .col(ColumnDef::new(Members::Sub).string_len(255).not_null())
                    .col(ColumnDef::new(Members::Username).string_len(255).not_null())
                    .col(ColumnDef::new(Members::Email).string_len(320).null())
                    .col(
                        ColumnDef::new(Members::FirstSeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Members::LastSeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Members::TenantId).col(Members::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("members_tenant_sub")
                    .table(Members::Table)
                    .col(Members::TenantId)
                    .col(Members::Sub)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(tenant_id(Projects::TenantId))
                    .col(ColumnDef::new(Projects::Id).uuid().not_null())
                    .col(ColumnDef::new(Projects::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Projects::Description).text().null())
                    .col(ColumnDef::new(Projects::Budget).big_integer().null())
                    .col(
                        ColumnDef::new(Projects::Archived)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Projects::Version).integer().not_null())
                    .col(ColumnDef::new(Projects::CreatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Projects::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Projects::UpdatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Projects::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Projects::TenantId).col(Projects::Id))
                    .foreign_key(&mut member_fk(
                        "projects_created_by_member",
                        Projects::Table,
                        Projects::TenantId,
                        Projects::CreatedBy,
                    ))
                    .foreign_key(&mut member_fk(
                        "projects_updated_by_member",
                        Projects::Table,
                        Projects::TenantId,
                        Projects::UpdatedBy,
                    ))
                    .check(Expr::col(Projects::Version).gte(1))
                    .check(
                        Expr::col(Projects::Budget)
                            .is_null()
                            .or(Expr::col(Projects::Budget).gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("projects_tenant_archived")
                    .table(Projects::Table)
                    .col(Projects::TenantId)
                    .col(Projects::Archived)
                    .col(Projects::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(tenant_id(Tasks::TenantId))
                    .col(ColumnDef::new(Tasks::Id).uuid().not_null())
                    .col(ColumnDef::new(Tasks::ProjectId).uuid().not_null())
                    .col(ColumnDef::new(Tasks::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Tasks::Description).text().null())
                    .col(ColumnDef::new(Tasks::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Tasks::AssigneeId).uuid().null())
                    .col(ColumnDef::new(Tasks::DueDate).date().null())
                    .col(ColumnDef::new(Tasks::Version).integer().not_null())
                    .col(ColumnDef::new(Tasks::CreatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Tasks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Tasks::UpdatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Tasks::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Tasks::TenantId).col(Tasks::Id))
                    .foreign_key(
                        ForeignKey::create()
                            .name("tasks_project")
                            .from_tbl(Tasks::Table)
                            .from_col(Tasks::TenantId)
                            .from_col(Tasks::ProjectId)
                            .to_tbl(Projects::Table)
                            .to_col(Projects::TenantId)
                            .to_col(Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(&mut member_fk(
                        "tasks_assignee_member",
                        Tasks::Table,
                        Tasks::TenantId,
                        Tasks::AssigneeId,
                    ))
                    .foreign_key(&mut member_fk(
                        "tasks_created_by_member",
                        Tasks::Table,
                        Tasks::TenantId,
                        Tasks::CreatedBy,
                    ))
                    .foreign_key(&mut member_fk(
                        "tasks_updated_by_member",
                        Tasks::Table,
                        Tasks::TenantId,
                        Tasks::UpdatedBy,
                    ))
                    .check(Expr::col(Tasks::Version).gte(1))
                    .check(Expr::col(Tasks::Status).is_in(["TODO", "IN_PROGRESS", "DONE"]))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("tasks_tenant_project", Tasks::ProjectId),
            ("tasks_tenant_assignee", Tasks::AssigneeId),
            ("tasks_tenant_status", Tasks::Status),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tasks::Table)
                        .col(Tasks::TenantId)
                        .col(col)
                        .col(Tasks::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(tenant_id(AuditEvents::TenantId))
                    .col(ColumnDef::new(AuditEvents::Id).uuid().not_null())
                    .col(ColumnDef::new(AuditEvents::ActorId).uuid().not_null())
                    .col(
                        ColumnDef::new(AuditEvents::Action)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditEvents::Entity)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::EntityId).uuid().not_null())
                    .col(
                        ColumnDef::new(AuditEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::Detail).json_binary().not_null())
                    .primary_key(
                        Index::create()
                            .col(AuditEvents::TenantId)
                            .col(AuditEvents::Id),
                    )
                    .foreign_key(&mut member_fk(
                        "audit_events_actor_member",
                        AuditEvents::Table,
                        AuditEvents::TenantId,
                        AuditEvents::ActorId,
                    ))
                    .check(Expr::col(AuditEvents::Entity).is_in(["project", "task", "member"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_tenant_entity")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::TenantId)
                    .col(AuditEvents::Entity)
                    .col(AuditEvents::EntityId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Projects::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Members::Table).to_owned())
            .await
    }
}
