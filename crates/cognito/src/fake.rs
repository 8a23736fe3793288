//! [`FakeUserPool`]: an in-memory [`UserPool`] for tests (feature `test-helpers`).
//!
//! It keeps users (attributes, groups, enabled, status) and the access tokens it knows: tokens
//! it issued ([`FakeUserPool::issue_token`]) or was told to accept ([`FakeUserPool::accept_token`],
//! e.g. JWTs a test signed itself). It counts every call per [`Action`], and can be told to
//! fail every call, or every `GetUser` of one token, with a given error.
//!
//! What it does as Cognito does: an unknown or signed-out token is `NotAuthorized`; a token of a
//! deleted user is `UserNotFound`; a disabled user's token is `NotAuthorized`; a global sign-out
//! revokes every token of the user; an existing username is `UsernameExists`; unknown groups are
//! `ResourceNotFound`.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, MutexGuard},
};

use crate::{
    Action, Attribute, CognitoError, NewUser, User, UserPool, UserPoolId, UserStatus,
    types::SUB_ATTRIBUTE,
};

/// Makes the error a failing call answers with (errors are not `Clone`).
pub type Failure = Arc<dyn Fn() -> CognitoError + Send + Sync>;

/// An in-memory user pool. Cheap to share behind an `Arc`.
pub struct FakeUserPool {
    pool: UserPoolId,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<String, FakeUser>,
    groups: BTreeSet<String>,
    /// Access token → username.
    tokens: HashMap<String, String>,
    /// Tokens signed out (revoked).
    revoked: BTreeSet<String>,
    /// Usernames that were deleted (their tokens answer `UserNotFound`).
    deleted: BTreeSet<String>,
    failure: Option<Failure>,
    token_failures: HashMap<String, Failure>,
    calls: BTreeMap<Action, usize>,
    issued: u64,
}

#[derive(Debug, Clone)]
struct FakeUser {
    attributes: Vec<Attribute>,
    groups: BTreeSet<String>,
    enabled: bool,
    status: UserStatus,
}

impl std::fmt::Debug for FakeUserPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeUserPool")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Default for FakeUserPool {
    fn default() -> Self {
        Self::new(UserPoolId::parse("us-east-1_fake").unwrap_or_else(|_| unreachable!()))
    }
}

impl FakeUserPool {
    /// An empty pool with the groups `admin`, `editor` and `viewer`.
    pub fn new(pool: UserPoolId) -> Self {
        let state = State {
            groups: ["admin", "editor", "viewer"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            ..State::default()
        };
        Self {
            pool,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a confirmed, enabled user with `attributes` (a `sub` is made up unless given);
    /// returns their `sub`. An existing user is replaced.
    pub fn add_user(&self, username: &str, attributes: &[(&str, &str)]) -> String {
        let mut state = self.state();
        state.issued += 1;
        let mut attributes: Vec<Attribute> = attributes
            .iter()
            .map(|(name, value)| Attribute::new(*name, *value))
            .collect();
        if !attributes.iter().any(|a| a.name == SUB_ATTRIBUTE) {
            attributes.push(Attribute::new(
                SUB_ATTRIBUTE,
                format!("00000000-0000-4000-8000-{:012}", state.issued),
            ));
        }
        let sub = attributes
            .iter()
            .find(|a| a.name == SUB_ATTRIBUTE)
            .map(|a| a.value.clone())
            .unwrap_or_default();
        state.deleted.remove(username);
        state.users.insert(
            username.to_owned(),
            FakeUser {
                attributes,
                groups: BTreeSet::new(),
                enabled: true,
                status: UserStatus::Confirmed,
            },
        );
        sub
    }

    /// Adds a group.
    pub fn add_group(&self, group: &str) {
        self.state().groups.insert(group.to_owned());
    }

    /// Puts `username` in `group`, as an admin in the console would (not counted as a call).
    pub fn add_to_group(&self, username: &str, group: &str) {
        let mut state = self.state();
        state.groups.insert(group.to_owned());
        if let Some(user) = state.users.get_mut(username) {
            user.groups.insert(group.to_owned());
        }
    }

    /// A new access token of `username` (an opaque string, not a JWT).
    pub fn issue_token(&self, username: &str) -> String {
        let mut state = self.state();
        state.issued += 1;
        let token = format!("fake-access-token-{}-{username}", state.issued);
        state.tokens.insert(token.clone(), username.to_owned());
        token
    }

    /// Makes `GetUser` accept `token` (say, a JWT the test signed) as `username`'s.
    pub fn accept_token(&self, token: &str, username: &str) {
        self.state()
            .tokens
            .insert(token.to_owned(), username.to_owned());
    }

    /// Revokes `token`, as a sign-out would: `GetUser` answers `NotAuthorized`.
    pub fn revoke_token(&self, token: &str) {
        self.state().revoked.insert(token.to_owned());
    }

    /// Deletes `username` (their tokens then answer `UserNotFound`).
    pub fn delete_user(&self, username: &str) {
        let mut state = self.state();
        state.users.remove(username);
        state.deleted.insert(username.to_owned());
    }

    /// Sets the status `username` has (admin answers report it).
    pub fn set_status(&self, username: &str, status: UserStatus) {
        if let Some(user) = self.state().users.get_mut(username) {
            user.status = status;
        }
    }

    /// Makes every call fail with what `error` makes, until [`FakeUserPool::clear_failures`].
    pub fn fail_every_call(&self, error: impl Fn() -> CognitoError + Send + Sync + 'static) {
        self.state().failure = Some(Arc::new(error));
    }

    /// Makes every `GetUser` of `token` fail with what `error` makes.
    pub fn fail_token(
        &self,
        token: &str,
        error: impl Fn() -> CognitoError + Send + Sync + 'static,
    ) {
        self.state()
            .token_failures
            .insert(token.to_owned(), Arc::new(error));
    }

    /// Ends every failure set by [`FakeUserPool::fail_every_call`] and [`FakeUserPool::fail_token`].
    pub fn clear_failures(&self) {
        let mut state = self.state();
        state.failure = None;
        state.token_failures.clear();
    }

    /// How many times `action` was called (failed calls included).
    pub fn calls(&self, action: Action) -> usize {
        self.state().calls.get(&action).copied().unwrap_or(0)
    }

    /// How many calls were made, of every action.
    pub fn total_calls(&self) -> usize {
        self.state().calls.values().sum()
    }

    /// The groups of `username`, sorted (empty for an unknown user).
    pub fn groups_of(&self, username: &str) -> Vec<String> {
        self.state()
            .users
            .get(username)
            .map(|u| u.groups.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Counts a call of `action` and fails it when told to.
    fn begin(&self, action: Action) -> Result<MutexGuard<'_, State>, CognitoError> {
        let mut state = self.state();
        *state.calls.entry(action).or_default() += 1;
        match &state.failure {
            Some(failure) => Err(failure()),
            None => Ok(state),
        }
    }
}

impl State {
    fn user(&self, username: &str) -> Result<&FakeUser, CognitoError> {
        self.users.get(username).ok_or(CognitoError::UserNotFound)
    }

    fn user_mut(&mut self, username: &str) -> Result<&mut FakeUser, CognitoError> {
        self.users
            .get_mut(username)
            .ok_or(CognitoError::UserNotFound)
    }

    fn described(&self, username: &str, admin: bool) -> Result<User, CognitoError> {
        let user = self.user(username)?;
        User::from_parts(
            username.to_owned(),
            user.attributes.clone(),
            admin.then_some(user.enabled),
            admin.then(|| user.status.clone()),
        )
        .ok_or(CognitoError::UnexpectedAnswer {
            action: "GetUser",
            missing: "the sub attribute",
        })
    }

    fn group(&self, group: &str) -> Result<(), CognitoError> {
        if self.groups.contains(group) {
            Ok(())
        } else {
            Err(CognitoError::ResourceNotFound {
                message: format!("Group {group} not found."),
            })
        }
    }
}

#[async_trait::async_trait]
impl UserPool for FakeUserPool {
    fn pool_id(&self) -> &UserPoolId {
        &self.pool
    }

    async fn get_user(&self, access_token: &str) -> Result<User, CognitoError> {
        let state = self.begin(Action::GetUser)?;
        if let Some(failure) = state.token_failures.get(access_token) {
            return Err(failure());
        }
        let invalid = || CognitoError::NotAuthorized {
            message: "Invalid Access Token".to_owned(),
        };
        let username = state.tokens.get(access_token).ok_or_else(invalid)?;
        if state.revoked.contains(access_token) {
            return Err(CognitoError::revoked());
        }
        if state.deleted.contains(username) {
            return Err(CognitoError::UserNotFound);
        }
        let user = state.user(username)?;
        if !user.enabled {
            return Err(CognitoError::NotAuthorized {
                message: "User is disabled.".to_owned(),
            });
        }
        match user.status {
            UserStatus::ResetRequired => return Err(CognitoError::PasswordResetRequired),
            UserStatus::Unconfirmed => return Err(CognitoError::UserNotConfirmed),
            _ => {}
        }
        state.described(username, false)
    }

    async fn admin_get_user(&self, username: &str) -> Result<User, CognitoError> {
        self.begin(Action::AdminGetUser)?.described(username, true)
    }

    async fn admin_create_user(&self, new: &NewUser) -> Result<User, CognitoError> {
        let mut state = self.begin(Action::AdminCreateUser)?;
        let email = new
            .attributes()
            .iter()
            .find(|a| a.name == crate::EMAIL_ATTRIBUTE);
        let email_taken = email.is_some_and(|email| {
            state
                .users
                .values()
                .any(|u| u.attributes.iter().any(|a| a == email))
        });
        if state.users.contains_key(new.username()) || email_taken {
            return Err(CognitoError::UsernameExists);
        }
        state.issued += 1;
        let mut attributes = new.attributes().to_vec();
        attributes.retain(|a| a.name != SUB_ATTRIBUTE);
        attributes.push(Attribute::new(
            SUB_ATTRIBUTE,
            format!("00000000-0000-4000-8000-{:012}", state.issued),
        ));
        state.deleted.remove(new.username());
        state.users.insert(
            new.username().to_owned(),
            FakeUser {
                attributes,
                groups: BTreeSet::new(),
                enabled: true,
                status: UserStatus::ForceChangePassword,
            },
        );
        state.described(new.username(), true)
    }

    async fn admin_update_user_attributes(
        &self,
        username: &str,
        attributes: &[Attribute],
    ) -> Result<(), CognitoError> {
        let mut state = self.begin(Action::AdminUpdateUserAttributes)?;
        let user = state.user_mut(username)?;
        for attribute in attributes {
            user.attributes.retain(|a| a.name != attribute.name);
            user.attributes.push(attribute.clone());
        }
        Ok(())
    }

    async fn admin_add_user_to_group(
        &self,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoError> {
        let mut state = self.begin(Action::AdminAddUserToGroup)?;
        state.group(group)?;
        state.user_mut(username)?.groups.insert(group.to_owned());
        Ok(())
    }

    async fn admin_remove_user_from_group(
        &self,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoError> {
        let mut state = self.begin(Action::AdminRemoveUserFromGroup)?;
        state.group(group)?;
        state.user_mut(username)?.groups.remove(group);
        Ok(())
    }

    async fn admin_list_groups_for_user(
        &self,
        username: &str,
    ) -> Result<Vec<String>, CognitoError> {
        let state = self.begin(Action::AdminListGroupsForUser)?;
        Ok(state.user(username)?.groups.iter().cloned().collect())
    }

    async fn admin_disable_user(&self, username: &str) -> Result<(), CognitoError> {
        self.begin(Action::AdminDisableUser)?
            .user_mut(username)?
            .enabled = false;
        Ok(())
    }

    async fn admin_delete_user(&self, username: &str) -> Result<(), CognitoError> {
        let mut state = self.begin(Action::AdminDeleteUser)?;
        state.user_mut(username)?;
        state.users.remove(username);
        state.deleted.insert(username.to_owned());
        Ok(())
    }

    async fn admin_enable_user(&self, username: &str) -> Result<(), CognitoError> {
        self.begin(Action::AdminEnableUser)?
            .user_mut(username)?
            .enabled = true;
        Ok(())
    }

    async fn admin_user_global_sign_out(&self, username: &str) -> Result<(), CognitoError> {
        let mut state = self.begin(Action::AdminUserGlobalSignOut)?;
        state.user(username)?;
        let tokens: Vec<String> = state
            .tokens
            .iter()
            .filter(|(_, owner)| *owner == username)
            .map(|(token, _)| token.clone())
            .collect();
        state.revoked.extend(tokens);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Delivery;

    #[tokio::test]
    async fn tokens_answer_as_cognito_would_and_calls_are_counted() {
        let pool = FakeUserPool::default();
        let sub = pool.add_user("ann", &[("custom:tenant", "acme"), ("email", "a@x.test")]);
        let token = pool.issue_token("ann");
        let user = pool.get_user(&token).await.unwrap();
        assert_eq!(
            (user.username(), user.sub(), user.tenant(), user.email()),
            ("ann", sub.as_str(), Some("acme"), Some("a@x.test"))
        );
        assert!(matches!(
            pool.get_user("unknown").await,
            Err(CognitoError::NotAuthorized { .. })
        ));
        pool.admin_user_global_sign_out("ann").await.unwrap();
        assert!(matches!(
            pool.get_user(&token).await,
            Err(CognitoError::NotAuthorized { .. })
        ));
        let fresh = pool.issue_token("ann");
        pool.delete_user("ann");
        assert!(matches!(
            pool.get_user(&fresh).await,
            Err(CognitoError::UserNotFound)
        ));
        pool.fail_every_call(|| CognitoError::unavailable("down"));
        assert!(pool.get_user(&fresh).await.unwrap_err().is_transient());
        assert_eq!(pool.calls(Action::GetUser), 5);
        assert_eq!(pool.calls(Action::AdminUserGlobalSignOut), 1);
        assert_eq!(pool.total_calls(), 6);
    }

    #[tokio::test]
    async fn admin_calls_change_the_users() {
        let pool = FakeUserPool::default();
        let invited = NewUser::new("bo")
            .tenant("acme")
            .email("bo@x.test")
            .delivery(Delivery::Email);
        let created = pool.admin_create_user(&invited).await.unwrap();
        assert_eq!(created.status(), Some(&UserStatus::ForceChangePassword));
        assert!(matches!(
            pool.admin_create_user(&NewUser::new("other").email("bo@x.test"))
                .await,
            Err(CognitoError::UsernameExists)
        ));
        pool.admin_add_user_to_group("bo", "editor").await.unwrap();
        pool.admin_add_user_to_group("bo", "viewer").await.unwrap();
        pool.admin_remove_user_from_group("bo", "editor")
            .await
            .unwrap();
        assert_eq!(
            pool.admin_list_groups_for_user("bo").await.unwrap(),
            ["viewer"]
        );
        assert!(matches!(
            pool.admin_add_user_to_group("bo", "nope").await,
            Err(CognitoError::ResourceNotFound { .. })
        ));
        pool.admin_disable_user("bo").await.unwrap();
        assert_eq!(
            pool.admin_get_user("bo").await.unwrap().enabled(),
            Some(false)
        );
        let token = pool.issue_token("bo");
        assert!(matches!(
            pool.get_user(&token).await,
            Err(CognitoError::NotAuthorized { .. })
        ));
        pool.admin_enable_user("bo").await.unwrap();
        pool.admin_update_user_attributes("bo", &[Attribute::new("custom:tenant", "globex")])
            .await
            .unwrap();
        assert_eq!(
            pool.get_user(&token).await.unwrap().tenant(),
            Some("globex")
        );
        assert!(matches!(
            pool.admin_get_user("nobody").await,
            Err(CognitoError::UserNotFound)
        ));
    }
}
