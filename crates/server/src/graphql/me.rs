//! `Query.me`: the caller as cognigraph sees them.

use async_graphql::{ComplexObject, Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;

use super::policies;
use crate::{
    authz::{GraphqlRole, Principal, with_included},
    errors::ApiError,
};

/// The authenticated caller.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Me {
    /// The user's stable id in the user pool (`sub`).
    pub sub: String,
    /// The Cognito username.
    pub username: Option<String>,
    /// Every `cognito:groups` entry, whether or not it grants a role.
    pub groups: Vec<String>,
    /// The roles the groups grant, highest first (each includes the ones after it).
    pub roles: Vec<GraphqlRole>,
    /// OAuth scopes of the access token.
    pub scopes: Vec<String>,
    /// The app client the token was issued to.
    pub client_id: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    principal: Principal,
}

#[ComplexObject]
impl Me {
    /// The caller's tenant (`custom:tenant`), when they have a valid one.
    async fn tenant(&self) -> async_graphql::Result<Option<String>> {
        // Looked up only when asked: `me { username }` never calls Cognito.
        let resolved = self.principal.tenant().await.map_err(ApiError::from)?;
        Ok(resolved.tenant.member().ok().map(|t| t.as_str().to_owned()))
    }
}

impl Me {
    fn of(principal: &Principal) -> Self {
        Self {
            sub: principal.sub().to_owned(),
            username: principal.username().map(str::to_owned),
            groups: principal.groups().iter().map(str::to_owned).collect(),
            roles: principal
                .role()
                .map(with_included)
                .unwrap_or_default()
                .into_iter()
                .map(GraphqlRole::from)
                .collect(),
            scopes: principal.scopes().iter().map(str::to_owned).collect(),
            client_id: principal.client_id().map(str::to_owned),
            expires_at: i64::try_from(principal.expires_at())
                .ok()
                .and_then(|secs| DateTime::from_timestamp(secs, 0)),
            principal: principal.clone(),
        }
    }
}

#[derive(Default, Debug)]
pub(super) struct MeQuery;

#[authorized]
#[Object]
impl MeQuery {
    /// The authenticated caller: identity, groups, roles, scopes and tenant.
    #[auth(policies::ME)]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let principal = ctx
            .data_opt::<Principal>()
            .ok_or(ApiError::Unauthenticated {
                reason: "missing_token",
            })?;
        Ok(Me::of(principal))
    }
}
