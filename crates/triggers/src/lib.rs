#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod config;
mod error;
pub mod post_confirmation;
pub mod pre_sign_up;
pub mod pre_token_generation;
mod trigger;

pub use config::{Domain, InvalidDomain, SignUpPolicy, TriggerSettings};
pub use error::TriggerError;
pub use trigger::{PoolAccess, Trigger, Triggers};
