//! The integration tests: one binary (one link of the crate and both SDKs, one moto emulator
//! shared by every test, each test in a region of its own), one module per area.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test code: a panic is a failed test with its message, and output is the test's"
)]

#[path = "../support/mod.rs"]
mod support;

mod as2;
mod aws_layer;
mod ci;
mod cli;
mod convergence;
mod drift;
mod envs;
mod fault_matrix;
mod fingerprints;
mod guard;
mod import;
mod install;
mod interrupted;
mod kinds;
mod layers;
mod observe;
mod proptests;
mod rate;
mod reconcile;
mod render;
mod saved_plans;
mod schema;
mod state;
mod states;
mod timeouts;
mod validate;
