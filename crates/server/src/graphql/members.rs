//! Members of the caller's tenant (synced from Cognito on their first request).

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use cognigraph_domain::members::{self, Member as DomainMember};

use super::{
    context::{DomainResultExt as _, TenantContext},
    policies,
};
use crate::authz::auth;

/// A user of the tenant.
#[derive(Debug, Clone)]
pub(crate) struct Member(pub(super) DomainMember);

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
    #[graphql(
        guard = "policies::READ_MEMBER_EMAIL",
        directive = auth::apply(
            policies::READ_MEMBER_EMAIL.requires(0),
            policies::READ_MEMBER_EMAIL.scope(0),
            policies::READ_MEMBER_EMAIL.tenant(0),
            policies::READ_MEMBER_EMAIL.authenticated(0)
        )
    )]
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

#[Object]
impl MembersQuery {
    /// Every member of the caller's tenant. Admins only.
    #[graphql(
        guard = "policies::READ_MEMBERS",
        directive = auth::apply(
            policies::READ_MEMBERS.requires(0),
            policies::READ_MEMBERS.scope(0),
            policies::READ_MEMBERS.tenant(0),
            policies::READ_MEMBERS.authenticated(0)
        )
    )]
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Member>>> {
        let tenant = TenantContext::of(ctx)?;
        let members = members::list(&tenant.scope, &tenant.db).await.api()?;
        Ok(Some(members.into_iter().map(Member).collect()))
    }
}
