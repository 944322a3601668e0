//! Test modules.

mod roundtrip;
mod seeds;
