#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod authz;
pub mod cli;
pub mod config;
pub mod dev;
mod errors;
pub mod graphql;
mod http;
pub mod inspect;
pub mod lambda;
mod member_admin;
mod membership;
mod metrics;
pub mod startup;
pub mod telemetry;
pub mod tenancy;
#[cfg(feature = "test-helpers")]
pub mod testing;
