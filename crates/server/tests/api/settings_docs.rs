//! The README's settings table and `.env.example` list exactly the settings of `cognigraph
//! serve`, as clap knows them.

use std::collections::BTreeSet;

use clap::CommandFactory as _;
use cognigraph_server::cli::Cli;

/// Read by the logging library, not by clap; documented beside the settings.
const NOT_CLAP_SETTINGS: [&str; 1] = ["RUST_LOG"];

/// The environment variable of every `serve` option.
fn serve_settings() -> BTreeSet<String> {
    let command = Cli::command();
    let serve = command
        .get_subcommands()
        .find(|c| c.get_name() == "serve")
        .expect("a serve command");
    serve
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect()
}

fn repository_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_variable(word: &str) -> bool {
    word.len() > 1
        && word.starts_with(|c: char| c.is_ascii_uppercase())
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The variables in the first column of README's table headed `| setting | default | meaning |`.
fn readme_settings(readme: &str) -> BTreeSet<String> {
    let mut lines = readme
        .lines()
        .skip_while(|line| !line.starts_with("| setting | default |"));
    assert!(lines.next().is_some(), "README has no settings table");
    lines
        .take_while(|line| line.starts_with('|'))
        .filter(|line| !line.starts_with("|---"))
        .flat_map(|line| {
            let first = line.split('|').nth(1).unwrap_or_default().to_owned();
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|word| is_variable(word))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every `NAME=` line of `.env.example`, commented out (`# NAME=…`) or not.
fn env_example_settings(example: &str) -> BTreeSet<String> {
    example
        .lines()
        .map(|line| line.trim_start_matches('#').trim_start())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| is_variable(name))
        .map(str::to_owned)
        .collect()
}

fn assert_same(documented: &BTreeSet<String>, code: &BTreeSet<String>, file: &str) {
    let missing: Vec<_> = code.difference(documented).collect();
    let unknown: Vec<_> = documented
        .difference(code)
        .filter(|name| !NOT_CLAP_SETTINGS.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{file} is out of step with `cognigraph serve`: missing {missing:?}, not a setting {unknown:?}"
    );
}

#[test]
fn the_readme_settings_table_lists_every_setting_and_no_other() {
    let code = serve_settings();
    assert!(code.contains("DATABASE_URL") && code.len() > 20, "{code:?}");
    assert_same(
        &readme_settings(&repository_file("README.md")),
        &code,
        "README.md",
    );
}

#[test]
fn env_example_lists_every_setting_and_no_other() {
    assert_same(
        &env_example_settings(&repository_file(".env.example")),
        &serve_settings(),
        ".env.example",
    );
}

/// The checks themselves notice a setting missing from either file, or one too many.
#[test]
fn the_checks_notice_a_missing_or_unknown_setting() {
    let readme = repository_file("README.md");
    let table = readme_settings(&readme);
    assert!(table.contains("LISTEN_ADDR"), "{table:?}");
    let without = readme_settings(&readme.replace("| `LISTEN_ADDR` |", "| listen |"));
    assert!(!without.contains("LISTEN_ADDR"));
    let example = env_example_settings("# FOO_BAR=1\nLISTEN_ADDR=x\n# a comment: x=y\n");
    assert_eq!(
        example,
        ["FOO_BAR", "LISTEN_ADDR"]
            .map(str::to_owned)
            .into_iter()
            .collect()
    );
    let code = serve_settings();
    let result = std::panic::catch_unwind(|| assert_same(&without, &code, "README.md"));
    assert!(result.is_err(), "a missing LISTEN_ADDR must fail");
    let result = std::panic::catch_unwind(|| assert_same(&example, &code, ".env.example"));
    assert!(result.is_err(), "an unknown FOO_BAR must fail");
}
