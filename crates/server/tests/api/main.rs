//! The server in-process: a real listener on port 0 per test, tokens from the verifier's test
//! issuer, requests over real HTTP.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first surprise"
)]

mod authentication;
mod authorization;
mod bounded_responses;
mod connections;
mod contract;
mod database_outage;
mod depth;
mod faults;
mod first_run;
mod helpers;
mod http_rules;
mod lambda;
mod member_admin;
mod operations;
mod resolution;
mod settings_docs;
mod tenancy;
mod tenant_data;
