//! The one place errors become what clients see: a stable `extensions.code` (and sometimes a
//! `reason` or `field`), never internal details. Those go to the log with the request id.

use async_graphql::{ErrorExtensions as _, ServerError};

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
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated { .. } => "UNAUTHENTICATED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict { .. } => "CONFLICT",
            Self::Internal(_) => "INTERNAL",
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
            E::Unavailable(detail) => {
                tracing::error!(%detail, "database unavailable");
                Self::ServiceUnavailable {
                    reason: "database_unavailable",
                }
            }
            other => Self::Internal(format!("{other:?}")),
        }
    }
}

impl From<crate::tenancy::TenancyError> for ApiError {
    fn from(error: crate::tenancy::TenancyError) -> Self {
        use crate::tenancy::TenancyError as E;
        match error {
            E::Refused(refusal) => Self::Unauthenticated {
                reason: refusal.reason(),
            },
            E::Unavailable(detail) => {
                tracing::error!(%detail, "tenant lookup failed");
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

/// Codes for errors that the GraphQL engine itself raises, so every error a client sees has one.
pub mod engine_codes {
    /// The document does not parse.
    pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not validate against the schema.
    pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// Nesting deeper than `MAX_QUERY_DEPTH` (or, below `__schema` and `__type`,
    /// `MAX_INTROSPECTION_DEPTH`); raised by `graphql::limits` with this code.
    pub const TOO_DEEP: &str = "QUERY_TOO_DEEP";
    /// Complexity above `MAX_QUERY_COMPLEXITY`.
    pub const TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// A response larger than `MAX_RESPONSE_BYTES`.
    pub const RESPONSE_TOO_LARGE: &str = "RESPONSE_TOO_LARGE";
    /// More aliases than `MAX_QUERY_ALIASES`.
    pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
    /// More operations in a batch than `MAX_BATCH_SIZE`.
    pub const BATCH_TOO_LARGE: &str = "BATCH_TOO_LARGE";
    /// `__schema` or `__type` asked of a server with introspection off.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// A mutation sent with GET.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// The request is not a GraphQL request (body, content type, parameters).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
}

/// An error with a code, not tied to a field.
pub fn request_error(code: &'static str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// Gives every engine error without a code its code; errors from resolvers already have one.
/// Anything unrecognized that carries a path is a resolver failure: logged, and sent as
/// `INTERNAL` without its text.
pub fn classify(error: &mut ServerError) {
    if error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
    {
        return;
    }
    let mut field = None;
    let code = if error.message.starts_with("Query is too complex") {
        engine_codes::TOO_COMPLEX
    } else if let Some(argument) = error.message.strip_prefix("Invalid value for argument \"") {
        // `Invalid value for argument "input.budget", expected type "Int"`: the field is the
        // last segment of the quoted path.
        field = argument
            .split('"')
            .next()
            .and_then(|path| path.rsplit('.').next())
            .map(str::to_owned);
        "BAD_USER_INPUT"
    } else if error.path.is_empty() {
        engine_codes::VALIDATION_FAILED
    } else if error.message.starts_with("Failed to parse") {
        "BAD_USER_INPUT"
    } else {
        tracing::error!(message = %error.message, path = ?error.path, "unclassified resolver error");
        error.message = "internal error".to_owned();
        "INTERNAL"
    };
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code);
    if let Some(field) = field {
        extensions.set("field", field);
    }
}
