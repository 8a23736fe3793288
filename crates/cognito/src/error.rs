//! What can go wrong when cognigraph asks Cognito, in the cases callers act on.

use aws_sdk_cognitoidentityprovider::{
    Error as ServiceError, config::http::HttpResponse, error::SdkError,
};

/// Any error, for the transport and throttling cases' sources.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a Cognito call failed.
///
/// Mapped from the SDK's typed errors (the exception type Cognito named, the SDK's transport
/// failure kinds and the HTTP status), never from message text. Messages are kept where Cognito
/// sends them (they hold no tokens or passwords) for logs; callers match on the variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CognitoError {
    /// `NotAuthorizedException`: the access token is revoked, its user signed out everywhere,
    /// the token is not one Cognito accepts, the user is disabled, or a password is wrong.
    #[error("not authorized: {message}")]
    NotAuthorized {
        /// Cognito's message (e.g. "Access Token has been revoked", "User is disabled.").
        message: String,
    },
    /// `UserNotFoundException`: no such user (deleted, or never there).
    #[error("user not found")]
    UserNotFound,
    /// `PasswordResetRequiredException`: the user must reset their password first.
    #[error("password reset required")]
    PasswordResetRequired,
    /// `UserNotConfirmedException`: the user has not confirmed their sign-up.
    #[error("user not confirmed")]
    UserNotConfirmed,
    /// `UsernameExistsException` (or `AliasExistsException`: the email belongs to another user).
    #[error("a user with that username or email exists")]
    UsernameExists,
    /// `GroupExistsException`.
    #[error("the group exists")]
    GroupExists,
    /// `ResourceNotFoundException`: no such user pool, app client or group.
    #[error("not found: {message}")]
    ResourceNotFound {
        /// Cognito's message.
        message: String,
    },
    /// `InvalidParameterException` (and the SDK refusing to build a request from our input).
    #[error("invalid parameter: {message}")]
    InvalidParameter {
        /// Cognito's (or the SDK's) message.
        message: String,
    },
    /// `InvalidPasswordException`: the password does not meet the pool's policy.
    #[error("invalid password: {message}")]
    InvalidPassword {
        /// Cognito's message.
        message: String,
    },
    /// `TooManyRequestsException` or `LimitExceededException`: the account's quota for this
    /// action is used up for now.
    #[error("throttled by Cognito")]
    Throttled {
        /// The service error.
        #[source]
        source: BoxError,
    },
    /// Cognito could not be asked or did not answer usefully: a timeout, a connection or TLS
    /// failure, `InternalErrorException`, or any other HTTP 5xx.
    #[error("Cognito unavailable")]
    Unavailable {
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// Any other exception Cognito answered with (e.g. `ForbiddenException` from a WAF rule,
    /// `AccessDeniedException` for missing IAM permissions, `UserLambdaValidationException`).
    #[error("Cognito refused: {code}: {message}")]
    Refused {
        /// The exception type, e.g. `AccessDeniedException`.
        code: String,
        /// Cognito's message.
        message: String,
    },
    /// A successful answer without something it always carries (e.g. GetUser without `sub`).
    #[error("unexpected answer to {action}: {missing} is missing")]
    UnexpectedAnswer {
        /// The Cognito action.
        action: &'static str,
        /// What was missing.
        missing: &'static str,
    },
}

impl CognitoError {
    /// A [`CognitoError::Unavailable`] with `source` as its cause (for fakes and tests).
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }

    /// A [`CognitoError::Throttled`] with `source` as its cause (for fakes and tests).
    pub fn throttled(source: impl Into<BoxError>) -> Self {
        Self::Throttled {
            source: source.into(),
        }
    }

    /// A [`CognitoError::NotAuthorized`] with Cognito's usual message for a revoked token.
    pub fn revoked() -> Self {
        Self::NotAuthorized {
            message: "Access Token has been revoked".to_owned(),
        }
    }

    /// Whether retrying later may help: throttling and unavailability (never a refusal).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }

    /// Maps an SDK error of any operation: transport failures by the SDK's kinds, service errors
    /// through the service-wide typed [`aws_sdk_cognitoidentityprovider::Error`], and unknown
    /// exceptions by HTTP status (5xx: [`CognitoError::Unavailable`]).
    pub(crate) fn from_sdk<E>(error: SdkError<E, HttpResponse>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        ServiceError: From<E>,
    {
        match error {
            SdkError::ServiceError(context) => {
                let status = context.raw().status().as_u16();
                Self::from_service(ServiceError::from(context.into_err()), status)
            }
            SdkError::ConstructionFailure(_) => Self::InvalidParameter {
                message: format!(
                    "{}",
                    aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&error)
                ),
            },
            // Timeouts, dispatch (connection, TLS, DNS) failures, unparseable answers.
            other => Self::Unavailable {
                source: Box::new(other),
            },
        }
    }

    fn from_service(error: ServiceError, status: u16) -> Self {
        use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata as _;
        let text = |message: Option<&str>| message.unwrap_or_default().to_owned();
        match error {
            ServiceError::NotAuthorizedException(e) => Self::NotAuthorized {
                message: text(e.message()),
            },
            ServiceError::UserNotFoundException(_) => Self::UserNotFound,
            ServiceError::PasswordResetRequiredException(_) => Self::PasswordResetRequired,
            ServiceError::UserNotConfirmedException(_) => Self::UserNotConfirmed,
            ServiceError::UsernameExistsException(_) | ServiceError::AliasExistsException(_) => {
                Self::UsernameExists
            }
            ServiceError::GroupExistsException(_) => Self::GroupExists,
            ServiceError::ResourceNotFoundException(e) => Self::ResourceNotFound {
                message: text(e.message()),
            },
            ServiceError::InvalidParameterException(e) => Self::InvalidParameter {
                message: text(e.message()),
            },
            ServiceError::InvalidPasswordException(e) => Self::InvalidPassword {
                message: text(e.message()),
            },
            ServiceError::TooManyRequestsException(_) | ServiceError::LimitExceededException(_) => {
                Self::Throttled {
                    source: Box::new(error),
                }
            }
            ServiceError::InternalErrorException(_) => Self::Unavailable {
                source: Box::new(error),
            },
            other if status >= 500 => Self::Unavailable {
                source: Box::new(other),
            },
            other => Self::Refused {
                code: other.code().unwrap_or("unknown").to_owned(),
                message: text(other.message()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::{
        error::SdkError,
        operation::get_user::GetUserError,
        types::error::{
            InternalErrorException, NotAuthorizedException, PasswordResetRequiredException,
            TooManyRequestsException, UserNotConfirmedException, UserNotFoundException,
        },
    };

    /// An HTTP answer with `status` and no body.
    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    /// The error the SDK hands back when Cognito answers `status` with `error`.
    fn service_error(error: GetUserError, status: u16) -> CognitoError {
        CognitoError::from_sdk(SdkError::service_error(error, response(status)))
    }

    #[test]
    fn getuser_exceptions_map_to_the_cases_callers_act_on() {
        let revoked = GetUserError::NotAuthorizedException(
            NotAuthorizedException::builder()
                .message("Access Token has been revoked")
                .build(),
        );
        assert!(matches!(
            service_error(revoked, 400),
            CognitoError::NotAuthorized { message } if message == "Access Token has been revoked"
        ));
        let gone = GetUserError::UserNotFoundException(UserNotFoundException::builder().build());
        assert!(matches!(
            service_error(gone, 400),
            CognitoError::UserNotFound
        ));
        let reset = GetUserError::PasswordResetRequiredException(
            PasswordResetRequiredException::builder().build(),
        );
        assert!(matches!(
            service_error(reset, 400),
            CognitoError::PasswordResetRequired
        ));
        let unconfirmed =
            GetUserError::UserNotConfirmedException(UserNotConfirmedException::builder().build());
        assert!(matches!(
            service_error(unconfirmed, 400),
            CognitoError::UserNotConfirmed
        ));
        let throttled =
            GetUserError::TooManyRequestsException(TooManyRequestsException::builder().build());
        assert!(matches!(
            service_error(throttled, 400),
            CognitoError::Throttled { .. }
        ));
        let internal =
            GetUserError::InternalErrorException(InternalErrorException::builder().build());
        assert!(matches!(
            service_error(internal, 500),
            CognitoError::Unavailable { .. }
        ));
    }

    #[test]
    fn unknown_exceptions_are_unavailable_on_5xx_and_refusals_otherwise() {
        let unknown = || {
            GetUserError::generic(
                aws_sdk_cognitoidentityprovider::error::ErrorMetadata::builder()
                    .code("SomethingNewException")
                    .message("new")
                    .build(),
            )
        };
        assert!(matches!(
            service_error(unknown(), 503),
            CognitoError::Unavailable { .. }
        ));
        assert!(matches!(
            service_error(unknown(), 400),
            CognitoError::Refused { code, .. } if code == "SomethingNewException"
        ));
    }

    #[test]
    fn transport_failures_are_unavailable() {
        let timeout: SdkError<GetUserError, HttpResponse> =
            SdkError::timeout_error(std::io::Error::other("operation timed out"));
        assert!(CognitoError::from_sdk(timeout).is_transient());
        let dispatch: SdkError<GetUserError, HttpResponse> =
            SdkError::construction_failure(std::io::Error::other("no region"));
        assert!(matches!(
            CognitoError::from_sdk(dispatch),
            CognitoError::InvalidParameter { .. }
        ));
    }
}
