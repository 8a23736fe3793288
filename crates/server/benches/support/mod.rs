//! What the benchmarks share. Each benchmark is a crate of its own and declares `mod support;`;
//! each uses part of it.
#![allow(dead_code, reason = "each benchmark uses part of the shared support")]

pub(crate) mod child_server;
pub(crate) mod measure;
pub(crate) mod reference_servers;
