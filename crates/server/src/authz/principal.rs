//! The caller of a request, as the rest of the server sees it.

use std::collections::BTreeSet;

use cognigraph_token::VerifiedToken;

use super::{Role, RoleGroups};
use crate::tenancy::{TenancyError, TenantLookup, TenantResolution};

/// A verified caller. Built from a verified access token in exactly one place,
/// [`Principal::from_verified`]; resolvers receive it as request data.
#[derive(Debug, Clone)]
pub struct Principal {
    sub: String,
    username: Option<String>,
    groups: BTreeSet<String>,
    role: Option<Role>,
    scopes: BTreeSet<String>,
    client_id: Option<String>,
    expires_at: u64,
    issued_at: Option<u64>,
    tenant: TenantLookup,
    email_claim: Option<String>,
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
            sub: token.sub().to_owned(),
            username: token.username().map(str::to_owned),
            groups: token.groups().clone(),
            role: role_groups.role_of(token.groups()),
            scopes: token.scopes().clone(),
            client_id: token.client_id().map(str::to_owned),
            expires_at: token.expires_at(),
            issued_at: token.issued_at(),
            tenant,
            email_claim: token
                .claim("email")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        }
    }

    /// A principal for tests of authorization rules, without a token.
    #[cfg(any(test, feature = "test-helpers"))]
    #[expect(
        clippy::expect_used,
        reason = "test helper: a bad tenant is the test's bug"
    )]
    pub fn for_tests(role: Option<Role>, scopes: &[&str], tenant: Option<&str>) -> Self {
        Self {
            sub: "test-sub".to_owned(),
            username: Some("tester".to_owned()),
            groups: role.map(|r| r.as_str().to_owned()).into_iter().collect(),
            role,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            client_id: Some("testclient".to_owned()),
            expires_at: u64::MAX,
            issued_at: None,
            tenant: TenantLookup::known(TenantResolution {
                tenant: tenant.map_or(crate::tenancy::TenantStatus::Missing, |t| {
                    crate::tenancy::TenantStatus::Member(
                        cognigraph_domain::TenantId::parse(t).expect("a valid test tenant"),
                    )
                }),
                email: None,
            }),
            email_claim: None,
        }
    }

    /// `iat`, when the token has one.
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }

    /// `sub`.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// `username`.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Every `cognito:groups` entry, mapped or not.
    pub fn groups(&self) -> &BTreeSet<String> {
        &self.groups
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
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    /// The app client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Token expiry, seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
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
        resolved.email.as_deref().or(self.email_claim.as_deref())
    }
}
