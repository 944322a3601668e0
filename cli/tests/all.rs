//! Integration tests of the `delegate` command, run as a user would run it: the built binary,
//! real child processes, real pipes, and a real pseudo-terminal (util-linux `script`) for the
//! interactive prompt.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on the unexpected.

mod suite;
