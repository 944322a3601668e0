//! The end-to-end suite: one module per area, and the harness they share.

mod approvals;
mod engine;
mod harness;
mod lifecycle;
mod turns;
