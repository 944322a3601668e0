//! One-shot delegation: one task, then the sub-agent shuts down.

use std::sync::Arc;

use delegate_approval::Approver;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_protocol::TurnAbortReason;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::Agent;
use crate::Delegate;
use crate::DelegateError;
use crate::DelegateOptions;
use crate::engine::OpSender;
use crate::engine::start;

/// Start a one-shot delegation: an interactive delegation plus the initial `input` (a
/// `user_input` submission). When the turn ends (`task_complete` or `turn_aborted`) the engine
/// forwards that event, sends `shutdown` (submission id `shutdown`) and stops itself. The
/// returned handle's op sender is already closed: a submit fails with
/// [`DelegateError::Closed`].
///
/// # Cancel safety
///
/// If the future is dropped after the delegation started, the delegation is cancelled.
pub async fn one_shot(
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    cancel: CancellationToken,
    options: DelegateOptions,
    input: Submission,
) -> Result<Delegate, DelegateError> {
    start_one_shot(agent, approver, cancel, options, input, None).await
}

pub(crate) async fn start_one_shot(
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    cancel: CancellationToken,
    options: DelegateOptions,
    input: Submission,
    permit: Option<OwnedSemaphorePermit>,
) -> Result<Delegate, DelegateError> {
    if !matches!(input.op, Op::UserInput { .. }) {
        return Err(DelegateError::NotUserInput { op: input.op.kind() });
    }
    // A child token, so the one-shot can stop itself without cancelling the caller's token.
    let own = cancel.child_token();
    let mut delegate = start(agent, approver, own.clone(), options, true, permit);
    let guard = own.clone().drop_guard();
    tokio::select! {
        biased;
        _ = own.cancelled() => return Err(DelegateError::Cancelled),
        sent = delegate.submit(input) => sent?,
    }
    guard.disarm();
    delegate.ops = OpSender::closed("a one-shot delegation takes no further ops");
    Ok(delegate)
}

/// How a one-shot task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TurnEnd {
    /// `task_complete`.
    Completed,
    /// `turn_aborted`, for this reason.
    Aborted(TurnAbortReason),
    /// The sub-agent reported an error and the turn never ended.
    Failed(String),
    /// The event stream ended without the turn ending (cancelled, or the sub-agent vanished
    /// without a word).
    Incomplete,
}

/// What a one-shot delegation produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The last agent message: `task_complete`'s, or else the last `agent_message` seen.
    pub last_agent_message: Option<String>,
    /// How the turn ended.
    pub end: TurnEnd,
    /// The sub-agent's status when the delegation finished.
    pub status: AgentStatus,
    /// Every event the caller would have seen, in order.
    pub events: Vec<Event>,
}

/// Run a one-shot delegation to the end and return its [`Outcome`].
///
/// Returns when the delegation has stopped: the turn ended and the sub-agent was shut down, or
/// `cancel` was cancelled, or the sub-agent went away. A sub-agent that never ends its turn
/// keeps this waiting until `cancel` is cancelled: pass a token with a deadline if that matters.
///
/// # Cancel safety
///
/// If the future is dropped, the delegation is cancelled and the events are lost.
pub async fn run_one_shot(
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    cancel: CancellationToken,
    options: DelegateOptions,
    input: Submission,
) -> Result<Outcome, DelegateError> {
    let mut delegate = one_shot(agent, approver, cancel, options, input).await?;
    let guard = delegate.cancel_token().drop_guard();
    let mut events = Vec::new();
    let mut last_agent_message = None;
    let mut end = TurnEnd::Incomplete;
    while let Some(event) = delegate.next_event().await {
        match &event.msg {
            EventMsg::AgentMessage(m) => last_agent_message = Some(m.message.clone()),
            EventMsg::TaskComplete(done) => {
                if done.last_agent_message.is_some() {
                    last_agent_message = done.last_agent_message.clone();
                }
                // Adapters end a failed turn with `task_complete` carrying `"status":"failed"`
                // (after an `error`), so a one-shot never waits on it; it is not a success.
                end = if done.extra.get("status").and_then(|s| s.as_str()) == Some("failed") {
                    match end {
                        TurnEnd::Failed(message) => TurnEnd::Failed(message),
                        _ => TurnEnd::Failed("the turn failed".to_string()),
                    }
                } else {
                    TurnEnd::Completed
                };
            }
            EventMsg::TurnAborted(aborted) => end = TurnEnd::Aborted(aborted.reason),
            EventMsg::Error(error) if end == TurnEnd::Incomplete => {
                end = TurnEnd::Failed(error.message.clone())
            }
            _ => {}
        }
        events.push(event);
    }
    delegate.finished().await;
    guard.disarm();
    let status = delegate.status().borrow().clone();
    Ok(Outcome { last_agent_message, end, status, events })
}
