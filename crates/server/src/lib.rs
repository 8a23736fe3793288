#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod authz;
pub mod cli;
pub mod config;
pub mod dev;
pub mod errors;
pub mod graphql;
pub mod http;
pub mod inspect;
pub mod lambda;
pub mod member_admin;
pub mod membership;
pub mod metrics;
pub mod startup;
pub mod telemetry;
pub mod tenancy;
#[cfg(feature = "test-helpers")]
pub mod testing;
