//! [`ScriptedAgent`]: a fake sub-agent that follows a script of events to emit and ops to
//! expect — the quickest way to test code that drives an [`Agent`].
//!
//! ```
//! use std::sync::Arc;
//! use delegate_approval::AllowAll;
//! use delegate_core::{DelegateOptions, ScriptedAgent, Step, TurnEnd, run_one_shot};
//! use delegate_protocol::*;
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let (agent, script) = ScriptedAgent::new(vec![
//!     Step::expect("user_input"),
//!     Step::emit("task", EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
//!         call_id: "c1".into(), approval_id: None, turn_id: "task".into(),
//!         command: vec!["ls".into()], cwd: "/".into(), reason: None, extra: Extra::new(),
//!     }))),
//!     Step::expect("exec_approval"),
//!     Step::emit("task", EventMsg::TaskComplete(TaskCompleteEvent {
//!         turn_id: "task".into(), last_agent_message: Some("listed".into()), extra: Extra::new(),
//!     })),
//! ]);
//! let outcome = run_one_shot(
//!     Arc::new(agent), Arc::new(AllowAll), CancellationToken::new(),
//!     DelegateOptions::default(), Submission::new("task", Op::user_text("list")),
//! ).await.unwrap();
//! assert_eq!(outcome.end, TurnEnd::Completed);
//! let seen = script.finished().await.unwrap();   // every step happened, in order
//! assert!(matches!(seen[1].op, Op::ExecApproval { decision: Decision::Approved, .. }));
//! # });
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use tokio::sync::oneshot;
use tokio::sync::watch;

use crate::Agent;
use crate::AgentError;
use crate::ChannelAgent;

/// A check on a submission the script expects.
pub type SubmissionCheck = Arc<dyn Fn(&Submission) -> bool + Send + Sync>;

/// One step of a script.
#[derive(Clone)]
#[non_exhaustive]
pub enum Step {
    /// Send this event to the parent.
    Emit(Event),
    /// Wait for the next submission and check it.
    Expect {
        /// What is expected, for the error message.
        what: String,
        /// The check.
        check: SubmissionCheck,
    },
    /// End the event stream here, as a sub-agent that dies would.
    Vanish,
}

impl Step {
    /// Emit `msg` with event id `id`.
    pub fn emit(id: impl Into<String>, msg: EventMsg) -> Self {
        Step::Emit(Event::new(id, msg))
    }

    /// Expect a submission whose op has this `type` (e.g. `"exec_approval"`).
    pub fn expect(op_type: &'static str) -> Self {
        Step::Expect {
            what: format!("a {op_type} op"),
            check: Arc::new(move |s| s.op.kind() == op_type),
        }
    }

    /// Expect a submission for which `check` holds.
    pub fn expect_matching(
        what: impl Into<String>,
        check: impl Fn(&Submission) -> bool + Send + Sync + 'static,
    ) -> Self {
        Step::Expect { what: what.into(), check: Arc::new(check) }
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Emit(event) => write!(f, "Emit({} {})", event.id, event.msg.kind()),
            Step::Expect { what, .. } => write!(f, "Expect({what})"),
            Step::Vanish => f.write_str("Vanish"),
        }
    }
}

/// How a script went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// A submission did not pass the step's check.
    #[error("step {step}: expected {expected}, got {got:?}")]
    Unexpected {
        /// The step's index.
        step: usize,
        /// What the step expected.
        expected: String,
        /// What came instead.
        got: Box<Submission>,
    },
    /// The parent stopped sending before the step was reached.
    #[error("step {step}: expected {expected}, but the parent closed the submission channel")]
    Closed {
        /// The step's index.
        step: usize,
        /// What the step expected.
        expected: String,
    },
    /// The parent stopped listening before the script could emit.
    #[error("step {step}: the parent stopped receiving events")]
    ParentGone {
        /// The step's index.
        step: usize,
    },
}

/// Reports how a [`ScriptedAgent`]'s script went.
#[derive(Debug)]
pub struct ScriptHandle {
    result: oneshot::Receiver<Result<Vec<Submission>, ScriptError>>,
}

impl ScriptHandle {
    /// Wait for the script to end: every submission it received (in order, including any after
    /// the last step) or the first step that failed.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: the result is lost if the future is dropped.
    pub async fn finished(self) -> Result<Vec<Submission>, ScriptError> {
        self.result.await.unwrap_or(Err(ScriptError::ParentGone { step: usize::MAX }))
    }
}

/// A fake sub-agent that plays a script. After the last step it answers `shutdown` with
/// `shutdown_complete` and ends; other submissions after the script are recorded.
#[derive(Debug)]
pub struct ScriptedAgent {
    inner: ChannelAgent,
}

impl ScriptedAgent {
    /// Start playing `steps` (needs a tokio runtime).
    pub fn new(steps: Vec<Step>) -> (ScriptedAgent, ScriptHandle) {
        let (inner, mut endpoint) = ChannelAgent::pair();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let _ = endpoint.status.send(AgentStatus::Running);
            let mut seen = Vec::new();
            for (index, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Emit(event) => {
                        if endpoint.events.send(event).await.is_err() {
                            let _ = tx.send(Err(ScriptError::ParentGone { step: index }));
                            return;
                        }
                    }
                    Step::Expect { what, check } => {
                        let Some(submission) = endpoint.submissions.recv().await else {
                            let _ =
                                tx.send(Err(ScriptError::Closed { step: index, expected: what }));
                            return;
                        };
                        if !check(&submission) {
                            let error = ScriptError::Unexpected {
                                step: index,
                                expected: what,
                                got: Box::new(submission),
                            };
                            let _ = tx.send(Err(error));
                            return;
                        }
                        seen.push(submission);
                    }
                    Step::Vanish => {
                        let _ = endpoint
                            .status
                            .send(AgentStatus::Errored("the script vanished".into()));
                        let _ = tx.send(Ok(seen));
                        return;
                    }
                }
            }
            while let Some(submission) = endpoint.submissions.recv().await {
                let shutdown = matches!(submission.op, Op::Shutdown);
                let id = submission.id.clone();
                seen.push(submission);
                if shutdown {
                    let _ = endpoint.events.send(Event::new(id, EventMsg::ShutdownComplete)).await;
                    let _ = endpoint.status.send(AgentStatus::Shutdown);
                    break;
                }
            }
            let _ = tx.send(Ok(seen));
        });
        (ScriptedAgent { inner }, ScriptHandle { result: rx })
    }
}

#[async_trait]
impl Agent for ScriptedAgent {
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        self.inner.submit(submission).await
    }

    async fn next_event(&self) -> Option<Event> {
        self.inner.next_event().await
    }

    fn try_next_event(&self) -> Option<Event> {
        self.inner.try_next_event()
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.inner.status()
    }
}
