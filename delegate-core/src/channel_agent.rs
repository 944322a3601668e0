//! [`ChannelAgent`]: an in-process sub-agent reached through channels, and [`AgentEndpoint`], the
//! other end, held by whoever plays the sub-agent (an in-process implementation, or a test).

use std::sync::Mutex;
use std::sync::MutexGuard;
use std::sync::PoisonError;

use async_trait::async_trait;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::Submission;
use tokio::sync::mpsc;
use tokio::sync::watch;

use crate::Agent;
use crate::AgentError;

/// Default capacity of each direction of a [`ChannelAgent`]: enough to absorb a burst of deltas
/// without making the sub-agent wait, small enough that an idle pair stays a few KiB (tokio's
/// mpsc allocates in blocks as it fills, not all slots up front).
pub const DEFAULT_CHANNEL_CAPACITY: usize = 64;

/// An in-process sub-agent handle: submissions go into one channel, events come out of another.
///
/// Create it with [`ChannelAgent::pair`]; the [`AgentEndpoint`] is the sub-agent's side.
#[derive(Debug)]
pub struct ChannelAgent {
    submissions: mpsc::Sender<Box<Submission>>,
    /// A std mutex, locked only for one poll or one `try_recv`, never across an await: the
    /// engine takes every event through it, and an async mutex's acquire and release (its
    /// semaphore) cost about as much as the channel operation itself.
    events: Mutex<mpsc::Receiver<Event>>,
    status: watch::Receiver<AgentStatus>,
}

/// The sub-agent's side of a [`ChannelAgent`]: receive submissions, send events, set status.
#[derive(Debug)]
pub struct AgentEndpoint {
    /// Submissions from the parent, in order.
    pub submissions: SubmissionReceiver,
    /// Events to the parent. Dropping it ends the parent's event stream.
    pub events: mpsc::Sender<Event>,
    /// The status the parent sees.
    pub status: watch::Sender<AgentStatus>,
}

impl ChannelAgent {
    /// A connected pair with [`DEFAULT_CHANNEL_CAPACITY`] in each direction.
    pub fn pair() -> (ChannelAgent, AgentEndpoint) {
        Self::pair_with_capacity(DEFAULT_CHANNEL_CAPACITY)
    }

    /// A connected pair with `capacity` slots in each direction (at least 1).
    pub fn pair_with_capacity(capacity: usize) -> (ChannelAgent, AgentEndpoint) {
        let (sub_tx, sub_rx) = mpsc::channel(capacity.max(1));
        let (ev_tx, ev_rx) = mpsc::channel(capacity.max(1));
        let (status_tx, status_rx) = watch::channel(AgentStatus::PendingInit);
        (
            ChannelAgent { submissions: sub_tx, events: Mutex::new(ev_rx), status: status_rx },
            AgentEndpoint {
                submissions: SubmissionReceiver { rx: sub_rx },
                events: ev_tx,
                status: status_tx,
            },
        )
    }
}

#[async_trait]
impl Agent for ChannelAgent {
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        self.submissions.send(Box::new(submission)).await.map_err(|_| {
            AgentError::closed("the in-process sub-agent dropped its submission receiver")
        })
    }

    async fn next_event(&self) -> Option<Event> {
        // `poll_recv` is cancel-safe. The receiver keeps one waker, that of the last poll: the
        // trait's contract is that one task at a time reads.
        std::future::poll_fn(|cx| self.events().poll_recv(cx)).await
    }

    fn try_next_event(&self) -> Option<Event> {
        self.events().try_recv().ok()
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.clone()
    }
}

impl ChannelAgent {
    /// The event receiver. A panic while it was locked cannot have left it inconsistent (each
    /// lock is one channel call), so a poisoned lock is used as is.
    fn events(&self) -> MutexGuard<'_, mpsc::Receiver<Event>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AgentEndpoint {
    /// Send one event; `false` when the parent is gone.
    pub async fn emit(&self, id: impl Into<String>, msg: delegate_protocol::EventMsg) -> bool {
        self.events.send(Event::new(id, msg)).await.is_ok()
    }
}

/// The receiving end of a [`ChannelAgent`]'s submissions.
///
/// Submissions travel boxed: they are rare, and tokio's channel allocates its first block of
/// 32 slots when it is created, so an idle pair then holds 32 pointers instead of 32
/// submissions (about 5 KiB less per in-process sub-agent).
#[derive(Debug)]
pub struct SubmissionReceiver {
    rx: mpsc::Receiver<Box<Submission>>,
}

impl SubmissionReceiver {
    /// The next submission; `None` once the parent's side is gone and nothing is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as `tokio::sync::mpsc::Receiver::recv`.
    pub async fn recv(&mut self) -> Option<Submission> {
        self.rx.recv().await.map(|boxed| *boxed)
    }

    /// A submission that is ready now, without waiting.
    pub fn try_recv(&mut self) -> Result<Submission, mpsc::error::TryRecvError> {
        self.rx.try_recv().map(|boxed| *boxed)
    }

    /// Stop taking submissions; those already sent can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }
}
