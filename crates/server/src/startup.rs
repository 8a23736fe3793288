//! Building and running the application: `Application::build(settings)` binds the listener
//! (port 0 allowed, the bound port reported), `run_until` serves until the shutdown future
//! resolves and lets in-flight requests finish.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use cognigraph_cognito::{CognitoClient, UserPool};
use cognigraph_token::{CognitoVerifier, ConfigError};

use cognigraph_domain::{Db, DomainError};

use crate::config::SettingError;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    authz::RoleGroups,
    config::{IntrospectionPolicy, MigrateOnStart, Settings},
    errors::chain,
    graphql::{self, DocumentCache, SchemaOptions},
    http::{self, AppState, ConnectionLimits, GraphiqlOptions},
    member_admin::MemberAdmin,
    membership::Membership,
    metrics::Metrics,
    tenancy::TenantResolver,
};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A Cognito setting is unusable.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The verifier could not be built (its HTTP client).
    #[error("cannot build the token verifier")]
    Verifier(#[from] ConfigError),
    /// The database cannot be opened or migrated.
    #[error("the database cannot be opened or migrated")]
    Database(#[from] DomainError),
    /// Migrations are pending and `MIGRATE_ON_START` does not let this start apply them.
    #[error(
        "the database schema is behind: {count} migration(s) pending ({names}); \
         run `cognigraph migrate` with the same DATABASE_URL, or start with `--migrate` \
         (MIGRATE_ON_START=true){why}",
        count = .pending.len(),
        names = .pending.join(", "),
        why = match .setting {
            MigrateOnStart::Auto => "; MIGRATE_ON_START=auto migrates only SQLite by itself",
            _ => "",
        }
    )]
    MigrationsPending {
        /// The pending migrations, oldest first.
        pending: Vec<String>,
        /// The setting that kept them from being applied.
        setting: MigrateOnStart,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound, ready-to-run service: the listeners and the routers over one `http::AppState`,
/// which is what the handlers share.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    /// The metrics listener, its address and router, when METRICS_ADDR is set.
    metrics: Option<(TcpListener, SocketAddr, axum::Router)>,
    connections: ConnectionLimits,
    verifier: Arc<CognitoVerifier>,
    db: Db,
}

impl Application {
    /// Builds the verifier and schema and binds the listener. Fetches nothing yet.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let verifier = Arc::new(CognitoVerifier::new(settings.cognito.verifier_config()?)?);
        Self::build_with_verifier(settings, verifier).await
    }

    /// As [`Application::build`], with a verifier built by the caller (tests inject clocks).
    pub async fn build_with_verifier(
        settings: &Settings,
        verifier: Arc<CognitoVerifier>,
    ) -> Result<Self, StartupError> {
        let user_pool = Self::user_pool(settings).await?;
        Self::build_with_parts(settings, verifier, user_pool).await
    }

    /// The user pool on the AWS SDK, per the Cognito settings (region, COGNITO_ENDPOINT).
    pub async fn user_pool(settings: &Settings) -> Result<Arc<dyn UserPool>, StartupError> {
        let client = CognitoClient::new(&settings.cognito.client_settings()?).await;
        Ok(Arc::new(client.user_pool(settings.cognito.pool_id()?)))
    }

    /// As [`Application::build`], with a verifier and a user pool built by the caller (tests
    /// inject clocks, and an in-memory user pool instead of Cognito).
    pub async fn build_with_parts(
        settings: &Settings,
        verifier: Arc<CognitoVerifier>,
        user_pool: Arc<dyn UserPool>,
    ) -> Result<Self, StartupError> {
        let db = Db::connect(settings.database_url.expose()).await?;
        prepare_database(&db, settings.migrate).await?;
        let membership = Membership::new(db.clone());
        let role_groups = RoleGroups::new(
            &settings.roles.admin_group,
            &settings.roles.editor_group,
            &settings.roles.viewer_group,
        );
        let member_admin = MemberAdmin::new(
            settings.user_management,
            Arc::clone(&user_pool),
            role_groups.clone(),
            membership.clone(),
        );
        let schema = graphql::build(
            &SchemaOptions {
                max_depth: settings.limits.max_depth,
                max_introspection_depth: settings.limits.max_introspection_depth,
                max_complexity: settings.limits.max_complexity,
                max_aliases: settings.limits.max_aliases,
                introspection_off: settings.introspection == IntrospectionPolicy::Off,
                trace_resolvers: settings.trace_export().is_some(),
            },
            Some(Arc::clone(&verifier)),
            Some(member_admin),
        );
        let state = Arc::new(AppState {
            membership,
            schema,
            documents: DocumentCache::default(),
            verifier: Arc::clone(&verifier),
            tenants: TenantResolver::new(
                settings.tenant_source,
                user_pool,
                Duration::from_secs(settings.userinfo_cache_secs),
            ),
            revocation_check: settings.revocation_check,
            role_groups,
            limits: settings.limits.clone(),
            introspection: settings.introspection,
            metrics: Metrics::default(),
        });
        let graphiql = GraphiqlOptions {
            default_headers: settings
                .graphiql_default_headers
                .as_ref()
                .map(|headers| headers.expose().to_owned()),
        };
        let metrics_router = http::metrics_router(Arc::clone(&state));
        let router = http::router(state, graphiql, &settings.cors_origins);
        let (listener, addr) = bind(settings.listen_addr).await?;
        let metrics = match settings.metrics_addr {
            Some(metrics_addr) => {
                let (listener, addr) = bind(metrics_addr).await?;
                Some((listener, addr, metrics_router))
            }
            None => None,
        };
        Ok(Self {
            listener,
            addr,
            router,
            metrics,
            connections: settings.connections.limits(),
            verifier,
            db,
        })
    }

    /// The API's router, for callers that drive it in-process (`tower::ServiceExt::oneshot`,
    /// the fuzz target) instead of through the listener.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The address actually bound (the port is known even when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address `/metrics` is served on, when METRICS_ADDR is set (the port actually bound).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr, _)| *addr)
    }

    /// Preloads the signing keys; a failure is logged and the service still starts (it answers
    /// 503 until the keys can be had, and `/readyz` says so).
    pub async fn hydrate(&self) {
        match self.verifier.hydrate().await {
            Ok(()) => tracing::info!("signing keys loaded"),
            Err(error) => tracing::warn!(error = %chain(&error), "signing keys not loaded yet"),
        }
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests: the listeners close,
    /// connections with no request in flight close at once, the others after their answer.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        tracing::info!(addr = %self.addr, "listening");
        let api = http::serve(
            self.listener,
            self.router,
            self.connections,
            stopped.clone(),
        );
        let metrics = async {
            if let Some((listener, addr, router)) = self.metrics {
                tracing::info!(%addr, "serving /metrics");
                http::serve(listener, router, self.connections, stopped).await;
            }
        };
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        tokio::join!(signal, api, metrics);
        Ok(())
    }
}

/// Binds `addr` and reports the address actually bound.
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartupError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| StartupError::Bind { addr, source })?;
    Ok((listener, bound))
}

/// Applies pending migrations when `setting` says so for this database, else refuses to go on
/// while any is pending: a service on a schema that is behind would answer every tenant request
/// with an error.
async fn prepare_database(db: &Db, setting: MigrateOnStart) -> Result<(), StartupError> {
    match db.bypasses_row_security().await {
        Ok(false) => {}
        Ok(true) => tracing::warn!(
            "DATABASE_URL's role is a superuser or has BYPASSRLS: row-level security does not \
             apply to it, so tenant isolation rests on the queries alone; serve as an \
             application role (README, \"PostgreSQL roles\")"
        ),
        Err(error) => tracing::warn!(?error, "cannot tell whether row-level security applies"),
    }
    if setting.applies_on(db.is_sqlite()) {
        db.migrate().await?;
        tracing::info!("database migrations applied");
        return Ok(());
    }
    let pending = db.pending_migrations().await?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(StartupError::MigrationsPending { pending, setting })
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down; finishing in-flight requests");
}
