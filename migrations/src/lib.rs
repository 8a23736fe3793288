#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::{MigrationTrait, async_trait};

mod m20250601_000001_domain_tables;
mod m20250602_000001_row_level_security;
mod m20261202_000001_member_admin;
mod m20261202_000002_project_task_count;
mod schema;

/// All of cognigraph's migrations, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250601_000001_domain_tables::Migration),
            Box::new(m20250602_000001_row_level_security::Migration),
            Box::new(m20261202_000001_member_admin::Migration),
            Box::new(m20261202_000002_project_task_count::Migration),
        ]
    }
}
