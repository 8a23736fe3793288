//! Members, projects, tasks and audit events, every one keyed by `(tenant_id, id)`.

use sea_orm_migration::prelude::*;

use crate::schema::{impl_migration, index};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

impl_migration!();

/// Longest tenant id `TenantId::parse` accepts.
const TENANT_ID_LEN: u32 = 64;

#[derive(Clone, Copy, DeriveIden)]
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

#[derive(Clone, Copy, DeriveIden)]
enum Projects {
    Table,
    TenantId,
    Id,
    Name,
    Description,
    Budget,
    Archived,
}

#[derive(Clone, Copy, DeriveIden)]
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
}

#[derive(Clone, Copy, DeriveIden)]
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

/// The columns of a row that members write against its version (see [`written_by_members`]).
#[derive(DeriveIden)]
enum Written {
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedBy,
    UpdatedAt,
}

fn tenant_id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .string_len(TENANT_ID_LEN)
        .not_null()
        .to_owned()
}

/// A UUID column, not null.
fn uuid<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

/// A timestamp with time zone, not null.
fn timestamp<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// `CREATE TABLE table` keyed by `(tenant_id, id)`: its first two columns and its primary key.
fn tenant_table<T: IntoIden + Copy + 'static>(table: T, tenant: T, id: T) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(tenant_id(tenant))
        .col(uuid(id))
        .primary_key(Index::create().col(tenant).col(id))
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

/// Adds to `create` what a row that members write against its version has, after the table's
/// own columns, foreign keys and checks added so far: the columns `version`, `created_by`,
/// `created_at`, `updated_by` and `updated_at`, the foreign keys `{table}_created_by_member` and
/// `{table}_updated_by_member`, and the check `version >= 1`.
fn written_by_members<T: Iden + Copy + 'static>(
    create: &mut TableCreateStatement,
    table: T,
    tenant: T,
) {
    let name = table.to_string();
    create
        .col(ColumnDef::new(Written::Version).integer().not_null())
        .col(uuid(Written::CreatedBy))
        .col(timestamp(Written::CreatedAt))
        .col(uuid(Written::UpdatedBy))
        .col(timestamp(Written::UpdatedAt))
        .foreign_key(&mut member_fk(
            &format!("{name}_created_by_member"),
            table,
            tenant,
            Written::CreatedBy,
        ))
        .foreign_key(&mut member_fk(
            &format!("{name}_updated_by_member"),
            table,
            tenant,
            Written::UpdatedBy,
        ))
        .check(Expr::col(Written::Version).gte(1));
}

async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            tenant_table(Members::Table, Members::TenantId, Members::Id)
                .col(ColumnDef::new(Members::Sub).string_len(255).not_null())
                .col(ColumnDef::new(Members::Username).string_len(255).not_null())
                .col(ColumnDef::new(Members::Email).string_len(320).null())
                .col(timestamp(Members::FirstSeenAt))
                .col(timestamp(Members::LastSeenAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index(
                "members_tenant_sub",
                Members::Table,
                [Members::TenantId, Members::Sub],
            )
            .unique()
            .to_owned(),
        )
        .await?;

    let mut projects = tenant_table(Projects::Table, Projects::TenantId, Projects::Id);
    projects
        .col(ColumnDef::new(Projects::Name).string_len(200).not_null())
        .col(ColumnDef::new(Projects::Description).text().null())
        .col(ColumnDef::new(Projects::Budget).big_integer().null())
        .col(
            ColumnDef::new(Projects::Archived)
                .boolean()
                .not_null()
                .default(false),
        );
    written_by_members(&mut projects, Projects::Table, Projects::TenantId);
    projects.check(
        Expr::col(Projects::Budget)
            .is_null()
            .or(Expr::col(Projects::Budget).gte(0)),
    );
    manager.create_table(projects).await?;
    manager
        .create_index(index(
            "projects_tenant_archived",
            Projects::Table,
            [Projects::TenantId, Projects::Archived, Projects::Id],
        ))
        .await?;

    let mut tasks = tenant_table(Tasks::Table, Tasks::TenantId, Tasks::Id);
    tasks
        .col(uuid(Tasks::ProjectId))
        .col(ColumnDef::new(Tasks::Title).string_len(200).not_null())
        .col(ColumnDef::new(Tasks::Description).text().null())
        .col(ColumnDef::new(Tasks::Status).string_len(16).not_null())
        .col(ColumnDef::new(Tasks::AssigneeId).uuid().null())
        .col(ColumnDef::new(Tasks::DueDate).date().null())
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
        ));
    written_by_members(&mut tasks, Tasks::Table, Tasks::TenantId);
    tasks.check(Expr::col(Tasks::Status).is_in(["TODO", "IN_PROGRESS", "DONE"]));
    manager.create_table(tasks).await?;
    for (name, col) in [
        ("tasks_tenant_project", Tasks::ProjectId),
        ("tasks_tenant_assignee", Tasks::AssigneeId),
        ("tasks_tenant_status", Tasks::Status),
    ] {
        manager
            .create_index(index(name, Tasks::Table, [Tasks::TenantId, col, Tasks::Id]))
            .await?;
    }

    manager
        .create_table(
            tenant_table(AuditEvents::Table, AuditEvents::TenantId, AuditEvents::Id)
                .col(uuid(AuditEvents::ActorId))
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
                .col(uuid(AuditEvents::EntityId))
                .col(timestamp(AuditEvents::At))
                .col(ColumnDef::new(AuditEvents::Detail).json_binary().not_null())
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
        .create_index(index(
            "audit_events_tenant_entity",
            AuditEvents::Table,
            [
                AuditEvents::TenantId,
                AuditEvents::Entity,
                AuditEvents::EntityId,
            ],
        ))
        .await
}

async fn down(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for table in [
        AuditEvents::Table.into_iden(),
        Tasks::Table.into_iden(),
        Projects::Table.into_iden(),
        Members::Table.into_iden(),
    ] {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}
