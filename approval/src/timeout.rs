//! Deadlines: an approver wrapper that answers `timed_out` when its inner approver (usually a
//! person) takes too long.

use std::time::Duration;

use async_trait::async_trait;
use delegate_protocol::ApprovalKind;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;

use crate::ApprovalRequest;
use crate::Approver;
use crate::Verdict;

/// How long a person gets to answer one request, unless configured otherwise: five minutes.
///
/// Long enough to read a command or a diff, look something up and decide; short enough that a
/// sub-agent left waiting by someone who walked away gives up its turn (the sub-agent treats
/// `timed_out` as a denial) instead of holding it, and its resources, indefinitely.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// A deadline per request kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// For exec requests.
    pub exec: Duration,
    /// For patch requests.
    pub patch: Duration,
    /// For permission requests.
    pub permissions: Duration,
    /// For user-input requests.
    pub user_input: Duration,
}

impl Default for Deadlines {
    /// [`DEFAULT_DEADLINE`] for every kind.
    fn default() -> Self {
        Self::uniform(DEFAULT_DEADLINE)
    }
}

impl Deadlines {
    /// The same deadline for every kind.
    pub fn uniform(deadline: Duration) -> Self {
        Self { exec: deadline, patch: deadline, permissions: deadline, user_input: deadline }
    }

    /// These deadlines with `kind`'s set to `deadline`.
    pub fn with(mut self, kind: ApprovalKind, deadline: Duration) -> Self {
        match kind {
            ApprovalKind::Exec => self.exec = deadline,
            ApprovalKind::Patch => self.patch = deadline,
            ApprovalKind::Permissions => self.permissions = deadline,
            ApprovalKind::UserInput => self.user_input = deadline,
            // A kind this crate does not know yet keeps the default it would get anyway.
            _ => {}
        }
        self
    }

    /// The deadline for `kind` ([`DEFAULT_DEADLINE`] for a kind this crate does not know).
    pub fn for_kind(&self, kind: ApprovalKind) -> Duration {
        match kind {
            ApprovalKind::Exec => self.exec,
            ApprovalKind::Patch => self.patch,
            ApprovalKind::Permissions => self.permissions,
            ApprovalKind::UserInput => self.user_input,
            _ => DEFAULT_DEADLINE,
        }
    }
}

/// Gives `inner` until the deadline for the request's kind; then answers with the refusal for
/// `timed_out`, decided by [`DecidedBy::Timeout`] (never reported as a person's denial), and
/// tells `inner` the request was resolved so its prompt can close.
#[derive(Debug, Clone)]
pub struct Timeout<A> {
    inner: A,
    deadlines: Deadlines,
}

impl<A> Timeout<A> {
    /// Wrap `inner` with these deadlines.
    pub fn new(inner: A, deadlines: Deadlines) -> Self {
        Self { inner, deadlines }
    }

    /// Wrap `inner` with [`DEFAULT_DEADLINE`] for every kind.
    pub fn with_default(inner: A) -> Self {
        Self::new(inner, Deadlines::default())
    }

    /// The deadlines.
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }
}

#[async_trait]
impl<A: Approver> Approver for Timeout<A> {
    /// # Cancel safety
    ///
    /// Dropping the future drops `inner`'s and the timer; nothing is left behind.
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        let deadline = self.deadlines.for_kind(request.kind());
        match tokio::time::timeout(deadline, self.inner.decide(request)).await {
            Ok(verdict) => verdict,
            Err(_elapsed) => {
                let verdict = request.refusal(Decision::TimedOut, DecidedBy::Timeout);
                self.inner.resolved(request, &verdict);
                verdict
            }
        }
    }

    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        self.inner.resolved(request, verdict);
    }
}
