//! Rows read by position, from either driver: sea-orm's [`QueryResult`] or a row of
//! [`crate::sqlite_readers`]. One decoder per model serves both, and it decodes each value
//! as sqlx does for that column's type, so a row reads the same whichever way it came.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use rusqlite::types::{FromSqlError, ValueRef};
use sea_orm::{QueryResult, TryGetable};
use uuid::Uuid;

use super::{AuditEventModel, MemberModel, ProjectModel, TaskModel};
use crate::DomainError;

/// A row whose values are read by their position in the statement's columns.
pub(crate) trait RowAt {
    /// The value at `index`, as a `T`.
    fn at<T: ColumnValue>(&self, index: usize) -> Result<T, DomainError>;
}

impl RowAt for QueryResult {
    fn at<T: ColumnValue>(&self, index: usize) -> Result<T, DomainError> {
        Ok(self.try_get_by_index(index)?)
    }
}

impl RowAt for rusqlite::Row<'_> {
    fn at<T: ColumnValue>(&self, index: usize) -> Result<T, DomainError> {
        let value = self.get_ref(index)?;
        Ok(T::from_sqlite(value).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(index, value.data_type(), Box::new(error))
        })?)
    }
}

/// A type a column holds, decoded from SQLite's value as sqlx decodes it.
pub(crate) trait ColumnValue: TryGetable + Sized {
    /// `value` as this type.
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError>;
}

/// `None` for SQL `NULL`, else `T`'s value.
impl<T: ColumnValue> ColumnValue for Option<T>
where
    Option<T>: TryGetable,
{
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        match value {
            ValueRef::Null => Ok(None),
            value => T::from_sqlite(value).map(Some),
        }
    }
}

impl ColumnValue for String {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        value.as_str().map(str::to_owned)
    }
}

impl ColumnValue for i64 {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        value.as_i64()
    }
}

impl ColumnValue for i32 {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        let wide = value.as_i64()?;
        i32::try_from(wide).map_err(|_| FromSqlError::OutOfRange(wide))
    }
}

impl ColumnValue for bool {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        Ok(value.as_i64()? != 0)
    }
}

/// A 16-byte blob (sqlx's encoding of a UUID on SQLite), or 16 bytes of text, which sqlx
/// takes too.
impl ColumnValue for Uuid {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        let bytes = value.as_bytes()?;
        Uuid::from_slice(bytes).map_err(|_| FromSqlError::InvalidBlobSize {
            expected_size: 16,
            blob_size: bytes.len(),
        })
    }
}

/// `YYYY-MM-DD` text.
impl ColumnValue for NaiveDate {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        NaiveDate::parse_from_str(value.as_str()?, "%F")
            .map_err(|error| FromSqlError::Other(error.into()))
    }
}

/// Text in RFC 3339 (what sqlx writes) or one of SQLite's date and time formats, seconds since
/// the epoch, or a Julian day number, as sqlx reads them.
impl ColumnValue for DateTime<Utc> {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        let instant = match value {
            ValueRef::Text(_) => datetime_from_text(value.as_str()?),
            ValueRef::Integer(seconds) => Utc.fix().timestamp_opt(seconds, 0).single(),
            ValueRef::Real(days) => datetime_from_julian_day(days),
            _ => return Err(FromSqlError::InvalidType),
        };
        instant
            .map(|instant| instant.with_timezone(&Utc))
            .ok_or_else(|| FromSqlError::Other("invalid datetime".into()))
    }
}

/// JSON text.
impl ColumnValue for serde_json::Value {
    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        let parsed = match value {
            ValueRef::Blob(bytes) => serde_json::from_slice(bytes),
            _ => serde_json::from_str(value.as_str()?),
        };
        parsed.map_err(|error| FromSqlError::Other(error.into()))
    }
}

/// sqlx's reading of text as an instant: RFC 3339, then these formats (with an offset, or else
/// UTC), in this order.
fn datetime_from_text(text: &str) -> Option<DateTime<FixedOffset>> {
    const FORMATS: [&str; 12] = [
        "%F %T%.f",
        "%F %R",
        "%F %RZ",
        "%F %R%:z",
        "%F %T%.fZ",
        "%F %T%.f%:z",
        "%FT%R",
        "%FT%RZ",
        "%FT%R%:z",
        "%FT%T%.f",
        "%FT%T%.fZ",
        "%FT%T%.f%:z",
    ];
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant);
    }
    FORMATS.iter().find_map(|format| {
        DateTime::parse_from_str(text, format).ok().or_else(|| {
            NaiveDateTime::parse_from_str(text, format)
                .ok()
                .map(|naive| Utc.fix().from_utc_datetime(&naive))
        })
    })
}

/// sqlx's reading of a Julian day number as an instant.
fn datetime_from_julian_day(days: f64) -> Option<DateTime<FixedOffset>> {
    const UNIX_EPOCH_IN_JULIAN_DAYS: f64 = 2_440_587.5;
    let timestamp = (days - UNIX_EPOCH_IN_JULIAN_DAYS) * 86_400.0;
    if !timestamp.is_finite() {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a finite timestamp saturates; timestamp_opt refuses what chrono cannot hold"
    )]
    let (seconds, nanos) = (
        timestamp.trunc() as i64,
        (timestamp.fract() * 1e9).abs() as u32,
    );
    Utc.fix().timestamp_opt(seconds, nanos).single()
}

/// A model decoded from a whole row of its table, its columns in the entity's order (the order
/// sea-orm selects them in; [`super::read_inline`] checks the names).
pub(crate) trait FromRow: Sized {
    /// The model in `row`.
    fn from_row(row: &impl RowAt) -> Result<Self, DomainError>;
}

impl FromRow for MemberModel {
    fn from_row(row: &impl RowAt) -> Result<Self, DomainError> {
        Ok(Self {
            tenant_id: row.at(0)?,
            id: row.at(1)?,
            sub: row.at(2)?,
            username: row.at(3)?,
            email: row.at(4)?,
            first_seen_at: row.at(5)?,
            last_seen_at: row.at(6)?,
            role: row.at(7)?,
            status: row.at(8)?,
            version: row.at(9)?,
            changed_by: row.at(10)?,
            changed_at: row.at(11)?,
        })
    }
}

impl FromRow for ProjectModel {
    fn from_row(row: &impl RowAt) -> Result<Self, DomainError> {
        Ok(Self {
            tenant_id: row.at(0)?,
            id: row.at(1)?,
            name: row.at(2)?,
            description: row.at(3)?,
            budget: row.at(4)?,
            archived: row.at(5)?,
            version: row.at(6)?,
            task_count: row.at(7)?,
            created_by: row.at(8)?,
            created_at: row.at(9)?,
            updated_by: row.at(10)?,
            updated_at: row.at(11)?,
        })
    }
}

impl FromRow for TaskModel {
    fn from_row(row: &impl RowAt) -> Result<Self, DomainError> {
        Ok(Self {
            tenant_id: row.at(0)?,
            id: row.at(1)?,
            project_id: row.at(2)?,
            title: row.at(3)?,
            description: row.at(4)?,
            status: row.at(5)?,
            assignee_id: row.at(6)?,
            due_date: row.at(7)?,
            version: row.at(8)?,
            created_by: row.at(9)?,
            created_at: row.at(10)?,
            updated_by: row.at(11)?,
            updated_at: row.at(12)?,
        })
    }
}

impl FromRow for AuditEventModel {
    fn from_row(row: &impl RowAt) -> Result<Self, DomainError> {
        Ok(Self {
            tenant_id: row.at(0)?,
            id: row.at(1)?,
            actor_id: row.at(2)?,
            action: row.at(3)?,
            entity: row.at(4)?,
            entity_id: row.at(5)?,
            at: row.at(6)?,
            detail: row.at(7)?,
        })
    }
}

/// For tests that want both drivers to agree.
#[cfg(test)]
pub(crate) mod testing {
    use sea_orm::{ConnectionTrait as _, Statement};

    use super::{ColumnValue, RowAt as _};
    use crate::{Db, DomainError};

    /// The first column of `statement`'s one row as a `T`, read through sea-orm (sqlx), then
    /// on the calling thread.
    pub(crate) async fn first_column_both_ways<T: ColumnValue>(
        db: &Db,
        statement: &Statement,
    ) -> (Result<T, DomainError>, Result<T, DomainError>) {
        let through_sqlx = db
            .read_one_statement()
            .unwrap()
            .query_one(statement.clone())
            .await
            .unwrap()
            .unwrap()
            .at::<T>(0);
        let inline = db
            .read_inline()
            .unwrap()
            .query(statement, |_| Ok(()), |row| row.at::<T>(0))
            .map(|rows| rows.unwrap().pop().unwrap());
        (through_sqlx, inline)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};
    use sea_orm::{DbBackend, Statement};

    use super::testing::first_column_both_ways;
    use crate::members::{self, MemberProfile};
    use crate::projects::{self, NewProject, ProjectPatch};
    use crate::store::{self, AuditEvents, Members, Projects, Tasks, TenantTable};
    use crate::tasks::{self, NewTask};
    use crate::{Db, Role, Scope, TenantId};

    async fn database(folder: &tempfile::TempDir) -> Db {
        let url = format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("rows.db").display()
        );
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        db
    }

    /// Each value of `literals` (SQL expressions) read as a `T` through sea-orm (sqlx) and on
    /// the calling thread.
    async fn both_ways<T>(db: &Db, literals: &[&str]) -> Vec<(String, String)>
    where
        T: super::ColumnValue + std::fmt::Debug,
    {
        let mut read = Vec::new();
        for literal in literals {
            let statement = Statement::from_string(DbBackend::Sqlite, format!("SELECT {literal}"));
            let (through_sqlx, inline) = first_column_both_ways::<T>(db, &statement).await;
            read.push((format!("{through_sqlx:?}"), format!("{inline:?}")));
        }
        read
    }

    fn assert_same(read: &[(String, String)]) {
        for (through_sqlx, inline) in read {
            assert_eq!(inline, through_sqlx);
        }
    }

    #[tokio::test]
    async fn values_read_inline_as_sqlx_reads_them() {
        let folder = tempfile::tempdir().unwrap();
        let db = database(&folder).await;
        let instants = [
            "'2026-12-03T22:53:30.123456+00:00'",
            "'2026-12-03T22:53:30Z'",
            "'2026-12-03T23:53:30+01:00'",
            "'2026-12-03 22:53:30'",
            "'2026-12-03 22:53:30.5'",
            "'2026-12-03 22:53'",
            "'2026-12-03 22:53+02:00'",
            "'2026-12-03T22:53'",
            "'2026-12-03T22:53:30.25Z'",
            "1764802410",
            "2461013.25",
        ];
        let read = both_ways::<DateTime<Utc>>(&db, &instants).await;
        assert!(
            read.iter()
                .all(|(through_sqlx, _)| through_sqlx.starts_with("Ok("))
        );
        assert_same(&read);
        // What neither reads is refused both ways.
        let refused = both_ways::<DateTime<Utc>>(&db, &["'yesterday'", "X'00'"]).await;
        assert!(
            refused
                .iter()
                .all(|(sqlx, inline)| sqlx.starts_with("Err") && inline.starts_with("Err"))
        );

        assert_same(
            &both_ways::<uuid::Uuid>(
                &db,
                &["X'0192F6A3B0C47D8E9F1011121314151A'", "'sixteen bytes ok'"],
            )
            .await,
        );
        assert_same(
            &both_ways::<Option<uuid::Uuid>>(&db, &["NULL", "X'0192F6A3B0C47D8E9F1011121314151A'"])
                .await,
        );
        assert_same(&both_ways::<Option<NaiveDate>>(&db, &["NULL", "'2026-12-03'"]).await);
        assert_same(&both_ways::<bool>(&db, &["0", "1", "2"]).await);
        assert_same(&both_ways::<i32>(&db, &["0", "-7", "2147483647"]).await);
        assert_same(&both_ways::<Option<i64>>(&db, &["NULL", "9007199254740993"]).await);
        assert_same(&both_ways::<Option<String>>(&db, &["NULL", "''", "'naïve ✓'"]).await);
        assert_same(&both_ways::<serde_json::Value>(&db, &["'{\"a\":[1,2.5,null]}'"]).await);
    }

    /// Every column of every table, written by the domain's operations, reads the same through
    /// sea-orm and on the calling thread (a decoder with two fields swapped fails here).
    #[tokio::test]
    async fn rows_read_inline_as_sea_orm_reads_them() {
        let folder = tempfile::tempdir().unwrap();
        let db = database(&folder).await;
        let tenant = TenantId::parse("rows").unwrap();
        let profile = |name: &str, email: Option<&str>| MemberProfile {
            username: name.to_owned(),
            email: email.map(str::to_owned),
            token_issued_at: None,
        };
        let admin = members::enter(
            &db,
            tenant.clone(),
            Role::Admin,
            "sub-a",
            profile("ada", Some("ada@example.com")),
        )
        .await
        .unwrap();
        let editor = members::enter(
            &db,
            tenant.clone(),
            Role::Editor,
            "sub-b",
            profile("bob", None),
        )
        .await
        .unwrap();
        let project = projects::create(
            &admin,
            &db,
            NewProject {
                name: "Rows".to_owned(),
                description: Some("every column".to_owned()),
                budget: Some(1_000),
            },
        )
        .await
        .unwrap();
        projects::update(
            &editor,
            &db,
            project.id,
            ProjectPatch {
                budget: Some(None),
                ..ProjectPatch::default()
            },
            project.version,
        )
        .await
        .unwrap();
        for (title, assignee, due) in [
            (
                "whole",
                Some(editor.actor_id()),
                NaiveDate::from_ymd_opt(2027, 1, 31),
            ),
            ("bare", None, None),
        ] {
            tasks::create(
                &editor,
                &db,
                NewTask {
                    project_id: project.id,
                    title: title.to_owned(),
                    description: assignee.map(|_| "with a description".to_owned()),
                    due_date: due,
                    assignee_id: assignee,
                },
            )
            .await
            .unwrap();
        }

        async fn same<E: TenantTable>(db: &Db, scope: &Scope) -> usize
        where
            E::Model: PartialEq + std::fmt::Debug,
        {
            let through_sea_orm = store::select::<E>(scope)
                .all(db.read_one_statement().unwrap())
                .await
                .unwrap();
            let inline = store::read_inline(db.read_inline().unwrap(), &store::select::<E>(scope))
                .unwrap()
                .unwrap();
            assert_eq!(inline, through_sea_orm);
            inline.len()
        }
        assert_eq!(same::<Members>(&db, &admin).await, 2);
        assert_eq!(same::<Projects>(&db, &admin).await, 1);
        assert_eq!(same::<Tasks>(&db, &admin).await, 2);
        assert!(same::<AuditEvents>(&db, &admin).await >= 4);
    }
}
