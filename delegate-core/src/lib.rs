//! `delegate-core`: the delegation engine.
//!
//! Under construction: the [`Agent`] trait is here; the engine lands next.

mod agent;

pub use agent::Agent;
pub use agent::AgentError;
#[cfg(any(test, feature = "test-util"))]
pub use agent::MockAgent;
