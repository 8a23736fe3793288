//! Reads of a SQLite file on the calling thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: a statement is a message to that
//! thread, its rows come back one message each, every value copied on the way, and returning the
//! connection to the pool sends one more (a ping). A read of a page of 200 tasks spent more time
//! in those hand-overs (two thread switches per message, on a busy core) than in SQLite. Here the
//! same statements (built by sea-query, as for sqlx) run on the thread that asks, on connections
//! of their own, their values read in place.
//!
//! Security and cost: only reads come here, one statement each ([`crate::Db::read_inline`]
//! says when). The statement runs to its end on the asking thread, so its cost is bounded by
//! what callers let it read: every read here is a page (at most 100 rows, or 100 × 100 for the
//! first tasks of a page of projects) or a set of ids, through an index. A connection waits at
//! most the same busy timeout as sqlx's for a lock (in WAL mode a reader waits only while
//! another connection recovers the journal).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::{Statement, Value};

use crate::DomainError;

/// The connections reading one SQLite file on the calling thread, opened when first needed and
/// kept for reuse (at most `keep` idle ones). Each asks SQLite for `busy_timeout`. Every
/// statement counts in `statements` (the database handle's counter).
pub(crate) struct SqliteReaders {
    path: PathBuf,
    busy_timeout: Duration,
    keep: usize,
    statements: Arc<AtomicU64>,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteReaders {
    /// Readers of the file `path`, which must exist by the time the first read runs.
    pub(crate) fn new(
        path: PathBuf,
        busy_timeout: Duration,
        keep: usize,
        statements: Arc<AtomicU64>,
    ) -> Arc<Self> {
        Arc::new(Self {
            path,
            busy_timeout,
            keep,
            statements,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `statement` (SQLite SQL with its values, as sea-query builds it) and decodes each
    /// row with `decode`, given the statement's column names first (`columns`, to check them
    /// once rather than per row).
    pub(crate) fn query<T>(
        &self,
        statement: &Statement,
        columns: impl FnOnce(&[&str]) -> Result<(), DomainError>,
        mut decode: impl FnMut(&Row<'_>) -> Result<T, DomainError>,
    ) -> Result<Vec<T>, DomainError> {
        let connection = self.take()?;
        self.statements.fetch_add(1, Ordering::Relaxed);
        let rows = (|| {
            let mut prepared = connection.prepare_cached(&statement.sql)?;
            columns(&prepared.column_names())?;
            let mut values = Vec::new();
            if let Some(given) = &statement.values {
                for value in &given.0 {
                    values.push(parameter(value)?);
                }
            }
            let mut rows = prepared.query(rusqlite::params_from_iter(values.iter()))?;
            let mut decoded = Vec::new();
            while let Some(row) = rows.next()? {
                decoded.push(decode(row)?);
            }
            Ok(decoded)
        })();
        self.give_back(connection);
        rows
    }

    /// Closes the idle connections (a read under way keeps its own until it ends).
    pub(crate) fn close_idle(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn take(&self) -> Result<Connection, DomainError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            None => self.open(),
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.keep {
            idle.push(connection);
        }
    }

    fn open(&self) -> Result<Connection, DomainError> {
        // Read-write and `query_only` rather than read-only: a read-only connection to a WAL
        // database cannot make the shared-memory index when it is the only connection left.
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(self.busy_timeout)?;
        connection.pragma_update(None, "query_only", true)?;
        Ok(connection)
    }
}

/// A statement's value bound as sqlx binds it for SQLite (sea-query's sqlx binder), so that
/// the stored values compare equal: ids as 16-byte blobs, instants as RFC 3339 text, dates as
/// `YYYY-MM-DD`, booleans as 0 and 1.
fn parameter(value: &Value) -> Result<ToSqlOutput<'_>, DomainError> {
    use rusqlite::types::Value as Owned;
    let null = ToSqlOutput::Owned(Owned::Null);
    let integer = |n: Option<i64>| n.map_or(ToSqlOutput::Owned(Owned::Null), |n| n.into());
    Ok(match value {
        Value::Bool(b) => integer(b.map(i64::from)),
        Value::TinyInt(n) => integer(n.map(i64::from)),
        Value::SmallInt(n) => integer(n.map(i64::from)),
        Value::Int(n) => integer(n.map(i64::from)),
        Value::BigInt(n) => integer(*n),
        Value::TinyUnsigned(n) => integer(n.map(i64::from)),
        Value::SmallUnsigned(n) => integer(n.map(i64::from)),
        Value::Unsigned(n) => integer(n.map(i64::from)),
        Value::BigUnsigned(Some(n)) => match i64::try_from(*n) {
            Ok(n) => integer(Some(n)),
            Err(_) => return Err(DomainError::unsupported_parameter(n.to_string())),
        },
        Value::String(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        Value::Bytes(Some(bytes)) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        Value::Uuid(Some(id)) => ToSqlOutput::Borrowed(ValueRef::Blob(id.as_bytes())),
        Value::ChronoDateTimeUtc(Some(at)) => ToSqlOutput::Owned(Owned::Text(
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
        )),
        Value::ChronoDate(Some(date)) => {
            ToSqlOutput::Owned(Owned::Text(date.format("%F").to_string()))
        }
        Value::BigUnsigned(None)
        | Value::String(None)
        | Value::Bytes(None)
        | Value::Uuid(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::ChronoDate(None) => null,
        other => return Err(DomainError::unsupported_parameter(format!("{other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _, Utc};
    use sea_orm::{DbBackend, Statement, Value};

    use crate::Db;
    use crate::store::first_column_both_ways;

    /// Every kind of value a statement here binds reaches SQLite as sqlx binds it: the same
    /// `quote(?)` both ways.
    #[tokio::test]
    async fn parameters_are_bound_as_sqlx_binds_them() {
        let folder = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("bind.db").display()
        );
        let db = Db::connect(&url).await.unwrap();
        let values = [
            Value::from(true),
            Value::from(7_i32),
            Value::from(-7_i64),
            Value::from(7_u64),
            Value::from("naïve ✓"),
            Value::from(vec![0_u8, 255]),
            Value::from(uuid::Uuid::now_v7()),
            Value::from(Utc.with_ymd_and_hms(2026, 12, 3, 22, 53, 30).unwrap()),
            Value::from(Utc::now()),
            Value::from(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()),
            Value::String(None),
            Value::Uuid(None),
        ];
        for value in values {
            let statement = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT quote(?)",
                [value.clone()],
            );
            let (through_sqlx, inline) = first_column_both_ways::<String>(&db, &statement).await;
            assert_eq!(inline.unwrap(), through_sqlx.unwrap(), "{value:?}");
        }
        let refused =
            Statement::from_sql_and_values(DbBackend::Sqlite, "SELECT ?", [Value::from(u64::MAX)]);
        assert!(
            db.read_inline()
                .unwrap()
                .query(&refused, |_| Ok(()), |_| Ok(()))
                .is_err()
        );
    }
}
