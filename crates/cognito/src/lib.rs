#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
#[cfg(any(test, feature = "test-helpers"))]
pub mod fake;
mod sdk;
mod types;
mod user_pool;

pub use error::{BoxError, CognitoError};
pub use sdk::{ClientSettings, CognitoClient, SdkUserPool};
pub use types::{
    Action, Attribute, Delivery, EMAIL_ATTRIBUTE, InvalidUserPoolId, NewUser, SUB_ATTRIBUTE,
    SignIn, TENANT_ATTRIBUTE, Tokens, User, UserPoolId, UserStatus,
};
pub use user_pool::UserPool;
