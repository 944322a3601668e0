//! The translation between our protocol and the app-server's, as a synchronous state machine:
//! submissions in → JSON-RPC messages out; app-server messages in → events (and answers) out.
//!
//! Kept free of I/O so every rule of the mapping table in the crate docs is unit-tested here.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::path::PathBuf;

use delegate_protocol::AgentMessageEvent;
use delegate_protocol::AgentReasoningDeltaEvent;
use delegate_protocol::AgentReasoningEvent;
use delegate_protocol::AgentStatus;
use delegate_protocol::ApplyPatchApprovalRequestEvent;
use delegate_protocol::ApprovalKind;
use delegate_protocol::Decision;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::ExecCommandBeginEvent;
use delegate_protocol::ExecCommandEndEvent;
use delegate_protocol::Extra;
use delegate_protocol::FileChange;
use delegate_protocol::FileSystemPermissions;
use delegate_protocol::InputItem;
use delegate_protocol::NetworkPermissions;
use delegate_protocol::Op;
use delegate_protocol::PatchApplyBeginEvent;
use delegate_protocol::PatchApplyEndEvent;
use delegate_protocol::PermissionGrantScope;
use delegate_protocol::PermissionProfile;
use delegate_protocol::Question;
use delegate_protocol::QuestionOption;
use delegate_protocol::RequestPermissionsEvent;
use delegate_protocol::RequestPermissionsResponse;
use delegate_protocol::RequestUserInputEvent;
use delegate_protocol::RequestUserInputResponse;
use delegate_protocol::Submission;
use delegate_protocol::TaskCompleteEvent;
use delegate_protocol::TaskStartedEvent;
use delegate_protocol::ThreadNameUpdatedEvent;
use delegate_protocol::TokenCountEvent;
use delegate_protocol::TurnAbortReason;
use delegate_protocol::TurnAbortedEvent;
use delegate_protocol::UnknownEvent;
use delegate_protocol::W3cTraceContext;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

use crate::jsonrpc;
use crate::jsonrpc::Incoming;
use crate::jsonrpc::RpcError;
use crate::shell;

/// The event id of events that belong to no turn (as Codex's own `session_configured`).
pub(crate) const SESSION_EVENT_ID: &str = "";

/// How many ended turns keep their id mapping for late notifications. Codex sends nothing for a
/// turn after `turn/completed` in practice; a few are kept in case it does, bounded so a long
/// session does not grow.
const FINISHED_TURNS_KEPT: usize = 8;

/// What one step of the state machine produced.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// JSON-RPC messages to write to the app-server, in order.
    pub(crate) messages: Vec<Value>,
    /// Events for the parent, in order.
    pub(crate) events: Vec<Event>,
    /// The new status, when it changed.
    pub(crate) status: Option<AgentStatus>,
}

impl Output {
    fn event(&mut self, id: impl Into<String>, msg: EventMsg) {
        self.events.push(Event::new(id, msg));
    }
}

/// What the driver must do beyond writing and emitting.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// Nothing.
    Continue,
    /// End the app-server (bounded), then emit `shutdown_complete` under this id.
    Shutdown { submission_id: String },
}

/// Our requests that wait for an answer, by JSON-RPC id.
#[derive(Debug)]
enum Outstanding {
    TurnStart { submission_id: String },
    TurnInterrupt { submission_id: String },
}

/// A turn we know of, by Codex's turn id.
#[derive(Debug)]
struct TurnState {
    /// Our id for it: the submission that started it. Its events carry this id.
    submission_id: String,
    last_agent_message: Option<String>,
    /// Whether an `error` notification for it was already passed on, so a failed
    /// `turn/completed` does not report the same failure twice.
    error_reported: bool,
}

/// A server request waiting for the parent's answer.
#[derive(Debug, Clone)]
struct PendingRequest {
    rpc_id: Value,
    kind: ApprovalKind,
    codex_turn_id: String,
    /// The id of the event that carried the request (our turn id).
    event_id: String,
}

/// The mapping between one Codex thread and our protocol.
#[derive(Debug)]
pub(crate) struct Mapper {
    thread_id: String,
    cwd: PathBuf,
    next_request_id: i64,
    outstanding: HashMap<i64, Outstanding>,
    turns: HashMap<String, TurnState>,
    /// Submissions whose `turn/start` went out but whose Codex turn id is not known yet.
    unbound: VecDeque<String>,
    /// The Codex turn running now.
    active_turn: Option<String>,
    /// Turns that ended, most recent last, so late notifications keep their turn's id.
    finished: VecDeque<(String, String)>,
    /// An interrupt that came before the running turn's id was known.
    deferred_interrupt: Option<(String, Option<W3cTraceContext>)>,
    /// `fileChange` items by item id: their changes go into the patch approval request.
    file_changes: HashMap<String, BTreeMap<PathBuf, FileChange>>,
    /// Server requests awaiting an answer, by the id our answer op carries.
    pending: HashMap<String, PendingRequest>,
}

impl Mapper {
    /// A mapper for `thread_id`, whose requests start at `next_request_id`.
    pub(crate) fn new(thread_id: String, cwd: PathBuf, next_request_id: i64) -> Self {
        Self {
            thread_id,
            cwd,
            next_request_id,
            outstanding: HashMap::new(),
            turns: HashMap::new(),
            unbound: VecDeque::new(),
            active_turn: None,
            finished: VecDeque::new(),
            deferred_interrupt: None,
            file_changes: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Our id of the turn running now, if any.
    pub(crate) fn active_event_id(&self) -> Option<String> {
        match &self.active_turn {
            Some(codex) => self.turns.get(codex).map(|t| t.submission_id.clone()),
            None => self.unbound.front().cloned(),
        }
    }

    fn request(
        &mut self,
        method: &str,
        params: Value,
        trace: Option<&W3cTraceContext>,
        what: Outstanding,
        out: &mut Output,
    ) {
        let id = self.next_request_id;
        self.next_request_id += 1;
        self.outstanding.insert(id, what);
        out.messages.push(jsonrpc::request(id, method, params, trace));
    }

    // ---------------------------------------------------------------- submissions

    /// Translate one submission.
    pub(crate) fn on_submission(&mut self, submission: Submission, out: &mut Output) -> Control {
        let Submission { id, op, trace } = submission;
        let trace = trace.and_then(|t| {
            let (clean, errors) = t.sanitized();
            for err in errors {
                out.event(id.clone(), EventMsg::warning(format!("dropped trace context: {err}")));
            }
            clean
        });
        match op {
            Op::UserInput { items, final_output_json_schema } => {
                let mut input = Vec::new();
                for item in items {
                    match item {
                        InputItem::Text { text } => {
                            input.push(json!({ "type": "text", "text": text, "text_elements": [] }))
                        }
                        other => out.event(
                            id.clone(),
                            EventMsg::warning(format!(
                                "the codex adapter cannot send input item {other:?}; left out"
                            )),
                        ),
                    }
                }
                let mut params = json!({ "threadId": self.thread_id, "input": input });
                if let Some(schema) = final_output_json_schema {
                    params["outputSchema"] = schema;
                }
                self.unbound.push_back(id.clone());
                let what = Outstanding::TurnStart { submission_id: id };
                self.request("turn/start", params, trace.as_ref(), what, out);
            }
            Op::Interrupt => {
                if let Some(turn) = self.active_turn.clone() {
                    self.send_interrupt(id, &turn, trace.as_ref(), out);
                } else if !self.unbound.is_empty() {
                    // The turn is starting; interrupt it as soon as its id is known.
                    self.deferred_interrupt = Some((id, trace));
                }
                // No turn: nothing to interrupt, as in Codex itself.
            }
            Op::Shutdown => return Control::Shutdown { submission_id: id },
            Op::ExecApproval { id: answer_id, decision, .. } => {
                self.answer(&id, &answer_id, ApprovalKind::Exec, decision_result(decision), out);
            }
            Op::PatchApproval { id: answer_id, decision } => {
                self.answer(&id, &answer_id, ApprovalKind::Patch, decision_result(decision), out);
            }
            Op::RequestPermissionsResponse { id: answer_id, response } => {
                let result = permissions_result(&response);
                self.answer(&id, &answer_id, ApprovalKind::Permissions, result, out);
            }
            Op::UserInputAnswer { id: answer_id, response } => {
                let result = user_input_result(&response);
                self.answer(&id, &answer_id, ApprovalKind::UserInput, result, out);
            }
            other => {
                out.event(
                    id,
                    EventMsg::warning(format!(
                        "the codex adapter does not support `{}` submissions; ignored",
                        other.kind()
                    )),
                );
            }
        }
        Control::Continue
    }

    fn send_interrupt(
        &mut self,
        submission_id: String,
        codex_turn: &str,
        trace: Option<&W3cTraceContext>,
        out: &mut Output,
    ) {
        let params = json!({ "threadId": self.thread_id, "turnId": codex_turn });
        self.request(
            "turn/interrupt",
            params,
            trace,
            Outstanding::TurnInterrupt { submission_id },
            out,
        );
    }

    /// Answer the pending server request that `answer_id` names.
    fn answer(
        &mut self,
        submission_id: &str,
        answer_id: &str,
        kind: ApprovalKind,
        result: Value,
        out: &mut Output,
    ) {
        let key = if self.pending.contains_key(answer_id) {
            Some(answer_id.to_string())
        } else if kind == ApprovalKind::UserInput {
            // `user_input_answer` carries the id of the event that asked, i.e. our turn id.
            self.pending
                .iter()
                .filter(|(_, p)| p.kind == ApprovalKind::UserInput && p.event_id == answer_id)
                .map(|(k, _)| k.clone())
                .next()
        } else {
            None
        };
        let Some(key) = key else {
            out.event(
                submission_id,
                EventMsg::warning(format!(
                    "no pending {kind} request with id `{answer_id}` (already answered, resolved \
                     by codex, or never asked); answer dropped"
                )),
            );
            return;
        };
        let Some(pending) = self.pending.get(&key) else { return };
        if pending.kind != kind {
            let expected = pending.kind;
            out.event(
                submission_id,
                EventMsg::warning(format!(
                    "request `{answer_id}` is a {expected} request but got a {kind} answer; \
                     answer dropped, request still pending"
                )),
            );
            return;
        }
        if let Some(pending) = self.pending.remove(&key) {
            out.messages.push(jsonrpc::response(pending.rpc_id, result));
        }
    }

    // ---------------------------------------------------------------- app-server messages

    /// Translate one decoded line from the app-server.
    pub(crate) fn on_line(&mut self, value: Value, out: &mut Output) {
        match Incoming::classify(value) {
            Ok(Incoming::Notification { method, params }) => {
                self.on_notification(method, params, out)
            }
            Ok(Incoming::Request { id, method, params }) => {
                self.on_server_request(id, method, params, out)
            }
            Ok(Incoming::Response { id, result }) => self.on_response(id, result, out),
            Err(why) => out.event(
                self.active_event_id().unwrap_or_default(),
                EventMsg::warning(format!(
                    "codex app-server sent an invalid message ({why}); skipped"
                )),
            ),
        }
    }

    fn on_response(&mut self, id: Value, result: Result<Value, RpcError>, out: &mut Output) {
        let Some(what) = id.as_i64().and_then(|id| self.outstanding.remove(&id)) else {
            out.event(
                SESSION_EVENT_ID,
                EventMsg::warning(format!("codex app-server answered unknown request id {id}")),
            );
            return;
        };
        match (what, result) {
            (Outstanding::TurnStart { submission_id }, Ok(result)) => {
                if let Some(codex_turn) = result.pointer("/turn/id").and_then(Value::as_str)
                    && !self.turns.contains_key(codex_turn)
                {
                    self.unbound.retain(|s| s != &submission_id);
                    self.bind(codex_turn.to_string(), submission_id, out);
                }
            }
            (Outstanding::TurnStart { submission_id }, Err(err)) => {
                self.unbound.retain(|s| s != &submission_id);
                if self.deferred_interrupt.as_ref().is_some_and(|_| self.unbound.is_empty()) {
                    self.deferred_interrupt = None;
                }
                out.event(
                    submission_id.clone(),
                    EventMsg::error(format!(
                        "codex app-server rejected turn/start: {} (code {})",
                        err.message, err.code
                    )),
                );
                out.event(submission_id.clone(), task_complete(&submission_id, None, "failed"));
            }
            (Outstanding::TurnInterrupt { .. }, Ok(_)) => {}
            (Outstanding::TurnInterrupt { submission_id }, Err(err)) => out.event(
                submission_id,
                EventMsg::warning(format!(
                    "codex app-server rejected turn/interrupt: {} (code {})",
                    err.message, err.code
                )),
            ),
        }
    }

    /// Record that Codex turn `codex_turn` is our `submission_id`, and send an interrupt that
    /// was waiting for it.
    fn bind(&mut self, codex_turn: String, submission_id: String, out: &mut Output) {
        self.turns.insert(
            codex_turn.clone(),
            TurnState { submission_id, last_agent_message: None, error_reported: false },
        );
        self.active_turn = Some(codex_turn.clone());
        if let Some((interrupt_id, trace)) = self.deferred_interrupt.take() {
            self.send_interrupt(interrupt_id, &codex_turn, trace.as_ref(), out);
        }
    }

    /// Our id for Codex turn `codex_turn`, binding it to the oldest starting submission when it
    /// is new (notifications may come before the `turn/start` answer).
    fn turn_event_id(&mut self, codex_turn: &str, out: &mut Output) -> String {
        if let Some(turn) = self.turns.get(codex_turn) {
            return turn.submission_id.clone();
        }
        if let Some((_, submission_id)) = self.finished.iter().find(|(c, _)| c == codex_turn) {
            return submission_id.clone();
        }
        match self.unbound.pop_front() {
            Some(submission_id) => {
                self.bind(codex_turn.to_string(), submission_id.clone(), out);
                submission_id
            }
            // A turn we did not start keeps Codex's id.
            None => codex_turn.to_string(),
        }
    }

    /// Forget a turn that ended, keeping its id for late notifications.
    fn finish(&mut self, codex_turn: &str) -> Option<TurnState> {
        let state = self.turns.remove(codex_turn)?;
        if self.finished.len() == FINISHED_TURNS_KEPT {
            self.finished.pop_front();
        }
        self.finished.push_back((codex_turn.to_string(), state.submission_id.clone()));
        Some(state)
    }

    fn event_id_of(&mut self, params: &Value, out: &mut Output) -> String {
        match params.get("turnId").and_then(Value::as_str) {
            Some(turn) => self.turn_event_id(turn, out),
            None => SESSION_EVENT_ID.to_string(),
        }
    }

    fn on_notification(&mut self, method: String, params: Value, out: &mut Output) {
        let handled = match method.as_str() {
            "turn/started" => self.on_turn_started(&params, out),
            "turn/completed" => self.on_turn_completed(&params, out),
            "item/started" => self.on_item_started(&params, out),
            "item/completed" => self.on_item_completed(&params, out),
            "item/agentMessage/delta" => parse::<Delta>(&params).map(|d| {
                let id = self.event_id_of(&params, out);
                out.event(
                    id,
                    EventMsg::AgentMessageDelta(delegate_protocol::AgentMessageDeltaEvent {
                        delta: d.delta,
                    }),
                );
            }),
            "item/reasoning/textDelta" | "item/reasoning/summaryTextDelta" => {
                parse::<Delta>(&params).map(|d| {
                    let id = self.event_id_of(&params, out);
                    out.event(
                        id,
                        EventMsg::AgentReasoningDelta(AgentReasoningDeltaEvent { delta: d.delta }),
                    );
                })
            }
            "thread/tokenUsage/updated" => {
                let id = self.event_id_of(&params, out);
                let extra = match params.get("tokenUsage") {
                    Some(Value::Object(usage)) => usage.clone(),
                    _ => object(params.clone()),
                };
                out.event(id, EventMsg::TokenCount(TokenCountEvent { extra }));
                Ok(())
            }
            "thread/name/updated" => {
                let thread_name =
                    params.get("threadName").and_then(Value::as_str).map(str::to_string);
                out.event(
                    SESSION_EVENT_ID,
                    EventMsg::ThreadNameUpdated(ThreadNameUpdatedEvent {
                        thread_name,
                        extra: Extra::new(),
                    }),
                );
                Ok(())
            }
            "error" => parse::<ErrorNotification>(&params).map(|e| {
                let id = self.event_id_of(&params, out);
                let message = e.error.describe();
                if e.will_retry {
                    out.event(id, EventMsg::warning(format!("{message} (codex retries)")));
                } else {
                    if let Some(turn) = e.turn_id.as_deref().and_then(|t| self.turns.get_mut(t)) {
                        turn.error_reported = true;
                    }
                    out.event(id, EventMsg::error(message));
                }
            }),
            "warning" | "guardianWarning" => parse::<Message>(&params).map(|w| {
                let id = self.event_id_of(&params, out);
                out.event(id, EventMsg::warning(w.message));
            }),
            "configWarning" | "deprecationNotice" => parse::<Summary>(&params).map(|w| {
                let message = match w.details {
                    Some(details) if !details.is_empty() => format!("{}: {details}", w.summary),
                    _ => w.summary,
                };
                out.event(SESSION_EVENT_ID, EventMsg::warning(message));
            }),
            "serverRequest/resolved" => {
                if let Some(rpc_id) = params.get("requestId") {
                    self.pending.retain(|_, p| &p.rpc_id != rpc_id);
                }
                Err(Unmapped)
            }
            _ => Err(Unmapped),
        };
        match handled {
            Ok(()) => {}
            Err(Unmapped) => {
                let id = self.event_id_of(&params, out);
                out.event(id, other(&method, params));
            }
        }
    }

    fn on_turn_started(&mut self, params: &Value, out: &mut Output) -> Result<(), Unmapped> {
        let turn: TurnParams = parse(params)?;
        let id = self.turn_event_id(&turn.turn.id, out);
        // A turn Codex started by itself is tracked under its own id.
        self.turns.entry(turn.turn.id.clone()).or_insert_with(|| TurnState {
            submission_id: id.clone(),
            last_agent_message: None,
            error_reported: false,
        });
        self.active_turn = Some(turn.turn.id.clone());
        let mut extra = Extra::new();
        extra.insert("codex_turn_id".to_string(), Value::from(turn.turn.id));
        out.event(id.clone(), EventMsg::TaskStarted(TaskStartedEvent { turn_id: id, extra }));
        out.status = Some(AgentStatus::Running);
        Ok(())
    }

    fn on_turn_completed(&mut self, params: &Value, out: &mut Output) -> Result<(), Unmapped> {
        let turn: TurnParams = parse(params)?;
        let codex_turn = turn.turn.id;
        let id = self.turn_event_id(&codex_turn, out);
        let state = self.finish(&codex_turn);
        if self.active_turn.as_deref() == Some(codex_turn.as_str()) {
            self.active_turn = None;
        }
        // Requests of the turn are resolved by Codex when it ends; answers to them are moot.
        self.pending.retain(|_, p| p.codex_turn_id != codex_turn);
        if self.deferred_interrupt.is_some() && self.unbound.is_empty() {
            self.deferred_interrupt = None;
        }
        let last = state.as_ref().and_then(|s| s.last_agent_message.clone());
        match turn.turn.status.as_deref() {
            Some("interrupted") => {
                out.event(
                    id.clone(),
                    EventMsg::TurnAborted(TurnAbortedEvent {
                        turn_id: Some(id),
                        reason: TurnAbortReason::Interrupted,
                        extra: Extra::new(),
                    }),
                );
                out.status = Some(AgentStatus::Interrupted);
            }
            Some("failed") => {
                if !state.as_ref().is_some_and(|s| s.error_reported) {
                    let message = turn
                        .turn
                        .error
                        .map_or_else(|| "the codex turn failed".to_string(), |e| e.describe());
                    out.event(id.clone(), EventMsg::error(message));
                }
                out.event(id.clone(), task_complete(&id, last.clone(), "failed"));
                out.status = Some(AgentStatus::Completed(last));
            }
            _ => {
                out.event(id.clone(), task_complete(&id, last.clone(), "completed"));
                out.status = Some(AgentStatus::Completed(last));
            }
        }
        Ok(())
    }

    fn on_item_started(&mut self, params: &Value, out: &mut Output) -> Result<(), Unmapped> {
        let note: ItemParams = parse(params)?;
        match note.item.get("type").and_then(Value::as_str) {
            Some("commandExecution") => {
                let item: CommandItem = parse(&note.item)?;
                let id = self.turn_event_id(&note.turn_id, out);
                out.event(
                    id.clone(),
                    EventMsg::ExecCommandBegin(Box::new(ExecCommandBeginEvent {
                        call_id: item.id,
                        turn_id: Some(id),
                        command: shell::to_argv(&item.command),
                        cwd: item.cwd,
                        extra: Extra::new(),
                    })),
                );
                Ok(())
            }
            Some("fileChange") => {
                let item: FileChangeItem = parse(&note.item)?;
                let id = self.turn_event_id(&note.turn_id, out);
                let changes = item.changes();
                self.file_changes.insert(item.id.clone(), changes.clone());
                out.event(
                    id.clone(),
                    EventMsg::PatchApplyBegin(Box::new(PatchApplyBeginEvent {
                        call_id: item.id,
                        turn_id: Some(id),
                        auto_approved: None,
                        changes: Some(changes),
                        extra: Extra::new(),
                    })),
                );
                Ok(())
            }
            _ => Err(Unmapped),
        }
    }

    fn on_item_completed(&mut self, params: &Value, out: &mut Output) -> Result<(), Unmapped> {
        let note: ItemParams = parse(params)?;
        match note.item.get("type").and_then(Value::as_str) {
            Some("agentMessage") => {
                let item: AgentMessageItem = parse(&note.item)?;
                let id = self.turn_event_id(&note.turn_id, out);
                if let Some(turn) = self.turns.get_mut(&note.turn_id) {
                    turn.last_agent_message = Some(item.text.clone());
                }
                out.event(id, EventMsg::AgentMessage(AgentMessageEvent { message: item.text }));
                Ok(())
            }
            Some("reasoning") => {
                let item: ReasoningItem = parse(&note.item)?;
                let parts = if item.summary.is_empty() { item.content } else { item.summary };
                if parts.is_empty() {
                    return Err(Unmapped);
                }
                let id = self.turn_event_id(&note.turn_id, out);
                let text = parts.join("\n\n");
                out.event(id, EventMsg::AgentReasoning(AgentReasoningEvent { text }));
                Ok(())
            }
            Some("commandExecution") => {
                let item: CommandItem = parse(&note.item)?;
                let id = self.turn_event_id(&note.turn_id, out);
                let mut extra = Extra::new();
                if let Some(status) = item.status {
                    extra.insert("status".to_string(), Value::from(status));
                }
                if let Some(ms) = item.duration_ms {
                    extra.insert("duration_ms".to_string(), Value::from(ms));
                }
                out.event(
                    id.clone(),
                    EventMsg::ExecCommandEnd(Box::new(ExecCommandEndEvent {
                        call_id: item.id,
                        turn_id: Some(id),
                        exit_code: item.exit_code,
                        aggregated_output: item.aggregated_output,
                        extra,
                    })),
                );
                Ok(())
            }
            Some("fileChange") => {
                let item: FileChangeItem = parse(&note.item)?;
                let id = self.turn_event_id(&note.turn_id, out);
                self.file_changes.remove(&item.id);
                let mut extra = Extra::new();
                if let Some(status) = &item.status {
                    extra.insert("status".to_string(), Value::from(status.clone()));
                }
                out.event(
                    id.clone(),
                    EventMsg::PatchApplyEnd(Box::new(PatchApplyEndEvent {
                        call_id: item.id,
                        turn_id: Some(id),
                        success: item.status.as_deref().map(|s| s == "completed"),
                        extra,
                    })),
                );
                Ok(())
            }
            _ => Err(Unmapped),
        }
    }

    fn on_server_request(
        &mut self,
        rpc_id: Value,
        method: String,
        params: Value,
        out: &mut Output,
    ) {
        let mapped = match method.as_str() {
            "item/commandExecution/requestApproval" => self.exec_request(&rpc_id, &params, out),
            "item/fileChange/requestApproval" => self.patch_request(&rpc_id, &params, out),
            "item/permissions/requestApproval" => self.permissions_request(&rpc_id, &params, out),
            "item/tool/requestUserInput" => self.user_input_request(&rpc_id, &params, out),
            "mcpServer/elicitation/request" => {
                let server = params.get("serverName").and_then(Value::as_str).unwrap_or("?");
                let id = self.event_id_of(&params, out);
                out.messages.push(jsonrpc::response(rpc_id, json!({ "action": "decline" })));
                out.event(
                    id,
                    EventMsg::warning(format!(
                        "declined an MCP elicitation from server `{server}`: delegate does not \
                         route MCP elicitations"
                    )),
                );
                return;
            }
            _ => Err(Unmapped),
        };
        if let Err(Unmapped) = mapped {
            let id = self.event_id_of(&params, out);
            let message = format!("the delegate codex adapter does not handle `{method}`");
            out.messages.push(jsonrpc::error_response(rpc_id, jsonrpc::METHOD_NOT_FOUND, &message));
            out.event(id, EventMsg::warning(format!("{message}; refused it")));
        }
    }

    fn remember(
        &mut self,
        key: String,
        rpc_id: &Value,
        kind: ApprovalKind,
        turn: &str,
        event_id: &str,
    ) {
        self.pending.insert(
            key,
            PendingRequest {
                rpc_id: rpc_id.clone(),
                kind,
                codex_turn_id: turn.to_string(),
                event_id: event_id.to_string(),
            },
        );
    }

    /// A key for a new pending request: `preferred`, unless another pending request has it.
    fn fresh_key(&self, preferred: &str, rpc_id: &Value) -> Option<String> {
        if self.pending.contains_key(preferred) {
            Some(format!("codex-request-{rpc_id}"))
        } else {
            None
        }
    }

    fn exec_request(
        &mut self,
        rpc_id: &Value,
        params: &Value,
        out: &mut Output,
    ) -> Result<(), Unmapped> {
        let p: CommandApprovalParams = parse(params)?;
        let id = self.turn_event_id(&p.turn_id, out);
        let preferred = p.approval_id.clone().unwrap_or_else(|| p.item_id.clone());
        let approval_id = self.fresh_key(&preferred, rpc_id).or(p.approval_id);
        let key = approval_id.clone().unwrap_or_else(|| p.item_id.clone());
        let command = p.command.as_deref().map(shell::to_argv).unwrap_or_default();
        let mut extra = Extra::new();
        if let Some(context) = p.network_approval_context.filter(|v| !v.is_null()) {
            extra.insert("network_approval_context".to_string(), context);
        }
        self.remember(key, rpc_id, ApprovalKind::Exec, &p.turn_id, &id);
        out.event(
            id.clone(),
            EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
                call_id: p.item_id,
                approval_id,
                turn_id: id,
                command,
                cwd: p.cwd.unwrap_or_else(|| self.cwd.clone()),
                reason: p.reason,
                extra,
            })),
        );
        Ok(())
    }

    fn patch_request(
        &mut self,
        rpc_id: &Value,
        params: &Value,
        out: &mut Output,
    ) -> Result<(), Unmapped> {
        let p: FileChangeApprovalParams = parse(params)?;
        let id = self.turn_event_id(&p.turn_id, out);
        let changes = self.file_changes.get(&p.item_id).cloned();
        if changes.is_none() {
            out.event(
                id.clone(),
                EventMsg::warning(format!(
                    "codex asked to apply patch `{}` without announcing its changes first",
                    p.item_id
                )),
            );
        }
        // Answers name the call id; a clash (never seen) would be refused rather than misrouted.
        if self.pending.contains_key(&p.item_id) {
            return Err(Unmapped);
        }
        self.remember(p.item_id.clone(), rpc_id, ApprovalKind::Patch, &p.turn_id, &id);
        out.event(
            id.clone(),
            EventMsg::ApplyPatchApprovalRequest(Box::new(ApplyPatchApprovalRequestEvent {
                call_id: p.item_id,
                turn_id: id,
                changes: changes.unwrap_or_default(),
                reason: p.reason,
                grant_root: p.grant_root,
                extra: Extra::new(),
            })),
        );
        Ok(())
    }

    fn permissions_request(
        &mut self,
        rpc_id: &Value,
        params: &Value,
        out: &mut Output,
    ) -> Result<(), Unmapped> {
        let p: PermissionsApprovalParams = parse(params)?;
        if self.pending.contains_key(&p.item_id) {
            return Err(Unmapped);
        }
        let id = self.turn_event_id(&p.turn_id, out);
        let mut extra = Extra::new();
        if let Some(cwd) = &p.cwd {
            extra.insert("cwd".to_string(), Value::from(cwd.to_string_lossy().into_owned()));
        }
        let has_entries = p
            .permissions
            .file_system
            .as_ref()
            .and_then(|fs| fs.entries.as_ref())
            .is_some_and(|e| !e.is_empty());
        if has_entries {
            // Entries (globs, special paths) have no place in our profile: show them, never
            // grant them.
            extra.insert("codex_permissions".to_string(), params["permissions"].clone());
        }
        self.remember(p.item_id.clone(), rpc_id, ApprovalKind::Permissions, &p.turn_id, &id);
        out.event(
            id.clone(),
            EventMsg::RequestPermissions(Box::new(RequestPermissionsEvent {
                call_id: p.item_id,
                turn_id: id,
                reason: p.reason,
                permissions: p.permissions.into_profile(),
                extra,
            })),
        );
        Ok(())
    }

    fn user_input_request(
        &mut self,
        rpc_id: &Value,
        params: &Value,
        out: &mut Output,
    ) -> Result<(), Unmapped> {
        let p: UserInputParams = parse(params)?;
        if self.pending.contains_key(&p.item_id) {
            return Err(Unmapped);
        }
        let id = self.turn_event_id(&p.turn_id, out);
        let questions = p
            .questions
            .into_iter()
            .map(|q| Question {
                id: q.id,
                header: q.header.filter(|h| !h.is_empty()),
                question: q.question,
                options: q.options.map(|options| {
                    options
                        .into_iter()
                        .map(|o| QuestionOption { label: o.label, description: o.description })
                        .collect()
                }),
            })
            .collect();
        self.remember(p.item_id.clone(), rpc_id, ApprovalKind::UserInput, &p.turn_id, &id);
        out.event(
            id.clone(),
            EventMsg::RequestUserInput(Box::new(RequestUserInputEvent {
                call_id: p.item_id,
                turn_id: id,
                questions,
                extra: Extra::new(),
            })),
        );
        Ok(())
    }
}

// ---------------------------------------------------------------- answers

/// Our decision as the app-server's: the table in the crate docs.
pub(crate) fn codex_decision(decision: Decision) -> &'static str {
    match decision {
        Decision::Approved => "accept",
        Decision::ApprovedForSession => "acceptForSession",
        Decision::Abort => "cancel",
        // Denied, timed out, and anything newer: never approve by default.
        _ => "decline",
    }
}

fn decision_result(decision: Decision) -> Value {
    json!({ "decision": codex_decision(decision) })
}

fn permissions_result(response: &RequestPermissionsResponse) -> Value {
    let mut permissions = Map::new();
    let profile = &response.permissions;
    if let Some(network) = &profile.network {
        permissions.insert("network".to_string(), json!({ "enabled": network.enabled }));
    }
    if let Some(fs) = &profile.file_system {
        let mut map = Map::new();
        if let Some(read) = &fs.read {
            map.insert("read".to_string(), json!(read));
        }
        if let Some(write) = &fs.write {
            map.insert("write".to_string(), json!(write));
        }
        permissions.insert("fileSystem".to_string(), Value::Object(map));
    }
    let scope = match response.scope {
        PermissionGrantScope::Session => "session",
        PermissionGrantScope::Turn => "turn",
    };
    json!({ "permissions": permissions, "scope": scope })
}

fn user_input_result(response: &RequestUserInputResponse) -> Value {
    let answers: Map<String, Value> = response
        .answers
        .iter()
        .map(|(id, answer)| (id.clone(), json!({ "answers": answer.answers })))
        .collect();
    json!({ "answers": answers })
}

// ---------------------------------------------------------------- helpers

fn task_complete(turn_id: &str, last_agent_message: Option<String>, status: &str) -> EventMsg {
    let mut extra = Extra::new();
    extra.insert("status".to_string(), Value::from(status));
    EventMsg::TaskComplete(TaskCompleteEvent {
        turn_id: turn_id.to_string(),
        last_agent_message,
        extra,
    })
}

/// An app-server message we do not map, passed through under its method.
fn other(method: &str, params: Value) -> EventMsg {
    EventMsg::Other(UnknownEvent { kind: method.to_string(), fields: object(params) })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            let mut map = Map::new();
            map.insert("params".to_string(), other);
            map
        }
    }
}

/// A message that is passed through as it is rather than mapped (unknown, or not the shape we
/// expect: then the parent still sees it, whole).
struct Unmapped;

fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, Unmapped> {
    T::deserialize(value).map_err(|_| Unmapped)
}

// ---------------------------------------------------------------- app-server shapes

#[derive(Deserialize)]
struct TurnParams {
    turn: Turn,
}

#[derive(Deserialize)]
struct Turn {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<TurnError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TurnError {
    message: String,
    #[serde(default)]
    additional_details: Option<String>,
}

impl TurnError {
    fn describe(self) -> String {
        match self.additional_details {
            Some(details) if !details.is_empty() => format!("{}: {details}", self.message),
            _ => self.message,
        }
    }
}

#[derive(Deserialize)]
struct Delta {
    delta: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorNotification {
    error: TurnError,
    #[serde(default)]
    will_retry: bool,
    #[serde(default)]
    turn_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

#[derive(Deserialize)]
struct Summary {
    summary: String,
    #[serde(default)]
    details: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemParams {
    turn_id: String,
    item: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommandItem {
    id: String,
    command: String,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    exit_code: Option<i32>,
    #[serde(default)]
    aggregated_output: Option<String>,
    #[serde(default)]
    duration_ms: Option<u64>,
}

#[derive(Deserialize)]
struct AgentMessageItem {
    text: String,
}

#[derive(Deserialize)]
struct ReasoningItem {
    #[serde(default)]
    summary: Vec<String>,
    #[serde(default)]
    content: Vec<String>,
}

#[derive(Deserialize)]
struct FileChangeItem {
    id: String,
    changes: Vec<CodexFileChange>,
    #[serde(default)]
    status: Option<String>,
}

impl FileChangeItem {
    fn changes(&self) -> BTreeMap<PathBuf, FileChange> {
        self.changes
            .iter()
            .map(|c| {
                let change = match &c.kind {
                    CodexChangeKind::Add => FileChange::Add { content: c.diff.clone() },
                    CodexChangeKind::Delete => FileChange::Delete {
                        content: Some(c.diff.clone()).filter(|d| !d.is_empty()),
                    },
                    CodexChangeKind::Update { move_path } => FileChange::Update {
                        unified_diff: c.diff.clone(),
                        move_path: move_path.clone(),
                    },
                };
                (c.path.clone(), change)
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct CodexFileChange {
    path: PathBuf,
    kind: CodexChangeKind,
    #[serde(default)]
    diff: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum CodexChangeKind {
    Add,
    Delete,
    Update {
        #[serde(default)]
        move_path: Option<PathBuf>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommandApprovalParams {
    turn_id: String,
    item_id: String,
    #[serde(default)]
    approval_id: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    network_approval_context: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileChangeApprovalParams {
    turn_id: String,
    item_id: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    grant_root: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionsApprovalParams {
    turn_id: String,
    item_id: String,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default)]
    reason: Option<String>,
    permissions: CodexPermissions,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodexPermissions {
    #[serde(default)]
    file_system: Option<CodexFileSystem>,
    #[serde(default)]
    network: Option<CodexNetwork>,
}

impl CodexPermissions {
    fn into_profile(self) -> PermissionProfile {
        PermissionProfile {
            network: self.network.map(|n| NetworkPermissions { enabled: n.enabled }),
            file_system: self
                .file_system
                .map(|fs| FileSystemPermissions { read: fs.read, write: fs.write }),
        }
    }
}

#[derive(Deserialize)]
struct CodexFileSystem {
    #[serde(default)]
    read: Option<Vec<PathBuf>>,
    #[serde(default)]
    write: Option<Vec<PathBuf>>,
    #[serde(default)]
    entries: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct CodexNetwork {
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserInputParams {
    turn_id: String,
    item_id: String,
    questions: Vec<CodexQuestion>,
}

#[derive(Deserialize)]
struct CodexQuestion {
    id: String,
    #[serde(default)]
    header: Option<String>,
    question: String,
    #[serde(default)]
    options: Option<Vec<CodexQuestionOption>>,
}

#[derive(Deserialize)]
struct CodexQuestionOption {
    label: String,
    #[serde(default)]
    description: Option<String>,
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
