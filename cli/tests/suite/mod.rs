//! Test modules and shared helpers.

mod exec;
mod policy;
mod support;
