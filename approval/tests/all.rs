//! Integration tests of `delegate-approval`: one binary, modules under `suite/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on the unexpected.

mod suite;
