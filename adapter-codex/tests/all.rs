//! End-to-end tests of the Codex adapter against the real `@openai/codex@0.169.0` binary and a
//! mock Responses-API model server on loopback. Install the binary first with
//! `adapter-codex/install-codex.sh`; without it every test here fails saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on the unexpected.

mod suite;
