//! cognigraph against the Cognito emulator (moto): real user pools, real tokens, real HTTP.
//!
//! Each test creates its own user pool, users and app (SQLite, port 0), so the tests run in
//! parallel and in any order; they share nothing but the emulator at `COGNITO_EMULATOR_URL`
//! (`just emulator`), and fail, never skip, without it.

mod database_secret;
mod dev_seed;
mod identity;
mod member_admin;
mod outage;
mod refusals;
mod roles;
mod sessions;
mod support;
mod tenancy;
mod triggers;
