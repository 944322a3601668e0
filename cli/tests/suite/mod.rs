//! Test modules and shared helpers.

mod codex;
mod exec;
mod policy;
mod support;
