//! The integration tests: one binary (one link of the crate and both SDKs, one moto emulator
//! shared by every test, each test in a region of its own), one module per area.

#[path = "../support/mod.rs"]
mod support;

mod aws_layer;
mod ci;
mod cli;
mod convergence;
mod drift;
mod fingerprints;
mod import;
mod interrupted;
mod kinds;
mod layers;
mod observe;
mod rate;
mod reconcile;
mod render;
mod saved_plan;
mod schema;
mod states;
mod validate;
