//! The audit trail: one event per successful write, appended in the write's transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Order};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::store::{self, AuditEventModel, AuditEventRow, AuditEvents};
use crate::{Action, Db, DomainError, Scope};

/// One recorded write.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The event's id (UUID v7, so ids sort in the order the events were recorded).
    pub id: Uuid,
    /// The member who made the write.
    pub actor_id: Uuid,
    /// What happened: `project.created`, `project.updated`, `project.archived`, `project.deleted`,
    /// `task.created`, `task.updated`, `task.assigned`, `task.status_changed`, `task.deleted`,
    /// `member.joined`, `member.profile_updated`, `member.invited`, `member.role_changed`,
    /// `member.disabled`, `member.enabled`, `member.signed_out`, and `member.role_synced` /
    /// `member.status_synced` (a newer token showed a change whose write was lost).
    pub action: String,
    /// `"project"`, `"task"` or `"member"`.
    pub entity: String,
    /// The id of the project, task or member the event is about.
    pub entity_id: Uuid,
    /// When the event was recorded, in the write's transaction.
    pub at: DateTime<Utc>,
    /// A small JSON object: which fields changed, a name, old and new status or assignee. Never a
    /// description, budget or email.
    pub detail: serde_json::Value,
}

impl From<AuditEventModel> for AuditEvent {
    fn from(row: AuditEventModel) -> Self {
        Self {
            id: row.id,
            actor_id: row.actor_id,
            action: row.action,
            entity: row.entity,
            entity_id: row.entity_id,
            at: row.at,
            detail: row.detail,
        }
    }
}

/// The tenant's audit events, newest first. Needs [`Action::ReadAuditLog`] (admin).
pub async fn list(
    scope: &Scope,
    db: &Db,
    page: PageRequest,
) -> Result<Page<AuditEvent>, DomainError> {
    scope.authorize(Action::ReadAuditLog)?;
    let txn = db.read(scope).await?;
    let rows = store::page(
        &txn,
        store::select::<AuditEvents>(scope),
        Order::Desc,
        &page,
    )
    .await?;
    txn.commit().await?;
    Ok(rows.map(AuditEvent::from))
}

/// What an audit event is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entity {
    Project,
    Task,
    Member,
}

impl Entity {
    fn as_str(self) -> &'static str {
        match self {
            Entity::Project => "project",
            Entity::Task => "task",
            Entity::Member => "member",
        }
    }
}

/// Appends an event by `scope.actor_id()`; `conn` is the write's transaction.
pub(crate) async fn record<C: ConnectionTrait>(
    scope: &Scope,
    conn: &C,
    action: &'static str,
    entity: Entity,
    entity_id: Uuid,
    detail: serde_json::Value,
) -> Result<(), DomainError> {
    let row = AuditEventModel {
        tenant_id: scope.tenant().as_str().to_owned(),
        id: Uuid::now_v7(),
        actor_id: scope.actor_id(),
        action: action.to_owned(),
        entity: entity.as_str().to_owned(),
        entity_id,
        at: store::now(),
        detail,
    };
    store::insert(scope, conn, AuditEventRow::from(row)).await
}
