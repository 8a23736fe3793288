//! Members enter their tenant just in time: the first field of a (tenant, sub) that needs tenant
//! data upserts the member and yields the caller's domain [`Scope`]. Scopes are cached for a minute,
//! so it is not a write per request (and `lastSeenAt` is accurate to about a minute).

use std::{sync::Arc, time::Duration};

use cognigraph_domain::{
    Db, DomainError, Role, Scope, TenantId,
    members::{self, MemberProfile},
};

use crate::{authz::Principal, errors::ApiError};

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

    /// Forgets the scopes of `sub` in `tenant`, so that their next request enters again (and
    /// meets a change an admin just made, such as a disable). Other instances notice within
    /// the cache's minute.
    pub async fn forget(&self, tenant: &TenantId, sub: &str) {
        for role in Role::ALL {
            self.scopes
                .invalidate(&(tenant.clone(), sub.to_owned(), role))
                .await;
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The caller's scope: their tenant (looked up now if no field has yet) and role. The
    /// field's guard has already required both; without them this is FORBIDDEN all the same.
    ///
    /// Errors: the tenant lookup's (SERVICE_UNAVAILABLE, or UNAUTHENTICATED `token_revoked`);
    /// a profile the domain refuses is FORBIDDEN `invalid_profile` (never a 503); a database
    /// failure is SERVICE_UNAVAILABLE `database_unavailable`.
    pub async fn scope_for(&self, principal: &Principal) -> Result<Scope, ApiError> {
        let resolved = principal.tenant().await?;
        let tenant = resolved.tenant.member()?;
        let Some(role) = principal.role() else {
            return Err(ApiError::Forbidden {
                reason: "insufficient_role",
            });
        };
        let key = (tenant.clone(), principal.sub().to_owned(), role);
        let profile = MemberProfile {
            username: principal
                .username()
                .unwrap_or_else(|| principal.sub())
                .to_owned(),
            // An email the domain would refuse is dropped, not allowed to lock the user out.
            email: principal
                .email(resolved)
                .filter(|email| email.chars().count() <= members::MAX_EMAIL)
                .map(str::to_owned),
            token_issued_at: principal
                .issued_at()
                .and_then(|iat| i64::try_from(iat).ok())
                .and_then(|iat| chrono::DateTime::from_timestamp(iat, 0)),
        };
        self.scopes
            .try_get_with(key, async {
                members::enter(&self.db, tenant.clone(), role, principal.sub(), profile).await
            })
            .await
            .map_err(|error: Arc<DomainError>| match &*error {
                DomainError::MemberDisabled => ApiError::Forbidden {
                    reason: "member_disabled",
                },
                DomainError::InvalidInput { field, .. } => {
                    tracing::warn!(%field, "member profile refused");
                    ApiError::Forbidden {
                        reason: "invalid_profile",
                    }
                }
                other => {
                    tracing::error!(error = ?other, "member sync failed");
                    ApiError::ServiceUnavailable {
                        reason: "database_unavailable",
                    }
                }
            })
    }
}
