//! Development tooling: a small Cognito API client (for the emulator and tests) and the seeding
//! behind `just dev` (`cognigraph dev seed`).

pub mod cognito;
pub mod seed;
