//! The AWS SDK implementation: [`CognitoClient`] (any pool: provisioning and sign-in for
//! tooling) and [`SdkUserPool`] (one pool: the [`UserPool`] calls).

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
use aws_sdk_cognitoidentityprovider::{
    Client,
    config::Credentials,
    types::{
        AttributeDataType, AttributeType, AuthFlowType, ChallengeNameType, DeliveryMediumType,
        ExplicitAuthFlowsType, MessageActionType, SchemaAttributeType,
    },
};

use crate::{
    Attribute, CognitoError, NewUser, SignIn, Tokens, User, UserPool, UserPoolId, UserStatus,
    types::Delivery,
};

/// How the SDK client reaches Cognito: region, endpoint, timeouts, retries, credentials.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    region: String,
    endpoint_url: Option<String>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    operation_timeout: Duration,
    max_attempts: u32,
    emulator_credentials: bool,
}

impl ClientSettings {
    /// Cognito in `region` with the defaults: the standard endpoint resolution (the region's
    /// public endpoint, unless `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` or `AWS_ENDPOINT_URL`
    /// says otherwise), credentials from the standard AWS chain (environment, profile, web
    /// identity, ECS, IMDS; looked up only when a signed call is first made: `GetUser`,
    /// `InitiateAuth`, `GlobalSignOut` and the like are unsigned), 2 s to connect, 3 s per
    /// attempt, 10 s per operation, and at most 3 attempts.
    ///
    /// Retries are the SDK's standard mode: throttling and transient errors (timeouts,
    /// connection failures, HTTP 5xx) are retried with exponential backoff and full jitter
    /// (from 1 s, at most 20 s) while a client-wide retry quota (a token bucket) lasts, so an
    /// outage does not multiply the calls; refusals (4xx) are never retried.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            endpoint_url: None,
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(10),
            max_attempts: 3,
            emulator_credentials: false,
        }
    }

    /// An emulator (moto) at `endpoint_url`, in `us-east-1` (where moto puts unsigned and
    /// unknown-region calls), signing with the fixed credentials `test`/`test`, which moto
    /// accepts. Never for a real pool.
    pub fn emulator(endpoint_url: impl Into<String>) -> Self {
        Self::new("us-east-1")
            .endpoint_url(endpoint_url)
            .with_emulator_credentials()
    }

    /// Signs with the fixed credentials `test`/`test` instead of the standard chain's (an
    /// emulator's settings otherwise as given). Never for a real pool.
    #[must_use]
    pub fn with_emulator_credentials(mut self) -> Self {
        self.emulator_credentials = true;
        self
    }

    /// Sends every call to `endpoint_url` instead (an emulator, a VPC endpoint). The caller
    /// checks it: `GetUser` sends users' access tokens there.
    #[must_use]
    pub fn endpoint_url(mut self, endpoint_url: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint_url.into());
        self
    }

    /// Time to establish a connection (default 2 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time for one attempt, connecting included (default 3 s).
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Time for a whole operation, every attempt and backoff included (default 10 s).
    #[must_use]
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// At most this many attempts per operation (default 3; 1: no retries).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The endpoint override, when there is one.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }
}

/// The SDK client, for any pool: provisioning (pools, app clients, groups) and password
/// sign-in for tooling and tests. [`CognitoClient::user_pool`] gives the [`UserPool`] of one
/// pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CognitoClient {
    client: Client,
}

impl CognitoClient {
    /// A client per `settings` (reads the AWS configuration files and environment once).
    pub async fn new(settings: &ClientSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(settings.connect_timeout)
                    .operation_attempt_timeout(settings.attempt_timeout)
                    .operation_timeout(settings.operation_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts));
        if settings.emulator_credentials {
            loader = loader
                .credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_cognitoidentityprovider::config::Builder::from(&shared);
        if let Some(url) = &settings.endpoint_url {
            config = config.endpoint_url(url.trim_end_matches('/'));
        }
        Self {
            client: Client::from_conf(config.build()),
        }
    }

    /// The [`UserPool`] of `pool`.
    pub fn user_pool(&self, pool: UserPoolId) -> SdkUserPool {
        SdkUserPool {
            client: self.client.clone(),
            pool,
        }
    }

    /// `CreateUserPool` with the mutable custom attribute `tenant` (`custom:tenant`).
    pub async fn create_user_pool(&self, name: &str) -> Result<UserPoolId, CognitoError> {
        const ACTION: &str = "CreateUserPool";
        let answer = self
            .client
            .create_user_pool()
            .pool_name(name)
            .schema(
                SchemaAttributeType::builder()
                    .name("tenant")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build(),
            )
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        let id = answer.user_pool().and_then(|pool| pool.id()).ok_or(
            CognitoError::UnexpectedAnswer {
                action: ACTION,
                missing: "UserPool.Id",
            },
        )?;
        parse_pool_id(id, ACTION)
    }

    /// The id of the user pool named `name`, if there is one (`ListUserPools`, every page).
    pub async fn find_user_pool(&self, name: &str) -> Result<Option<UserPoolId>, CognitoError> {
        let mut next = None;
        loop {
            let answer = self
                .client
                .list_user_pools()
                .max_results(60)
                .set_next_token(next)
                .send()
                .await
                .map_err(CognitoError::from_sdk)?;
            if let Some(id) = answer
                .user_pools()
                .iter()
                .find(|pool| pool.name() == Some(name))
                .and_then(|pool| pool.id())
            {
                return parse_pool_id(id, "ListUserPools").map(Some);
            }
            next = answer.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(None);
            }
        }
    }

    /// `DeleteUserPool` (test clean-up).
    pub async fn delete_user_pool(&self, pool: &UserPoolId) -> Result<(), CognitoError> {
        self.client
            .delete_user_pool()
            .user_pool_id(pool.as_str())
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    /// `CreateUserPoolClient`: an app client without secret that allows password sign-in
    /// (`USER_PASSWORD_AUTH`, `ADMIN_USER_PASSWORD_AUTH`) and refresh; returns its id.
    pub async fn create_user_pool_client(
        &self,
        pool: &UserPoolId,
        name: &str,
    ) -> Result<String, CognitoError> {
        let answer = self
            .client
            .create_user_pool_client()
            .user_pool_id(pool.as_str())
            .client_name(name)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        answer
            .user_pool_client()
            .and_then(|client| client.client_id())
            .map(str::to_owned)
            .ok_or(CognitoError::UnexpectedAnswer {
                action: "CreateUserPoolClient",
                missing: "UserPoolClient.ClientId",
            })
    }

    /// The id of the app client named `name` in `pool`, if there is one (every page).
    pub async fn find_user_pool_client(
        &self,
        pool: &UserPoolId,
        name: &str,
    ) -> Result<Option<String>, CognitoError> {
        let mut next = None;
        loop {
            let answer = self
                .client
                .list_user_pool_clients()
                .user_pool_id(pool.as_str())
                .max_results(60)
                .set_next_token(next)
                .send()
                .await
                .map_err(CognitoError::from_sdk)?;
            if let Some(id) = answer
                .user_pool_clients()
                .iter()
                .find(|client| client.client_name() == Some(name))
                .and_then(|client| client.client_id())
            {
                return Ok(Some(id.to_owned()));
            }
            next = answer.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(None);
            }
        }
    }

    /// `CreateGroup`; an existing group is fine.
    pub async fn create_group(&self, pool: &UserPoolId, group: &str) -> Result<(), CognitoError> {
        let created = self
            .client
            .create_group()
            .user_pool_id(pool.as_str())
            .group_name(group)
            .send()
            .await
            .map_err(CognitoError::from_sdk);
        match created {
            Ok(_) | Err(CognitoError::GroupExists) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// `SignUp`: a user signs up by themselves with `password` and `attributes` (tooling and
    /// tests; unsigned). Answers the new user's `sub`.
    pub async fn sign_up(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
        attributes: &[Attribute],
    ) -> Result<String, CognitoError> {
        let answer = self
            .client
            .sign_up()
            .client_id(client_id)
            .username(username)
            .password(password)
            .set_user_attributes(Some(attribute_types(attributes)?))
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(answer.user_sub().to_owned())
    }

    /// `ConfirmSignUp` with the code the user received (tooling and tests; unsigned).
    pub async fn confirm_sign_up(
        &self,
        client_id: &str,
        username: &str,
        code: &str,
    ) -> Result<(), CognitoError> {
        self.client
            .confirm_sign_up()
            .client_id(client_id)
            .username(username)
            .confirmation_code(code)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    /// `InitiateAuth` with `USER_PASSWORD_AUTH` (the app client must allow it).
    pub async fn sign_in(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> Result<SignIn, CognitoError> {
        let answer = self
            .client
            .initiate_auth()
            .client_id(client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        sign_in_outcome(
            answer.authentication_result(),
            answer.challenge_name(),
            answer.session(),
            "InitiateAuth",
        )
    }

    /// `InitiateAuth` with `REFRESH_TOKEN_AUTH`: new access and ID tokens (no refresh token).
    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<Tokens, CognitoError> {
        let answer = self
            .client
            .initiate_auth()
            .client_id(client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        match sign_in_outcome(
            answer.authentication_result(),
            answer.challenge_name(),
            answer.session(),
            "InitiateAuth",
        )? {
            SignIn::Tokens(tokens) => Ok(tokens),
            _ => Err(CognitoError::UnexpectedAnswer {
                action: "InitiateAuth",
                missing: "AuthenticationResult",
            }),
        }
    }

    /// `RespondToAuthChallenge` to `NEW_PASSWORD_REQUIRED`: sets `new_password` and signs in.
    pub async fn respond_to_new_password_challenge(
        &self,
        client_id: &str,
        username: &str,
        session: &str,
        new_password: &str,
    ) -> Result<SignIn, CognitoError> {
        let answer = self
            .client
            .respond_to_auth_challenge()
            .client_id(client_id)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session(session)
            .challenge_responses("USERNAME", username)
            .challenge_responses("NEW_PASSWORD", new_password)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        sign_in_outcome(
            answer.authentication_result(),
            answer.challenge_name(),
            answer.session(),
            "RespondToAuthChallenge",
        )
    }

    /// `GlobalSignOut` with the user's own access token: revokes their refresh tokens, and
    /// their access tokens then fail `GetUser`.
    pub async fn global_sign_out(&self, access_token: &str) -> Result<(), CognitoError> {
        self.client
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    /// `RevokeToken`: revokes a refresh token and the access tokens issued from it. (moto 5.2
    /// answers HTTP 500: [`CognitoError::Unavailable`].)
    pub async fn revoke_token(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<(), CognitoError> {
        self.client
            .revoke_token()
            .client_id(client_id)
            .token(refresh_token)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }
}

/// The [`UserPool`] of one pool, on the AWS SDK. Admin calls are SigV4-signed with the
/// credentials of [`ClientSettings`]; `GetUser` is unsigned. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SdkUserPool {
    client: Client,
    pool: UserPoolId,
}

impl SdkUserPool {
    /// `AdminSetUserPassword`: a permanent password confirms the user (tooling, tests).
    pub async fn admin_set_user_password(
        &self,
        username: &str,
        password: &str,
        permanent: bool,
    ) -> Result<(), CognitoError> {
        self.client
            .admin_set_user_password()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .password(password)
            .permanent(permanent)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    /// `AdminInitiateAuth` with `ADMIN_USER_PASSWORD_AUTH` (signed; the app client must allow it).
    pub async fn admin_sign_in(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> Result<SignIn, CognitoError> {
        let answer = self
            .client
            .admin_initiate_auth()
            .user_pool_id(self.pool.as_str())
            .client_id(client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        sign_in_outcome(
            answer.authentication_result(),
            answer.challenge_name(),
            answer.session(),
            "AdminInitiateAuth",
        )
    }
}

#[async_trait::async_trait]
impl UserPool for SdkUserPool {
    fn pool_id(&self) -> &UserPoolId {
        &self.pool
    }

    async fn get_user(&self, access_token: &str) -> Result<User, CognitoError> {
        let answer = self
            .client
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        user(
            answer.username().to_owned(),
            answer.user_attributes(),
            None,
            None,
            "GetUser",
        )
    }

    async fn admin_get_user(&self, username: &str) -> Result<User, CognitoError> {
        let answer = self
            .client
            .admin_get_user()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        user(
            answer.username().to_owned(),
            answer.user_attributes(),
            Some(answer.enabled()),
            answer
                .user_status()
                .map(|s| UserStatus::from_name(s.as_str())),
            "AdminGetUser",
        )
    }

    async fn admin_create_user(&self, new: &NewUser) -> Result<User, CognitoError> {
        let mut request = self
            .client
            .admin_create_user()
            .user_pool_id(self.pool.as_str())
            .username(new.username())
            .set_user_attributes(Some(attribute_types(new.attributes())?))
            .set_temporary_password(new.chosen_temporary_password().map(str::to_owned));
        request = match new.delivery_kind() {
            Delivery::Email => request.desired_delivery_mediums(DeliveryMediumType::Email),
            Delivery::Suppress => request.message_action(MessageActionType::Suppress),
        };
        let answer = request.send().await.map_err(CognitoError::from_sdk)?;
        let created = answer.user().ok_or(CognitoError::UnexpectedAnswer {
            action: "AdminCreateUser",
            missing: "User",
        })?;
        user(
            created.username().unwrap_or(new.username()).to_owned(),
            created.attributes(),
            Some(created.enabled()),
            created
                .user_status()
                .map(|s| UserStatus::from_name(s.as_str())),
            "AdminCreateUser",
        )
    }

    async fn admin_update_user_attributes(
        &self,
        username: &str,
        attributes: &[Attribute],
    ) -> Result<(), CognitoError> {
        self.client
            .admin_update_user_attributes()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .set_user_attributes(Some(attribute_types(attributes)?))
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    async fn admin_add_user_to_group(
        &self,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoError> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .group_name(group)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    async fn admin_remove_user_from_group(
        &self,
        username: &str,
        group: &str,
    ) -> Result<(), CognitoError> {
        self.client
            .admin_remove_user_from_group()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .group_name(group)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    async fn admin_list_groups_for_user(
        &self,
        username: &str,
    ) -> Result<Vec<String>, CognitoError> {
        let mut groups = Vec::new();
        let mut next = None;
        loop {
            let answer = self
                .client
                .admin_list_groups_for_user()
                .user_pool_id(self.pool.as_str())
                .username(username)
                .limit(60)
                .set_next_token(next)
                .send()
                .await
                .map_err(CognitoError::from_sdk)?;
            groups.extend(
                answer
                    .groups()
                    .iter()
                    .filter_map(|group| group.group_name())
                    .map(str::to_owned),
            );
            next = answer.next_token().map(str::to_owned);
            if next.is_none() {
                groups.sort();
                return Ok(groups);
            }
        }
    }

    async fn admin_disable_user(&self, username: &str) -> Result<(), CognitoError> {
        self.client
            .admin_disable_user()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    async fn admin_delete_user(&self, username: &str) -> Result<(), CognitoError> {
        self.client
            .admin_delete_user()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    async fn admin_enable_user(&self, username: &str) -> Result<(), CognitoError> {
        self.client
            .admin_enable_user()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }

    async fn admin_user_global_sign_out(&self, username: &str) -> Result<(), CognitoError> {
        self.client
            .admin_user_global_sign_out()
            .user_pool_id(self.pool.as_str())
            .username(username)
            .send()
            .await
            .map_err(CognitoError::from_sdk)?;
        Ok(())
    }
}

fn parse_pool_id(id: &str, action: &'static str) -> Result<UserPoolId, CognitoError> {
    UserPoolId::parse(id).map_err(|_| CognitoError::UnexpectedAnswer {
        action,
        missing: "a well-formed user pool id",
    })
}

fn user(
    username: String,
    attributes: &[AttributeType],
    enabled: Option<bool>,
    status: Option<UserStatus>,
    action: &'static str,
) -> Result<User, CognitoError> {
    let attributes = attributes
        .iter()
        .map(|a| Attribute::new(a.name(), a.value().unwrap_or_default()))
        .collect();
    User::from_parts(username, attributes, enabled, status).ok_or(CognitoError::UnexpectedAnswer {
        action,
        missing: "the sub attribute",
    })
}

fn attribute_types(attributes: &[Attribute]) -> Result<Vec<AttributeType>, CognitoError> {
    attributes
        .iter()
        .map(|a| {
            AttributeType::builder()
                .name(&a.name)
                .value(&a.value)
                .build()
                .map_err(|error| CognitoError::InvalidParameter {
                    message: error.to_string(),
                })
        })
        .collect()
}

fn sign_in_outcome(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
    challenge: Option<&ChallengeNameType>,
    session: Option<&str>,
    action: &'static str,
) -> Result<SignIn, CognitoError> {
    if let Some(result) = result {
        let missing = |what| CognitoError::UnexpectedAnswer {
            action,
            missing: what,
        };
        return Ok(SignIn::Tokens(Tokens {
            access_token: result
                .access_token()
                .ok_or(missing("AccessToken"))?
                .to_owned(),
            id_token: result.id_token().ok_or(missing("IdToken"))?.to_owned(),
            refresh_token: result.refresh_token().map(str::to_owned),
        }));
    }
    match challenge {
        Some(ChallengeNameType::NewPasswordRequired) => Ok(SignIn::NewPasswordRequired {
            session: session
                .ok_or(CognitoError::UnexpectedAnswer {
                    action,
                    missing: "Session",
                })?
                .to_owned(),
        }),
        Some(other) => Ok(SignIn::OtherChallenge {
            name: other.as_str().to_owned(),
        }),
        None => Err(CognitoError::UnexpectedAnswer {
            action,
            missing: "AuthenticationResult or ChallengeName",
        }),
    }
}
