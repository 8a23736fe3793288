//! Why a trigger refused or failed, and what Cognito (and through it the user) is told.

use lambda_runtime::Diagnostic;

/// Why a trigger did not return its event.
///
/// Cognito fails the user's operation on any error and shows the client the message
/// ("PreSignUp failed with error `<message>`."), so [`TriggerError::Refused`] carries a message
/// meant for people; the other variants' messages name no internals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The user's operation is refused on purpose (a closed email domain).
    #[error("{0}")]
    Refused(String),
    /// The event is not one this function handles, or lacks what it needs.
    #[error("unexpected event: {0}")]
    UnexpectedEvent(String),
    /// A setting this trigger needs is missing (e.g. `DATABASE_URL` for post confirmation).
    #[error("the function is not configured: {0} is missing")]
    Misconfigured(&'static str),
    /// Cognito's admin API failed (Cognito retries the trigger on errors and timeouts).
    #[error("the user pool could not be updated; try again")]
    Cognito(#[source] cognigraph_cognito::CognitoError),
    /// The database failed.
    #[error("the account could not be set up; try again")]
    Database(#[source] cognigraph_domain::DomainError),
}

impl From<TriggerError> for Diagnostic {
    fn from(error: TriggerError) -> Self {
        let error_type = match &error {
            TriggerError::Refused(_) => "Refused",
            TriggerError::UnexpectedEvent(_) => "UnexpectedEvent",
            TriggerError::Misconfigured(_) => "Misconfigured",
            TriggerError::Cognito(_) => "CognitoFailed",
            TriggerError::Database(_) => "DatabaseFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}
