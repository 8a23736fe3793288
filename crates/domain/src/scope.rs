//! The caller's scope: who is asking, in which tenant, with which role.

use uuid::Uuid;

use crate::{Action, DomainError, Role, TenantId};

/// The caller's scope: tenant, role and actor (the caller's member id in that tenant).
///
/// Every domain operation takes a `&Scope` first, and every query it runs is filtered by
/// [`Scope::tenant`]. A scope can only be made by [`crate::members::enter`], which the server calls
/// after verifying the caller's token (and, with the `test-helpers` feature, by
/// `Scope::for_tests`): holding a `Scope` means the tenant and role came from a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    tenant: TenantId,
    role: Role,
    actor_id: Uuid,
}

impl Scope {
    pub(crate) fn new(tenant: TenantId, role: Role, actor_id: Uuid) -> Self {
        Self {
            tenant,
            role,
            actor_id,
        }
    }

    /// A scope without `members::enter`, for tests. Writes record `actor_id` as their author, and
    /// the database refuses an author that is not a member of the tenant: for writes, use the id
    /// of a member that `members::enter` created.
    #[cfg(feature = "test-helpers")]
    pub fn for_tests(tenant: TenantId, role: Role, actor_id: Uuid) -> Self {
        Self::new(tenant, role, actor_id)
    }

    /// The caller's tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The caller's role in this tenant.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The caller's member id in this tenant.
    pub fn actor_id(&self) -> Uuid {
        self.actor_id
    }

    /// Whether this scope's role may perform `action` (see [`Action::required_role`]).
    pub fn can(&self, action: Action) -> bool {
        action.allows(self.role)
    }

    /// `Ok` when this scope's role may perform `action`, else [`DomainError::Forbidden`]. Every
    /// domain operation starts with this; the GraphQL layer uses it for field policies
    /// (`ReadBudget`, `ReadMemberEmail`).
    pub fn authorize(&self, action: Action) -> Result<(), DomainError> {
        if self.can(action) {
            Ok(())
        } else {
            Err(DomainError::Forbidden { action })
        }
    }
}
