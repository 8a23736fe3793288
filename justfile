# cognigraph: `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

_default:
    @just --list

# Format check, clippy with warnings denied, and every test of the workspace (with a throwaway
# PostgreSQL cluster, so the domain tests also run on PostgreSQL).
test: assets lint
    #!/usr/bin/env bash
    set -euo pipefail
    # An assignment first, so that a failing start stops the run (eval "$(…)" would hide it).
    postgres_env=$(.ci/postgres start)
    eval "$postgres_env"
    trap '.ci/postgres stop' EXIT
    cargo test --workspace

# Format check and clippy with warnings denied.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Criterion benchmarks: full token verification beside a bare RSA-2048 signature check.
bench:
    cargo bench -p cognigraph-token --bench verify
    python3 .ci/bench-report.py target/criterion

# Fetch GraphiQL and React from the npm registry into crates/server/assets/vendor (not committed).
assets:
    .ci/fetch-graphiql

# Rewrite schema.graphql from the code.
schema:
    cargo run --quiet -p cognigraph-server -- schema > schema.graphql

# Run the service with seeded emulator users (arrives with the emulator work, issue 5).
dev:
    @echo "just dev: the emulator seeding (issue 5) is not built yet; run 'cargo run -p cognigraph-server -- serve --help' to serve against a user pool." >&2
    @exit 1
