//! Members enter their tenant just in time: the first authorized request of a (tenant, sub)
//! upserts the member and yields the caller's domain [`Scope`]. Scopes are cached for a minute,
//! so it is not a write per request (and `lastSeenAt` is accurate to about a minute).

use std::{sync::Arc, time::Duration};

use cognigraph_domain::{
    Db, DomainError, Role, Scope, TenantId,
    members::{self, MemberProfile},
};

use crate::authz::Principal;

/// Turns principals into domain scopes. This and the tests' helpers are the only places where
/// scopes are made.
#[derive(Clone)]
pub struct Membership {
    db: Db,
    scopes: moka::future::Cache<(TenantId, String, Role), Scope>,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership").finish_non_exhaustive()
    }
}

impl Membership {
    /// Members kept in `db`.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            scopes: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The caller's scope, when they have a tenant and a role (otherwise no tenant data is
    /// theirs to see, and nothing is written).
    pub async fn scope_for(&self, principal: &Principal) -> Result<Option<Scope>, DomainError> {
        let (Some(tenant), Some(role)) = (principal.tenant(), principal.role()) else {
            return Ok(None);
        };
        let key = (tenant.clone(), principal.sub().to_owned(), role);
        let profile = MemberProfile {
            username: principal
                .username()
                .unwrap_or_else(|| principal.sub())
                .to_owned(),
            // An email the domain would refuse is dropped, not allowed to lock the user out.
            email: principal
                .email()
                .filter(|email| email.chars().count() <= members::MAX_EMAIL)
                .map(str::to_owned),
        };
        self.scopes
            .try_get_with(key, async {
                members::enter(&self.db, tenant.clone(), role, principal.sub(), profile).await
            })
            .await
            .map(Some)
            .map_err(|error: Arc<DomainError>| (*error).clone())
    }
}
