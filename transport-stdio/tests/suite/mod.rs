//! Test modules, by tier: `framing_scripted` (scripted reads and writes), `framing_duplex` and
//! `serve_duplex` (in-memory streams), `child_process` (real processes).

mod child_process;
mod framing_duplex;
mod framing_scripted;
mod serve_duplex;
mod support;
