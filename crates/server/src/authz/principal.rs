//! The caller of a request, as the rest of the server sees it.

use cognigraph_token::{NameSet, VerifiedToken};

use super::{Role, RoleGroups};
use crate::tenancy::{TenancyError, TenantLookup, TenantResolution};

/// A verified caller. Built from a verified access token in exactly one place,
/// [`Principal::from_verified`]; resolvers receive it as request data. Cheap to clone: the
/// claims are the verified token's (shared), and the tenant lookup is shared by every clone.
#[derive(Debug, Clone)]
pub struct Principal {
    token: VerifiedToken,
    role: Option<Role>,
    tenant: TenantLookup,
}

impl Principal {
    /// The one mapping from verified claims to a principal: roles through the allow-list; the
    /// tenant looked up by `tenant` when a field first needs it.
    pub fn from_verified(
        token: &VerifiedToken,
        role_groups: &RoleGroups,
        tenant: TenantLookup,
    ) -> Self {
        Self {
            token: token.clone(),
            role: role_groups.role_of(token.groups()),
            tenant,
        }
    }

    /// A principal for tests of authorization rules, without a token: `sub` `test-sub`,
    /// username `tester`, the role's own name as its one group.
    #[cfg(any(test, feature = "test-helpers"))]
    #[expect(
        clippy::expect_used,
        reason = "test helper: a bad tenant is the test's bug"
    )]
    pub fn for_tests(role: Option<Role>, scopes: &[&str], tenant: Option<&str>) -> Self {
        let groups: Vec<&str> = role.map(Role::as_str).into_iter().collect();
        Self {
            token: VerifiedToken::for_tests(serde_json::json!({
                "sub": "test-sub",
                "username": "tester",
                "client_id": "testclient",
                "cognito:groups": groups,
                "scope": scopes.join(" "),
                "token_use": "access",
            })),
            role,
            tenant: TenantLookup::known(TenantResolution {
                tenant: tenant.map_or(crate::tenancy::TenantStatus::Missing, |t| {
                    crate::tenancy::TenantStatus::Member(
                        cognigraph_domain::TenantId::parse(t).expect("a valid test tenant"),
                    )
                }),
                email: None,
            }),
        }
    }

    /// `iat`, when the token has one.
    pub fn issued_at(&self) -> Option<u64> {
        self.token.issued_at()
    }

    /// `sub`.
    pub fn sub(&self) -> &str {
        self.token.sub()
    }

    /// `username`.
    pub fn username(&self) -> Option<&str> {
        self.token.username()
    }

    /// Every `cognito:groups` entry, mapped or not.
    pub fn groups(&self) -> NameSet<'_> {
        self.token.groups()
    }

    /// The highest role the groups grant.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// Whether the principal has `role` (or a higher one).
    pub fn has_role(&self, role: Role) -> bool {
        self.role.is_some_and(|r| r >= role)
    }

    /// OAuth scopes of the token.
    pub fn scopes(&self) -> NameSet<'_> {
        self.token.scopes()
    }

    /// The app client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.token.client_id()
    }

    /// Token expiry, seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.token.expires_at()
    }

    /// The caller's tenant and email, looked up on the first call (the claim, or Cognito's
    /// `GetUser`), shared by every later call in the request.
    pub async fn tenant(&self) -> Result<&TenantResolution, TenancyError> {
        self.tenant.get().await
    }

    /// The request's tenant lookup (to see, after execution, whether it found the token
    /// revoked).
    pub fn tenant_lookup(&self) -> &TenantLookup {
        &self.tenant
    }

    /// The user's email, when known (from `GetUser` when it was asked, else an `email` claim).
    pub fn email<'a>(&'a self, resolved: &'a TenantResolution) -> Option<&'a str> {
        resolved
            .email
            .as_deref()
            .or_else(|| self.token.claim("email").and_then(|email| email.as_str()))
    }
}
