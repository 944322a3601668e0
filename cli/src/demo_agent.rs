//! The built-in demo sub-agent: deterministic, asks for every kind of approval, never executes
//! anything.
//!
//! Each non-empty line of a prompt is one step:
//! - `run: CMD` asks an exec approval for CMD (split with shell-word rules; cwd = the agent's
//!   current directory);
//! - `edit: PATH` asks a patch approval for PATH (an update if the file exists, else an add);
//! - `ask: QUESTION` asks the parent a question;
//! - `net:` (anything after it is the reason) asks for network access;
//! - anything else is echoed.
//!
//! It streams its reply as deltas, then a final message that says what was decided, then
//! `task_complete`. An `abort` decision or an `interrupt` ends the turn with `turn_aborted`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use delegate_core::AgentEndpoint;
use delegate_core::ChannelAgent;
use delegate_protocol::*;

/// Start the demo agent in this process; the returned handle is its parent's side.
pub fn spawn() -> ChannelAgent {
    let (agent, endpoint) = ChannelAgent::pair();
    tokio::spawn(async move {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        DemoAgent { endpoint, cwd, calls: 0 }.run().await;
    });
    agent
}

struct DemoAgent {
    endpoint: AgentEndpoint,
    cwd: PathBuf,
    calls: u64,
}

/// What stopped a wait for an answer.
enum Wait<T> {
    Answer(T),
    Interrupted,
    Replaced(Submission),
    Shutdown(String),
    Gone,
}

enum TurnEnd {
    Done,
    Aborted(TurnAbortReason),
    Replaced(Box<Submission>),
    Shutdown(String),
    Gone,
}

impl DemoAgent {
    async fn run(mut self) {
        let _ = self.endpoint.status.send(AgentStatus::Running);
        let configured = SessionConfiguredEvent {
            session_id: Some("demo".into()),
            model: Some("demo-agent".into()),
            extra: Extra::new(),
        };
        if !self.endpoint.emit("", EventMsg::SessionConfigured(configured)).await {
            return;
        }
        let mut next: Option<Submission> = None;
        loop {
            let submission = match next.take() {
                Some(s) => s,
                None => match self.endpoint.submissions.recv().await {
                    Some(s) => s,
                    None => return,
                },
            };
            match submission.op {
                Op::UserInput { items, .. } => {
                    let text: Vec<String> = items
                        .iter()
                        .map(|item| match item {
                            InputItem::Text { text } => text.clone(),
                            _ => String::new(),
                        })
                        .collect();
                    match self.turn(&submission.id, &text.join("\n")).await {
                        TurnEnd::Done => {}
                        TurnEnd::Aborted(reason) => {
                            let _ = self.endpoint.status.send(AgentStatus::Interrupted);
                            let aborted = TurnAbortedEvent {
                                turn_id: Some(submission.id.clone()),
                                reason,
                                extra: Extra::new(),
                            };
                            self.endpoint
                                .emit(&submission.id, EventMsg::TurnAborted(aborted))
                                .await;
                        }
                        TurnEnd::Replaced(new) => {
                            let aborted = TurnAbortedEvent {
                                turn_id: Some(submission.id.clone()),
                                reason: TurnAbortReason::Replaced,
                                extra: Extra::new(),
                            };
                            self.endpoint
                                .emit(&submission.id, EventMsg::TurnAborted(aborted))
                                .await;
                            next = Some(*new);
                        }
                        TurnEnd::Shutdown(id) => return self.shut_down(&id).await,
                        TurnEnd::Gone => return,
                    }
                }
                Op::Shutdown => return self.shut_down(&submission.id).await,
                Op::Interrupt => {}
                other => {
                    let warning = format!(
                        "the demo agent got a {} answer with no request pending; ignored",
                        other.kind()
                    );
                    self.endpoint.emit(&submission.id, EventMsg::warning(warning)).await;
                }
            }
        }
    }

    async fn shut_down(&self, id: &str) {
        self.endpoint.emit(id, EventMsg::ShutdownComplete).await;
        let _ = self.endpoint.status.send(AgentStatus::Shutdown);
    }

    fn next_call_id(&mut self) -> String {
        self.calls += 1;
        format!("call-{}", self.calls)
    }

    async fn turn(&mut self, turn: &str, prompt: &str) -> TurnEnd {
        let _ = self.endpoint.status.send(AgentStatus::Running);
        let started = TaskStartedEvent { turn_id: turn.to_string(), extra: Extra::new() };
        if !self.endpoint.emit(turn, EventMsg::TaskStarted(started)).await {
            return TurnEnd::Gone;
        }
        let mut report = Vec::new();
        for line in prompt.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let step = match self.step(turn, line).await {
                Ok(text) => text,
                Err(end) => return end,
            };
            report.push(step);
        }
        if report.is_empty() {
            report.push("You said nothing; I did nothing.".to_string());
        }
        let message = report.join("\n");
        for word in message.split_inclusive(' ') {
            let delta = AgentMessageDeltaEvent { delta: word.to_string() };
            self.endpoint.emit(turn, EventMsg::AgentMessageDelta(delta)).await;
        }
        self.endpoint
            .emit(turn, EventMsg::AgentMessage(AgentMessageEvent { message: message.clone() }))
            .await;
        let _ = self.endpoint.status.send(AgentStatus::Completed(Some(message.clone())));
        let done = TaskCompleteEvent {
            turn_id: turn.to_string(),
            last_agent_message: Some(message),
            extra: Extra::new(),
        };
        if self.endpoint.emit(turn, EventMsg::TaskComplete(done)).await {
            TurnEnd::Done
        } else {
            TurnEnd::Gone
        }
    }

    /// One line of the prompt: ask what it needs, and say what was decided.
    async fn step(&mut self, turn: &str, line: &str) -> Result<String, TurnEnd> {
        if let Some(cmd) = strip_directive(line, "run") {
            let Some(command) = delegate_approval::split_shell_words(cmd) else {
                return Ok(format!(
                    "I could not parse the command {cmd:?} (unbalanced quotes); I asked nothing."
                ));
            };
            if command.is_empty() {
                return Ok("`run:` needs a command.".to_string());
            }
            let call_id = self.next_call_id();
            let request = ExecApprovalRequestEvent {
                call_id: call_id.clone(),
                approval_id: None,
                turn_id: turn.to_string(),
                command,
                cwd: self.cwd.clone(),
                reason: Some("the demo agent was asked to run this".into()),
                extra: Extra::new(),
            };
            self.endpoint.emit(turn, EventMsg::ExecApprovalRequest(Box::new(request))).await;
            let decision = self.wait_decision(|op| match op {
                Op::ExecApproval { id, decision, .. } if *id == call_id => Some(*decision),
                _ => None,
            });
            let decision = end_on_abort(decision.await)?;
            return Ok(format!(
                "run `{cmd}`: {} (the demo agent never executes anything).",
                describe(decision)
            ));
        }
        if let Some(path) = strip_directive(line, "edit") {
            if path.is_empty() {
                return Ok("`edit:` needs a path.".to_string());
            }
            let full = self.cwd.join(path);
            let existing = match existing_text(&full) {
                Ok(existing) => existing,
                Err(why) => return Ok(format!("edit {path}: {why}; I asked nothing.")),
            };
            let call_id = self.next_call_id();
            let change = match existing {
                Some(old) => FileChange::Update {
                    unified_diff: format!(
                        "--- a/{path}\n+++ b/{path}\n@@ -1,{n} +1,{m} @@\n{}+// edited by the demo agent\n",
                        old.lines().map(|l| format!(" {l}\n")).collect::<String>(),
                        n = old.lines().count(),
                        m = old.lines().count() + 1,
                    ),
                    move_path: None,
                },
                None => FileChange::Add { content: "// written by the demo agent\n".into() },
            };
            let mut changes = BTreeMap::new();
            changes.insert(PathBuf::from(path), change);
            let request = ApplyPatchApprovalRequestEvent {
                call_id: call_id.clone(),
                turn_id: turn.to_string(),
                changes,
                reason: Some("the demo agent was asked to edit this".into()),
                grant_root: None,
                extra: Extra::new(),
            };
            self.endpoint.emit(turn, EventMsg::ApplyPatchApprovalRequest(Box::new(request))).await;
            let decision = self.wait_decision(|op| match op {
                Op::PatchApproval { id, decision } if *id == call_id => Some(*decision),
                _ => None,
            });
            let decision = end_on_abort(decision.await)?;
            return Ok(format!(
                "edit {path}: {} (the demo agent never writes files).",
                describe(decision)
            ));
        }
        if let Some(question) = strip_directive(line, "ask") {
            let call_id = self.next_call_id();
            let request = RequestUserInputEvent {
                call_id,
                turn_id: turn.to_string(),
                questions: vec![Question {
                    id: "q1".into(),
                    header: Some("Question from the demo agent".into()),
                    question: question.to_string(),
                    options: None,
                }],
                extra: Extra::new(),
            };
            self.endpoint.emit(turn, EventMsg::RequestUserInput(Box::new(request))).await;
            let turn_id = turn.to_string();
            let answer = self.wait_decision(|op| match op {
                Op::UserInputAnswer { id, response } if *id == turn_id => Some(response.clone()),
                _ => None,
            });
            let response = finish(answer.await)?;
            let answers: Vec<String> =
                response.answers.values().flat_map(|a| a.answers.clone()).collect();
            return Ok(if answers.is_empty() {
                format!("ask {question:?}: no answer.")
            } else {
                format!("ask {question:?}: the answer was {:?}.", answers.join(", "))
            });
        }
        if let Some(reason) = strip_directive(line, "net") {
            let call_id = self.next_call_id();
            let request = RequestPermissionsEvent {
                call_id: call_id.clone(),
                turn_id: turn.to_string(),
                reason: Some(if reason.is_empty() {
                    "the demo agent was asked to go online".into()
                } else {
                    reason.to_string()
                }),
                permissions: PermissionProfile {
                    network: Some(NetworkPermissions { enabled: Some(true) }),
                    file_system: None,
                },
                extra: Extra::new(),
            };
            self.endpoint.emit(turn, EventMsg::RequestPermissions(Box::new(request))).await;
            let answer = self.wait_decision(|op| match op {
                Op::RequestPermissionsResponse { id, response } if *id == call_id => {
                    Some(response.clone())
                }
                _ => None,
            });
            let response = finish(answer.await)?;
            return Ok(if response.permissions.is_empty() {
                "net: network access was not granted.".to_string()
            } else {
                let scope = match response.scope {
                    PermissionGrantScope::Session => "for the session",
                    PermissionGrantScope::Turn => "for this turn",
                };
                format!(
                    "net: network access was granted {scope} (the demo agent never connects anywhere)."
                )
            });
        }
        Ok(format!("You said: {line}"))
    }

    /// Wait for the answer `pick` recognises, handling interrupt, shutdown and new input.
    async fn wait_decision<T>(&mut self, pick: impl Fn(&Op) -> Option<T>) -> Wait<T> {
        loop {
            let Some(submission) = self.endpoint.submissions.recv().await else {
                return Wait::Gone;
            };
            if let Some(answer) = pick(&submission.op) {
                return Wait::Answer(answer);
            }
            match submission.op {
                Op::Interrupt => return Wait::Interrupted,
                Op::Shutdown => return Wait::Shutdown(submission.id),
                Op::UserInput { .. } => return Wait::Replaced(submission),
                other => {
                    let warning = format!(
                        "the demo agent got a {} answer for a request it is not waiting on; ignored",
                        other.kind()
                    );
                    self.endpoint.emit(&submission.id, EventMsg::warning(warning)).await;
                }
            }
        }
    }
}

/// Largest file the demo agent reads to propose an edit: a patch of a huge file shows nothing a
/// person can review, and reading it would hold up the agent.
const MAX_EDIT_LEN: u64 = 1024 * 1024;

/// The text of an existing regular file (`None` when there is no file), or why it cannot be
/// edited. Never reads devices, FIFOs or more than [`MAX_EDIT_LEN`] bytes.
fn existing_text(path: &std::path::Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot look at it ({err})")),
    };
    if !meta.is_file() {
        return Err("it is not a regular file".to_string());
    }
    if meta.len() > MAX_EDIT_LEN {
        return Err(format!("it is larger than {MAX_EDIT_LEN} bytes"));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_EDIT_LEN).read_to_string(&mut text))
        .map_err(|err| format!("cannot read it ({err})"))?;
    Ok(Some(text))
}

fn finish<T>(wait: Wait<T>) -> Result<T, TurnEnd> {
    match wait {
        Wait::Answer(answer) => Ok(answer),
        Wait::Interrupted => Err(TurnEnd::Aborted(TurnAbortReason::Interrupted)),
        Wait::Replaced(s) => Err(TurnEnd::Replaced(Box::new(s))),
        Wait::Shutdown(id) => Err(TurnEnd::Shutdown(id)),
        Wait::Gone => Err(TurnEnd::Gone),
    }
}

fn end_on_abort(wait: Wait<Decision>) -> Result<Decision, TurnEnd> {
    match finish(wait)? {
        Decision::Abort => Err(TurnEnd::Aborted(TurnAbortReason::Interrupted)),
        decision => Ok(decision),
    }
}

fn describe(decision: Decision) -> &'static str {
    match decision {
        Decision::Approved => "approved",
        Decision::ApprovedForSession => "approved for the session",
        Decision::Denied => "denied",
        Decision::TimedOut => "not decided in time (treated as denied)",
        Decision::Abort => "aborted",
        _ => "answered with a decision the demo agent does not know (treated as denied)",
    }
}

/// `run: x` → `Some("x")` for directive `run`; case-insensitive directive, trimmed rest.
fn strip_directive<'a>(line: &'a str, directive: &str) -> Option<&'a str> {
    let (head, rest) = line.split_once(':')?;
    head.trim().eq_ignore_ascii_case(directive).then(|| rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_recognised() {
        assert_eq!(strip_directive("run: git status", "run"), Some("git status"));
        assert_eq!(strip_directive("RUN:ls", "run"), Some("ls"));
        assert_eq!(strip_directive("running: x", "run"), None);
        assert_eq!(strip_directive("net:", "net"), Some(""));
    }
}
