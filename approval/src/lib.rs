//! `delegate-approval`: who says yes.
//!
//! Every request a sub-agent makes that needs a decision — run a command, apply a patch, grant
//! permissions, answer questions — reaches an [`Approver`] as an [`ApprovalRequest`], and comes
//! back as a [`Verdict`]: the answer, shaped for the request's kind, and who decided
//! ([`DecidedBy`](delegate_protocol::DecidedBy)).
//!
//! Policies fail closed: on doubt, timeout, cancellation or a bad rules file, nothing is
//! approved. [`ApprovalRequest::refusal`] builds the fail-closed answer for any kind.
//!
//! What this crate is not: it does not route requests or talk to sub-agents (that is
//! `delegate-core`), and it starts no processes.
//!
//! Features: `test-util` exposes `MockApprover` (mockall) for downstream unit tests.
//!
//! # Example
//!
//! ```
//! use delegate_approval::{AllowAll, Approver, ApprovalRequest, DenyAll, Request};
//! use delegate_protocol::{Decision, ExecApprovalRequestEvent, Extra};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let request = ApprovalRequest::new(
//!     Request::Exec(ExecApprovalRequestEvent {
//!         call_id: "c1".into(),
//!         approval_id: None,
//!         turn_id: "t1".into(),
//!         command: vec!["git".into(), "status".into()],
//!         cwd: "/repo".into(),
//!         reason: None,
//!         extra: Extra::new(),
//!     }),
//!     vec!["root".into()],
//!     "t1",
//! );
//! assert_eq!(DenyAll.decide(&request).await.summary_decision(), Decision::Denied);
//! assert!(AllowAll.decide(&request).await.approves());
//! # });
//! ```

mod approver;
mod request;

pub use approver::AllowAll;
pub use approver::Approver;
pub use approver::Ask;
pub use approver::DenyAll;
#[cfg(any(test, feature = "test-util"))]
pub use approver::MockApprover;
pub use request::Answer;
pub use request::ApprovalRequest;
pub use request::Request;
pub use request::Verdict;
pub use request::shell_join;
