//! The audit trail: one event per successful write.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::audit::{self, AuditEvent as DomainEvent};

use super::{
    connection::{PageOf, connection, page_cost, page_request},
    context::TenantContext,
    in_place::InPlace,
    members::Member,
    policies,
};
use crate::errors::DomainResultExt as _;

/// One write, as recorded in the same transaction.
#[derive(Debug, Clone)]
pub(crate) struct AuditEvent(DomainEvent);

impl AuditEvent {
    /// `event` as the schema serves it: resolved in place ([`InPlace`]).
    fn new(event: DomainEvent) -> InPlace<Self> {
        InPlace(Self(event))
    }
}

#[Object]
impl AuditEvent {
    /// The event id.
    async fn id(&self) -> async_graphql::ID {
        self.0.id.into()
    }

    /// Who wrote.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<InPlace<Member>>> {
        Member::load(ctx, self.0.actor_id).await
    }

    /// What was done, e.g. `project.created`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// `project`, `task` or `member`.
    async fn entity(&self) -> &str {
        &self.0.entity
    }

    /// The id of what was written.
    async fn entity_id(&self) -> async_graphql::ID {
        self.0.entity_id.into()
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// A small JSON detail (e.g. the changed fields).
    async fn detail(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.detail.clone())
    }
}

#[derive(Default, Debug)]
pub(super) struct AuditQuery;

#[authorized]
#[Object]
impl AuditQuery {
    /// The tenant's audit trail, newest first. Admins only.
    #[auth(policies::READ_AUDIT_LOG)]
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<PageOf<InPlace<AuditEvent>>>> {
        let tenant = TenantContext::of(ctx).await?;
        let page = page_request(ctx, first, after.as_deref())?;
        let events = audit::list(&tenant.scope, &tenant.db, page).await.api()?;
        Ok(Some(connection(events, AuditEvent::new)))
    }
}
