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
//! says when). The statement runs to its end on the asking thread, a runtime worker: every read
//! here returns at most a page (100 rows, or 100 × 100 for the first tasks of a page of
//! projects) or a set of ids, and reads through an index, though a filter the index does not
//! cover (a name search, two task filters at once) walks the rows of the tenant it scans. A
//! connection waits at most [`BUSY_WAIT`] for a lock (in WAL mode a reader meets one only while
//! another connection recovers the journal, or holds the file exclusively); then the read
//! answers `None` and its caller reads through sqlx, whose thread may wait longer without
//! holding up a runtime worker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::{Statement, Value};

use crate::DomainError;

/// How long a read on the calling thread waits for another connection's lock before it gives
/// the read back to sqlx (it holds up a runtime worker while it waits).
pub(crate) const BUSY_WAIT: Duration = Duration::from_millis(10);

/// The connections reading one SQLite file on the calling thread, opened when first needed and
/// kept for reuse (at most `keep` idle ones). Every statement counts in `statements` (the
/// database handle's counter).
pub(crate) struct SqliteReaders {
    path: PathBuf,
    keep: usize,
    statements: Arc<AtomicU64>,
    idle: Mutex<Vec<Connection>>,
    /// Set by [`SqliteReaders::close`]: no connection is opened or kept after it.
    closed: AtomicBool,
}

/// Why a read on the calling thread stopped.
enum Stop {
    /// SQLite was busy past [`BUSY_WAIT`], or the readers are closed: sqlx reads instead.
    GiveBack,
    Failed(DomainError),
}

impl From<rusqlite::Error> for Stop {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Stop::GiveBack
            }
            _ => Stop::Failed(err.into()),
        }
    }
}

impl From<DomainError> for Stop {
    fn from(err: DomainError) -> Self {
        Stop::Failed(err)
    }
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
    pub(crate) fn new(path: PathBuf, keep: usize, statements: Arc<AtomicU64>) -> Arc<Self> {
        Arc::new(Self {
            path,
            keep,
            statements,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// Runs `statement` (SQLite SQL with its values, as sea-query builds it) and decodes each
    /// row with `decode`, given the statement's column names first (`columns`, to check them
    /// once rather than per row). `None` when SQLite stayed busy for [`BUSY_WAIT`] or the
    /// readers are closed: the caller then reads through sqlx.
    pub(crate) fn query<T>(
        &self,
        statement: &Statement,
        columns: impl FnOnce(&[&str]) -> Result<(), DomainError>,
        decode: impl FnMut(&Row<'_>) -> Result<T, DomainError>,
    ) -> Result<Option<Vec<T>>, DomainError> {
        match self.run(statement, columns, decode) {
            Ok(rows) => Ok(Some(rows)),
            Err(Stop::GiveBack) => Ok(None),
            Err(Stop::Failed(err)) => Err(err),
        }
    }

    fn run<T>(
        &self,
        statement: &Statement,
        columns: impl FnOnce(&[&str]) -> Result<(), DomainError>,
        mut decode: impl FnMut(&Row<'_>) -> Result<T, DomainError>,
    ) -> Result<Vec<T>, Stop> {
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

    /// Closes the idle connections; a read under way closes its own when it ends, and later
    /// reads go to sqlx (whose closed pools refuse them).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn take(&self) -> Result<Connection, Stop> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Stop::GiveBack);
        }
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            None => Ok(self.open()?),
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.keep && !self.closed.load(Ordering::Acquire) {
            idle.push(connection);
        }
    }

    fn open(&self) -> Result<Connection, rusqlite::Error> {
        // Read-write and `query_only` rather than read-only: a read-only connection to a WAL
        // database cannot make the shared-memory index when it is the only connection left.
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(BUSY_WAIT)?;
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

    use super::Stop;
    use crate::Db;
    use crate::store::first_column_both_ways;

    /// A read that meets a lock for longer than `BUSY_WAIT` is given back (for sqlx to wait
    /// on), as is every read once the readers are closed.
    #[tokio::test]
    async fn a_busy_or_closed_file_gives_the_read_back() {
        use rusqlite::ffi;

        let given_back = |code| {
            matches!(
                Stop::from(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)),
                Stop::GiveBack
            )
        };
        assert!(given_back(ffi::SQLITE_BUSY));
        assert!(given_back(ffi::SQLITE_LOCKED));
        assert!(!given_back(ffi::SQLITE_CORRUPT));

        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("busy.db");
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        let readers = db.read_inline().unwrap();
        let statement = Statement::from_string(DbBackend::Sqlite, "SELECT 1");
        let read = || {
            readers
                .query(&statement, |_| Ok(()), |row| Ok(row.get::<_, i64>(0)?))
                .unwrap()
        };
        assert_eq!(read(), Some(vec![1]));
        readers.close();
        assert_eq!(read(), None, "closed readers give every read back");
    }

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
