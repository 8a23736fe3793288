//! GraphiQL in a real browser: headless Chromium, driven over WebDriver (`fantoccini` and
//! Debian's `chromedriver`), loads `/` from cognigraph, sends `{ me { … } }` with a Bearer
//! token from the Cognito emulator, and must show the caller in the result pane.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install -y chromium
//! chromium-driver`); without them the test fails, never skips. The page and its scripts are
//! served by cognigraph itself, so nothing goes to the internet. A screenshot is saved to
//! `target/graphiql-browser.png`.

use std::{
    fs,
    io::{Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cognigraph_tests::{App, Pool};
use fantoccini::{Client, ClientBuilder, Locator, wd::Capabilities};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The query editor's CodeMirror 5 instance.
const QUERY_EDITOR: &str = ".graphiql-query-editor .CodeMirror";
/// The headers tab's button, below the query editor.
const HEADERS_TAB: &str = ".graphiql-editor-tools button[data-name=\"headers\"]";
/// The headers editor's CodeMirror (the variables editor shares the section, hidden).
const HEADERS_EDITOR: &str = concat!(
    "section.graphiql-editor-tool[aria-label=\"Headers\"]",
    " .graphiql-editor:not(.hidden) .CodeMirror"
);
/// The run button.
const EXECUTE_BUTTON: &str = "button.graphiql-execute-button";
/// The result pane's CodeMirror.
const RESULT: &str = "section.result-window .CodeMirror";

/// How long the page may take to start GraphiQL, and the query to show its result.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long chromedriver may take to start, and to shut down.
const SHORT: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_shows_the_signed_in_user() {
    require_browser();
    let pool = Pool::create().await;
    pool.user("gina", &["admin"], Some("acme")).await;
    let token = pool.sign_in("gina").await.access_token;
    let app = App::start(&pool, 60, &[]).await;

    let driver = Chromedriver::start().await;
    let client = driver.connect().await;
    // Nothing panics while the session is open, so the browser is always closed: the outcome,
    // and a screenshot whatever happened (the first thing to look at when this fails).
    let outcome = run_me_query(&client, &app.address, &token).await;
    let screenshot = save_screenshot(&client).await;
    let closed = client.close().await;
    drop(driver);
    app.stop().await;

    let screenshot = screenshot.unwrap_or_else(|e| format!("none: {e}"));
    let result = outcome.unwrap_or_else(|e| panic!("{e} (screenshot: {screenshot})"));
    closed.expect("closing the browser session");
    let me = &result["data"]["me"];
    assert_eq!(me["username"], "gina", "result pane: {result}");
    assert_eq!(me["tenant"], "acme", "result pane: {result}");
    assert_eq!(
        me["roles"],
        json!(["ADMIN", "EDITOR", "VIEWER"]),
        "result pane: {result}"
    );
    assert!(result.get("errors").is_none(), "result pane: {result}");
}

/// Opens GraphiQL, fills the headers and the query, runs it, and returns the result pane's JSON
/// once it shows gina of acme.
async fn run_me_query(client: &Client, address: &str, token: &str) -> Result<Value, String> {
    client
        .goto(&format!("{address}/"))
        .await
        .map_err(|e| format!("loading GraphiQL: {e}"))?;
    let wait = client.wait().at_most(PATIENCE);
    wait.for_element(Locator::Css(QUERY_EDITOR))
        .await
        .map_err(|e| format!("GraphiQL did not start (no query editor): {e}"))?;

    // The headers editor is open by default; the click makes sure it is the visible tool.
    client
        .find(Locator::Css(HEADERS_TAB))
        .await
        .map_err(|e| format!("no Headers tab: {e}"))?
        .click()
        .await
        .map_err(|e| format!("clicking the Headers tab: {e}"))?;
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(HEADERS_EDITOR))
        .await
        .map_err(|e| format!("no headers editor: {e}"))?;

    let headers = json!({ "Authorization": format!("Bearer {token}") }).to_string();
    set_editor(client, HEADERS_EDITOR, &headers).await?;
    set_editor(client, QUERY_EDITOR, "{ me { username roles tenant } }").await?;

    client
        .find(Locator::Css(EXECUTE_BUTTON))
        .await
        .map_err(|e| format!("no run button: {e}"))?
        .click()
        .await
        .map_err(|e| format!("clicking the run button: {e}"))?;

    let deadline = Instant::now() + PATIENCE;
    let mut shown = String::new();
    while Instant::now() < deadline {
        shown = editor_value(client, RESULT).await.unwrap_or_default();
        if shown.contains("gina") && shown.contains("acme") {
            return serde_json::from_str(&shown)
                .map_err(|e| format!("the result pane is not JSON ({e}): {shown}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "the result pane did not show gina of acme within {PATIENCE:?}; it shows: {shown:?}"
    ))
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

/// The text of the CodeMirror 5 editor at `selector`.
async fn editor_value(client: &Client, selector: &str) -> Result<String, String> {
    let value = client
        .execute(
            "const e = document.querySelector(arguments[0]);
             return e && e.CodeMirror ? e.CodeMirror.getValue() : null;",
            vec![json!(selector)],
        )
        .await
        .map_err(|e| format!("reading {selector}: {e}"))?;
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no CodeMirror editor at {selector}"))
}

/// Saves the window as `<workspace>/target/graphiql-browser.png` and returns that path.
async fn save_screenshot(client: &Client) -> Result<String, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the tests package is not in a workspace")?;
    let target = workspace.join("target");
    fs::create_dir_all(&target).map_err(|e| format!("creating {}: {e}", target.display()))?;
    let path = target.join("graphiql-browser.png");
    let png = client
        .screenshot()
        .await
        .map_err(|e| format!("taking a screenshot: {e}"))?;
    fs::write(&path, png).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path.display().to_string())
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
        let deadline = Instant::now() + SHORT;
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
                "{CHROMEDRIVER} did not answer at {status} within {SHORT:?}"
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
