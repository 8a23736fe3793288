//! Settings, read once from the command line and the environment (`--help` lists each).
//!
//! Security settings have no silent defaults: the user pool and its app clients must be named.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, ValueEnum};
use cognigraph_cognito::{ClientSettings, UserPoolId};
use cognigraph_token::{ConfigError, TokenUse, UserPoolConfig, VerifierConfig};

use crate::tenancy::{RevocationCheck, TenantSource};

/// Which Cognito user pool and app clients to trust.
#[derive(Debug, Clone, Args)]
pub struct CognitoSettings {
    /// AWS region of the user pool, e.g. eu-west-1.
    #[arg(long, env = "COGNITO_REGION")]
    pub region: String,

    /// User pool id, `<region>_<alphanumerics>`.
    #[arg(long, env = "COGNITO_USER_POOL_ID")]
    pub user_pool_id: String,

    /// Allowed app client id(s), comma-separated. Access tokens of other clients are refused.
    #[arg(
        long,
        env = "COGNITO_CLIENT_ID",
        value_delimiter = ',',
        required = true
    )]
    pub client_id: Vec<String>,

    /// Issuer override (emulators). Default: https://cognito-idp.{region}.amazonaws.com/{pool}.
    #[arg(long, env = "COGNITO_ISSUER")]
    pub issuer: Option<String>,

    /// JWKS URL override. Default: {issuer}/.well-known/jwks.json.
    #[arg(long, env = "COGNITO_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Cognito API endpoint override (emulators), for GetUser. https, or http to a loopback
    /// host (the caller's token is sent there). Default: https://cognito-idp.{region}.amazonaws.com/
    /// (AWS_ENDPOINT_URL* variables do not change it).
    #[arg(long = "cognito-endpoint", env = "COGNITO_ENDPOINT")]
    pub endpoint: Option<String>,

    /// Also accept the issuer form https://issuer-cognito-idp.{region}.amazonaws.com/{pool}.
    #[arg(long, env = "COGNITO_ACCEPT_ISSUER_SUBDOMAIN", default_value_t = false)]
    pub accept_issuer_subdomain: bool,

    /// How many verified access tokens are remembered (each until its expiry), so that a
    /// token seen again skips the signature check; 0: none. Keyed by the SHA-256 of the whole
    /// token; expiry and the key are checked again on every use.
    #[arg(long, env = "TOKEN_CACHE_ENTRIES", default_value_t = cognigraph_token::DEFAULT_VERIFIED_TOKEN_CACHE)]
    pub token_cache_entries: u64,
}

/// A setting that is present but unusable, named by its environment variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {variable}: {problem}")]
pub struct SettingError {
    /// The environment variable (the flag is its lower-case, dashed form).
    pub variable: &'static str,
    /// What is wrong with the value.
    pub problem: ConfigError,
}

impl CognitoSettings {
    /// The Cognito API endpoint, where GetUser sends the caller's access token: the override, or
    /// the region's public one. The override must pass the rule of COGNITO_JWKS_URL (`https://`,
    /// or `http://` to a loopback host), checked by the token crate's
    /// [`UserPoolConfig::with_jwks_url`] so that the rule lives in one place.
    pub fn api_endpoint(&self) -> Result<String, SettingError> {
        let Some(endpoint) = &self.endpoint else {
            return Ok(format!(
                "https://cognito-idp.{}.amazonaws.com/",
                self.region
            ));
        };
        // The caller's access token goes there: https, or http to loopback only.
        cognigraph_token::https_or_loopback(endpoint).map_err(|problem| SettingError {
            variable: "COGNITO_ENDPOINT",
            problem,
        })?;
        Ok(endpoint.clone())
    }

    /// How the service's Cognito client reaches the pool's API: the region, always an explicit
    /// endpoint ([`CognitoSettings::api_endpoint`], so no `AWS_ENDPOINT_URL*` variable can send
    /// access tokens around its check), 1.5 s to connect, 3 s per attempt, 5 s per operation,
    /// and at most 2 attempts (the SDK's standard retry mode: transient errors only, with
    /// backoff, within a retry quota). Credentials (for admin calls only) come from the
    /// standard AWS chain.
    pub fn client_settings(&self) -> Result<ClientSettings, SettingError> {
        Ok(ClientSettings::new(&self.region)
            .endpoint_url(self.api_endpoint()?)
            .connect_timeout(Duration::from_millis(1500))
            .attempt_timeout(Duration::from_secs(3))
            .operation_timeout(Duration::from_secs(5))
            .max_attempts(2))
    }

    /// The user pool id, as the Cognito client takes it.
    pub fn pool_id(&self) -> Result<UserPoolId, SettingError> {
        UserPoolId::parse(&self.user_pool_id).map_err(|_| SettingError {
            variable: "COGNITO_USER_POOL_ID",
            problem: ConfigError::InvalidPoolId(self.user_pool_id.clone()),
        })
    }

    /// The pool and its app clients, each problem named by its variable.
    fn pool_config(&self) -> Result<UserPoolConfig, SettingError> {
        UserPoolConfig::new(&self.region, &self.user_pool_id, &self.client_id).map_err(|problem| {
            let variable = match problem {
                ConfigError::InvalidRegion(_) => "COGNITO_REGION",
                ConfigError::InvalidPoolId(_) => "COGNITO_USER_POOL_ID",
                _ => "COGNITO_CLIENT_ID",
            };
            SettingError { variable, problem }
        })
    }

    /// The verifier configuration: access tokens only, aws-jwt-verify's tolerances.
    pub fn verifier_config(&self) -> Result<VerifierConfig, SettingError> {
        let named = |variable: &'static str| move |problem| SettingError { variable, problem };
        let mut pool = self
            .pool_config()?
            .accept_issuer_subdomain(self.accept_issuer_subdomain);
        if let Some(issuer) = &self.issuer {
            pool = pool.with_issuer(issuer).map_err(named("COGNITO_ISSUER"))?;
        }
        if let Some(url) = &self.jwks_url {
            pool = pool.with_jwks_url(url).map_err(named("COGNITO_JWKS_URL"))?;
        }
        Ok(VerifierConfig::new(vec![pool], TokenUse::Access)
            .map_err(named("COGNITO_USER_POOL_ID"))?
            .with_verified_token_cache(self.token_cache_entries))
    }
}

/// The group granting ADMIN unless `ROLE_GROUP_ADMIN` names another.
pub const DEFAULT_ADMIN_GROUP: &str = cognigraph_domain::Role::Admin.default_group();
/// The group granting EDITOR unless `ROLE_GROUP_EDITOR` names another.
pub const DEFAULT_EDITOR_GROUP: &str = cognigraph_domain::Role::Editor.default_group();
/// The group granting VIEWER unless `ROLE_GROUP_VIEWER` names another.
pub const DEFAULT_VIEWER_GROUP: &str = cognigraph_domain::Role::Viewer.default_group();

/// The Cognito groups that grant each role. A user in several gets the highest role.
#[derive(Debug, Clone, Args)]
pub struct RoleGroupSettings {
    /// Group granting ADMIN (which includes EDITOR and VIEWER).
    #[arg(long, env = "ROLE_GROUP_ADMIN", default_value = DEFAULT_ADMIN_GROUP)]
    pub admin_group: String,
    /// Group granting EDITOR (which includes VIEWER).
    #[arg(long, env = "ROLE_GROUP_EDITOR", default_value = DEFAULT_EDITOR_GROUP)]
    pub editor_group: String,
    /// Group granting VIEWER.
    #[arg(long, env = "ROLE_GROUP_VIEWER", default_value = DEFAULT_VIEWER_GROUP)]
    pub viewer_group: String,
}

/// Who may introspect the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntrospectionPolicy {
    /// Callers with a valid token (the default).
    Authenticated,
    /// Anyone, even without a token (development).
    Public,
    /// Nobody (production, if the schema is private).
    Off,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Limits on what one request may ask.
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Deepest field nesting allowed in a query (below `__schema` and `__type`:
    /// MAX_INTROSPECTION_DEPTH).
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 12)]
    pub max_depth: usize,
    /// Deepest field nesting allowed under `__schema` or `__type`, counted the same way. The
    /// standard introspection queries (GraphiQL 4, graphql-js 16) nest 15 deep.
    #[arg(long, env = "MAX_INTROSPECTION_DEPTH", default_value_t = 20)]
    pub max_introspection_depth: usize,
    /// Largest query complexity: each field counts 1, and a list field counts its selection
    /// times its page size (`first`, default 20). The default admits a page of 20 projects with
    /// their first 10 tasks and assignees (about 700) with room to spare.
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,
    /// Most aliases in one query.
    #[arg(long, env = "MAX_QUERY_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most operations in one batched POST.
    #[arg(long, env = "MAX_BATCH_SIZE", default_value_t = 10)]
    pub max_batch: usize,
    /// Largest request body in bytes (413 past it).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// Largest response body in bytes, the last line behind MAX_QUERY_COMPLEXITY: a larger
    /// answer is replaced by the error RESPONSE_TOO_LARGE (never sent in part).
    #[arg(long, env = "MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: usize,
    /// Time one request may take, in seconds.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
}

impl LimitSettings {
    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

/// Limits on connections, against clients that are slow on purpose or gone.
#[derive(Debug, Clone, Args)]
pub struct ConnectionSettings {
    /// Seconds a client has to send a whole request head (request line and headers): from the
    /// connection's start for its first request, from the head's first byte on a kept-alive
    /// connection. Sending a header line now and then does not extend it. Past it the
    /// connection is closed. Default 10.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    /// Default 60 (longer than common clients keep idle connections, so they close first).
    #[arg(
        long,
        env = "IDLE_TIMEOUT_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub idle_timeout_secs: u64,
    /// Most client connections open at once. Past it new connections are not accepted: they
    /// wait in the kernel's listen queue until one closes. Default 1024.
    #[arg(
        long,
        env = "MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections: u32,
}

impl ConnectionSettings {
    /// The limits the accept loop applies.
    pub fn limits(&self) -> crate::http::ConnectionLimits {
        crate::http::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections,
        }
    }
}

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://cognigraph.db?mode=rwc";

/// When `serve` applies the database migrations (`MIGRATE_ON_START`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateOnStart {
    /// On SQLite apply them; on PostgreSQL refuse to start while any is pending (the default).
    Auto,
    /// Apply them on any database.
    #[value(alias = "1", alias = "yes", alias = "on")]
    True,
    /// Never apply them; refuse to start while any is pending.
    #[value(alias = "0", alias = "no", alias = "off")]
    False,
}

impl MigrateOnStart {
    /// Whether to apply pending migrations to a database of this kind.
    pub fn applies_on(self, sqlite: bool) -> bool {
        match self {
            MigrateOnStart::Auto => sqlite,
            MigrateOnStart::True => true,
            MigrateOnStart::False => false,
        }
    }
}

/// A database URL. Its `Debug` hides the password (in the user info and in a `password=`
/// query parameter); it has no `Display`. [`DatabaseUrl::expose`] gives the URL to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it names a SQLite database (`sqlite:`).
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The URL with its password replaced by `***`: whatever follows the first `:` of the user
    /// info (up to the last `@`, so that an unescaped `/`, `?` or `@` in a password is hidden
    /// too), and the value of a `password=` query parameter.
    pub fn redacted(&self) -> String {
        let url = self.0.as_str();
        let without_user_info = match url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((user_info, after)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:***@{after}"),
                    None => url.to_owned(),
                },
                None => url.to_owned(),
            },
            None => url.to_owned(),
        };
        match without_user_info.split_once('?') {
            Some((base, query)) => {
                let parameters: Vec<String> = query
                    .split('&')
                    .map(|parameter| match parameter.split_once('=') {
                        Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                            format!("{key}=***")
                        }
                        _ => parameter.to_owned(),
                    })
                    .collect();
                format!("{base}?{}", parameters.join("&"))
            }
            None => without_user_info,
        }
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

/// A secret setting: its `Debug` is `Secret("[redacted]")` and it has no `Display`.
/// [`Secret::expose`] gives the value where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

/// Everything `cognigraph serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Which Cognito user pool and app clients to trust.
    #[command(flatten)]
    pub cognito: CognitoSettings,

    /// The Cognito groups that grant each role.
    #[command(flatten)]
    pub roles: RoleGroupSettings,

    /// Limits on what one request may ask.
    #[command(flatten)]
    pub limits: LimitSettings,

    /// Limits on connections.
    #[command(flatten)]
    pub connections: ConnectionSettings,

    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Address to serve the Prometheus metrics on, at `/metrics`, apart from the API (e.g.
    /// 127.0.0.1:9090, reachable by the scraper only). Default: none, and `/metrics` is not
    /// served at all.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Database URL: `sqlite://FILE?mode=rwc` (the default, a file in the working directory) or
    /// `postgres://USER:PASSWORD@HOST/DB`. Its value is never shown (help, logs, `Debug`).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: DatabaseUrl,

    /// Instead of `DATABASE_URL`: the name or ARN of an AWS Secrets Manager secret holding
    /// PostgreSQL credentials as RDS writes them (host, port, username, password, dbname), read
    /// once at start through the standard AWS configuration (region, credentials, and
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`). What the CDK stack sets on Lambda, so that the
    /// password is not in the function's configuration. Default: none.
    #[arg(long, env = "DATABASE_SECRET", conflicts_with = "database_url")]
    pub database_secret: Option<String>,

    /// When to apply database migrations at start (`cognigraph migrate` applies them alone).
    /// Default `auto`: on SQLite, apply them (the file serves this instance alone, so a first run
    /// works as it is); on PostgreSQL, never migrate unasked (several instances and a deploy
    /// process may share it) and refuse to start while migrations are pending. `true` (or bare
    /// `--migrate`): apply them on any database (on PostgreSQL under an advisory lock, one
    /// instance at a time). `false`: never; refuse to start while migrations are pending.
    #[arg(
        long,
        env = "MIGRATE_ON_START",
        value_enum,
        default_value_t = MigrateOnStart::Auto,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub migrate: MigrateOnStart,

    /// Where each caller's tenant comes from: the `custom:tenant` claim, Cognito's GetUser, or
    /// the claim when present and GetUser otherwise.
    #[arg(long, env = "TENANT_SOURCE", value_enum, default_value_t = TenantSource::Auto)]
    pub tenant_source: TenantSource,

    /// How long a GetUser answer is reused for the same token, in seconds (0: ask every time).
    /// Never past the token's expiry. A revoked token is noticed within this time.
    #[arg(long, env = "USERINFO_CACHE_SECS", default_value_t = 60)]
    pub userinfo_cache_secs: u64,

    /// Whether every request asks Cognito's GetUser if its token was revoked (a global sign-out,
    /// an admin's sign-out): `getuser` costs one GetUser per token per USERINFO_CACHE_SECS and
    /// needs the `aws.cognito.signin.user.admin` scope in every token; `off` (the default)
    /// trusts a verified token until it expires (Cognito's default: one hour), as API Gateway's
    /// JWT authorizers do, and works with tokens of any scope.
    #[arg(long, env = "REVOCATION_CHECK", value_enum, default_value_t = RevocationCheck::Off)]
    pub revocation_check: RevocationCheck,

    /// Whether tenant admins may manage their tenant's users through the API (`inviteMember`,
    /// `setMemberRole`, `disableMember`, `enableMember`, `signOutMember`). Off by default: those
    /// mutations answer FORBIDDEN `user_management_disabled`. On, the service's AWS credentials
    /// (the standard chain) need the IAM actions the README lists, on the user pool.
    #[arg(long, env = "USER_MANAGEMENT", default_value_t = false)]
    pub user_management: bool,

    /// Who may introspect the schema.
    #[arg(long, env = "INTROSPECTION", value_enum, default_value_t = IntrospectionPolicy::Authenticated)]
    pub introspection: IntrospectionPolicy,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Export traces over OTLP (HTTP/protobuf) to this endpoint's `/v1/traces`, e.g.
    /// http://127.0.0.1:4318 (an OpenTelemetry or ADOT collector). Default: none, and traces
    /// cost nothing.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// `service.name` of the exported traces.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "cognigraph")]
    pub otel_service_name: String,

    /// Origins allowed by CORS, comma-separated. Empty (default): CORS off.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Development only: JSON object of headers GraphiQL opens with (e.g. an Authorization).
    /// Off by default. Its value is never shown (help, logs, `Debug`).
    #[arg(long, env = "GRAPHIQL_DEFAULT_HEADERS", hide_env_values = true)]
    pub graphiql_default_headers: Option<Secret>,
}

impl Settings {
    /// Where traces go, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub fn trace_export(&self) -> Option<crate::telemetry::TraceExport> {
        self.otlp_endpoint
            .as_ref()
            .filter(|endpoint| !endpoint.is_empty())
            .map(|endpoint| crate::telemetry::TraceExport {
                endpoint: endpoint.clone(),
                service_name: self.otel_service_name.clone(),
            })
    }

    /// These settings with `DATABASE_URL` read from `DATABASE_SECRET` when that is set (one
    /// call to AWS Secrets Manager); as they are otherwise.
    pub async fn with_database_secret_read(
        mut self,
    ) -> Result<Self, cognigraph_database_secret::DatabaseSecretError> {
        if let Some(secret_id) = self.database_secret.take() {
            let url = cognigraph_database_secret::DatabaseSecrets::from_env()
                .await
                .database_url(&secret_id)
                .await?;
            self.database_url = DatabaseUrl(url);
        }
        Ok(self)
    }

    /// Reads the settings from the environment alone (for `cognigraph` without a subcommand).
    pub fn try_parse_from_env() -> Result<Self, clap::Error> {
        Self::try_parse_from_args(std::iter::empty::<&str>())
    }

    /// Reads the settings from these arguments (e.g. `["--listen-addr", "127.0.0.1:0"]`), then
    /// the environment for anything not given.
    pub fn try_parse_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = std::iter::once(std::ffi::OsString::from("cognigraph"))
            .chain(args.into_iter().map(Into::into));
        <OnlySettings as clap::Parser>::try_parse_from(args).map(|s| s.settings)
    }
}

#[derive(clap::Parser)]
struct OnlySettings {
    #[command(flatten)]
    settings: Settings,
}

/// A clap error about missing or invalid settings, with the environment variable of each named
/// (clap itself names only the flags). Other errors (help, version) are returned as they are.
pub fn explain(error: &clap::Error) -> Option<String> {
    use clap::{
        CommandFactory as _,
        error::{ContextKind, ContextValue, ErrorKind},
    };
    let strings = |kind| match error.get(kind) {
        Some(ContextValue::Strings(flags)) => flags.clone(),
        Some(ContextValue::String(flag)) => vec![flag.clone()],
        _ => Vec::new(),
    };
    let mut flags = strings(ContextKind::InvalidArg);
    if flags.is_empty() {
        return None;
    }
    let what = match error.kind() {
        ErrorKind::MissingRequiredArgument => "missing setting",
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => "invalid setting",
        ErrorKind::ArgumentConflict => {
            flags.extend(strings(ContextKind::PriorArg));
            "settings that exclude each other (set one)"
        }
        _ => return None,
    };
    let command = OnlySettings::command();
    let names: Vec<String> = flags
        .iter()
        .map(|flag| {
            let long = flag.trim_start_matches("--");
            let long = long.split([' ', '=']).next().unwrap_or(long);
            let env = command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(long))
                .and_then(|arg| arg.get_env())
                .map(|env| env.to_string_lossy().into_owned());
            match env {
                Some(env) => format!("{env} (--{long})"),
                None => format!("--{long}"),
            }
        })
        .collect();
    Some(format!("{what}: {}\n\n{error}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Result<Settings, clap::Error> {
        Settings::try_parse_from_args(args.iter().copied())
    }

    const BASE: [&str; 6] = [
        "--region",
        "us-east-1",
        "--user-pool-id",
        "us-east-1_Abc",
        "--client-id",
        "abc",
    ];

    fn with_base(extra: &[&str]) -> Result<Settings, clap::Error> {
        let mut args = BASE.to_vec();
        args.extend(extra);
        settings(&args)
    }

    #[test]
    fn the_database_is_a_url_or_a_secret_not_both() {
        let settings = with_base(&["--database-secret", "arn:aws:secretsmanager:x"]).unwrap();
        assert_eq!(
            settings.database_secret.as_deref(),
            Some("arn:aws:secretsmanager:x")
        );
        let both = with_base(&[
            "--database-secret",
            "arn:aws:secretsmanager:x",
            "--database-url",
            "postgres://db/x",
        ])
        .unwrap_err();
        let message = explain(&both).expect("explained");
        assert!(
            message.starts_with("settings that exclude each other (set one): ")
                && message.contains("DATABASE_SECRET (--database-secret)")
                && message.contains("DATABASE_URL (--database-url)"),
            "{message}"
        );
    }

    #[test]
    fn migrate_on_start_is_auto_by_default_and_a_bare_flag_means_true() {
        let migrate = |extra: &[&str]| with_base(extra).map(|s| s.migrate);
        assert_eq!(migrate(&[]).unwrap(), MigrateOnStart::Auto);
        assert_eq!(migrate(&["--migrate"]).unwrap(), MigrateOnStart::True);
        // A bare flag followed by another option does not swallow it.
        let parsed = settings(&[
            "--migrate",
            "--region",
            "us-east-1",
            "--user-pool-id",
            "us-east-1_Abc",
            "--client-id",
            "abc",
        ])
        .unwrap();
        assert_eq!(parsed.migrate, MigrateOnStart::True);
        assert_eq!(parsed.cognito.region, "us-east-1");
        for (value, expected) in [
            ("auto", MigrateOnStart::Auto),
            ("true", MigrateOnStart::True),
            ("1", MigrateOnStart::True),
            ("false", MigrateOnStart::False),
            ("0", MigrateOnStart::False),
        ] {
            assert_eq!(migrate(&["--migrate", value]).unwrap(), expected, "{value}");
            let equals = format!("--migrate={value}");
            assert_eq!(migrate(&[&equals]).unwrap(), expected, "{value}");
        }
        let message =
            explain(&migrate(&["--migrate", "sometimes"]).unwrap_err()).expect("explained");
        assert!(message.contains("MIGRATE_ON_START"), "{message}");
        assert!(MigrateOnStart::Auto.applies_on(true));
        assert!(!MigrateOnStart::Auto.applies_on(false));
        assert!(MigrateOnStart::True.applies_on(false));
        assert!(!MigrateOnStart::False.applies_on(true));
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let parsed = with_base(&[
            "--database-url",
            "postgres://app:hunter2@db.example.com:5432/cognigraph?sslmode=require&password=hunter3",
            "--graphiql-default-headers",
            r#"{"Authorization":"Bearer sekrit-token"}"#,
        ])
        .unwrap();
        let debug = format!("{parsed:?}");
        for secret in ["hunter2", "hunter3", "sekrit-token"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains(
                "postgres://app:***@db.example.com:5432/cognigraph?sslmode=require&password=***"
            ),
            "{debug}"
        );
        assert!(debug.contains(r#"Secret("[redacted]")"#), "{debug}");
        // The values themselves are intact for the code that uses them.
        assert!(parsed.database_url.expose().contains("hunter2"));
        let headers = parsed.graphiql_default_headers.as_ref().unwrap();
        assert!(headers.expose().contains("sekrit-token"));

        for (url, shown) in [
            (DEFAULT_DATABASE_URL, DEFAULT_DATABASE_URL),
            ("postgres://app@host/db", "postgres://app@host/db"),
            ("postgresql://a:b:c@host", "postgresql://a:***@host"),
            ("postgres://a:p@ss@host/db", "postgres://a:***@host/db"),
            (
                "postgres://a:p/s?s@host/db?x=1",
                "postgres://a:***@host/db?x=1",
            ),
            (
                "postgres://host/db?user=a&password=b",
                "postgres://host/db?user=a&password=***",
            ),
        ] {
            let url: DatabaseUrl = url.parse().unwrap();
            assert_eq!(url.redacted(), shown);
        }
    }

    /// `--help` shows the environment's value of a setting unless told not to.
    #[test]
    fn secret_settings_hide_their_environment_values_in_help() {
        use clap::CommandFactory as _;
        let command = OnlySettings::command();
        for variable in ["DATABASE_URL", "GRAPHIQL_DEFAULT_HEADERS"] {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_env().is_some_and(|env| env == variable))
                .expect(variable);
            assert!(arg.is_hide_env_values_set(), "{variable}");
        }
    }

    #[test]
    fn a_missing_setting_is_named_by_its_variable() {
        let error = settings(&["--region", "us-east-1"]).unwrap_err();
        let message = explain(&error).expect("explained");
        assert!(message.starts_with("missing setting: "), "{message}");
        assert!(message.contains("COGNITO_USER_POOL_ID"), "{message}");
        assert!(message.contains("COGNITO_CLIENT_ID"), "{message}");
    }

    #[test]
    fn a_malformed_setting_is_named_by_its_variable() {
        let base = [
            "--region",
            "us-east-1",
            "--user-pool-id",
            "us-east-1_Abc",
            "--client-id",
            "abc",
        ];
        let mut args = base.to_vec();
        args.extend(["--listen-addr", "nowhere"]);
        let message = explain(&settings(&args).unwrap_err()).expect("explained");
        assert!(message.contains("LISTEN_ADDR"), "{message}");
        let mut args = base.to_vec();
        args.extend(["--introspection", "sometimes"]);
        let message = explain(&settings(&args).unwrap_err()).expect("explained");
        assert!(message.contains("INTROSPECTION"), "{message}");

        let cases = [
            (["--user-pool-id", "eu-west-1_Abc"], "COGNITO_USER_POOL_ID"),
            (["--region", "mars"], "COGNITO_REGION"),
            (["--client-id", "no spaces"], "COGNITO_CLIENT_ID"),
            (
                ["--jwks-url", "http://keys.example.com/"],
                "COGNITO_JWKS_URL",
            ),
            (["--issuer", "ftp://x"], "COGNITO_ISSUER"),
        ];
        for ([flag, value], variable) in cases {
            let mut args = base.to_vec();
            match args.iter().position(|a| *a == flag) {
                Some(at) => args[at + 1] = value,
                None => args.extend([flag, value]),
            }
            let parsed = settings(&args).expect("parses");
            let error = parsed.cognito.verifier_config().unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(error.to_string().contains(variable));
        }
        assert!(settings(&base).unwrap().cognito.verifier_config().is_ok());
    }

    /// GetUser sends the caller's access token to COGNITO_ENDPOINT: plain http only to loopback.
    #[test]
    fn cognito_endpoint_must_be_https_or_loopback() {
        let endpoint = |value: &str| {
            with_base(&["--cognito-endpoint", value])
                .expect("parses")
                .cognito
                .api_endpoint()
        };
        for refused in [
            "http://192.0.2.2/",
            "http://cognito.example.com/",
            "ftp://127.0.0.1/",
            "cognito-idp.us-east-1.amazonaws.com",
            "https:// spaced.example.com/",
        ] {
            let error = endpoint(refused).expect_err(refused);
            assert_eq!(error.variable, "COGNITO_ENDPOINT", "{refused}");
            assert!(
                error.to_string().contains("COGNITO_ENDPOINT"),
                "{refused}: {error}"
            );
        }
        for accepted in [
            "https://cognito.example.com/",
            "http://127.0.0.1:5000/",
            "http://localhost:5000/",
            "http://[::1]:5000/",
        ] {
            assert_eq!(endpoint(accepted).expect(accepted), accepted);
        }
        assert_eq!(
            with_base(&[]).unwrap().cognito.api_endpoint().unwrap(),
            "https://cognito-idp.us-east-1.amazonaws.com/"
        );
    }
}
