//! Tenant user management: a tenant's admins invite members, change their role, disable,
//! enable and sign them out, in Cognito and in the database, and never across tenants.
//!
//! Every operation:
//! - answers FORBIDDEN `user_management_disabled` unless `USER_MANAGEMENT` is on;
//! - checks the caller's role and, for an existing member, the member row (NOT_FOUND in another
//!   tenant, CONFLICT on a stale `expectedVersion` or a change that leaves no active admin)
//!   before it asks Cognito anything;
//! - reads the user's `custom:tenant` from Cognito (`AdminGetUser`) and refuses with NOT_FOUND
//!   unless it is the caller's tenant (and the `sub` the row's): the database row alone is not
//!   trusted for a write in another service;
//! - changes Cognito, then writes the member row and its audit event in one transaction, where
//!   the checks are made again. If that transaction finds that another admin's change came
//!   first, the Cognito change is undone (as far as Cognito lets it) and the answer is CONFLICT.
//!   If the database fails after Cognito succeeded, the answer is SERVICE_UNAVAILABLE and the
//!   member's next token heals the row (see `cognigraph_domain::members`); a retry of the same
//!   mutation is also safe, as every Cognito call here is idempotent.
//!
//! Role changes and disabling end with `AdminUserGlobalSignOut`: the member's refresh tokens stop
//! working, so their next tokens carry the new groups (or none come). Access tokens issued
//! before stay valid until they expire unless `REVOCATION_CHECK=getuser`; a disabled member's
//! old tokens are refused by cognigraph at once all the same (FORBIDDEN `member_disabled`).

use std::sync::Arc;

use cognigraph_cognito::{Delivery, NewUser, User, UserPool, UserStatus};
use cognigraph_domain::{
    Action, DomainError, Role, Scope,
    members::{self, Email, Invitation, Member, MemberChange, MemberStatus},
};
use uuid::Uuid;

use crate::{authz::RoleGroups, errors::ApiError, membership::Membership};

/// Tenant user management, as the GraphQL mutations use it.
#[derive(Clone)]
pub struct MemberAdmin {
    enabled: bool,
    user_pool: Arc<dyn UserPool>,
    groups: RoleGroups,
    membership: Membership,
}

impl std::fmt::Debug for MemberAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberAdmin")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl MemberAdmin {
    /// User management on `user_pool`, with roles granted by `groups`; every operation answers
    /// FORBIDDEN `user_management_disabled` unless `enabled`.
    pub fn new(
        enabled: bool,
        user_pool: Arc<dyn UserPool>,
        groups: RoleGroups,
        membership: Membership,
    ) -> Self {
        Self {
            enabled,
            user_pool,
            groups,
            membership,
        }
    }

    /// The caller may manage members: user management is on and the caller is an admin.
    fn admit(&self, scope: &Scope) -> Result<(), ApiError> {
        if !self.enabled {
            return Err(ApiError::Forbidden {
                reason: "user_management_disabled",
            });
        }
        scope.authorize(Action::ManageMembers)?;
        Ok(())
    }

    /// Invites `email` into the caller's tenant with `role`: `AdminCreateUser` (username and
    /// email the address, marked verified, `custom:tenant` the caller's tenant, the temporary
    /// password emailed by Cognito), the role's group, then the member row (status `invited`).
    /// An address that has an account, in this tenant or any other, is CONFLICT
    /// `member_exists`. If the group cannot be added, the new user is deleted again.
    pub async fn invite(&self, scope: &Scope, email: &str, role: Role) -> Result<Member, ApiError> {
        self.admit(scope)?;
        let email = Email::parse(email)?;
        let new_user = NewUser::new(email.as_str())
            .email(email.as_str())
            .attribute("email_verified", "true")
            .tenant(scope.tenant().as_str())
            .delivery(Delivery::Email);
        let user = self.user_pool.admin_create_user(&new_user).await?;
        if let Err(error) = self
            .user_pool
            .admin_add_user_to_group(user.username(), self.groups.group_of(role))
            .await
        {
            if let Err(undo) = self.user_pool.admin_delete_user(user.username()).await {
                tracing::error!(error = ?undo, username = user.username(), "invited user left without a group");
            }
            return Err(error.into());
        }
        let invitation = Invitation {
            sub: user.sub().to_owned(),
            username: user.username().to_owned(),
            email,
            role,
        };
        members::invite(scope, self.membership.db(), invitation)
            .await
            .map_err(|error| written_in_cognito_only(error, "invite"))
    }

    /// Gives member `id` the role `role`: adds its group, removes the other role groups (other
    /// groups stay), signs the member out everywhere, and records the change.
    pub async fn set_role(
        &self,
        scope: &Scope,
        id: Uuid,
        expected_version: i32,
        role: Role,
    ) -> Result<Member, ApiError> {
        let change = MemberChange::Role(role);
        let user = self.target(scope, id, expected_version, change).await?;
        self.grant(user.username(), role).await?;
        self.user_pool
            .admin_user_global_sign_out(user.username())
            .await?;
        let result =
            members::change(scope, self.membership.db(), id, expected_version, change).await;
        self.settle(scope, id, &user, result, "set_role").await
    }

    /// Disables member `id`: `AdminDisableUser` (no sign-in, no refresh), a global sign-out, and
    /// the row (status `disabled`); their tokens issued before are refused from now on.
    pub async fn disable(
        &self,
        scope: &Scope,
        id: Uuid,
        expected_version: i32,
    ) -> Result<Member, ApiError> {
        let change = MemberChange::Status(MemberStatus::Disabled);
        let user = self.target(scope, id, expected_version, change).await?;
        self.user_pool.admin_disable_user(user.username()).await?;
        self.user_pool
            .admin_user_global_sign_out(user.username())
            .await?;
        let result =
            members::change(scope, self.membership.db(), id, expected_version, change).await;
        self.membership.forget(scope.tenant(), user.sub()).await;
        self.settle(scope, id, &user, result, "disable").await
    }

    /// Enables member `id` again: `AdminEnableUser`, and the row back to `active` (or `invited`,
    /// when the user has not yet set a password).
    pub async fn enable(
        &self,
        scope: &Scope,
        id: Uuid,
        expected_version: i32,
    ) -> Result<Member, ApiError> {
        let user = self
            .target(
                scope,
                id,
                expected_version,
                MemberChange::Status(MemberStatus::Active),
            )
            .await?;
        self.user_pool.admin_enable_user(user.username()).await?;
        let status = if user.status() == Some(&UserStatus::ForceChangePassword) {
            MemberStatus::Invited
        } else {
            MemberStatus::Active
        };
        let change = MemberChange::Status(status);
        let result =
            members::change(scope, self.membership.db(), id, expected_version, change).await;
        self.settle(scope, id, &user, result, "enable").await
    }

    /// Signs member `id` out everywhere (`AdminUserGlobalSignOut`) and records it.
    pub async fn sign_out(&self, scope: &Scope, id: Uuid) -> Result<Member, ApiError> {
        self.admit(scope)?;
        let member = members::get(scope, self.membership.db(), id).await?;
        let user = self.same_tenant_user(scope, &member).await?;
        self.user_pool
            .admin_user_global_sign_out(user.username())
            .await?;
        members::record_sign_out(scope, self.membership.db(), id)
            .await
            .map_err(|error| written_in_cognito_only(error, "sign_out"))
    }

    /// Member `id`'s Cognito user, once the change is admitted and checked against the row and
    /// the user's tenant in Cognito.
    async fn target(
        &self,
        scope: &Scope,
        id: Uuid,
        expected_version: i32,
        change: MemberChange,
    ) -> Result<User, ApiError> {
        self.admit(scope)?;
        let member =
            members::check_change(scope, self.membership.db(), id, expected_version, change)
                .await?;
        self.same_tenant_user(scope, &member).await
    }

    /// `member`'s Cognito user, when Cognito puts them in the caller's tenant with the row's
    /// `sub`; NOT_FOUND otherwise (as for a member of another tenant).
    async fn same_tenant_user(&self, scope: &Scope, member: &Member) -> Result<User, ApiError> {
        let user = self.user_pool.admin_get_user(&member.username).await?;
        if user.tenant() != Some(scope.tenant().as_str()) || user.sub() != member.sub {
            tracing::warn!(
                member = %member.id,
                "the member row and Cognito disagree on the user's tenant or sub; refused"
            );
            return Err(ApiError::NotFound);
        }
        Ok(user)
    }

    /// Puts `username` in `role`'s group, then out of the other role groups (never in none).
    async fn grant(&self, username: &str, role: Role) -> Result<(), ApiError> {
        self.user_pool
            .admin_add_user_to_group(username, self.groups.group_of(role))
            .await?;
        for other in Role::ALL.into_iter().filter(|other| *other != role) {
            self.user_pool
                .admin_remove_user_from_group(username, self.groups.group_of(other))
                .await?;
        }
        Ok(())
    }

    /// The answer to a change made in Cognito, once the database has had its say. When another
    /// admin's change came first, Cognito is put back in line with the row as that change left
    /// it (its role's groups; enabled unless disabled), and the answer is the refusal.
    async fn settle(
        &self,
        scope: &Scope,
        id: Uuid,
        user: &User,
        result: Result<Member, DomainError>,
        operation: &'static str,
    ) -> Result<Member, ApiError> {
        let error = match result {
            Ok(member) => return Ok(member),
            Err(error) => error,
        };
        if lost_a_race(&error)
            && let Err(undo) = self.realign(scope, id, user).await
        {
            tracing::error!(error = ?undo, member = %id, "could not undo a Cognito change after a lost race");
        }
        Err(written_in_cognito_only(error, operation))
    }

    /// Makes `user`'s role groups and enabled state in Cognito what member `id`'s row says.
    async fn realign(&self, scope: &Scope, id: Uuid, user: &User) -> Result<(), ApiError> {
        let member = members::get(scope, self.membership.db(), id).await?;
        if let Some(role) = member.role {
            self.grant(user.username(), role).await?;
        }
        if member.status == MemberStatus::Disabled {
            self.user_pool.admin_disable_user(user.username()).await?;
        } else {
            self.user_pool.admin_enable_user(user.username()).await?;
        }
        Ok(())
    }
}

/// Whether the database refused the change because another admin's came first (a new
/// version, or the last admin now).
fn lost_a_race(error: &DomainError) -> bool {
    matches!(
        error,
        DomainError::Conflict { .. } | DomainError::LastAdmin | DomainError::NotFound
    )
}

/// A database failure after Cognito was changed: logged as such (the row heals on the member's
/// next token), then the usual mapping.
fn written_in_cognito_only(error: DomainError, operation: &'static str) -> ApiError {
    if !lost_a_race(&error) {
        tracing::error!(
            error = ?error,
            operation,
            "Cognito changed but the member row was not written; the member's next token heals it"
        );
    }
    error.into()
}
