//! What an approver is asked ([`ApprovalRequest`]) and what it answers ([`Verdict`]).

use delegate_protocol::ApplyPatchApprovalRequestEvent;
use delegate_protocol::ApprovalKind;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::PermissionGrantScope;
use delegate_protocol::PermissionProfile;
use delegate_protocol::RequestPermissionsEvent;
use delegate_protocol::RequestPermissionsResponse;
use delegate_protocol::RequestUserInputEvent;
use delegate_protocol::RequestUserInputResponse;
use delegate_protocol::W3cTraceContext;

/// The request itself: one of the four kinds that need a decision.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// Run a command.
    Exec(ExecApprovalRequestEvent),
    /// Apply a patch.
    Patch(ApplyPatchApprovalRequestEvent),
    /// Grant permissions.
    Permissions(RequestPermissionsEvent),
    /// Answer questions.
    UserInput(RequestUserInputEvent),
}

/// A request that needs a decision, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    /// The request.
    pub request: Request,
    /// The path of the agent that asked, from the root of the delegation tree.
    pub agent_path: Vec<String>,
    /// The id of the event that carried the request (the sub-agent's turn id).
    pub event_id: String,
    /// The trace context of the delegation, when there is one.
    pub trace: Option<W3cTraceContext>,
}

impl ApprovalRequest {
    /// A request from the agent at `agent_path`, carried by the event `event_id`.
    pub fn new(request: Request, agent_path: Vec<String>, event_id: impl Into<String>) -> Self {
        Self { request, agent_path, event_id: event_id.into(), trace: None }
    }

    /// Which of the four kinds this is.
    pub fn kind(&self) -> ApprovalKind {
        match &self.request {
            Request::Exec(_) => ApprovalKind::Exec,
            Request::Patch(_) => ApprovalKind::Patch,
            Request::Permissions(_) => ApprovalKind::Permissions,
            Request::UserInput(_) => ApprovalKind::UserInput,
        }
    }

    /// The tool call id of the request.
    pub fn call_id(&self) -> &str {
        match &self.request {
            Request::Exec(r) => &r.call_id,
            Request::Patch(r) => &r.call_id,
            Request::Permissions(r) => &r.call_id,
            Request::UserInput(r) => &r.call_id,
        }
    }

    /// The id under which the answer goes back, unique among pending requests of one agent:
    /// exec's `approval_id` (or `call_id`), the others' `call_id`.
    pub fn request_id(&self) -> &str {
        match &self.request {
            Request::Exec(r) => r.effective_approval_id(),
            _ => self.call_id(),
        }
    }

    /// One line saying what is asked, for prompts, logs and `approval_pending` events.
    pub fn summary(&self) -> String {
        match &self.request {
            Request::Exec(r) => {
                format!(
                    "run `{}` in {}",
                    shell_join(&r.command),
                    display_safe(&r.cwd.to_string_lossy())
                )
            }
            Request::Patch(r) => {
                let paths: Vec<String> = r
                    .changes
                    .iter()
                    .map(|(p, c)| {
                        format!("{} {}", c.kind_str(), display_safe(&p.to_string_lossy()))
                    })
                    .collect();
                format!("apply patch: {}", paths.join(", "))
            }
            Request::Permissions(r) => {
                let mut parts = Vec::new();
                if r.permissions.network.as_ref().is_some_and(|n| n.enabled == Some(true)) {
                    parts.push("network".to_string());
                }
                if let Some(fs) = &r.permissions.file_system {
                    for p in fs.read.iter().flatten() {
                        parts.push(format!("read {}", display_safe(&p.to_string_lossy())));
                    }
                    for p in fs.write.iter().flatten() {
                        parts.push(format!("write {}", display_safe(&p.to_string_lossy())));
                    }
                }
                if parts.is_empty() {
                    parts.push("nothing".to_string());
                }
                format!("grant permissions: {}", parts.join(", "))
            }
            Request::UserInput(r) => {
                let qs: Vec<String> =
                    r.questions.iter().map(|q| display_safe(&q.question)).collect();
                format!("answer: {}", qs.join(" / "))
            }
        }
    }

    /// The answer that approves nothing, for `decision` (which should not approve).
    ///
    /// Exec and patch get `decision` itself; permissions get an empty grant for the turn; user
    /// input gets no answers. This is how timeouts, cancellation and denials answer.
    pub fn refusal(&self, decision: Decision, decided_by: DecidedBy) -> Verdict {
        let answer = match &self.request {
            Request::Exec(_) | Request::Patch(_) => Answer::Decision(decision),
            Request::Permissions(_) => Answer::Permissions(RequestPermissionsResponse::empty()),
            Request::UserInput(_) => Answer::UserInput(RequestUserInputResponse::empty()),
        };
        Verdict { answer, decided_by, refusal: Some(decision) }
    }

    /// The answer that grants what was asked: `decision` for exec/patch, every asked permission
    /// (for the session when `decision` is `approved_for_session`) for permissions. User input
    /// cannot be approved without answers, so it gets no answers (a refusal).
    pub fn grant(&self, decision: Decision, decided_by: DecidedBy) -> Verdict {
        match &self.request {
            Request::Exec(_) | Request::Patch(_) => {
                Verdict { answer: Answer::Decision(decision), decided_by, refusal: None }
            }
            Request::Permissions(r) => {
                let scope = if decision == Decision::ApprovedForSession {
                    PermissionGrantScope::Session
                } else {
                    PermissionGrantScope::Turn
                };
                let response =
                    RequestPermissionsResponse { permissions: r.permissions.clone(), scope };
                Verdict { answer: Answer::Permissions(response), decided_by, refusal: None }
            }
            Request::UserInput(_) => self.refusal(Decision::Denied, decided_by),
        }
    }
}

/// Join argv for display, quoting words that need it. Words with control characters or
/// invisible formatting characters (bidi overrides, zero-width spaces) are written in ANSI-C
/// quoting (`$'…'`) with those characters escaped, so a prompt cannot be made to show a different
/// command than the one asked for.
pub fn shell_join(argv: &[String]) -> String {
    // One pass and one allocation for the common case: this runs for every approval request.
    let mut out = String::with_capacity(argv.iter().map(|w| w.len() + 3).sum());
    for (i, word) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let plain = !word.is_empty()
            && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
        if plain {
            out.push_str(word);
        } else if word.chars().any(is_deceptive) {
            out.push_str(&ansi_c_quote(word));
        } else {
            out.push('\'');
            for c in word.chars() {
                if c == '\'' {
                    out.push_str("'\\''");
                } else {
                    out.push(c);
                }
            }
            out.push('\'');
        }
    }
    out
}

/// Text for a person to read, with control and invisible formatting characters escaped (as in
/// [`shell_join`]); used for paths and questions in summaries.
pub fn display_safe(text: &str) -> String {
    if text.chars().any(is_deceptive) { ansi_c_quote(text) } else { text.to_string() }
}

/// Characters that change what a terminal shows without being seen: C0/C1 controls, bidi
/// embeddings, overrides and isolates, zero-width characters, the BOM.
fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn ansi_c_quote(word: &str) -> String {
    let mut out = String::from("$'");
    for c in word.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_deceptive(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_deceptive(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn deceptive_characters_are_escaped_for_display() {
        let argv =
            vec!["echo".to_string(), "safe\u{202E}txt.exe".to_string(), "a\x1b[2Kb".to_string()];
        assert_eq!(shell_join(&argv), r"echo $'safe\u202etxt.exe' $'a\x1b[2Kb'");
        assert_eq!(shell_join(&["two words".into(), "it's".into()]), r"'two words' 'it'\''s'");
        assert_eq!(display_safe("/repo/src"), "/repo/src");
        assert_eq!(display_safe("line\nbreak"), r"$'line\nbreak'");
    }
}

/// The answer to a request, shaped for its kind.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Answer {
    /// For exec and patch requests.
    Decision(Decision),
    /// For permission requests.
    Permissions(RequestPermissionsResponse),
    /// For user-input requests.
    UserInput(RequestUserInputResponse),
}

/// An answer and who gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The answer.
    pub answer: Answer,
    /// Who or what decided.
    pub decided_by: DecidedBy,
    /// For refusals of permissions or user input, the decision that caused them (`timed_out`,
    /// `abort`, …), so reports do not call every empty answer a denial.
    refusal: Option<Decision>,
}

impl Verdict {
    /// An exec/patch verdict.
    pub fn decision(decision: Decision, decided_by: DecidedBy) -> Self {
        Self { answer: Answer::Decision(decision), decided_by, refusal: None }
    }

    /// A verdict granting these permissions.
    pub fn permissions(response: RequestPermissionsResponse, decided_by: DecidedBy) -> Self {
        Self { answer: Answer::Permissions(response), decided_by, refusal: None }
    }

    /// A verdict answering questions.
    pub fn user_input(response: RequestUserInputResponse, decided_by: DecidedBy) -> Self {
        Self { answer: Answer::UserInput(response), decided_by, refusal: None }
    }

    /// The decision this verdict amounts to, for reports and audit. Permissions: approved (for
    /// the session when scoped so) when anything is granted; user input: approved when anything
    /// is answered; otherwise the refusal's decision, or `denied`.
    pub fn summary_decision(&self) -> Decision {
        match &self.answer {
            Answer::Decision(d) => *d,
            Answer::Permissions(r) if !r.permissions.is_empty() => match r.scope {
                PermissionGrantScope::Session => Decision::ApprovedForSession,
                PermissionGrantScope::Turn => Decision::Approved,
            },
            Answer::UserInput(r) if !r.answers.is_empty() => Decision::Approved,
            _ => self.refusal.unwrap_or(Decision::Denied),
        }
    }

    /// Whether this verdict lets the sub-agent go ahead with anything.
    pub fn approves(&self) -> bool {
        self.summary_decision().is_approved()
    }

    /// Whether the answer fits the request's kind and grants nothing beyond it: permissions
    /// only among those asked (exact paths), answers only to questions asked. Policies refuse an
    /// inner approver's verdict that does not (fail closed).
    pub fn stays_within(&self, request: &ApprovalRequest) -> bool {
        if !self.fits(request) {
            return false;
        }
        match (&self.answer, &request.request) {
            (Answer::Permissions(granted), Request::Permissions(asked)) => {
                permissions_within(&granted.permissions, &asked.permissions)
            }
            (Answer::UserInput(answered), Request::UserInput(asked)) => {
                answered.answers.keys().all(|id| asked.questions.iter().any(|q| &q.id == id))
            }
            _ => true,
        }
    }

    /// Whether the answer fits the request's kind. A mismatched verdict is treated as a refusal
    /// by the engine (fail closed).
    pub fn fits(&self, request: &ApprovalRequest) -> bool {
        matches!(
            (&self.answer, &request.request),
            (Answer::Decision(_), Request::Exec(_) | Request::Patch(_))
                | (Answer::Permissions(_), Request::Permissions(_))
                | (Answer::UserInput(_), Request::UserInput(_))
        )
    }
}

fn permissions_within(granted: &PermissionProfile, asked: &PermissionProfile) -> bool {
    let on = |p: &PermissionProfile| p.network.as_ref().is_some_and(|n| n.enabled == Some(true));
    if on(granted) && !on(asked) {
        return false;
    }
    let paths = |p: &PermissionProfile, write: bool| -> Vec<std::path::PathBuf> {
        p.file_system
            .as_ref()
            .and_then(|fs| if write { fs.write.clone() } else { fs.read.clone() })
            .unwrap_or_default()
    };
    [false, true].into_iter().all(|write| {
        let asked = paths(asked, write);
        paths(granted, write).iter().all(|p| asked.contains(p))
    })
}
