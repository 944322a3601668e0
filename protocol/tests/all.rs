//! Integration tests of `delegate-protocol`: one binary, modules under `suite/`.

mod suite;
