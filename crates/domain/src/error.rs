//! The one error type of the domain.

use sea_orm::{DbErr, RuntimeErr, TransactionError};

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
    Forbidden {
        /// The action that was refused.
        action: Action,
    },
    /// The entity's version is not the `expected_version` the write was made against; nothing was
    /// changed.
    #[error("version conflict: expected version {expected}, the current version is {actual}")]
    Conflict {
        /// The version the caller expected.
        expected: i32,
        /// The entity's current version.
        actual: i32,
    },
    /// An input failed validation. `field` is the name of the input field (as the GraphQL API
    /// spells it, e.g. `"assigneeId"`).
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The input field's name, as the GraphQL API spells it.
        field: &'static str,
        /// What is wrong with the value, e.g. `"must not be empty"`.
        message: String,
    },
    /// The change would leave the tenant without an active admin (demoting or disabling the
    /// last one); nothing was changed.
    #[error("the tenant's last active admin cannot be demoted or disabled")]
    LastAdmin,
    /// A member with that `sub` is in the tenant already.
    #[error("the member exists")]
    MemberExists,
    /// The member was disabled by an admin after their token was issued.
    #[error("the member is disabled")]
    MemberDisabled,
    /// The database failed. The message is for logs only.
    #[error("database error")]
    Database(String),
    /// The database cannot be reached now (no connection within the pool's acquire timeout, a
    /// connection lost, the server shutting down): worth a retry. The message is for logs only.
    #[error("database unavailable")]
    Unavailable(String),
}

impl DomainError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::InvalidInput {
            field,
            message: message.into(),
        }
    }
}

impl From<DbErr> for DomainError {
    fn from(err: DbErr) -> Self {
        let unavailable = match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Query(RuntimeErr::SqlxError(inner))
            | DbErr::Exec(RuntimeErr::SqlxError(inner)) => is_unavailable(inner),
            _ => false,
        };
        if unavailable {
            DomainError::Unavailable(err.to_string())
        } else {
            DomainError::Database(err.to_string())
        }
    }
}

impl From<sea_orm::sqlx::Error> for DomainError {
    fn from(err: sea_orm::sqlx::Error) -> Self {
        if is_unavailable(&err) {
            DomainError::Unavailable(err.to_string())
        } else {
            DomainError::Database(err.to_string())
        }
    }
}

/// Whether `err` says the database cannot be reached (rather than that a statement failed):
/// I/O and TLS failures, pool time-outs, and PostgreSQL's connection-exception (08…),
/// operator-intervention (57P01–57P03: shut down, crashed, starting) and too-many-connections
/// (53300) codes.
fn is_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match err {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Database(database) => database.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
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
