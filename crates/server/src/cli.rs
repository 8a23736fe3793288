//! The `cognigraph` command line.

use clap::{Parser, Subcommand};

use crate::config::{CognitoSettings, DatabaseUrl, Settings};

/// cognigraph: a GraphQL API that trusts Amazon Cognito for identity and authorizes by
/// `cognito:groups`. `cognigraph serve --help` lists every setting of the service; each option
/// can also be set through the environment variable shown, or in a `.env` file in the working
/// directory (variables already in the environment win).
#[derive(Debug, Parser)]
#[command(name = "cognigraph", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(Box<Settings>),
    /// Print the schema (SDL), as committed in schema.graphql.
    Schema,
    /// Apply database migrations.
    Migrate {
        /// The database to migrate. Its value is never shown.
        #[arg(
            long,
            env = "DATABASE_URL",
            default_value = crate::config::DEFAULT_DATABASE_URL,
            hide_env_values = true
        )]
        database_url: DatabaseUrl,
    },
    /// Development tooling.
    Dev {
        /// What to do.
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Work with tokens.
    Token {
        /// What to do with the token.
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// `cognigraph token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Decode a token without trusting it and explain, check by check, whether the configured
    /// user pool would accept it.
    Inspect {
        /// The access token (a leading "Bearer " is ignored).
        token: String,
        /// The pool to check against.
        #[command(flatten)]
        cognito: CognitoSettings,
    },
}

/// `cognigraph dev …`.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Seed the Cognito emulator (or, with --sandbox-region, a real sandbox pool) with the
    /// development pool, groups and users (two tenants), sign them in, and write the service's
    /// settings and the users' tokens to files.
    Seed {
        /// The emulator (moto).
        #[arg(
            long,
            env = "COGNITO_EMULATOR_URL",
            default_value = "http://127.0.0.1:5000"
        )]
        emulator: String,
        /// Seed a real sandbox pool in this AWS region instead of the emulator: AWS credentials
        /// from the standard chain (they need the pool, client, group and admin user actions),
        /// the endpoint from AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER when set. Never a
        /// production pool: it sets the users' passwords.
        #[arg(long, env = "COGNIGRAPH_SANDBOX_REGION")]
        sandbox_region: Option<String>,
        /// The pool to find or create.
        #[arg(long, default_value = "cognigraph-dev")]
        pool_name: String,
        /// Where to write the settings (sourceable shell `KEY='value'` lines).
        #[arg(long, default_value = ".dev/cognigraph.env")]
        env_file: std::path::PathBuf,
        /// Where to write the users and their access tokens (JSON).
        #[arg(long, default_value = ".dev/tokens.json")]
        tokens_file: std::path::PathBuf,
        /// Where the service will listen (for the printed commands).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen_addr: String,
    },
}
