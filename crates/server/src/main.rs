//! The `cognigraph` binary: parses the command line and hands over to the library.

use std::io::Write as _;

use anyhow::Context as _;
use clap::Parser as _;

use cognigraph_server::{
    cli::{Cli, Command, DevCommand, TokenCommand},
    config::{self, Settings},
    dev::seed,
    graphql, inspect, lambda,
    startup::{Application, shutdown_signal},
    telemetry,
};

/// The allocator of the whole process: mimalloc, for Rust's allocations and (its `override`
/// feature) for the C libraries' `malloc` too: SQLite, which copies every column of every row it
/// returns, and aws-lc. Against glibc's allocator it takes a fifth off the server's CPU per
/// nested page (`pages` benchmark, `PAGES_CASES=assignee`, back to back: 1,533 -> 1,218 µs).
/// Built without transparent huge pages (`.cargo/config.toml`), it keeps memory at idle within a
/// MiB of glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load_dotenv()?;
    let cli = Cli::try_parse().unwrap_or_else(|error| exit_with(&error));
    match cli.command {
        None => {
            // `cognigraph` alone serves, reading its settings from the environment.
            let settings = Settings::try_parse_from_env().unwrap_or_else(|error| exit_with(&error));
            serve(&settings).await
        }
        Some(Command::Serve(settings)) => serve(&settings).await,
        Some(Command::Schema) => {
            std::io::stdout().write_all(graphql::sdl().as_bytes())?;
            Ok(())
        }
        Some(Command::Migrate { database_url }) => {
            let db = cognigraph_domain::Db::connect(database_url.expose())
                .await
                .context("cannot open the database")?;
            db.migrate().await.context("migrations failed")?;
            eprintln!("cognigraph migrate: the database is up to date.");
            Ok(())
        }
        Some(Command::Dev {
            command:
                DevCommand::Seed {
                    emulator,
                    sandbox_region,
                    pool_name,
                    env_file,
                    tokens_file,
                    listen_addr,
                },
        }) => {
            let target = match sandbox_region {
                Some(region) => seed::SeedTarget::Sandbox { region },
                None => seed::SeedTarget::Emulator(emulator),
            };
            let summary = seed::run(&seed::SeedRequest {
                target,
                pool_name,
                env_file,
                tokens_file,
                listen_addr,
            })
            .await?;
            std::io::stdout().write_all(summary.as_bytes())?;
            Ok(())
        }
        Some(Command::Token {
            command: TokenCommand::Inspect { token, cognito },
        }) => {
            let (report, accepted) = inspect::inspect_token(&cognito, &token).await?;
            std::io::stdout().write_all(report.as_bytes())?;
            std::process::exit(if accepted { 0 } else { 1 });
        }
    }
}

/// Loads `.env` from the working directory into the environment, if there is one. A variable
/// already set in the environment wins over the file; a file that cannot be parsed stops here,
/// naming its line.
fn load_dotenv() -> anyhow::Result<()> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        Err(error) => Err(error).context("cannot read .env (in the working directory)"),
    }
}

/// Exits on a command-line error, naming the environment variable of a bad setting.
fn exit_with(error: &clap::Error) -> ! {
    match config::explain(error) {
        Some(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
        None => error.exit(),
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let settings = &settings.clone().with_database_secret_read().await?;
    if lambda::is_lambda() {
        let settings = lambda::settings_for_lambda(settings)?;
        let telemetry = telemetry::init(settings.log_format, settings.trace_export().as_ref())?;
        let app = Application::build(&settings)
            .await
            .context("cannot start cognigraph")?;
        return lambda::serve(app, telemetry.flusher())
            .await
            .map_err(|error| anyhow::anyhow!("Lambda runtime: {error}"));
    }
    let telemetry = telemetry::init(settings.log_format, settings.trace_export().as_ref())?;
    let app = Application::build(settings)
        .await
        .context("cannot start cognigraph")?;
    app.hydrate().await;
    let served = app
        .run_until(shutdown_signal())
        .await
        .context("server error");
    telemetry.shutdown();
    served
}
