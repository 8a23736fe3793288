//! Members of the caller's tenant (synced from Cognito on their first request), and the
//! mutations of tenant user management (`crate::member_admin`).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;
use cognigraph_domain::{
    Scope,
    members::{self, Member as DomainMember, MemberStatus},
};
use uuid::Uuid;

use super::{
    connection::{PageOf, connection, page_cost, page_request},
    context::TenantContext,
    in_place::InPlace,
    inputs::parse_id,
    policies,
};
use crate::{
    authz::GraphqlRole,
    errors::{ApiError, DomainResultExt as _},
    member_admin::MemberAdmin,
};

/// Where a member stands.
// The GraphQL mirror of the domain's `MemberStatus` (async-graphql's `remote` enum: the domain crate
// knows nothing of GraphQL); `Graphql…` names every such mirror.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MemberStatus", remote = "MemberStatus")]
pub(crate) enum GraphqlMemberStatus {
    /// Invited by an admin; has not used the API yet.
    Invited,
    /// Has used the API.
    Active,
    /// Disabled by an admin: cannot sign in, and earlier tokens are refused.
    Disabled,
}

/// A member to invite.
#[derive(InputObject, Debug)]
pub(crate) struct InviteMemberInput {
    /// Their email address: it becomes their username, and Cognito sends the invitation with a
    /// temporary password there.
    email: String,
    /// The role their group grants.
    role: GraphqlRole,
}

/// A user of the tenant. Shared, not copied: the tenant's loader hands the same member to
/// every field that names it (the assignee of many tasks).
#[derive(Debug, Clone)]
pub(crate) struct Member(pub(super) Arc<DomainMember>);

impl Member {
    /// `member` as the schema serves it: resolved in place ([`InPlace`]).
    pub(super) fn new(member: DomainMember) -> InPlace<Self> {
        Self::shared(Arc::new(member))
    }

    /// A member the tenant's loader (or a page's read-ahead) shares, as the schema serves it.
    pub(super) fn shared(member: Arc<DomainMember>) -> InPlace<Self> {
        InPlace(Self(member))
    }

    /// The member `id` of the caller's tenant (batched per request by the tenant's loader), or
    /// `None` when there is none.
    pub(super) async fn load(
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<InPlace<Self>>> {
        let tenant = TenantContext::of(ctx).await?;
        Ok(tenant.member(id).await.api()?.map(Self::shared))
    }
}

#[authorized]
#[Object]
impl Member {
    /// The member id.
    async fn id(&self) -> ID {
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

    /// When the member was invited or, if not, made their first request.
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }

    /// The member's latest request (to within a minute); for an invited member, the invitation.
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.0.last_seen_at
    }

    /// The role, as an admin last set it or the member's latest token showed it; `null` until
    /// a member from before roles were kept makes a request.
    async fn role(&self) -> Option<GraphqlRole> {
        self.0.role.map(GraphqlRole::from)
    }

    /// Where the member stands.
    async fn status(&self) -> GraphqlMemberStatus {
        self.0.status.into()
    }

    /// The version, for `expectedVersion` on the next admin change.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Default, Debug)]
pub(super) struct MembersQuery;

#[authorized]
#[Object]
impl MembersQuery {
    /// The tenant's members, oldest first, optionally only those with `status`. Admins only.
    #[auth(policies::READ_MEMBERS)]
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        status: Option<GraphqlMemberStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<PageOf<InPlace<Member>>>> {
        let tenant = TenantContext::of(ctx).await?;
        let page = page_request(ctx, first, after.as_deref())?;
        let members = members::page(&tenant.scope, &tenant.db, status.map(Into::into), page)
            .await
            .api()?;
        Ok(Some(connection(members, Member::new)))
    }
}

#[derive(Default, Debug)]
pub(super) struct MembersMutation;

/// The member admin, when the schema has one (it always does when served).
fn member_admin<'a>(ctx: &Context<'a>) -> Result<&'a MemberAdmin, ApiError> {
    ctx.data_opt::<MemberAdmin>()
        .ok_or_else(|| ApiError::Internal("the schema has no member admin".to_owned()))
}

/// What a mutation on one member works with: the caller's scope, the member admin and the
/// member's id (`memberId`, parsed).
struct OnMember<'a> {
    scope: &'a Scope,
    admin: &'a MemberAdmin,
    id: Uuid,
}

impl<'a> OnMember<'a> {
    async fn of(ctx: &Context<'a>, member_id: &ID) -> Result<Self, ApiError> {
        let tenant = TenantContext::of(ctx).await?;
        Ok(Self {
            scope: &tenant.scope,
            admin: member_admin(ctx)?,
            id: parse_id("memberId", member_id)?,
        })
    }
}

#[authorized]
#[Object]
impl MembersMutation {
    /// Invites a user into the caller's tenant: Cognito creates them (their tenant is the
    /// caller's, never an input) and emails them a temporary password; they join with `role`'s
    /// group and status `INVITED`. An address that has an account, in this tenant or any other,
    /// is `CONFLICT` (`member_exists`). Admins only, when user management is on (else
    /// `FORBIDDEN`, `user_management_disabled`).
    #[auth(policies::MANAGE_MEMBERS)]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let tenant = TenantContext::of(ctx).await?;
        let member = member_admin(ctx)?
            .invite(&tenant.scope, &input.email, input.role.into())
            .await?;
        Ok(Some(Member::new(member)))
    }

    /// Gives a member `role`, if they are still at `expectedVersion`: their groups change and
    /// they are signed out everywhere, so their next tokens carry the new role (access tokens
    /// issued before keep the old one until they expire, unless the revocation check is on).
    /// Demoting the tenant's last active admin is `CONFLICT` (`last_admin`). Admins only.
    #[auth(policies::MANAGE_MEMBERS)]
    async fn set_member_role(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        role: GraphqlRole,
        expected_version: i32,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let at = OnMember::of(ctx, &member_id).await?;
        let member = at
            .admin
            .set_role(at.scope, at.id, expected_version, role.into())
            .await?;
        Ok(Some(Member::new(member)))
    }

    /// Disables a member, if they are still at `expectedVersion`: they cannot sign in, are
    /// signed out everywhere, and tokens they hold are refused (`FORBIDDEN`, `member_disabled`).
    /// Disabling the tenant's last active admin is `CONFLICT` (`last_admin`). Admins only.
    #[auth(policies::MANAGE_MEMBERS)]
    async fn disable_member(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let at = OnMember::of(ctx, &member_id).await?;
        let member = at.admin.disable(at.scope, at.id, expected_version).await?;
        Ok(Some(Member::new(member)))
    }

    /// Enables a disabled member again, if they are still at `expectedVersion`. Admins only.
    #[auth(policies::MANAGE_MEMBERS)]
    async fn enable_member(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let at = OnMember::of(ctx, &member_id).await?;
        let member = at.admin.enable(at.scope, at.id, expected_version).await?;
        Ok(Some(Member::new(member)))
    }

    /// Signs a member out everywhere: their refresh tokens stop working (access tokens issued
    /// before stay valid until they expire, unless the revocation check is on). Admins only.
    #[auth(policies::MANAGE_MEMBERS)]
    async fn sign_out_member(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
    ) -> async_graphql::Result<Option<InPlace<Member>>> {
        let at = OnMember::of(ctx, &member_id).await?;
        let member = at.admin.sign_out(at.scope, at.id).await?;
        Ok(Some(Member::new(member)))
    }
}
