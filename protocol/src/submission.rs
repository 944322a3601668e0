//! Parent → sub-agent messages: [`Submission`] and its [`Op`].

use serde::Deserialize;
use serde::Serialize;

use crate::RequestPermissionsResponse;
use crate::RequestUserInputResponse;
use crate::W3cTraceContext;
use crate::approval::Decision;

/// One message from the parent to a sub-agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Caller-chosen id; events of the turn this starts carry it back.
    pub id: String,
    /// What to do.
    pub op: Op,
    /// The W3C trace context this submission belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<W3cTraceContext>,
}

impl Submission {
    /// A submission without trace context.
    pub fn new(id: impl Into<String>, op: Op) -> Self {
        Self { id: id.into(), op, trace: None }
    }

    /// The same submission, carrying `trace`.
    pub fn with_trace(mut self, trace: Option<W3cTraceContext>) -> Self {
        self.trace = trace;
        self
    }
}

/// One piece of user input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputItem {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
}

impl InputItem {
    /// A text item.
    pub fn text(text: impl Into<String>) -> Self {
        InputItem::Text { text: text.into() }
    }
}

/// What a [`Submission`] asks the sub-agent to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// Start a turn with this input.
    UserInput {
        /// The input.
        items: Vec<InputItem>,
        /// A JSON schema the final message must follow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_output_json_schema: Option<serde_json::Value>,
    },
    /// Stop the running turn.
    Interrupt,
    /// End the session; the sub-agent answers `shutdown_complete` and exits.
    Shutdown,
    /// The answer to an `exec_approval_request`.
    ExecApproval {
        /// The request's `approval_id`, or its `call_id` when it has none.
        id: String,
        /// The id of the event that carried the request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turn_id: Option<String>,
        /// The decision.
        decision: Decision,
    },
    /// The answer to an `apply_patch_approval_request`.
    PatchApproval {
        /// The request's `call_id`.
        id: String,
        /// The decision.
        decision: Decision,
    },
    /// The answer to a `request_user_input` event.
    UserInputAnswer {
        /// The id of the event that carried the request.
        id: String,
        /// The answers.
        response: RequestUserInputResponse,
    },
    /// The answer to a `request_permissions` event.
    RequestPermissionsResponse {
        /// The request's `call_id`.
        id: String,
        /// What is granted.
        response: RequestPermissionsResponse,
    },
}

impl Op {
    /// A `user_input` op with one text item.
    pub fn user_text(text: impl Into<String>) -> Self {
        Op::UserInput { items: vec![InputItem::text(text)], final_output_json_schema: None }
    }

    /// The snake_case `type` of this op.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::UserInput { .. } => "user_input",
            Op::Interrupt => "interrupt",
            Op::Shutdown => "shutdown",
            Op::ExecApproval { .. } => "exec_approval",
            Op::PatchApproval { .. } => "patch_approval",
            Op::UserInputAnswer { .. } => "user_input_answer",
            Op::RequestPermissionsResponse { .. } => "request_permissions_response",
        }
    }
}
