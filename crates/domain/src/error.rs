//! The one error type of the domain.

use sea_orm::{DbErr, TransactionError};

use crate::Action;

/// Why a domain operation failed.
///
/// `Display` is safe to show a client for every variant: [`DomainError::Database`] displays as
/// `"database error"` and keeps the driver's message (which may contain SQL) in its field, for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// No such entity in the caller's tenant. An id that exists in another tenant gives exactly
    /// this, so ids leak nothing across tenants.
    #[error("not found")]
    NotFound,
    /// The caller's role is below `action.required_role()`.
    #[error("forbidden: {action} needs a higher role")]
    Forbidden { action: Action },
    /// The entity's version is not the `expected_version` the write was made against; nothing was
    /// changed.
    #[error("version conflict: expected version {expected}, the current version is {actual}")]
    Conflict { expected: i32, actual: i32 },
    /// An input failed validation. `field` is the name of the input field (as the GraphQL API
    /// spells it, e.g. `"assigneeId"`).
    #[error("invalid {field}: {message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },
    /// The database failed. The message is for logs only.
    #[error("database error")]
    Database(String),
}

impl DomainError {
    /// A stable, client-facing code: `NOT_FOUND`, `FORBIDDEN`, `CONFLICT`, `BAD_USER_INPUT` or
    /// `INTERNAL`.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::NotFound => "NOT_FOUND",
            DomainError::Forbidden { .. } => "FORBIDDEN",
            DomainError::Conflict { .. } => "CONFLICT",
            DomainError::InvalidInput { .. } => "BAD_USER_INPUT",
            DomainError::Database(_) => "INTERNAL",
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::InvalidInput {
            field,
            message: message.into(),
        }
    }
}

impl From<DbErr> for DomainError {
    fn from(err: DbErr) -> Self {
        DomainError::Database(err.to_string())
    }
}

impl From<sea_orm::sqlx::Error> for DomainError {
    fn from(err: sea_orm::sqlx::Error) -> Self {
        DomainError::Database(err.to_string())
    }
}

impl From<TransactionError<DomainError>> for DomainError {
    fn from(err: TransactionError<DomainError>) -> Self {
        match err {
            TransactionError::Connection(err) => err.into(),
            TransactionError::Transaction(err) => err,
        }
    }
}
