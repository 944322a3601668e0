//! `delegate-protocol`: the wire types of `delegate` and nothing else.
//!
//! A parent sends [`Submission`]s (each carrying an [`Op`]) to a sub-agent; the sub-agent sends
//! [`Event`]s (each carrying an [`EventMsg`]) back. On byte streams each is one JSON object per
//! line. Shapes follow OpenAI Codex's core protocol: `Op` and `EventMsg` are internally tagged by
//! `"type"` in snake_case and optional fields are omitted when absent.
//!
//! What this crate is not: it has no async runtime, no I/O and no policy. It depends on serde,
//! serde_json, thiserror and serde_path_to_error only, and a tidy test in `xtask` keeps it so.
//!
//! Forward compatibility: an event whose `type` is unknown decodes to [`EventMsg::Other`] and
//! encodes back to the same JSON value; most payloads keep unknown fields in `extra`. The aliases
//! `turn_started` and `turn_complete` decode as `task_started` and `task_complete`.
//!
//! Golden files under `protocol/tests/golden/` pin every `Op` and `EventMsg` shape: a change to
//! them is a protocol change.
//!
//! # Example
//!
//! ```
//! use delegate_protocol::{Event, EventMsg, Op, Submission, W3cTraceContext};
//!
//! let submission = Submission::new("turn-1", Op::user_text("list the files"))
//!     .with_trace(Some(W3cTraceContext::from_traceparent(
//!         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
//!     )));
//! let line = serde_json::to_string(&submission).unwrap();
//! assert!(line.starts_with(r#"{"id":"turn-1","op":{"type":"user_input""#));
//!
//! let event = Event::from_json_slice(
//!     br#"{"id":"turn-1","msg":{"type":"turn_complete","turn_id":"turn-1","last_agent_message":"done"}}"#,
//! ).unwrap();
//! assert!(matches!(event.msg, EventMsg::TaskComplete(_)));
//!
//! // A type this crate has never heard of survives a round trip.
//! let event = Event::from_json_slice(br#"{"id":"x","msg":{"type":"new_thing","n":1}}"#).unwrap();
//! assert_eq!(event.msg.kind(), "new_thing");
//! assert_eq!(serde_json::to_string(&event).unwrap(), r#"{"id":"x","msg":{"type":"new_thing","n":1}}"#);
//! ```

mod approval;
mod decode;
mod event;
mod submission;
mod trace;

#[cfg(test)]
mod golden_tests;

pub use approval::AgentStatus;
pub use approval::ApprovalKind;
pub use approval::DecidedBy;
pub use approval::Decision;
pub use approval::FileChange;
pub use approval::FileSystemPermissions;
pub use approval::NetworkPermissions;
pub use approval::PermissionGrantScope;
pub use approval::PermissionProfile;
pub use approval::Question;
pub use approval::QuestionOption;
pub use approval::RequestPermissionsResponse;
pub use approval::RequestUserInputResponse;
pub use approval::UserInputAnswer;
pub use decode::DecodeError;
pub use event::*;
pub use submission::InputItem;
pub use submission::Op;
pub use submission::Submission;
pub use trace::MAX_TRACESTATE_LEN;
pub use trace::MAX_TRACESTATE_MEMBERS;
pub use trace::TraceContextError;
pub use trace::TraceParent;
pub use trace::W3cTraceContext;
