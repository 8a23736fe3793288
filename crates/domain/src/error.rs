//! The one error type of the domain.

use std::mem::discriminant;
use std::sync::Arc;

use sea_orm::{DbErr, RuntimeErr, TransactionError};
use uuid::Uuid;

use crate::Action;

/// Why a domain operation failed.
///
/// `Display` is safe to show a client for every variant: [`DomainError::Database`] displays as
/// `"database error"` and keeps what went wrong (which may contain SQL and stored values) in its
/// [`DatabaseFailure`], the error's `source()`, for logs.
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
    /// The database failed (a statement refused, a constraint violated), or it holds what
    /// cognigraph never writes. The failure is for logs only.
    #[error("database error")]
    Database(#[source] DatabaseFailure),
    /// The database cannot be reached now (no connection within the pool's acquire timeout, a
    /// connection lost, the server shutting down): worth a retry. The failure is for logs only.
    #[error("database unavailable")]
    Unavailable(#[source] DatabaseFailure),
}

/// What went wrong in the database: the driver's error (sea-orm's or sqlx's, kept whole, so its
/// own causes follow it in the `source()` chain), or stored data that breaks an invariant of
/// cognigraph's.
///
/// Its `Display` may hold SQL, stored values and names from the database: for logs only, never
/// for clients. Cloning shares the driver's error. Neither driver's errors can be compared, so
/// two failures are equal when they are of the same kind and read the same (their `Display`),
/// as sea-orm compares its own errors.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct DatabaseFailure(Failure);

#[derive(Debug, Clone, thiserror::Error)]
enum Failure {
    /// sea-orm's error.
    #[error(transparent)]
    Orm(Arc<DbErr>),
    /// sqlx's error (connecting, configuring the pool).
    #[error(transparent)]
    Driver(Arc<sea_orm::sqlx::Error>),
    /// SQLite's error on a read on the calling thread ([`crate::sqlite_readers`]).
    #[error(transparent)]
    Sqlite(Arc<rusqlite::Error>),
    /// A read on the calling thread whose columns are not its model's, in order (a bug).
    #[error("a read selected the columns {names}, not its model's")]
    UnexpectedColumns {
        /// The columns, comma-separated.
        names: String,
    },
    /// A statement value [`crate::sqlite_readers`] has no SQLite encoding for (a bug: every
    /// statement it runs is built here).
    #[error("no SQLite encoding for the statement value {value}")]
    UnsupportedParameter {
        /// The value, debug-formatted.
        value: String,
    },
    /// A task row whose status is none of [`crate::tasks::TaskStatus`]'s.
    #[error("task {task_id} has status {status:?}, which is no task status")]
    ImpossibleTaskStatus {
        /// The task.
        task_id: Uuid,
        /// The stored status.
        status: String,
    },
    /// An active project whose task count could not be updated (there is no way back from
    /// archived, and the row is locked).
    #[error("project {project_id} is active but its task count was not updated")]
    TaskCountNotUpdated {
        /// The project.
        project_id: Uuid,
    },
    /// The database records a migration this build does not have: a newer version of
    /// cognigraph migrated it.
    #[error(
        "the database has migration '{name}' applied, which this build does not have (a newer \
         version of cognigraph migrated it)"
    )]
    UnknownMigration {
        /// The migration's name.
        name: String,
    },
}

impl PartialEq for DatabaseFailure {
    fn eq(&self, other: &Self) -> bool {
        discriminant(&self.0) == discriminant(&other.0) && self.to_string() == other.to_string()
    }
}

impl Eq for DatabaseFailure {}

impl DomainError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::InvalidInput {
            field,
            message: message.into(),
        }
    }

    /// A task row whose status is none of [`crate::tasks::TaskStatus`]'s.
    pub(crate) fn impossible_task_status(task_id: Uuid, status: String) -> Self {
        DomainError::Database(DatabaseFailure(Failure::ImpossibleTaskStatus {
            task_id,
            status,
        }))
    }

    /// An active project whose task count was not updated.
    pub(crate) fn task_count_not_updated(project_id: Uuid) -> Self {
        DomainError::Database(DatabaseFailure(Failure::TaskCountNotUpdated { project_id }))
    }

    /// A read whose columns are not its model's.
    pub(crate) fn unexpected_columns(names: String) -> Self {
        DomainError::Database(DatabaseFailure(Failure::UnexpectedColumns { names }))
    }

    /// A statement value with no SQLite encoding.
    pub(crate) fn unsupported_parameter(value: String) -> Self {
        DomainError::Database(DatabaseFailure(Failure::UnsupportedParameter { value }))
    }

    /// A migration applied to the database that this build does not have.
    pub(crate) fn unknown_migration(name: String) -> Self {
        DomainError::Database(DatabaseFailure(Failure::UnknownMigration { name }))
    }

    /// `Unavailable` or `Database`, as `unavailable` says, with `failure`.
    fn from_driver(unavailable: bool, failure: Failure) -> Self {
        if unavailable {
            DomainError::Unavailable(DatabaseFailure(failure))
        } else {
            DomainError::Database(DatabaseFailure(failure))
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
        DomainError::from_driver(unavailable, Failure::Orm(Arc::new(err)))
    }
}

impl From<sea_orm::sqlx::Error> for DomainError {
    fn from(err: sea_orm::sqlx::Error) -> Self {
        DomainError::from_driver(is_unavailable(&err), Failure::Driver(Arc::new(err)))
    }
}

impl From<rusqlite::Error> for DomainError {
    /// `Unavailable` when the file cannot be opened, else `Database`.
    fn from(err: rusqlite::Error) -> Self {
        let unavailable = err.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen);
        DomainError::from_driver(unavailable, Failure::Sqlite(Arc::new(err)))
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
