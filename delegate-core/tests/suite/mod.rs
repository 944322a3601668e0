//! Test modules and shared helpers.

mod engine;
mod one_shot;
mod scope;
mod support;
