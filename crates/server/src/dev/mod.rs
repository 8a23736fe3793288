//! Development tooling: the seeding behind `just dev` (`cognigraph dev seed`), on the Cognito
//! client of `cognigraph-cognito`.

pub mod seed;
