//! `Query.me`: the caller as cognigraph sees them.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use cognigraph_authz_macros::authorized;

use super::policies;
use crate::{
    authz::{GraphqlRole, Principal, with_included},
    errors::ApiError,
};

/// The authenticated caller. Its fields are read from the verified token when asked, not
/// copied up front.
#[derive(Debug, Clone)]
pub struct Me {
    principal: Principal,
}

/// The authenticated caller.
#[Object]
impl Me {
    /// The user's stable id in the user pool (`sub`).
    async fn sub(&self) -> &str {
        self.principal.sub()
    }

    /// The Cognito username.
    async fn username(&self) -> Option<&str> {
        self.principal.username()
    }

    /// Every `cognito:groups` entry, whether or not it grants a role.
    async fn groups(&self) -> Vec<&str> {
        self.principal.groups().iter().collect()
    }

    /// The roles the groups grant, highest first (each includes the ones after it).
    async fn roles(&self) -> Vec<GraphqlRole> {
        self.principal
            .role()
            .map(with_included)
            .unwrap_or_default()
            .into_iter()
            .map(GraphqlRole::from)
            .collect()
    }

    /// OAuth scopes of the access token.
    async fn scopes(&self) -> Vec<&str> {
        self.principal.scopes().iter().collect()
    }

    /// The app client the token was issued to.
    async fn client_id(&self) -> Option<&str> {
        self.principal.client_id()
    }

    /// When the access token expires.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        i64::try_from(self.principal.expires_at())
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
    }

    /// The caller's tenant (`custom:tenant`), when they have a valid one.
    async fn tenant(&self) -> async_graphql::Result<Option<String>> {
        // Looked up only when asked: `me { username }` never calls Cognito.
        let resolved = self.principal.tenant().await.map_err(ApiError::from)?;
        Ok(resolved.tenant.member().ok().map(|t| t.as_str().to_owned()))
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
        Ok(Me {
            principal: principal.clone(),
        })
    }
}
