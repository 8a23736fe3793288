//! The world of an integration test: its own user pool in the Cognito emulator (moto), its own
//! users and groups, its own SQLite database, and cognigraph in-process on port 0.
//!
//! The emulator is at `COGNITO_EMULATOR_URL` (default `http://127.0.0.1:5000`); `just test`
//! starts it. Without it every test fails at once saying to run `just emulator`: never a skip.

#![warn(missing_docs)]

use std::sync::Arc;

use cognigraph_cognito::{
    ClientSettings, CognitoClient, Delivery, NewUser, SdkUserPool, Tokens, UserPool, UserPoolId,
};
use cognigraph_server::{
    config::Settings,
    dev::seed::{ROLE_GROUPS, emulated_jwks_url},
    startup::Application,
    tenancy::TenantSource,
    testing::{self, TestPool},
};
use cognigraph_token::CognitoVerifier;
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

/// Every test user's password.
pub const PASSWORD: &str = "Integration-test-1";

/// The emulator's URL.
pub fn emulator_url() -> String {
    std::env::var("COGNITO_EMULATOR_URL").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

/// Fails (never skips) when no emulator answers.
///
/// # Panics
/// When the emulator does not answer.
pub async fn require_emulator() {
    let url = format!("{}/moto-api/", emulator_url().trim_end_matches('/'));
    let answered = reqwest::get(&url)
        .await
        .is_ok_and(|r| r.status().is_success());
    assert!(
        answered,
        "no Cognito emulator answers at {url}: run `just emulator` (or `just test`, which starts it)"
    );
}

/// The SDK client of the emulator at `url` (signing with the credentials moto accepts).
pub async fn emulator_client(url: &str) -> CognitoClient {
    CognitoClient::new(&ClientSettings::emulator(url.trim_end_matches('/'))).await
}

/// A fresh user pool of the emulator with an app client and the role groups.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The emulator's URL, e.g. `http://127.0.0.1:5000`.
    pub emulator: String,
    /// The emulator's API, for any pool (provisioning, sign-in).
    pub api: CognitoClient,
    /// This pool's admin API.
    pub admin: SdkUserPool,
    /// The pool id.
    pub pool_id: String,
    /// The app client id.
    pub client_id: String,
}

impl Pool {
    /// Creates a pool with a unique name, an app client and the groups admin/editor/viewer.
    ///
    /// # Panics
    /// When the emulator is missing or refuses.
    pub async fn create() -> Self {
        require_emulator().await;
        Self::create_on(&emulator_url()).await
    }

    /// As [`Pool::create`], on the emulator at `emulator` (a test's private one, say).
    ///
    /// # Panics
    /// When the emulator refuses.
    pub async fn create_on(emulator: &str) -> Self {
        let api = emulator_client(emulator).await;
        let name = format!("it-{}", uuid::Uuid::new_v4().simple());
        let pool_id = api.create_user_pool(&name).await.expect("CreateUserPool");
        let client_id = api
            .create_user_pool_client(&pool_id, &format!("{name}-app"))
            .await
            .expect("CreateUserPoolClient");
        for group in ROLE_GROUPS {
            api.create_group(&pool_id, group)
                .await
                .expect("CreateGroup");
        }
        Self::existing(emulator, api, pool_id, client_id)
    }

    /// A pool that exists already (seeded, say).
    pub fn existing(
        emulator: &str,
        api: CognitoClient,
        pool_id: UserPoolId,
        client_id: String,
    ) -> Self {
        Self {
            emulator: emulator.trim_end_matches('/').to_owned(),
            admin: api.user_pool(pool_id.clone()),
            api,
            pool_id: pool_id.to_string(),
            client_id,
        }
    }

    /// Creates a confirmed user (password [`PASSWORD`]) with `groups` and, when given,
    /// `custom:tenant`.
    ///
    /// # Panics
    /// When the emulator refuses.
    pub async fn user(&self, username: &str, groups: &[&str], tenant: Option<&str>) {
        let mut user = NewUser::new(username)
            .email(format!("{username}@example.com"))
            .delivery(Delivery::Suppress);
        if let Some(tenant) = tenant {
            user = user.tenant(tenant);
        }
        self.admin
            .admin_create_user(&user)
            .await
            .expect("AdminCreateUser");
        self.admin
            .admin_set_user_password(username, PASSWORD, true)
            .await
            .expect("AdminSetUserPassword");
        for group in groups {
            self.admin
                .admin_add_user_to_group(username, group)
                .await
                .expect("AdminAddUserToGroup");
        }
    }

    /// Signs `username` in (USER_PASSWORD_AUTH).
    ///
    /// # Panics
    /// When the emulator refuses or asks a challenge.
    pub async fn sign_in(&self, username: &str) -> Tokens {
        self.api
            .sign_in(&self.client_id, username, PASSWORD)
            .await
            .and_then(cognigraph_cognito::SignIn::into_tokens)
            .expect("InitiateAuth")
    }
}

/// The database of one test: a SQLite file in a temporary folder, or, when `TEST_POSTGRES_URL`
/// (an admin URL) is set, a fresh PostgreSQL database on that server. (`just test` sets it to a
/// throwaway cluster, deleted afterwards, so the databases are not dropped one by one.)
#[derive(Debug)]
pub struct TestDatabase {
    /// The `DATABASE_URL` for cognigraph.
    pub url: String,
    _folder: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Creates the database.
    ///
    /// # Panics
    /// When the folder or the PostgreSQL database cannot be created.
    pub async fn create() -> Self {
        match std::env::var("TEST_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let database =
                    cognigraph_domain::testing::create_postgres_database(&admin_url, "it")
                        .await
                        .expect("a new database on TEST_POSTGRES_URL");
                Self {
                    url: database.url,
                    _folder: None,
                }
            }
            _ => {
                let folder = tempfile::tempdir().expect("temporary folder");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    folder.path().join("cognigraph.db").display()
                );
                Self {
                    url,
                    _folder: Some(folder),
                }
            }
        }
    }
}

/// cognigraph serving `pool` on 127.0.0.1 port 0, with its own database ([`TestDatabase`]).
#[derive(Debug)]
pub struct App {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    _database: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl App {
    /// Starts cognigraph for `pool` (keys and GetUser from the pool's own emulator): tenants from
    /// GetUser (`auto`, as moto's access tokens have no `custom:tenant`), userinfo cache
    /// `userinfo_cache_secs`, then whatever `configure` changes.
    ///
    /// # Panics
    /// When the app cannot start.
    pub async fn start(
        pool: &Pool,
        userinfo_cache_secs: u64,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::start_on(
            pool,
            TestDatabase::create().await,
            userinfo_cache_secs,
            configure,
        )
        .await
    }

    /// As [`App::start`], on a database the test has prepared (it is deleted with the app).
    ///
    /// # Panics
    /// When the app cannot start.
    pub async fn start_on(
        pool: &Pool,
        database: TestDatabase,
        userinfo_cache_secs: u64,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let emulator = pool.emulator.clone();
        let test_pool = TestPool {
            user_pool_id: pool.pool_id.clone(),
            client_id: pool.client_id.clone(),
            jwks_url: emulated_jwks_url(&emulator, &pool.pool_id),
        };
        let mut settings = testing::settings(&test_pool, &database.url, TenantSource::Auto);
        settings.cognito.endpoint = Some(format!("{}/", emulator.trim_end_matches('/')));
        settings.userinfo_cache_secs = userinfo_cache_secs;
        configure(&mut settings);
        let verifier = Arc::new(
            CognitoVerifier::new(settings.cognito.verifier_config().expect("pool settings"))
                .expect("verifier"),
        );
        // The service's own client, signing admin calls (user management) with the credentials
        // the emulator accepts: the standard chain has none here.
        let client_settings = settings
            .cognito
            .client_settings()
            .expect("client settings")
            .with_emulator_credentials();
        let user_pool = Arc::new(
            CognitoClient::new(&client_settings)
                .await
                .user_pool(settings.cognito.pool_id().expect("a pool id")),
        );
        let app = Application::build_with_parts(&settings, verifier, user_pool)
            .await
            .expect("application");
        app.hydrate().await;
        let address = format!("http://{}", app.local_addr());
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = signal.await;
        }));
        Self {
            address,
            client: reqwest::Client::new(),
            _database: database,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// POSTs a GraphQL query with `token` as the Bearer token; the response as it came.
    ///
    /// # Panics
    /// When the request fails at the HTTP level.
    pub async fn post_graphql(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql")
    }

    /// POSTs a GraphQL query with `token`; returns the status and the JSON body.
    ///
    /// # Panics
    /// When the request fails at the HTTP level or the body is not JSON.
    pub async fn graphql(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self.post_graphql(token, query, variables).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Stops the app gracefully.
    ///
    /// # Panics
    /// When the server task failed.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server");
        }
    }
}

/// The `extensions.code` of each error (the server's test helper).
pub use cognigraph_server::testing::error_codes;
