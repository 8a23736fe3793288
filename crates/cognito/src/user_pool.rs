//! [`UserPool`]: what the service asks of its one user pool, on a request or for an admin.

use crate::{Attribute, CognitoError, NewUser, User, UserPoolId};

/// One user pool, as the service uses it: `GetUser` with a caller's access token, and the admin
/// calls of tenant user management. Object-safe: the service holds an `Arc<dyn UserPool>`.
///
/// Implemented by [`crate::SdkUserPool`] (the AWS SDK) and, with the `test-helpers` feature, by
/// `fake::FakeUserPool`.
///
/// Every admin call acts on this pool only (the pool id is fixed when the value is made), and
/// each one names the user by username (for pools with email as an alias, the email works too).
/// None of them checks a tenant: a caller must read the user's `custom:tenant` with
/// [`UserPool::admin_get_user`] and compare it with its own before it changes anything.
#[async_trait::async_trait]
pub trait UserPool: Send + Sync + std::fmt::Debug {
    /// The pool.
    fn pool_id(&self) -> &UserPoolId;

    /// `GetUser`: the user an access token belongs to, with their attributes. Also tells
    /// whether the token is still good: a revoked or signed-out token is
    /// [`CognitoError::NotAuthorized`] (its signature and `exp` still verify). Unsigned: needs
    /// no AWS credentials.
    async fn get_user(&self, access_token: &str) -> Result<User, CognitoError>;

    /// `AdminGetUser`: the user with their attributes, status and whether they are enabled.
    async fn admin_get_user(&self, username: &str) -> Result<User, CognitoError>;

    /// `AdminCreateUser`: a new user with `user`'s attributes, delivery and temporary password.
    /// An existing username (or email alias) is [`CognitoError::UsernameExists`].
    async fn admin_create_user(&self, user: &NewUser) -> Result<User, CognitoError>;

    /// `AdminUpdateUserAttributes`: sets `attributes` (others are left alone).
    async fn admin_update_user_attributes(
        &self,
        username: &str,
        attributes: &[Attribute],
    ) -> Result<(), CognitoError>;

    /// `AdminAddUserToGroup` (already a member: no change).
    async fn admin_add_user_to_group(
        &self,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoError>;

    /// `AdminRemoveUserFromGroup` (not a member: no change).
    async fn admin_remove_user_from_group(
        &self,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoError>;

    /// `AdminListGroupsForUser`: the names of the user's groups (every page), sorted.
    async fn admin_list_groups_for_user(&self, username: &str)
    -> Result<Vec<String>, CognitoError>;

    /// `AdminDisableUser`: the user can no longer sign in; their refresh tokens stop working.
    async fn admin_disable_user(&self, username: &str) -> Result<(), CognitoError>;

    /// `AdminDeleteUser`: the user is gone, with their tokens (an invitation taken back).
    async fn admin_delete_user(&self, username: &str) -> Result<(), CognitoError>;

    /// `AdminEnableUser`.
    async fn admin_enable_user(&self, username: &str) -> Result<(), CognitoError>;

    /// `AdminUserGlobalSignOut`: revokes every refresh token of the user; their access tokens
    /// then fail `GetUser` (but still verify until `exp`).
    async fn admin_user_global_sign_out(&self, username: &str) -> Result<(), CognitoError>;
}
