#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod audit;
mod db;
mod error;
mod input;
pub mod members;
pub mod page;
mod policy;
pub mod projects;
mod role;
mod scope;
mod sqlite_readers;
mod store;
pub mod tasks;
mod tenant;
#[cfg(feature = "test-helpers")]
pub mod testing;

pub use db::{Db, PoolUsage};
pub use error::{DatabaseFailure, DomainError};
pub use page::{Cursor, Page, PageRequest};
pub use policy::Action;
pub use role::Role;
pub use scope::Scope;
pub use tenant::{InvalidTenantId, TenantId};
