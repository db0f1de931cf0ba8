//! outbound: outbound integrations declared in git, reconciled with AWS.
//!
//! The pipeline: [`manifest`] (files -> validated desired state) -> [`graph`] (dependency
//! order) -> ... ; [`commands`] wire the stages, [`render`] prints.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod drift;
pub mod graph;
pub mod import;
pub mod live;
pub mod manifest;
pub mod observe;
pub mod plan;
pub mod project;
pub mod render;
pub mod resource;
pub mod signal;
pub mod state;
pub mod store;
