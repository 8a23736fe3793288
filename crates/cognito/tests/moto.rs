//! The SDK implementation against the Cognito emulator (moto), each test in a pool of its own.
//!
//! The emulator is at `COGNITO_EMULATOR_URL` (default `http://127.0.0.1:5000`; `just emulator`);
//! without one every test fails at once, never skips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

use std::time::Duration;

use cognigraph_cognito::{
    Attribute, ClientSettings, CognitoClient, CognitoError, Delivery, NewUser, SdkUserPool, SignIn,
    Tokens, UserPool, UserStatus,
};

const PASSWORD: &str = "Moto-test-1";

/// Asserts that `$result` is an error matching `$pattern` (the error in the message).
macro_rules! assert_error {
    ($result:expr, $pattern:pat) => {{
        let error = $result.unwrap_err();
        assert!(matches!(error, $pattern), "{error:?}");
    }};
}

fn emulator_url() -> String {
    std::env::var("COGNITO_EMULATOR_URL").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

/// A pool of the test's own, with an app client that allows password sign-in.
struct Pool {
    api: CognitoClient,
    users: SdkUserPool,
    client_id: String,
}

impl Pool {
    async fn create() -> Self {
        let api = CognitoClient::new(&ClientSettings::emulator(emulator_url())).await;
        let name = format!("crate-{}", uuid::Uuid::new_v4().simple());
        let pool_id = api.create_user_pool(&name).await.unwrap_or_else(|error| {
            panic!(
                "no Cognito emulator at {}? run `just emulator`: {error:?}",
                emulator_url()
            )
        });
        let client_id = api
            .create_user_pool_client(&pool_id, &format!("{name}-app"))
            .await
            .unwrap();
        for group in ["admin", "viewer"] {
            api.create_group(&pool_id, group).await.unwrap();
        }
        Self {
            users: api.user_pool(pool_id),
            api,
            client_id,
        }
    }

    /// A confirmed user of tenant `acme` with a permanent password, signed in.
    async fn signed_in(&self, username: &str) -> Tokens {
        let user = NewUser::new(username)
            .tenant("acme")
            .email(format!("{username}@example.com"))
            .delivery(Delivery::Suppress);
        self.users.admin_create_user(&user).await.unwrap();
        self.users
            .admin_set_user_password(username, PASSWORD, true)
            .await
            .unwrap();
        self.sign_in(username, PASSWORD).await.unwrap()
    }

    async fn sign_in(&self, username: &str, password: &str) -> Result<Tokens, CognitoError> {
        self.api
            .sign_in(&self.client_id, username, password)
            .await
            .and_then(SignIn::into_tokens)
    }
}

#[tokio::test]
async fn get_user_describes_the_signed_in_user() {
    let pool = Pool::create().await;
    let tokens = pool.signed_in("ann").await;
    let user = pool.users.get_user(&tokens.access_token).await.unwrap();
    assert_eq!(user.username(), "ann");
    assert_eq!(user.tenant(), Some("acme"));
    assert_eq!(user.email(), Some("ann@example.com"));
    let admin_view = pool.users.admin_get_user("ann").await.unwrap();
    assert_eq!(user.sub(), admin_view.sub());
    assert_eq!(admin_view.enabled(), Some(true));
    assert_eq!(admin_view.status(), Some(&UserStatus::Confirmed));
    assert_eq!(user.enabled(), None, "GetUser does not say");
}

#[tokio::test]
async fn a_signed_out_token_is_not_authorized() {
    let pool = Pool::create().await;
    let tokens = pool.signed_in("leaver").await;
    pool.api
        .global_sign_out(&tokens.access_token)
        .await
        .unwrap();
    assert_error!(
        pool.users.get_user(&tokens.access_token).await,
        CognitoError::NotAuthorized { .. }
    );
    let refresh = tokens.refresh_token.as_deref().unwrap();
    assert_error!(
        pool.api.refresh(&pool.client_id, refresh).await,
        CognitoError::NotAuthorized { .. }
    );
    // A token that is not Cognito's at all.
    assert_error!(
        pool.users.get_user("not-a-token").await,
        CognitoError::NotAuthorized { .. }
    );
}

#[tokio::test]
async fn an_admin_global_sign_out_revokes_every_token_of_the_user() {
    let pool = Pool::create().await;
    let first = pool.signed_in("twice").await;
    let second = pool.sign_in("twice", PASSWORD).await.unwrap();
    pool.users
        .admin_user_global_sign_out("twice")
        .await
        .unwrap();
    for tokens in [&first, &second] {
        assert_error!(
            pool.users.get_user(&tokens.access_token).await,
            CognitoError::NotAuthorized { .. }
        );
    }
    // Not locked out: signing in again works.
    let again = pool.sign_in("twice", PASSWORD).await.unwrap();
    pool.users.get_user(&again.access_token).await.unwrap();
}

#[tokio::test]
async fn the_token_of_a_deleted_user_is_user_not_found() {
    let pool = Pool::create().await;
    let tokens = pool.signed_in("gone").await;
    pool.users.admin_delete_user("gone").await.unwrap();
    assert_error!(
        pool.users.get_user(&tokens.access_token).await,
        CognitoError::UserNotFound
    );
    assert_error!(
        pool.users.admin_get_user("gone").await,
        CognitoError::UserNotFound
    );
}

#[tokio::test]
async fn an_invited_user_sets_a_new_password_at_first_sign_in() {
    let pool = Pool::create().await;
    let invited = NewUser::new("newbie")
        .tenant("acme")
        .email("newbie@example.com")
        .delivery(Delivery::Email)
        .temporary_password("Temporary-1");
    let created = pool.users.admin_create_user(&invited).await.unwrap();
    assert_eq!(created.username(), "newbie");
    assert_eq!(created.tenant(), Some("acme"));
    assert_eq!(created.status(), Some(&UserStatus::ForceChangePassword));

    assert_error!(
        pool.users.admin_create_user(&invited).await,
        CognitoError::UsernameExists
    );

    let session = match pool
        .api
        .sign_in(&pool.client_id, "newbie", "Temporary-1")
        .await
        .unwrap()
    {
        SignIn::NewPasswordRequired { session } => session,
        other => panic!("expected NEW_PASSWORD_REQUIRED, got {other:?}"),
    };
    let tokens = pool
        .api
        .respond_to_new_password_challenge(&pool.client_id, "newbie", &session, "Chosen-pass-1")
        .await
        .unwrap()
        .into_tokens()
        .unwrap();
    let user = pool.users.get_user(&tokens.access_token).await.unwrap();
    assert_eq!(user.tenant(), Some("acme"));
    let signed = pool
        .users
        .admin_sign_in(&pool.client_id, "newbie", "Chosen-pass-1")
        .await
        .unwrap();
    assert!(matches!(signed, SignIn::Tokens(_)), "{signed:?}");
    assert_eq!(
        pool.users.admin_get_user("newbie").await.unwrap().status(),
        Some(&UserStatus::Confirmed)
    );
}

#[tokio::test]
async fn groups_attributes_and_disabling_round_trip() {
    let pool = Pool::create().await;
    let tokens = pool.signed_in("member").await;
    let groups = async || {
        pool.users
            .admin_list_groups_for_user("member")
            .await
            .unwrap()
    };
    for group in ["viewer", "admin"] {
        pool.users
            .admin_add_user_to_group("member", group)
            .await
            .unwrap();
    }
    assert_eq!(groups().await, ["admin", "viewer"]);
    pool.users
        .admin_remove_user_from_group("member", "admin")
        .await
        .unwrap();
    assert_eq!(groups().await, ["viewer"]);
    assert_error!(
        pool.users
            .admin_add_user_to_group("member", "no-such-group")
            .await,
        CognitoError::ResourceNotFound { .. }
    );

    pool.users
        .admin_update_user_attributes("member", &[Attribute::new("custom:tenant", "globex")])
        .await
        .unwrap();
    assert_eq!(
        pool.users.admin_get_user("member").await.unwrap().tenant(),
        Some("globex")
    );

    pool.users.admin_disable_user("member").await.unwrap();
    assert_eq!(
        pool.users.admin_get_user("member").await.unwrap().enabled(),
        Some(false)
    );
    // A disabled user's existing access token is refused too.
    assert_error!(
        pool.users.get_user(&tokens.access_token).await,
        CognitoError::NotAuthorized { .. }
    );
    assert_error!(
        pool.sign_in("member", PASSWORD).await,
        CognitoError::NotAuthorized { .. }
    );
    pool.users.admin_enable_user("member").await.unwrap();
    pool.sign_in("member", PASSWORD).await.unwrap();

    assert_error!(
        pool.users.admin_get_user("nobody").await,
        CognitoError::UserNotFound
    );
    assert_error!(
        pool.sign_in("member", "wrong-password").await,
        CognitoError::NotAuthorized { .. }
    );
}

#[tokio::test]
async fn provisioning_finds_what_it_created() {
    let pool = Pool::create().await;
    let pool_id = pool.users.pool_id().clone();
    pool.api.create_group(&pool_id, "admin").await.unwrap(); // exists: fine
    let client = pool
        .api
        .find_user_pool_client(&pool_id, "no-such-client")
        .await
        .unwrap();
    assert_eq!(client, None);
    pool.api.delete_user_pool(&pool_id).await.unwrap();
    assert_error!(
        pool.users.admin_get_user("anyone").await,
        CognitoError::ResourceNotFound { .. }
    );
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap();
    let settings = ClientSettings::emulator(format!("http://{closed}"))
        .connect_timeout(Duration::from_millis(200))
        .max_attempts(1);
    let users = CognitoClient::new(&settings)
        .await
        .user_pool(cognigraph_cognito::UserPoolId::parse("us-east-1_closed").unwrap());
    assert_error!(
        users.get_user("any-token").await,
        CognitoError::Unavailable { .. }
    );
}
