//! The one place errors become what clients see: a stable `extensions.code` (and sometimes a
//! `reason` or `field`), never internal details. Those go to the log with the request id.

use async_graphql::{ErrorExtensions as _, ServerError};
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse as _, Response},
};

/// Every `extensions.code` a client can see, whatever raised it (a resolver, the engine, a limit,
/// the HTTP edge). No code exists as a string anywhere else (a test reads the sources for one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid token.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// Nothing with that id, as far as the caller can know.
    NotFound,
    /// Something the request needs is down; worth a retry.
    ServiceUnavailable,
    /// Input that fails validation, or a value of the wrong type for an argument.
    BadUserInput,
    /// A write the current state refuses.
    Conflict,
    /// A bug or an outage; the detail is logged, never sent.
    Internal,
    /// A request body larger than `MAX_BODY_BYTES`.
    PayloadTooLarge,
    /// The document does not parse.
    ParseFailed,
    /// The document does not validate against the schema.
    ValidationFailed,
    /// Nesting deeper than `MAX_QUERY_DEPTH` (or, below `__schema` and `__type`,
    /// `MAX_INTROSPECTION_DEPTH`).
    TooDeep,
    /// Complexity above `MAX_QUERY_COMPLEXITY`.
    TooComplex,
    /// A response larger than `MAX_RESPONSE_BYTES`.
    ResponseTooLarge,
    /// More aliases than `MAX_QUERY_ALIASES`.
    TooManyAliases,
    /// More operations in a batch than `MAX_BATCH_SIZE`.
    BatchTooLarge,
    /// `__schema` or `__type` asked of a server with introspection off.
    IntrospectionDisabled,
    /// A mutation sent with GET.
    MethodNotAllowed,
    /// The request is not a GraphQL request (body, content type, parameters, headers).
    BadRequest,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 18] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::ServiceUnavailable,
        Self::BadUserInput,
        Self::Conflict,
        Self::Internal,
        Self::PayloadTooLarge,
        Self::ParseFailed,
        Self::ValidationFailed,
        Self::TooDeep,
        Self::TooComplex,
        Self::ResponseTooLarge,
        Self::TooManyAliases,
        Self::BatchTooLarge,
        Self::IntrospectionDisabled,
        Self::MethodNotAllowed,
        Self::BadRequest,
    ];

    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::Internal => "INTERNAL",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::ParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::ValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::TooDeep => "QUERY_TOO_DEEP",
            Self::TooComplex => "QUERY_TOO_COMPLEX",
            Self::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            Self::TooManyAliases => "TOO_MANY_ALIASES",
            Self::BatchTooLarge => "BATCH_TOO_LARGE",
            Self::IntrospectionDisabled => "INTROSPECTION_DISABLED",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::BadRequest => "BAD_REQUEST",
        }
    }
}

impl From<ErrorCode> for async_graphql::Value {
    fn from(code: ErrorCode) -> Self {
        Self::from(code.as_str())
    }
}

/// `error` and its causes, `: `-separated, for the log. A cause whose text ends the text so far
/// is left out: sea-orm's and sqlx's errors repeat their cause's message in their own.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A request refused before GraphQL runs (or instead of its answer): `status` with a
/// GraphQL-shaped body, `{"errors":[{"message":…,"extensions":{"code":…,"reason":…}}]}`.
pub(crate) fn http_error(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    reason: Option<&str>,
) -> Response {
    let mut extensions = serde_json::json!({ "code": code.as_str() });
    if let Some(reason) = reason {
        extensions["reason"] = serde_json::json!(reason);
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] });
    (status, Json(body)).into_response()
}

/// Every failure a client can be told about.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into a client error
/// without a code, so `?` on an `ApiError` goes through the `From` below, which adds it.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// No valid token (`reason`: the verifier's code, or `missing_token`).
    Unauthenticated {
        /// Why.
        reason: &'static str,
    },
    /// Authenticated, but the field's policy does not admit the caller.
    Forbidden {
        /// `insufficient_role`, `missing_scope` or `no_tenant`.
        reason: &'static str,
    },
    /// Nothing with that id, as far as the caller can know.
    NotFound,
    /// Something the field needs (Cognito, the database) cannot be had now; worth a retry.
    ServiceUnavailable {
        /// `identity_provider_unavailable` or `database_unavailable`.
        reason: &'static str,
    },
    /// Input that fails validation.
    BadUserInput {
        /// The offending argument or input field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A write the current state refuses.
    Conflict {
        /// `stale_version` (the `expectedVersion` is not the current one), `member_exists` (an
        /// invitation to an address that has an account, in any tenant) or `last_admin` (the
        /// change would leave the tenant without an active admin).
        reason: &'static str,
        /// What happened, for people.
        message: String,
    },
    /// A bug or an outage; the detail is logged, never sent.
    Internal(String),
}

impl ApiError {
    /// The message clients see.
    pub fn message(&self) -> &str {
        match self {
            Self::Unauthenticated { .. } => "authentication required",
            Self::Forbidden { .. } => "not allowed",
            Self::NotFound => "not found",
            Self::ServiceUnavailable { .. } => "temporarily unavailable; try again later",
            Self::BadUserInput { message, .. } | Self::Conflict { message, .. } => message,
            Self::Internal(_) => "internal error",
        }
    }

    /// The stable `extensions.code`.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated { .. } => ErrorCode::Unauthenticated,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::NotFound => ErrorCode::NotFound,
            Self::ServiceUnavailable { .. } => ErrorCode::ServiceUnavailable,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl ApiError {
    /// The one answer to inviting an address that has an account, whichever tenant it is in.
    pub fn member_exists() -> Self {
        Self::Conflict {
            reason: "member_exists",
            message: "a user with that email exists".to_owned(),
        }
    }
}

impl From<cognigraph_cognito::CognitoError> for ApiError {
    /// Cognito's answers to the admin calls of user management: no such user is NOT_FOUND (as
    /// a user of another tenant is), an existing username or email CONFLICT `member_exists`,
    /// throttling and outages SERVICE_UNAVAILABLE `identity_provider_unavailable`; anything else
    /// (a missing IAM permission, a missing group) is logged and INTERNAL.
    fn from(error: cognigraph_cognito::CognitoError) -> Self {
        use cognigraph_cognito::CognitoError as E;
        match error {
            E::UserNotFound => Self::NotFound,
            E::UsernameExists => Self::member_exists(),
            error if error.is_transient() => {
                tracing::error!(error = ?error, "Cognito admin call failed");
                Self::ServiceUnavailable {
                    reason: "identity_provider_unavailable",
                }
            }
            other => Self::Internal(format!("Cognito admin call failed: {other:?}")),
        }
    }
}

impl From<cognigraph_domain::DomainError> for ApiError {
    /// The domain's refusals become their codes; a database failure is sent as no more than
    /// SERVICE_UNAVAILABLE `database_unavailable` (worth a retry) or INTERNAL, and logged with
    /// its causes (the driver's message, which may hold SQL and stored values).
    fn from(error: cognigraph_domain::DomainError) -> Self {
        use cognigraph_domain::DomainError as E;
        match error {
            E::NotFound => Self::NotFound,
            E::Forbidden { .. } => Self::Forbidden {
                reason: "insufficient_role",
            },
            E::Conflict { expected, actual } => Self::Conflict {
                reason: "stale_version",
                message: format!(
                    "expectedVersion {expected} is stale: the current version is {actual}"
                ),
            },
            E::LastAdmin => Self::Conflict {
                reason: "last_admin",
                message: "the tenant's last active admin cannot be demoted or disabled".to_owned(),
            },
            E::MemberExists => Self::member_exists(),
            E::MemberDisabled => Self::Forbidden {
                reason: "member_disabled",
            },
            E::InvalidInput { field, message } => Self::BadUserInput {
                field: field.to_owned(),
                message: format!("{field}: {message}"),
            },
            error @ E::Unavailable(_) => {
                tracing::error!(error = %chain(&error), "database unavailable");
                Self::ServiceUnavailable {
                    reason: "database_unavailable",
                }
            }
            other => Self::Internal(chain(&other)),
        }
    }
}

/// `Result<T, DomainError>` into the one client error mapping: resolvers write
/// `domain_call().await.api()?`. (`?` alone would go through async-graphql's blanket
/// conversion of any `Display` error, without a code.)
pub(crate) trait DomainResultExt<T> {
    /// Maps the domain error to its [`ApiError`].
    fn api(self) -> Result<T, ApiError>;
}

impl<T> DomainResultExt<T> for Result<T, cognigraph_domain::DomainError> {
    fn api(self) -> Result<T, ApiError> {
        self.map_err(ApiError::from)
    }
}

impl From<crate::tenancy::TenancyError> for ApiError {
    fn from(error: crate::tenancy::TenancyError) -> Self {
        use crate::tenancy::TenancyError as E;
        match error {
            E::Refused(refusal) => Self::Unauthenticated {
                reason: refusal.reason(),
            },
            error @ (E::Unavailable(_) | E::CoolingDown) => {
                tracing::error!(error = %chain(&error), "tenant lookup failed");
                Self::ServiceUnavailable {
                    reason: "identity_provider_unavailable",
                }
            }
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        if let ApiError::Internal(detail) = &error {
            tracing::error!(%detail, "internal error");
        }
        async_graphql::Error::new(error.message()).extend_with(|_, ext| {
            ext.set("code", error.code());
            match &error {
                ApiError::Unauthenticated { reason }
                | ApiError::Forbidden { reason }
                | ApiError::ServiceUnavailable { reason }
                | ApiError::Conflict { reason, .. } => {
                    ext.set("reason", *reason);
                }
                ApiError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                _ => {}
            }
        })
    }
}

/// An error with a code, not tied to a field.
pub(crate) fn request_error(code: ErrorCode, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// Gives every engine error without a code its code; errors from resolvers already have one.
/// One without a code that carries a path is a resolver failure: logged, and sent as
/// `INTERNAL` without its text. (A bad argument is coded before: by `classify_validation_error`
/// when validation refuses it, by `argument_error` when the engine refuses it while reading it
/// for the resolver.)
pub(crate) fn classify(error: &mut ServerError) {
    if error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
    {
        return;
    }
    let code = if error.path.is_empty() {
        // Not from a resolver: validation's own are coded in `classify_validation_error`.
        ErrorCode::ValidationFailed
    } else {
        tracing::error!(message = %error.message, path = ?error.path, "unclassified resolver error");
        error.message = "internal error".to_owned();
        ErrorCode::Internal
    };
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
}

/// Codes an error the engine raised reading `argument` for a resolver (a value validation let
/// through but the argument's type refuses, such as an `Int` out of range): `BAD_USER_INPUT`
/// naming the argument. An error that already has a code keeps it.
pub(crate) fn argument_error(error: &mut ServerError, argument: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", ErrorCode::BadUserInput);
        extensions.set("field", argument);
    }
}

/// Codes an error that validation raised (called where the engine hands them over, so the kind
/// is known): a value of the wrong type for an argument is `BAD_USER_INPUT` naming the field
/// (`Invalid value for argument "input.budget", …` names `budget`); any other is
/// `GRAPHQL_VALIDATION_FAILED`. A test pins the engine's wording for the former.
pub(crate) fn classify_validation_error(error: &mut ServerError) {
    if error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
    {
        return;
    }
    let field = error
        .message
        .strip_prefix("Invalid value for argument \"")
        .and_then(|argument| argument.split('"').next())
        .and_then(|path| path.rsplit('.').next())
        .map(str::to_owned);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    match field {
        Some(field) => {
            extensions.set("code", ErrorCode::BadUserInput);
            extensions.set("field", field);
        }
        None => extensions.set("code", ErrorCode::ValidationFailed),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{ApiError, ErrorCode};

    fn rust_files(folder: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(folder).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }

    /// The one mapping: a code written as a string anywhere else (the server's and the domain's
    /// sources, the authorization macros) could drift from it.
    #[test]
    fn no_client_visible_code_is_written_outside_this_module() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for source in ["server/src", "domain/src", "authz-macros/src"] {
            rust_files(&crates.join(source), &mut files);
        }
        let this_module = Path::new(file!()).file_name().expect("errors.rs");
        let mut written_elsewhere = Vec::new();
        for file in files
            .iter()
            .filter(|file| file.file_name() != Some(this_module))
        {
            let text = std::fs::read_to_string(file).expect("a source file");
            for code in ErrorCode::ALL {
                if text.contains(&format!("\"{}\"", code.as_str())) {
                    written_elsewhere.push(format!("{} in {}", code.as_str(), file.display()));
                }
            }
        }
        assert!(
            written_elsewhere.is_empty(),
            "use ErrorCode instead: {written_elsewhere:#?}"
        );
    }

    #[test]
    fn domain_errors_reach_clients_with_their_codes_and_nothing_internal() {
        use cognigraph_domain::{Action, DomainError};
        let cases = [
            (DomainError::NotFound, ErrorCode::NotFound, None),
            (
                DomainError::Forbidden {
                    action: Action::ReadBudget,
                },
                ErrorCode::Forbidden,
                Some("insufficient_role"),
            ),
            (
                DomainError::MemberDisabled,
                ErrorCode::Forbidden,
                Some("member_disabled"),
            ),
            (
                DomainError::Conflict {
                    expected: 1,
                    actual: 2,
                },
                ErrorCode::Conflict,
                Some("stale_version"),
            ),
            (
                DomainError::LastAdmin,
                ErrorCode::Conflict,
                Some("last_admin"),
            ),
            (
                DomainError::MemberExists,
                ErrorCode::Conflict,
                Some("member_exists"),
            ),
            (
                DomainError::InvalidInput {
                    field: "name",
                    message: "must not be empty".to_owned(),
                },
                ErrorCode::BadUserInput,
                None,
            ),
            (database_failure(), ErrorCode::Internal, None),
            (
                database_outage(),
                ErrorCode::ServiceUnavailable,
                Some("database_unavailable"),
            ),
        ];
        for (domain, code, reason) in cases {
            let api = ApiError::from(domain.clone());
            assert_eq!(api.code(), code, "{domain:?}");
            let error = async_graphql::Error::from(api);
            let extensions = error.extensions.expect("extensions");
            assert_eq!(
                extensions.get("code"),
                Some(&async_graphql::Value::from(code)),
                "{domain:?}"
            );
            assert_eq!(
                extensions.get("reason"),
                reason.map(async_graphql::Value::from).as_ref(),
                "{domain:?}"
            );
            let sent = format!("{} {extensions:?}", error.message);
            assert!(!sent.contains("secret"), "{sent}");
        }
    }

    /// A failed statement, as sea-orm reports it: its message names a secret.
    fn database_failure() -> cognigraph_domain::DomainError {
        sea_orm::DbErr::Query(sea_orm::RuntimeErr::Internal(
            "SELECT secret FROM t".to_owned(),
        ))
        .into()
    }

    /// A connection lost, as sqlx reports it: its message names a secret.
    fn database_outage() -> cognigraph_domain::DomainError {
        let lost = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "secret peer");
        sea_orm::sqlx::Error::Io(lost).into()
    }

    /// What the clients are not sent is what the logs get: the driver's message, through the
    /// domain error's causes.
    #[test]
    fn database_failures_are_logged_with_the_drivers_message() {
        let failure = database_failure();
        assert!(matches!(
            failure,
            cognigraph_domain::DomainError::Database(_)
        ));
        match ApiError::from(failure) {
            ApiError::Internal(detail) => assert_eq!(
                detail, "database error: Query Error: SELECT secret FROM t",
                "one mention of each cause"
            ),
            other => panic!("{other:?}"),
        }
        let outage = database_outage();
        assert!(matches!(
            outage,
            cognigraph_domain::DomainError::Unavailable(_)
        ));
        assert_eq!(
            super::chain(&outage),
            "database unavailable: error communicating with database: secret peer"
        );
    }

    #[test]
    fn the_readme_names_every_code() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
                .expect("README.md");
        let missing: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|code| code.as_str())
            .filter(|code| !readme.contains(&format!("`{code}`")))
            .collect();
        assert!(missing.is_empty(), "README.md lacks {missing:?}");
    }

    #[test]
    fn codes_are_distinct_and_upper_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{text}"
            );
        }
    }
}
