//! Wire types of approval requests and their answers: decisions, file changes, permissions,
//! questions, and who decided.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

/// The answer to an exec or patch approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Do it, this once.
    Approved,
    /// Do it, and the same request again during this session without asking.
    ApprovedForSession,
    /// Do not do it; the turn goes on.
    Denied,
    /// Nobody decided in time. Treated as a denial by the sub-agent, but never reported as a
    /// person's denial.
    TimedOut,
    /// Do not do it, and stop the turn.
    Abort,
}

impl Decision {
    /// Whether the sub-agent may go ahead.
    pub fn is_approved(self) -> bool {
        matches!(self, Decision::Approved | Decision::ApprovedForSession)
    }

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::ApprovedForSession => "approved_for_session",
            Decision::Denied => "denied",
            Decision::TimedOut => "timed_out",
            Decision::Abort => "abort",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four kinds of request that need a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApprovalKind {
    /// Run a command.
    Exec,
    /// Apply a patch.
    Patch,
    /// Grant network or file-system permissions.
    Permissions,
    /// Answer questions.
    UserInput,
}

impl ApprovalKind {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Exec => "exec",
            ApprovalKind::Patch => "patch",
            ApprovalKind::Permissions => "permissions",
            ApprovalKind::UserInput => "user_input",
        }
    }
}

impl fmt::Display for ApprovalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who or what made a decision. On the wire a string: `rule:ID`, `session`, `user`, `timeout`,
/// `cancel`, `default`, `policy:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecidedBy {
    /// A rule of a rules file, by its id (or `line N` when it has none).
    Rule(String),
    /// An earlier `approved_for_session` answer, remembered by the session cache.
    Session,
    /// A person, at a prompt.
    User,
    /// The deadline for the request passed.
    Timeout,
    /// The delegation was cancelled while the request was pending.
    Cancel,
    /// No rule matched; the rules file's default applied.
    Default,
    /// A whole-policy answer such as `allow_all` or `deny_all`, or a non-interactive fallback.
    Policy(String),
}

impl fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecidedBy::Rule(id) => write!(f, "rule:{id}"),
            DecidedBy::Session => f.write_str("session"),
            DecidedBy::User => f.write_str("user"),
            DecidedBy::Timeout => f.write_str("timeout"),
            DecidedBy::Cancel => f.write_str("cancel"),
            DecidedBy::Default => f.write_str("default"),
            DecidedBy::Policy(name) => write!(f, "policy:{name}"),
        }
    }
}

impl std::str::FromStr for DecidedBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "session" => DecidedBy::Session,
            "user" => DecidedBy::User,
            "timeout" => DecidedBy::Timeout,
            "cancel" => DecidedBy::Cancel,
            "default" => DecidedBy::Default,
            _ => {
                if let Some(id) = s.strip_prefix("rule:") {
                    DecidedBy::Rule(id.to_string())
                } else if let Some(name) = s.strip_prefix("policy:") {
                    DecidedBy::Policy(name.to_string())
                } else {
                    return Err(format!(
                        "unknown decided_by {s:?}: expected rule:ID, session, user, timeout, cancel, default or policy:NAME"
                    ));
                }
            }
        })
    }
}

impl Serialize for DecidedBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DecidedBy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One file's change in a patch approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileChange {
    /// A new file with this content.
    Add {
        /// The whole new content.
        content: String,
    },
    /// The file is removed.
    Delete {
        /// The content being removed, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
    },
    /// The file is changed, and maybe moved.
    Update {
        /// The change as a unified diff.
        unified_diff: String,
        /// Where the file moves to, if it moves.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        move_path: Option<PathBuf>,
    },
}

impl FileChange {
    /// `add`, `delete` or `update`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            FileChange::Add { .. } => "add",
            FileChange::Delete { .. } => "delete",
            FileChange::Update { .. } => "update",
        }
    }
}

/// Network access asked for or granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPermissions {
    /// Whether network access is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// File-system access asked for or granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystemPermissions {
    /// Paths that may be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Vec<PathBuf>>,
    /// Paths that may be written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<Vec<PathBuf>>,
}

/// A set of permissions; empty means none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionProfile {
    /// Network access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkPermissions>,
    /// File-system access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system: Option<FileSystemPermissions>,
}

impl PermissionProfile {
    /// Whether this grants nothing at all.
    pub fn is_empty(&self) -> bool {
        let network = self.network.as_ref().is_some_and(|n| n.enabled == Some(true));
        let fs = self.file_system.as_ref().is_some_and(|f| {
            f.read.as_ref().is_some_and(|r| !r.is_empty())
                || f.write.as_ref().is_some_and(|w| !w.is_empty())
        });
        !network && !fs
    }
}

/// How long a permission grant lasts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionGrantScope {
    /// Until the current turn ends.
    #[default]
    Turn,
    /// Until the session ends.
    Session,
}

/// The answer to a `request_permissions` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPermissionsResponse {
    /// What is granted (possibly less than asked; empty for nothing).
    pub permissions: PermissionProfile,
    /// How long the grant lasts.
    #[serde(default)]
    pub scope: PermissionGrantScope,
}

impl RequestPermissionsResponse {
    /// Nothing granted, for this turn: the fail-closed answer.
    pub fn empty() -> Self {
        Self::default()
    }
}

/// One choice offered with a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionOption {
    /// The text of the choice.
    pub label: String,
    /// More about the choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One question of a `request_user_input` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Key of the answer in the response.
    pub id: String,
    /// A short heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The question itself.
    pub question: String,
    /// Choices, when the question has a fixed set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<QuestionOption>>,
}

/// The answers to one question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInputAnswer {
    /// The chosen labels or free text.
    pub answers: Vec<String>,
}

/// The answer to a `request_user_input` event, keyed by question id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUserInputResponse {
    /// Answers by question id; empty when nobody answered.
    pub answers: BTreeMap<String, UserInputAnswer>,
}

impl RequestUserInputResponse {
    /// No answers: the fail-closed answer.
    pub fn empty() -> Self {
        Self::default()
    }
}

/// What a sub-agent is doing, as the parent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentStatus {
    /// Started, not ready yet.
    PendingInit,
    /// Ready or working.
    Running,
    /// Its last turn was interrupted.
    Interrupted,
    /// Its last turn completed, with this last message.
    Completed(Option<String>),
    /// It failed; the message says how.
    Errored(String),
    /// It has shut down.
    Shutdown,
}

impl AgentStatus {
    /// Whether the sub-agent is gone (shut down or failed).
    pub fn is_final(&self) -> bool {
        matches!(self, AgentStatus::Shutdown | AgentStatus::Errored(_))
    }
}

impl fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentStatus::PendingInit => f.write_str("pending_init"),
            AgentStatus::Running => f.write_str("running"),
            AgentStatus::Interrupted => f.write_str("interrupted"),
            AgentStatus::Completed(_) => f.write_str("completed"),
            AgentStatus::Errored(message) => write!(f, "errored: {message}"),
            AgentStatus::Shutdown => f.write_str("shutdown"),
        }
    }
}
