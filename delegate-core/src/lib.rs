//! `delegate-core`: the delegation engine of `delegate`.
//!
//! An [`Agent`] is a handle to one sub-agent, wherever it runs. [`delegate`] starts an
//! interactive delegation of it: the returned [`Delegate`] sends ops to the sub-agent and
//! receives its events, while the engine
//!
//! - drops the events the [`EventFilter`] names (by default the deltas, `token_count`,
//!   `session_configured`, `thread_name_updated`);
//! - routes the four request kinds (`exec_approval_request`, `apply_patch_approval_request`,
//!   `request_permissions`, `request_user_input`) to the [`Approver`](delegate_approval::Approver),
//!   never showing them raw, and answers the sub-agent with the ids it expects; approvals run off
//!   the event loop, so other events keep flowing, in order, while a person thinks; the caller sees
//!   `approval_pending` and `approval_decided` events instead;
//! - forwards the caller's ops with id and trace unchanged;
//! - on cancellation, or when the caller drops its event receiver, refuses pending approvals
//!   (`abort`, empty answers, an empty turn-scoped grant; the approver is told), sends `interrupt`
//!   and `shutdown`, and drains the sub-agent's events for at most the drain timeout;
//! - reports a sub-agent that dies with an `error` event that says why, before the stream ends.
//!
//! [`one_shot`] adds an initial `user_input` and shuts the sub-agent down when the turn ends;
//! [`run_one_shot`] returns the [`Outcome`]. [`DelegationScope`] builds delegation trees with a
//! depth and a concurrency limit. [`ChannelAgent`] (with its [`AgentEndpoint`]) and
//! [`ScriptedAgent`] are fake sub-agents for tests: in the first the test plays the sub-agent by
//! hand, the second follows a script of [`Step`]s.
//!
//! What this crate is not: it starts no processes and does no I/O of its own; transports
//! (`delegate-transport-stdio`, adapters) implement [`Agent`].
//!
//! Features: `test-util` exposes `MockAgent` (mockall) and `delegate-approval`'s `MockApprover`.
//!
//! # Example: interactive
//!
//! ```
//! use std::sync::Arc;
//! use delegate_approval::DenyAll;
//! use delegate_core::{ChannelAgent, DelegateOptions, delegate};
//! use delegate_protocol::*;
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! // The test plays the sub-agent through the endpoint.
//! let (agent, mut sub) = ChannelAgent::pair();
//! let mut d = delegate(Arc::new(agent), Arc::new(DenyAll), CancellationToken::new(), DelegateOptions::default());
//!
//! d.submit(Submission::new("t1", Op::user_text("run: rm -rf /"))).await.unwrap();
//! assert!(matches!(sub.submissions.recv().await.unwrap().op, Op::UserInput { .. }));
//!
//! sub.emit("t1", EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
//!     call_id: "c1".into(), approval_id: None, turn_id: "t1".into(),
//!     command: vec!["rm".into(), "-rf".into(), "/".into()], cwd: "/".into(),
//!     reason: None, extra: Extra::new(),
//! }))).await;
//! // The sub-agent gets the policy's answer, under the call id, with the event id as turn id.
//! let reply = sub.submissions.recv().await.unwrap();
//! assert_eq!(reply.op, Op::ExecApproval { id: "c1".into(), turn_id: Some("t1".into()), decision: Decision::Denied });
//! // The caller saw that it was pending, then how it was decided.
//! assert!(matches!(d.next_event().await.unwrap().msg, EventMsg::ApprovalPending(_)));
//! assert!(matches!(d.next_event().await.unwrap().msg, EventMsg::ApprovalDecided(_)));
//! # });
//! ```
//!
//! # Example: one-shot
//!
//! ```
//! use std::sync::Arc;
//! use delegate_approval::AllowAll;
//! use delegate_core::{ChannelAgent, DelegateOptions, TurnEnd, run_one_shot};
//! use delegate_protocol::*;
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let (agent, mut sub) = ChannelAgent::pair();
//! tokio::spawn(async move {
//!     while let Some(s) = sub.submissions.recv().await {
//!         match s.op {
//!             Op::UserInput { .. } => {
//!                 sub.emit(&s.id, EventMsg::TaskComplete(TaskCompleteEvent {
//!                     turn_id: s.id.clone(), last_agent_message: Some("done".into()), extra: Extra::new(),
//!                 })).await;
//!             }
//!             Op::Shutdown => { sub.emit(&s.id, EventMsg::ShutdownComplete).await; break; }
//!             _ => {}
//!         }
//!     }
//! });
//! let outcome = run_one_shot(
//!     Arc::new(agent), Arc::new(AllowAll), CancellationToken::new(),
//!     DelegateOptions::default(), Submission::new("task", Op::user_text("hello")),
//! ).await.unwrap();
//! assert_eq!(outcome.end, TurnEnd::Completed);
//! assert_eq!(outcome.last_agent_message.as_deref(), Some("done"));
//! # });
//! ```

mod agent;
mod channel_agent;
mod engine;
mod error;
mod one_shot;
mod options;
mod scope;
mod scripted;

pub use agent::Agent;
pub use agent::AgentError;
#[cfg(any(test, feature = "test-util"))]
pub use agent::MockAgent;
pub use channel_agent::AgentEndpoint;
pub use channel_agent::ChannelAgent;
pub use channel_agent::DEFAULT_CHANNEL_CAPACITY;
pub use channel_agent::SubmissionReceiver;
pub use engine::Delegate;
pub use engine::OpSender;
pub use engine::delegate;
pub use error::DelegateError;
pub use one_shot::Outcome;
pub use one_shot::TurnEnd;
pub use one_shot::one_shot;
pub use one_shot::run_one_shot;
pub use options::DEFAULT_DRAIN_TIMEOUT;
pub use options::DEFAULT_EVENT_CAPACITY;
pub use options::DEFAULT_OP_CAPACITY;
pub use options::DelegateOptions;
pub use options::EventFilter;
pub use scope::DEFAULT_MAX_CONCURRENT;
pub use scope::DEFAULT_MAX_DEPTH;
pub use scope::DelegationScope;
pub use scripted::ScriptError;
pub use scripted::ScriptHandle;
pub use scripted::ScriptedAgent;
pub use scripted::Step;
pub use scripted::SubmissionCheck;
