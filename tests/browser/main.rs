//! GraphiQL in a real browser: headless Chromium, driven over WebDriver (`fantoccini` and
//! Debian's `chromedriver`), used as a newcomer would after `just dev`. cognigraph serves `/`
//! with the caller's Authorization header filled in (`--graphiql-default-headers`), and the test
//! checks that
//! - the page loads the schema: no error in the result pane (such as `QUERY_TOO_DEEP` for
//!   GraphiQL's own introspection query);
//! - the documentation explorer (the sidebar's docs button) lists `Query`'s fields;
//! - typing a query in the editor offers completions from the schema, and picking one with Enter
//!   completes the field;
//! - running the query shows the caller's data in the result pane.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install -y chromium
//! chromium-driver`); without them the test fails, never skips. The page and its scripts are
//! served by cognigraph itself, so nothing goes to the internet. Screenshots of each step are
//! saved to `target/graphiql-browser-<step>.png`, and of the end (or the failure) to
//! `target/graphiql-browser.png`.

use std::{
    fs,
    io::{Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cognigraph_tests::{App, Pool};
use fantoccini::{Client, ClientBuilder, Locator, key::Key, wd::Capabilities};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The query editor's CodeMirror 5 instance.
const QUERY_EDITOR: &str = ".graphiql-query-editor .CodeMirror";
/// The hidden textarea CodeMirror 5 reads keystrokes from.
const QUERY_INPUT: &str = ".graphiql-query-editor .CodeMirror textarea";
/// The sidebar button that opens the documentation explorer.
const DOCS_BUTTON: &str = "button[aria-label=\"Show Documentation Explorer\"]";
/// The completion list CodeMirror's show-hint shows under the cursor, and its entries.
const HINT: &str = ".CodeMirror-hints .CodeMirror-hint";
/// The run button.
const EXECUTE_BUTTON: &str = "button.graphiql-execute-button";
/// The result pane's CodeMirror.
const RESULT: &str = "section.result-window .CodeMirror";

/// How long the page may take to start GraphiQL and load the schema, and each later step.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long chromedriver may take to answer its first `/status`: on a 2-core machine busy with
/// other test binaries it has taken more than 3 s.
const DRIVER_START: Duration = Duration::from_secs(20);
/// How long chromedriver may take to shut down.
const SHORT: Duration = Duration::from_secs(3);

/// What the newcomer saw.
#[derive(Debug)]
struct Seen {
    /// `Query`'s fields in the documentation explorer.
    query_fields: Vec<String>,
    /// The completions offered after typing `usern` inside `me`.
    completions: Vec<String>,
    /// The query editor's text after picking the first completion.
    completed_query: String,
    /// The result pane's JSON after running it.
    result: Value,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_explores_the_schema_completes_a_query_and_runs_it() {
    require_browser();
    let pool = Pool::create().await;
    pool.user("gina", &["admin"], Some("acme")).await;
    let token = pool.sign_in("gina").await.access_token;
    let headers = json!({ "Authorization": format!("Bearer {token}") }).to_string();
    let app = App::start(&pool, 60, |settings| {
        settings.graphiql_default_headers = headers.parse().ok();
    })
    .await;

    let driver = Chromedriver::start().await;
    let client = driver.connect().await;
    // Nothing panics while the session is open, so the browser is always closed: the outcome,
    // and a screenshot whatever happened (the first thing to look at when this fails).
    let outcome = newcomer(&client, &app.address).await;
    let screenshot = save_screenshot(&client, "graphiql-browser.png").await;
    let closed = client.close().await;
    drop(driver);
    app.stop().await;

    let screenshot = screenshot.unwrap_or_else(|e| format!("none: {e}"));
    let seen = outcome.unwrap_or_else(|e| panic!("{e} (screenshot: {screenshot})"));
    closed.expect("closing the browser session");
    for field in ["me", "projects", "tasks", "accessPolicy"] {
        assert!(
            seen.query_fields.iter().any(|f| f == field),
            "the docs explorer lists Query's fields {:?}, without {field}",
            seen.query_fields
        );
    }
    assert_eq!(
        seen.completions.first().map(String::as_str),
        Some("username")
    );
    assert!(
        seen.completed_query.contains("me { username"),
        "the editor after completing: {:?}",
        seen.completed_query
    );
    let result = &seen.result;
    assert!(result.get("errors").is_none(), "result pane: {result}");
    assert_eq!(
        result["data"]["me"]["username"], "gina",
        "result pane: {result}"
    );
}

/// Opens GraphiQL and does what a newcomer does; returns what they saw, or what went wrong.
async fn newcomer(client: &Client, address: &str) -> Result<Seen, String> {
    client
        .goto(&format!("{address}/"))
        .await
        .map_err(|e| format!("loading GraphiQL: {e}"))?;
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(QUERY_EDITOR))
        .await
        .map_err(|e| format!("GraphiQL did not start (no query editor): {e}"))?;

    // The docs explorer shows the root types once the schema is in; a failed introspection
    // shows its error there and in the result pane (GraphiQL's fetch error). Either ends the
    // wait.
    click(client, DOCS_BUTTON).await?;
    let loaded = wait_for(
        client,
        "the schema in the documentation explorer",
        &format!(
            "const result = document.querySelector('{RESULT}');
             const shown = result && result.CodeMirror ? result.CodeMirror.getValue() : '';
             if (shown.trim() !== '') return 'result pane: ' + shown;
             const error = document.querySelector('.graphiql-doc-explorer-error');
             if (error) return 'docs explorer: ' + error.textContent;
             const query = [...document.querySelectorAll(
               '.graphiql-doc-explorer-root-type + a.graphiql-doc-explorer-type-name')]
               .find(a => a.textContent === 'Query');
             return query ? 'loaded' : null;"
        ),
    )
    .await?;
    save_screenshot(client, "graphiql-browser-1-loaded.png").await?;
    if loaded != "loaded" {
        return Err(format!("GraphiQL could not load the schema: {loaded}"));
    }

    // Query's fields.
    client
        .execute(
            "[...document.querySelectorAll('.graphiql-doc-explorer-root-type + a.graphiql-doc-explorer-type-name')]
               .find(a => a.textContent === 'Query').click(); return true;",
            vec![],
        )
        .await
        .map_err(|e| format!("opening Query in the docs explorer: {e}"))?;
    let fields = wait_for(
        client,
        "Query's fields in the documentation explorer",
        "const names = [...document.querySelectorAll('a.graphiql-doc-explorer-field-name')]
           .map(a => a.textContent);
         return names.includes('me') ? JSON.stringify(names) : null;",
    )
    .await?;
    let query_fields: Vec<String> =
        serde_json::from_str(&fields).map_err(|e| format!("field names {fields}: {e}"))?;
    save_screenshot(client, "graphiql-browser-2-docs.png").await?;

    // Type with completion: the editor closes brackets itself, so `{ me { usern` reads
    // `{ me { usern} }`; show-hint opens after the letters.
    set_editor(client, QUERY_EDITOR, "").await?;
    click(client, QUERY_EDITOR).await?;
    client
        .find(Locator::Css(QUERY_INPUT))
        .await
        .map_err(|e| format!("no query editor input: {e}"))?
        .send_keys("{ me { usern")
        .await
        .map_err(|e| format!("typing into the query editor: {e}"))?;
    let hints = wait_for(
        client,
        "completions for `usern`",
        &format!(
            "const hints = [...document.querySelectorAll('{HINT}')].map(li => li.textContent);
             return hints.length ? JSON.stringify(hints) : null;"
        ),
    )
    .await?;
    let completions: Vec<String> =
        serde_json::from_str(&hints).map_err(|e| format!("completions {hints}: {e}"))?;
    save_screenshot(client, "graphiql-browser-3-completion.png").await?;
    client
        .find(Locator::Css(QUERY_INPUT))
        .await
        .map_err(|e| format!("no query editor input: {e}"))?
        .send_keys(&Key::Enter)
        .await
        .map_err(|e| format!("picking the completion: {e}"))?;
    let completed_query = wait_for(
        client,
        "the completed field in the editor",
        &format!(
            "const e = document.querySelector('{QUERY_EDITOR}');
             const text = e.CodeMirror.getValue();
             return text.includes('username') && !document.querySelector('{HINT}') ? text : null;"
        ),
    )
    .await?;

    click(client, EXECUTE_BUTTON).await?;
    let shown = wait_for(
        client,
        "the result of the query",
        &format!(
            "const e = document.querySelector('{RESULT}');
             const text = e && e.CodeMirror ? e.CodeMirror.getValue() : '';
             return text.trim() ? text : null;"
        ),
    )
    .await?;
    save_screenshot(client, "graphiql-browser-4-result.png").await?;
    let result = serde_json::from_str(&shown)
        .map_err(|e| format!("the result pane is not JSON ({e}): {shown}"))?;
    Ok(Seen {
        query_fields,
        completions,
        completed_query,
        result,
    })
}

/// Clicks the element at `selector`.
async fn click(client: &Client, selector: &str) -> Result<(), String> {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(selector))
        .await
        .map_err(|e| format!("no {selector}: {e}"))?
        .click()
        .await
        .map_err(|e| format!("clicking {selector}: {e}"))
}

/// Evaluates `script` every 100 ms until it returns a string, which is returned; `what` names
/// the wait in the error after [`PATIENCE`].
async fn wait_for(client: &Client, what: &str, script: &str) -> Result<String, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("waiting for {what}: {e}"))?;
        if let Value::String(found) = value {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(format!("no {what} within {PATIENCE:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces the text of the CodeMirror 5 editor at `selector`.
async fn set_editor(client: &Client, selector: &str, text: &str) -> Result<(), String> {
    let set = client
        .execute(
            "const e = document.querySelector(arguments[0]);
             if (!e || !e.CodeMirror) return false;
             e.CodeMirror.setValue(arguments[1]);
             return e.CodeMirror.getValue() === arguments[1];",
            vec![json!(selector), json!(text)],
        )
        .await
        .map_err(|e| format!("setting {selector}: {e}"))?;
    if set == json!(true) {
        Ok(())
    } else {
        Err(format!("no CodeMirror editor at {selector}"))
    }
}

/// Saves the window as `<workspace>/target/<name>` and returns that path.
async fn save_screenshot(client: &Client, name: &str) -> Result<String, String> {
    let path = target_dir()?.join(name);
    let png = client
        .screenshot()
        .await
        .map_err(|e| format!("taking a screenshot: {e}"))?;
    fs::write(&path, png).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// `<workspace>/target`, created if missing.
fn target_dir() -> Result<PathBuf, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the tests package is not in a workspace")?;
    let target = workspace.join("target");
    fs::create_dir_all(&target).map_err(|e| format!("creating {}: {e}", target.display()))?;
    Ok(target)
}

/// Fails (never skips) when Chromium or its driver is missing.
fn require_browser() {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).is_file(),
            "{program} is missing: the GraphiQL browser test needs Chromium and its WebDriver; \
             install them with `apt-get install -y chromium chromium-driver`"
        );
    }
}

/// A `chromedriver` of this test on a free port, with Chromium's profile in a temporary
/// folder. Dropping it shuts it down with the browsers it started (killing it alone would
/// leave an open session's Chromium running), and kills it if it does not exit.
#[derive(Debug)]
struct Chromedriver {
    child: Child,
    port: u16,
    url: String,
    profile: tempfile::TempDir,
}

impl Chromedriver {
    /// Starts `chromedriver` and waits until it answers `/status`.
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let profile = tempfile::tempdir().expect("temporary folder");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {CHROMEDRIVER}: {e}; install it with \
                     `apt-get install -y chromium chromium-driver`"
                )
            });
        let mut driver = Self {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let status = format!("{}/status", driver.url);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("{CHROMEDRIVER} exited at start: {exit}");
            }
            if http
                .get(&status)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "{CHROMEDRIVER} did not answer at {status} within {DRIVER_START:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A WebDriver session with headless Chromium.
    async fn connect(&self) -> Client {
        // fantoccini's client builds a rustls config from the process-wide crypto provider, and
        // with both of rustls's providers compiled in (ring through sqlx, aws-lc-rs through
        // reqwest) there is none until one is installed. Another test may have done it already.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([format!("--user-data-dir={}", self.profile.path().display())])
        .collect::<Vec<_>>();
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        ClientBuilder::rustls()
            .expect("TLS for the WebDriver client")
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("starting Chromium through {CHROMEDRIVER}: {e}"))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // chromedriver's `GET /shutdown` quits its sessions' browsers, then chromedriver.
        let asked = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, self.port).into(), SHORT)
            .and_then(|mut stream| {
                stream.set_read_timeout(Some(SHORT))?;
                stream.write_all(
                    b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                )?;
                stream.read_to_end(&mut Vec::new())
            });
        let deadline = Instant::now() + SHORT;
        while asked.is_ok() && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
