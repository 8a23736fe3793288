//! GraphiQL at `GET /`, served offline from files embedded into the binary.
//!
//! React, ReactDOM and GraphiQL come from the npm registry through `.ci/fetch-graphiql`
//! (`just assets`) and are embedded by `build.rs`; they are never committed. The page and its
//! init script are ours (`assets/`). Everything is same-origin, and the page runs no inline
//! script, so it is served under a strict Content-Security-Policy ([`PAGE_CSP`]).
//!
//! A build without the fetched files compiles, but answers `GET /` with 503 and says how to
//! fetch them.

use std::sync::Arc;

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;

/// What the page is opened with.
#[derive(Debug, Clone, Default)]
pub(crate) struct GraphiqlOptions {
    /// Text that pre-fills GraphiQL's headers editor, a JSON object such as
    /// `{"Authorization":"Bearer …"}`. Development only: it is written into the page for
    /// anyone who can load it. Defaults to none (an empty editor).
    pub default_headers: Option<String>,
}

/// Where the page sends GraphQL requests.
const GRAPHQL_ENDPOINT: &str = "/graphql";

/// The page's Content-Security-Policy. `style-src 'unsafe-inline'` is for the page's own
/// `<style>` and the `<style>` elements GraphiQL's dialogs insert; `font-src data:` is for the
/// fonts GraphiQL's stylesheet embeds as `data:` URLs. The page may carry a pre-filled token
/// (development), so no other site may frame it (`frame-ancestors 'none'`, and
/// `X-Frame-Options: DENY` for older browsers), and nothing injected may move its base URL or
/// submit a form anywhere.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Whether `build.rs` found the files fetched by `.ci/fetch-graphiql`.
const BUNDLED: bool = cfg!(cognigraph_graphiql_bundled);

const NOT_BUNDLED: &str = "GraphiQL is not bundled into this build: run `.ci/fetch-graphiql` \
    (or `just assets`) to fetch it from the npm registry, then rebuild.\n";

/// Appended to asset URLs as `?v=`; changes whenever any served file does, so the assets can
/// be cached for long.
const ASSET_VERSION: &str = env!("COGNIGRAPH_GRAPHIQL_ASSET_VERSION");

const PAGE_TEMPLATE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql.html"));

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const ONE_YEAR: &str = "public, max-age=31536000, immutable";

/// A file under `/graphiql/`.
#[derive(Debug)]
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// Fetched by `.ci/fetch-graphiql`: a placeholder unless [`BUNDLED`].
    vendored: bool,
}

/// The only files `/graphiql/{file}` serves.
static ASSETS: [Asset; 5] = [
    Asset {
        name: "graphiql-init.js",
        content_type: JS,
        body: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/graphiql-init.js"
        )),
        vendored: false,
    },
    Asset {
        name: "react.production.min.js",
        content_type: JS,
        body: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/graphiql/react.production.min.js"
        )),
        vendored: true,
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JS,
        body: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/graphiql/react-dom.production.min.js"
        )),
        vendored: true,
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.js")),
        vendored: true,
    },
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.css")),
        vendored: true,
    },
];

/// `GET /` (the page) and `GET /graphiql/{file}` (its scripts and stylesheet).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(options: GraphiqlOptions) -> Router<S> {
    routes_for(&options, BUNDLED)
}

fn routes_for<S: Clone + Send + Sync + 'static>(
    options: &GraphiqlOptions,
    bundled: bool,
) -> Router<S> {
    let page: Arc<str> = render_page(options).into();
    Router::new()
        .route(
            "/",
            get(move || {
                let page = Arc::clone(&page);
                async move {
                    if bundled {
                        page_response(&page)
                    } else {
                        not_bundled()
                    }
                }
            }),
        )
        .route(
            "/graphiql/{file}",
            get(move |Path(file): Path<String>| async move { asset_response(&file, bundled) }),
        )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageConfig<'a> {
    endpoint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_headers: Option<&'a str>,
}

fn render_page(options: &GraphiqlOptions) -> String {
    if let Some(headers) = &options.default_headers
        && !matches!(
            serde_json::from_str::<serde_json::Value>(headers),
            Ok(serde_json::Value::Object(_))
        )
    {
        tracing::warn!(
            "GraphiQL default headers are not a JSON object; the editor shows them as given"
        );
    }
    let config = PageConfig {
        endpoint: GRAPHQL_ENDPOINT,
        default_headers: options.default_headers.as_deref(),
    };
    // Serializing two strings cannot fail; fall back to an empty object all the same.
    let json = serde_json::to_string(&config).unwrap_or_else(|_| String::from("{}"));
    PAGE_TEMPLATE
        .replace("{{asset_version}}", ASSET_VERSION)
        .replace("{{config}}", &escape_for_script_element(&json))
}

/// Makes JSON text safe inside `<script type="application/json">`: `<`, `>` and `&` become
/// `\u003c`, `\u003e` and `\u0026`, so no value can close the element (`</script>`), open a
/// comment (`<!--`) or read as an entity. JSON has these characters only inside strings,
/// where the escapes decode to the same text.
fn escape_for_script_element(json: &str) -> String {
    let mut escaped = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn page_response(page: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        page.to_owned(),
    )
        .into_response()
}

fn asset_response(file: &str, bundled: bool) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return (
            StatusCode::NOT_FOUND,
            [(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            )],
        )
            .into_response();
    };
    if asset.vendored && !bundled {
        return not_bundled();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(ONE_YEAR)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response()
}

fn not_bundled() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        NOT_BUNDLED,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// The bundled-asset tests need the files from `.ci/fetch-graphiql`; they fail, never skip.
    #[expect(
        clippy::assertions_on_constants,
        reason = "a runtime failure, so a build without the files still compiles its other tests"
    )]
    fn require_bundled() {
        assert!(
            BUNDLED,
            "GraphiQL's vendor files are missing from crates/server/assets/vendor: \
             run `.ci/fetch-graphiql` (or `just assets`), then run the tests again"
        );
    }

    async fn get(router: Router, uri: &str) -> (Response<Body>, String) {
        let response = router
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        (Response::from_parts(parts, Body::empty()), text)
    }

    fn header_str(response: &Response<Body>, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .expect("ASCII header")
    }

    /// The JSON text of the page's config block.
    fn config_block(page: &str) -> &str {
        let open = r#"<script type="application/json" id="graphiql-config">"#;
        let start = page.find(open).expect("config block") + open.len();
        let len = page[start..].find("</script>").expect("config block end");
        &page[start..start + len]
    }

    #[tokio::test]
    async fn page_is_html_with_endpoint_csp_and_same_origin_assets() {
        require_bundled();
        let (response, page) = get(routes(GraphiqlOptions::default()), "/").await;

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_str(&response, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            header_str(&response, header::CONTENT_SECURITY_POLICY),
            PAGE_CSP
        );
        assert_eq!(
            header_str(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        assert_eq!(header_str(&response, header::CACHE_CONTROL), "no-store");
        assert_eq!(header_str(&response, header::X_FRAME_OPTIONS), "DENY");
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("<title>cognigraph · GraphiQL</title>"));
        assert!(!page.contains("{{"), "unfilled placeholder in {page}");

        let config: serde_json::Value =
            serde_json::from_str(config_block(&page)).expect("config is JSON");
        assert_eq!(config, serde_json::json!({ "endpoint": "/graphql" }));

        assert!(!page.contains("http://") && !page.contains("https://"));
        for asset in &ASSETS {
            let url = format!("\"/graphiql/{}?v={ASSET_VERSION}\"", asset.name);
            assert!(page.contains(&url), "page does not load {url}");
        }
        let references = page.matches(" src=").count() + page.matches(" href=").count();
        let ours = page.matches(" src=\"/graphiql/").count()
            + page.matches(" href=\"/graphiql/").count()
            + page.matches(" href=\"data:,\"").count();
        assert_eq!(references, ours, "a reference outside /graphiql/ in {page}");
        // No inline script: every <script> either loads a file or is the JSON data block.
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script src=\"/graphiql/").count() + 1
        );
    }

    #[tokio::test]
    async fn default_headers_are_escaped_and_round_trip() {
        require_bundled();
        let headers = r#"{"Authorization":"Bearer a&b"}</script><script>alert(1)</script><!--"#;
        let options = GraphiqlOptions {
            default_headers: Some(headers.to_owned()),
        };
        let (response, page) = get(routes(options), "/").await;

        assert_eq!(response.status(), StatusCode::OK);
        assert!(!page.contains("</script><script>alert(1)"));
        assert!(!page.contains("a&b"));
        let block = config_block(&page);
        assert!(!block.contains(['<', '>', '&']), "unescaped: {block}");
        let config: serde_json::Value = serde_json::from_str(block).expect("config is JSON");
        assert_eq!(config["endpoint"], "/graphql");
        assert_eq!(config["defaultHeaders"], headers);
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_type() {
        require_bundled();
        for asset in &ASSETS {
            let uri = format!("/graphiql/{}?v={ASSET_VERSION}", asset.name);
            let (response, body) = get(routes(GraphiqlOptions::default()), &uri).await;

            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(
                header_str(&response, header::CONTENT_TYPE),
                asset.content_type
            );
            assert_eq!(
                header_str(&response, header::X_CONTENT_TYPE_OPTIONS),
                "nosniff"
            );
            assert_eq!(header_str(&response, header::CACHE_CONTROL), ONE_YEAR);
            assert_eq!(body.as_bytes(), asset.body, "{uri}");
            assert!(!body.is_empty(), "{uri} is empty");
            assert!(!body.contains("not bundled"), "{uri} is a placeholder");
        }
        let (_, css) = get(
            routes(GraphiqlOptions::default()),
            "/graphiql/graphiql.min.css",
        )
        .await;
        assert!(css.contains(".graphiql-container"));
    }

    #[tokio::test]
    async fn unknown_assets_are_not_found() {
        for uri in [
            "/graphiql/",
            "/graphiql/nope.js",
            "/graphiql/graphiql.min.js.map",
            "/graphiql/..%2Fgraphiql.html",
            "/graphiql/vendor/graphiql.min.js",
            "/graphiql.min.js",
        ] {
            let (response, _) = get(routes(GraphiqlOptions::default()), uri).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[tokio::test]
    async fn unbundled_build_answers_503_saying_how_to_fetch() {
        for uri in ["/", "/graphiql/graphiql.min.js"] {
            let (response, body) = get(routes_for(&GraphiqlOptions::default(), false), uri).await;
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{uri}");
            assert_eq!(
                header_str(&response, header::CONTENT_TYPE),
                "text/plain; charset=utf-8"
            );
            assert!(body.contains(".ci/fetch-graphiql"), "{body}");
        }
        let (response, _) = get(
            routes_for(&GraphiqlOptions::default(), false),
            "/graphiql/graphiql-init.js",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn escaping_keeps_json_meaning() {
        let json = r#"{"a":"<\/script>&>"}"#;
        let escaped = escape_for_script_element(json);
        assert_eq!(escaped, r#"{"a":"\u003c\/script\u003e\u0026\u003e"}"#);
        let before: serde_json::Value = serde_json::from_str(json).expect("json");
        let after: serde_json::Value = serde_json::from_str(&escaped).expect("json");
        assert_eq!(before, after);
    }
}
