//! The [`Agent`] trait: a handle to one sub-agent, wherever it runs.

use async_trait::async_trait;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::Submission;
use tokio::sync::watch;

/// Why a submission could not be delivered to a sub-agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The sub-agent no longer takes submissions (it shut down, exited or its stream closed).
    #[error("the sub-agent is gone: {reason}")]
    Closed {
        /// Why, as precisely as known (e.g. its exit status).
        reason: String,
    },
    /// Writing to the sub-agent failed.
    #[error("sending to the sub-agent failed: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else an implementation needs to report.
    #[error("{0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl AgentError {
    /// A [`AgentError::Closed`] with this reason.
    pub fn closed(reason: impl Into<String>) -> Self {
        AgentError::Closed { reason: reason.into() }
    }
}

/// A handle to one sub-agent: send it submissions, receive its events, watch its status.
///
/// Transport-neutral: an implementation may run the sub-agent in this process, in a child
/// process, or on another host. Object-safe, so the engine holds an `Arc<dyn Agent>`; with the
/// `test-util` feature, `MockAgent` is a mockall mock of it.
///
/// `next_event` is called from one task at a time (the engine's event loop), but takes `&self`
/// so a handle can be shared.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait Agent: Send + Sync {
    /// Deliver one submission, id and trace unchanged.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the submission may or may not have been
    /// delivered; it is never delivered twice or in part.
    async fn submit(&self, submission: Submission) -> Result<(), AgentError>;

    /// The next event, or `None` once the sub-agent's event stream has ended for good.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped, no event is lost; the next call returns it.
    async fn next_event(&self) -> Option<Event>;

    /// An event that is ready now, without waiting; `None` when none is (or the implementation
    /// cannot tell). Lets the engine forward a burst of events in one wake-up. The default
    /// returns `None`, which is always correct.
    fn try_next_event(&self) -> Option<Event> {
        None
    }

    /// A receiver of the sub-agent's status.
    fn status(&self) -> watch::Receiver<AgentStatus>;
}
