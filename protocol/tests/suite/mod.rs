//! Test modules.

mod roundtrip;
