//! Who the caller is and what they may do.
//!
//! Verified token claims become a [`Principal`] in exactly one place
//! ([`Principal::from_verified`]); every root field declares a [`Policy`] that is both its guard
//! and its `@auth` directive in the schema.

mod policy;
mod principal;
mod role;

pub use policy::{Policy, Rule, auth};
pub use principal::Principal;
pub use role::{GraphqlRole, Role, RoleGroups, with_included};
