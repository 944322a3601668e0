//! Sub-agent → parent messages: [`Event`] and its [`EventMsg`].
//!
//! `EventMsg` is internally tagged by `type`. Decoding takes a fast path when `type` is the first
//! key (as every encoder here writes it) and streams the rest of the object straight into the
//! payload struct; otherwise it buffers the object once. A `type` this crate does not know becomes
//! [`EventMsg::Other`], which keeps every field and re-encodes to the same JSON value.
//!
//! Most payloads keep fields they do not know in an `extra` map, so a newer sub-agent's
//! additions survive a pass through an older parent. The four streaming-text payloads
//! (`agent_message`, `agent_message_delta`, `agent_reasoning`, `agent_reasoning_delta`) carry only
//! their documented field: they are the hot path.
//!
//! The large, rare payloads (approval requests, command and patch begin/end) are boxed, so an
//! `Event` stays small: every channel slot and every move costs its size, and tokio's channels
//! allocate slots 32 at a time.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Deserializer;
use serde::Serialize;
use serde::de::IgnoredAny;
use serde::de::MapAccess;
use serde::de::Visitor;
use serde::de::value::MapAccessDeserializer;
use serde_json::Map;
use serde_json::Value;

use crate::approval::ApprovalKind;
use crate::approval::DecidedBy;
use crate::approval::Decision;
use crate::approval::FileChange;
use crate::approval::PermissionProfile;
use crate::approval::Question;

/// Fields a payload does not know, kept so they survive a pass through.
pub type Extra = Map<String, Value>;

/// One message from a sub-agent to the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// For events of a turn, that turn's submission id.
    pub id: String,
    /// What happened.
    pub msg: EventMsg,
}

impl Event {
    /// An event with this id and message.
    pub fn new(id: impl Into<String>, msg: EventMsg) -> Self {
        Self { id: id.into(), msg }
    }
}

/// What an [`Event`] reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventMsg {
    /// The session is ready.
    SessionConfigured(SessionConfiguredEvent),
    /// A turn started. Also decoded from `turn_started`.
    TaskStarted(TaskStartedEvent),
    /// A turn finished. Also decoded from `turn_complete`.
    TaskComplete(TaskCompleteEvent),
    /// A turn stopped before finishing.
    TurnAborted(TurnAbortedEvent),
    /// The sub-agent has shut down; nothing follows.
    ShutdownComplete,
    /// Something failed.
    Error(ErrorEvent),
    /// Something is off, but work goes on.
    Warning(WarningEvent),
    /// A complete message from the agent.
    AgentMessage(AgentMessageEvent),
    /// A piece of a message being streamed.
    AgentMessageDelta(AgentMessageDeltaEvent),
    /// Reasoning text.
    AgentReasoning(AgentReasoningEvent),
    /// A piece of reasoning being streamed.
    AgentReasoningDelta(AgentReasoningDeltaEvent),
    /// A command started.
    ExecCommandBegin(Box<ExecCommandBeginEvent>),
    /// A command ended.
    ExecCommandEnd(Box<ExecCommandEndEvent>),
    /// A patch is being applied.
    PatchApplyBegin(Box<PatchApplyBeginEvent>),
    /// A patch was applied, or failed.
    PatchApplyEnd(Box<PatchApplyEndEvent>),
    /// Token usage so far.
    TokenCount(TokenCountEvent),
    /// The thread got a name.
    ThreadNameUpdated(ThreadNameUpdatedEvent),
    /// The agent asks to run a command.
    ExecApprovalRequest(Box<ExecApprovalRequestEvent>),
    /// The agent asks to apply a patch.
    ApplyPatchApprovalRequest(Box<ApplyPatchApprovalRequestEvent>),
    /// The agent asks for permissions.
    RequestPermissions(Box<RequestPermissionsEvent>),
    /// The agent asks questions.
    RequestUserInput(Box<RequestUserInputEvent>),
    /// The delegate's own event: a request was routed to the approver and waits for a decision.
    ApprovalPending(ApprovalPendingEvent),
    /// The delegate's own event: a routed request was answered.
    ApprovalDecided(ApprovalDecidedEvent),
    /// An event whose `type` this crate does not know, kept whole.
    #[serde(untagged)]
    Other(UnknownEvent),
}

impl EventMsg {
    /// The snake_case `type` this message encodes with.
    pub fn kind(&self) -> &str {
        match self {
            EventMsg::SessionConfigured(_) => "session_configured",
            EventMsg::TaskStarted(_) => "task_started",
            EventMsg::TaskComplete(_) => "task_complete",
            EventMsg::TurnAborted(_) => "turn_aborted",
            EventMsg::ShutdownComplete => "shutdown_complete",
            EventMsg::Error(_) => "error",
            EventMsg::Warning(_) => "warning",
            EventMsg::AgentMessage(_) => "agent_message",
            EventMsg::AgentMessageDelta(_) => "agent_message_delta",
            EventMsg::AgentReasoning(_) => "agent_reasoning",
            EventMsg::AgentReasoningDelta(_) => "agent_reasoning_delta",
            EventMsg::ExecCommandBegin(_) => "exec_command_begin",
            EventMsg::ExecCommandEnd(_) => "exec_command_end",
            EventMsg::PatchApplyBegin(_) => "patch_apply_begin",
            EventMsg::PatchApplyEnd(_) => "patch_apply_end",
            EventMsg::TokenCount(_) => "token_count",
            EventMsg::ThreadNameUpdated(_) => "thread_name_updated",
            EventMsg::ExecApprovalRequest(_) => "exec_approval_request",
            EventMsg::ApplyPatchApprovalRequest(_) => "apply_patch_approval_request",
            EventMsg::RequestPermissions(_) => "request_permissions",
            EventMsg::RequestUserInput(_) => "request_user_input",
            EventMsg::ApprovalPending(_) => "approval_pending",
            EventMsg::ApprovalDecided(_) => "approval_decided",
            EventMsg::Other(other) => &other.kind,
        }
    }

    /// An `error` event with this message.
    pub fn error(message: impl Into<String>) -> Self {
        EventMsg::Error(ErrorEvent { message: message.into(), extra: Extra::new() })
    }

    /// A `warning` event with this message.
    pub fn warning(message: impl Into<String>) -> Self {
        EventMsg::Warning(WarningEvent { message: message.into(), extra: Extra::new() })
    }

    /// Whether this message ends a turn (`task_complete` or `turn_aborted`).
    pub fn ends_turn(&self) -> bool {
        matches!(self, EventMsg::TaskComplete(_) | EventMsg::TurnAborted(_))
    }
}

/// `session_configured`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionConfiguredEvent {
    /// The session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The model in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `task_started` (alias `turn_started`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStartedEvent {
    /// The turn's id.
    pub turn_id: String,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `task_complete` (alias `turn_complete`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCompleteEvent {
    /// The turn's id.
    pub turn_id: String,
    /// The last message the agent sent in the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_agent_message: Option<String>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why a turn was aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TurnAbortReason {
    /// Someone interrupted it.
    Interrupted,
    /// A new turn replaced it.
    Replaced,
    /// A review ended.
    ReviewEnded,
}

/// `turn_aborted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnAbortedEvent {
    /// The turn's id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Why.
    pub reason: TurnAbortReason,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// What went wrong.
    pub message: String,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `warning`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarningEvent {
    /// What is off.
    pub message: String,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `agent_message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMessageEvent {
    /// The message.
    pub message: String,
}

/// `agent_message_delta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMessageDeltaEvent {
    /// The next piece of the message.
    pub delta: String,
}

/// `agent_reasoning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReasoningEvent {
    /// The reasoning text.
    pub text: String,
}

/// `agent_reasoning_delta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReasoningDeltaEvent {
    /// The next piece of reasoning.
    pub delta: String,
}

/// `exec_command_begin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecCommandBeginEvent {
    /// The tool call.
    pub call_id: String,
    /// The turn, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// The argv.
    #[serde(default)]
    pub command: Vec<String>,
    /// Where it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `exec_command_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecCommandEndEvent {
    /// The tool call.
    pub call_id: String,
    /// The turn, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// The exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Output, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated_output: Option<String>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `patch_apply_begin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchApplyBeginEvent {
    /// The tool call.
    pub call_id: String,
    /// The turn, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Whether it was approved without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approved: Option<bool>,
    /// The changes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_changes_by_path"
    )]
    pub changes: Option<BTreeMap<PathBuf, FileChange>>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `patch_apply_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchApplyEndEvent {
    /// The tool call.
    pub call_id: String,
    /// The turn, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Whether it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `token_count`: usage figures, kept as the sub-agent sent them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenCountEvent {
    /// Every field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `thread_name_updated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadNameUpdatedEvent {
    /// The new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_name: Option<String>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `exec_approval_request`: the agent asks to run a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecApprovalRequestEvent {
    /// The tool call.
    pub call_id: String,
    /// Id to answer with, when it differs from `call_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The turn.
    pub turn_id: String,
    /// The argv.
    pub command: Vec<String>,
    /// Where it would run.
    pub cwd: PathBuf,
    /// Why the agent wants it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ExecApprovalRequestEvent {
    /// The id the answer must carry: `approval_id`, or `call_id` when there is none.
    pub fn effective_approval_id(&self) -> &str {
        self.approval_id.as_deref().unwrap_or(&self.call_id)
    }
}

/// `apply_patch_approval_request`: the agent asks to apply a patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyPatchApprovalRequestEvent {
    /// The tool call; the answer carries it.
    pub call_id: String,
    /// The turn.
    pub turn_id: String,
    /// The changes by path.
    #[serde(deserialize_with = "changes_by_path")]
    pub changes: BTreeMap<PathBuf, FileChange>,
    /// Why the agent wants it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A root under which the agent asks for write access for the rest of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_root: Option<PathBuf>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `request_permissions`: the agent asks for permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestPermissionsEvent {
    /// The tool call; the answer carries it.
    pub call_id: String,
    /// The turn.
    pub turn_id: String,
    /// Why the agent wants them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it asks for.
    pub permissions: PermissionProfile,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `request_user_input`: the agent asks questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestUserInputEvent {
    /// The tool call.
    pub call_id: String,
    /// The turn.
    pub turn_id: String,
    /// The questions.
    pub questions: Vec<Question>,
    /// Fields not listed here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `approval_pending`: a sub-agent is blocked on a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPendingEvent {
    /// What kind of request.
    pub kind: ApprovalKind,
    /// The request's call id.
    pub call_id: String,
    /// The path of the agent that asked, from the root, e.g. `["root", "worker-1"]`.
    pub agent_path: Vec<String>,
    /// One line saying what is asked, e.g. the command.
    pub summary: String,
}

/// `approval_decided`: a routed request was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecidedEvent {
    /// What kind of request.
    pub kind: ApprovalKind,
    /// The request's call id.
    pub call_id: String,
    /// The decision. For permissions: `approved` (or `approved_for_session`) when anything was
    /// granted, else `denied`; for user input: `approved` when any answer was given, else `denied`.
    pub decision: Decision,
    /// Who or what decided.
    pub decided_by: DecidedBy,
}

/// An event of a `type` this crate does not know, kept whole.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    /// Its `type`.
    pub kind: String,
    /// Every other field.
    pub fields: Map<String, Value>,
}

impl Serialize for UnknownEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.fields.len() + 1))?;
        map.serialize_entry("type", &self.kind)?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The `type` tags, decoded without allocating for known ones.
enum Tag {
    SessionConfigured,
    TaskStarted,
    TaskComplete,
    TurnAborted,
    ShutdownComplete,
    Error,
    Warning,
    AgentMessage,
    AgentMessageDelta,
    AgentReasoning,
    AgentReasoningDelta,
    ExecCommandBegin,
    ExecCommandEnd,
    PatchApplyBegin,
    PatchApplyEnd,
    TokenCount,
    ThreadNameUpdated,
    ExecApprovalRequest,
    ApplyPatchApprovalRequest,
    RequestPermissions,
    RequestUserInput,
    ApprovalPending,
    ApprovalDecided,
    Unknown(String),
}

impl Tag {
    fn from_str(s: &str) -> Tag {
        match s {
            "session_configured" => Tag::SessionConfigured,
            "task_started" | "turn_started" => Tag::TaskStarted,
            "task_complete" | "turn_complete" => Tag::TaskComplete,
            "turn_aborted" => Tag::TurnAborted,
            "shutdown_complete" => Tag::ShutdownComplete,
            "error" => Tag::Error,
            "warning" => Tag::Warning,
            "agent_message" => Tag::AgentMessage,
            "agent_message_delta" => Tag::AgentMessageDelta,
            "agent_reasoning" => Tag::AgentReasoning,
            "agent_reasoning_delta" => Tag::AgentReasoningDelta,
            "exec_command_begin" => Tag::ExecCommandBegin,
            "exec_command_end" => Tag::ExecCommandEnd,
            "patch_apply_begin" => Tag::PatchApplyBegin,
            "patch_apply_end" => Tag::PatchApplyEnd,
            "token_count" => Tag::TokenCount,
            "thread_name_updated" => Tag::ThreadNameUpdated,
            "exec_approval_request" => Tag::ExecApprovalRequest,
            "apply_patch_approval_request" => Tag::ApplyPatchApprovalRequest,
            "request_permissions" => Tag::RequestPermissions,
            "request_user_input" => Tag::RequestUserInput,
            "approval_pending" => Tag::ApprovalPending,
            "approval_decided" => Tag::ApprovalDecided,
            other => Tag::Unknown(other.to_string()),
        }
    }

    /// Decode the payload for this tag from the rest of the object. A second `type` key is an
    /// error: kept in `extra`, it would re-encode as two `type` keys, which another parser might
    /// read as a different event.
    fn payload<'de, D: Deserializer<'de>>(self, d: D) -> Result<EventMsg, D::Error> {
        let msg = self.payload_unchecked(d)?;
        if extra_of(&msg).is_some_and(|extra| extra.contains_key("type")) {
            return Err(serde::de::Error::duplicate_field("type"));
        }
        Ok(msg)
    }

    fn payload_unchecked<'de, D: Deserializer<'de>>(self, d: D) -> Result<EventMsg, D::Error> {
        Ok(match self {
            Tag::SessionConfigured => EventMsg::SessionConfigured(Deserialize::deserialize(d)?),
            Tag::TaskStarted => EventMsg::TaskStarted(Deserialize::deserialize(d)?),
            Tag::TaskComplete => EventMsg::TaskComplete(Deserialize::deserialize(d)?),
            Tag::TurnAborted => EventMsg::TurnAborted(Deserialize::deserialize(d)?),
            Tag::ShutdownComplete => {
                IgnoredAny::deserialize(d)?;
                EventMsg::ShutdownComplete
            }
            Tag::Error => EventMsg::Error(Deserialize::deserialize(d)?),
            Tag::Warning => EventMsg::Warning(Deserialize::deserialize(d)?),
            Tag::AgentMessage => EventMsg::AgentMessage(Deserialize::deserialize(d)?),
            Tag::AgentMessageDelta => EventMsg::AgentMessageDelta(Deserialize::deserialize(d)?),
            Tag::AgentReasoning => EventMsg::AgentReasoning(Deserialize::deserialize(d)?),
            Tag::AgentReasoningDelta => EventMsg::AgentReasoningDelta(Deserialize::deserialize(d)?),
            Tag::ExecCommandBegin => EventMsg::ExecCommandBegin(Deserialize::deserialize(d)?),
            Tag::ExecCommandEnd => EventMsg::ExecCommandEnd(Deserialize::deserialize(d)?),
            Tag::PatchApplyBegin => EventMsg::PatchApplyBegin(Deserialize::deserialize(d)?),
            Tag::PatchApplyEnd => EventMsg::PatchApplyEnd(Deserialize::deserialize(d)?),
            Tag::TokenCount => EventMsg::TokenCount(Deserialize::deserialize(d)?),
            Tag::ThreadNameUpdated => EventMsg::ThreadNameUpdated(Deserialize::deserialize(d)?),
            Tag::ExecApprovalRequest => EventMsg::ExecApprovalRequest(Deserialize::deserialize(d)?),
            Tag::ApplyPatchApprovalRequest => {
                EventMsg::ApplyPatchApprovalRequest(Deserialize::deserialize(d)?)
            }
            Tag::RequestPermissions => EventMsg::RequestPermissions(Deserialize::deserialize(d)?),
            Tag::RequestUserInput => EventMsg::RequestUserInput(Deserialize::deserialize(d)?),
            Tag::ApprovalPending => EventMsg::ApprovalPending(Deserialize::deserialize(d)?),
            Tag::ApprovalDecided => EventMsg::ApprovalDecided(Deserialize::deserialize(d)?),
            Tag::Unknown(kind) => {
                let fields = Map::<String, Value>::deserialize(d)?;
                EventMsg::Other(UnknownEvent { kind, fields })
            }
        })
    }
}

/// The `extra` map of a payload that has one.
fn extra_of(msg: &EventMsg) -> Option<&Extra> {
    Some(match msg {
        EventMsg::SessionConfigured(e) => &e.extra,
        EventMsg::TaskStarted(e) => &e.extra,
        EventMsg::TaskComplete(e) => &e.extra,
        EventMsg::TurnAborted(e) => &e.extra,
        EventMsg::Error(e) => &e.extra,
        EventMsg::Warning(e) => &e.extra,
        EventMsg::ExecCommandBegin(e) => &e.extra,
        EventMsg::ExecCommandEnd(e) => &e.extra,
        EventMsg::PatchApplyBegin(e) => &e.extra,
        EventMsg::PatchApplyEnd(e) => &e.extra,
        EventMsg::TokenCount(e) => &e.extra,
        EventMsg::ThreadNameUpdated(e) => &e.extra,
        EventMsg::ExecApprovalRequest(e) => &e.extra,
        EventMsg::ApplyPatchApprovalRequest(e) => &e.extra,
        EventMsg::RequestPermissions(e) => &e.extra,
        EventMsg::RequestUserInput(e) => &e.extra,
        EventMsg::Other(e) => &e.fields,
        _ => return None,
    })
}

/// Decode a map of changes by path, refusing two keys that name the same path in different
/// spellings (`a/b` and `a//b/`): `PathBuf` compares by components, so the map would keep one
/// key with the other's change, and an approver could be shown a different patch than the one
/// the agent sent.
fn changes_by_path<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<PathBuf, FileChange>, D::Error> {
    struct ChangesVisitor;
    impl<'de> Visitor<'de> for ChangesVisitor {
        type Value = BTreeMap<PathBuf, FileChange>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from path to file change")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut changes: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
            while let Some((path, change)) = map.next_entry::<String, FileChange>()? {
                if let Some((earlier, _)) = changes.get_key_value(std::path::Path::new(&path)) {
                    return Err(serde::de::Error::custom(format!(
                        "paths {:?} and {path:?} name the same file",
                        earlier.display()
                    )));
                }
                changes.insert(PathBuf::from(path), change);
            }
            Ok(changes)
        }
    }
    d.deserialize_map(ChangesVisitor)
}

fn optional_changes_by_path<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<PathBuf, FileChange>>, D::Error> {
    changes_by_path(d).map(Some)
}

struct TagVisitor;

impl Visitor<'_> for TagVisitor {
    type Value = Tag;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event type string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Tag, E> {
        Ok(Tag::from_str(v))
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TagVisitor)
    }
}

/// The first key of an event message: `type` (the fast path) or anything else.
enum FirstKey {
    Type,
    Other(String),
}

struct FirstKeyVisitor;

impl Visitor<'_> for FirstKeyVisitor {
    type Value = FirstKey;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FirstKey, E> {
        Ok(if v == "type" { FirstKey::Type } else { FirstKey::Other(v.to_string()) })
    }
}

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(FirstKeyVisitor)
    }
}

struct EventMsgVisitor;

impl<'de> Visitor<'de> for EventMsgVisitor {
    type Value = EventMsg;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event message object with a \"type\" field")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventMsg, A::Error> {
        use serde::de::Error as _;
        match map.next_key::<FirstKey>()? {
            Some(FirstKey::Type) => {
                let tag: Tag = map.next_value()?;
                tag.payload(MapAccessDeserializer::new(map))
            }
            Some(FirstKey::Other(first)) => {
                // Slow path: `type` is not first, so buffer the object once.
                let mut fields = Map::new();
                fields.insert(first, map.next_value::<Value>()?);
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    fields.insert(k, v);
                }
                let tag = match fields.remove("type") {
                    Some(Value::String(tag)) => Tag::from_str(&tag),
                    Some(_) => return Err(A::Error::custom("field `type` must be a string")),
                    None => return Err(A::Error::missing_field("type")),
                };
                tag.payload(Value::Object(fields)).map_err(A::Error::custom)
            }
            None => Err(A::Error::missing_field("type")),
        }
    }
}

impl<'de> Deserialize<'de> for EventMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EventMsgVisitor)
    }
}
