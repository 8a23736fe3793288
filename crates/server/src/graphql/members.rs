//! Members of the caller's tenant (synced from Cognito on their first request).

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::members::{self, Member as DomainMember};

use super::{
    connection::page_cost,
    context::{DomainResultExt as _, TenantContext},
    policies,
};

/// A user of the tenant.
#[derive(Debug, Clone)]
pub(crate) struct Member(pub(super) DomainMember);

#[authorized]
#[Object]
impl Member {
    /// The member id.
    async fn id(&self) -> async_graphql::ID {
        self.0.id.into()
    }

    /// The Cognito user (`sub`).
    async fn sub(&self) -> &str {
        &self.0.sub
    }

    /// The Cognito username.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// The email, when Cognito shared it. Admins only.
    #[auth(policies::READ_MEMBER_EMAIL)]
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// The member's first request.
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }

    /// The member's latest request (to within a minute).
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.0.last_seen_at
    }
}

#[derive(Default, Debug)]
pub(super) struct MembersQuery;

#[authorized]
#[Object]
impl MembersQuery {
    /// Every member of the caller's tenant. Admins only.
    #[auth(policies::READ_MEMBERS)]
    // Not paged yet: counted as a full page of the largest size.
    #[graphql(complexity = "page_cost(Some(100), child_complexity)")]
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Member>>> {
        let tenant = TenantContext::of(ctx).await?;
        let members = members::list(&tenant.scope, &tenant.db).await.api()?;
        Ok(Some(members.into_iter().map(Member).collect()))
    }
}
