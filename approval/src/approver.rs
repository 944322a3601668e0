//! The [`Approver`] trait and the simplest policies: allow all, deny all, ask a handler.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;

use crate::ApprovalRequest;
use crate::Verdict;

/// Answers approval requests. Object-safe: the engine holds an `Arc<dyn Approver>`.
///
/// Implementations must fail closed: when in doubt, refuse (see [`ApprovalRequest::refusal`]).
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait Approver: Send + Sync {
    /// Decide one request.
    ///
    /// # Cancel safety
    ///
    /// The engine drops this future when the delegation is cancelled; it then calls
    /// [`Approver::resolved`] with the refusal it sent instead. Implementations must not leave
    /// state behind that assumes the future ran to completion.
    async fn decide(&self, request: &ApprovalRequest) -> Verdict;

    /// Told that `request` was answered without this approver finishing (cancellation), so a
    /// prompt for it can close. The default does nothing.
    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        let _ = (request, verdict);
    }
}

#[async_trait]
impl<T: Approver + ?Sized> Approver for Arc<T> {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        (**self).decide(request).await
    }
    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        (**self).resolved(request, verdict)
    }
}

/// Approves everything (permissions: everything asked, for the turn; user input cannot be
/// approved without answers and gets none). For tests and fully trusted sub-agents only.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

#[async_trait]
impl Approver for AllowAll {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        request.grant(Decision::Approved, DecidedBy::Policy("allow_all".into()))
    }
}

/// Denies everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

#[async_trait]
impl Approver for DenyAll {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        request.refusal(Decision::Denied, DecidedBy::Policy("deny_all".into()))
    }
}

/// Hands every request to an async function: the way to plug in a person (a terminal prompt, a
/// UI) or any custom logic.
///
/// ```
/// use delegate_approval::{Ask, ApprovalRequest, Verdict};
/// use delegate_protocol::{DecidedBy, Decision};
///
/// let ask = Ask::new(|request: ApprovalRequest| async move {
///     // A real handler would show `request.summary()` and wait for a person.
///     request.refusal(Decision::Denied, DecidedBy::User)
/// });
/// # let _ = ask;
/// ```
pub struct Ask<F> {
    handler: F,
}

impl<F> Ask<F> {
    /// An approver that calls `handler` for every request.
    pub fn new(handler: F) -> Self {
        Self { handler }
    }
}

impl<F> std::fmt::Debug for Ask<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ask(..)")
    }
}

#[async_trait]
impl<F, Fut> Approver for Ask<F>
where
    F: Fn(ApprovalRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Verdict> + Send,
{
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        let verdict = (self.handler)(request.clone()).await;
        if verdict.fits(request) {
            verdict
        } else {
            request.refusal(Decision::Denied, verdict.decided_by)
        }
    }
}
