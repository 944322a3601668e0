//! [`DelegateError`]: what can go wrong when starting or using a delegation.

/// Errors of `delegate-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DelegateError {
    /// The op sender no longer accepts submissions.
    #[error("cannot submit: {reason}")]
    Closed {
        /// Why: e.g. a one-shot delegation takes no further ops.
        reason: &'static str,
    },
    /// The delegation was cancelled before it could do what was asked.
    #[error("the delegation was cancelled")]
    Cancelled,
    /// Delegating further would exceed the tree's depth limit.
    #[error("cannot delegate from {path}: the delegation tree is limited to depth {max_depth}")]
    DepthLimit {
        /// The path of the agent that tried to delegate.
        path: String,
        /// The limit.
        max_depth: usize,
    },
    /// Too many delegations of one tree are alive at once.
    #[error(
        "cannot delegate to {path}: {max_concurrent} delegations of this tree are already running"
    )]
    ConcurrencyLimit {
        /// The path the new delegation would have had.
        path: String,
        /// The limit.
        max_concurrent: usize,
    },
    /// A one-shot delegation was given something other than a `user_input` op.
    #[error("a one-shot delegation starts with a user_input op, not {op}")]
    NotUserInput {
        /// The op that was given.
        op: &'static str,
    },
}
