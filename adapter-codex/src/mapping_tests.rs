//! Unit tests of the mapping: every row of the table in the crate docs.

use delegate_protocol::UserInputAnswer;
use pretty_assertions::assert_eq;

use super::*;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn mapper() -> Mapper {
    Mapper::new("th-1".to_string(), PathBuf::from("/repo"), 3)
}

fn submit(m: &mut Mapper, id: &str, op: Op) -> Output {
    let mut out = Output::default();
    assert_eq!(m.on_submission(Submission::new(id, op), &mut out), Control::Continue);
    out
}

fn line(m: &mut Mapper, value: Value) -> Output {
    let mut out = Output::default();
    m.on_line(value, &mut out);
    out
}

fn kinds(out: &Output) -> Vec<String> {
    out.events.iter().map(|e| format!("{}:{}", e.id, e.msg.kind())).collect()
}

/// A mapper with turn `t-1` (Codex id `ct-1`) running.
fn running() -> Mapper {
    let mut m = mapper();
    submit(&mut m, "t-1", Op::user_text("hi"));
    line(&mut m, json!({"id": 3, "result": {"turn": {"id": "ct-1", "status": "inProgress"}}}));
    line(
        &mut m,
        json!({"method": "turn/started", "params": {"threadId": "th-1", "turn": {"id": "ct-1", "status": "inProgress"}}}),
    );
    m
}

fn exec_request(rpc_id: i64, item: &str) -> Value {
    json!({"id": rpc_id, "method": "item/commandExecution/requestApproval", "params": {
        "threadId": "th-1", "turnId": "ct-1", "itemId": item, "startedAtMs": 1,
        "command": "/bin/bash -lc 'touch approved.txt'", "cwd": "/repo/sub",
        "reason": "needs to write", "availableDecisions": ["accept", "cancel"]}})
}

#[test]
fn user_input_becomes_turn_start_with_the_submission_trace() {
    let mut m = mapper();
    let sub = Submission::new("t-1", Op::user_text("list files"))
        .with_trace(Some(W3cTraceContext::from_traceparent(TRACEPARENT)));
    let mut out = Output::default();
    m.on_submission(sub, &mut out);
    assert_eq!(
        out.messages,
        vec![json!({"id": 3, "method": "turn/start",
            "params": {"threadId": "th-1", "input": [{"type": "text", "text": "list files", "text_elements": []}]},
            "trace": {"traceparent": TRACEPARENT}})]
    );
    assert!(out.events.is_empty());
}

#[test]
fn an_output_schema_goes_along_as_output_schema() {
    let mut m = mapper();
    let schema = json!({"type": "object"});
    let op = Op::UserInput {
        items: vec![InputItem::text("x")],
        final_output_json_schema: Some(schema.clone()),
    };
    let out = submit(&mut m, "t-1", op);
    assert_eq!(out.messages[0]["params"]["outputSchema"], schema);
}

#[test]
fn a_malformed_trace_is_dropped_with_a_warning_and_the_turn_still_starts() {
    let mut m = mapper();
    let sub = Submission::new("t-1", Op::user_text("x"))
        .with_trace(Some(W3cTraceContext::from_traceparent("garbage")));
    let mut out = Output::default();
    m.on_submission(sub, &mut out);
    assert_eq!(kinds(&out), ["t-1:warning"]);
    assert_eq!(out.messages.len(), 1);
    assert!(out.messages[0].get("trace").is_none());
}

#[test]
fn turn_events_carry_the_submission_id_and_codex_turn_id() {
    let mut m = mapper();
    submit(&mut m, "t-1", Op::user_text("hi"));
    line(&mut m, json!({"id": 3, "result": {"turn": {"id": "ct-1"}}}));
    let out = line(&mut m, json!({"method": "turn/started", "params": {"turn": {"id": "ct-1"}}}));
    assert_eq!(kinds(&out), ["t-1:task_started"]);
    let EventMsg::TaskStarted(started) = &out.events[0].msg else { panic!() };
    assert_eq!(started.turn_id, "t-1");
    assert_eq!(started.extra["codex_turn_id"], "ct-1");
    assert_eq!(out.status, Some(AgentStatus::Running));
}

#[test]
fn notifications_before_the_turn_start_answer_bind_to_the_starting_submission() {
    let mut m = mapper();
    submit(&mut m, "t-1", Op::user_text("hi"));
    let out = line(&mut m, json!({"method": "turn/started", "params": {"turn": {"id": "ct-1"}}}));
    assert_eq!(kinds(&out), ["t-1:task_started"]);
    // The late answer changes nothing, and a second turn binds to its own submission.
    line(&mut m, json!({"id": 3, "result": {"turn": {"id": "ct-1"}}}));
    line(
        &mut m,
        json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "completed"}}}),
    );
    submit(&mut m, "t-2", Op::user_text("again"));
    let out = line(&mut m, json!({"method": "turn/started", "params": {"turn": {"id": "ct-2"}}}));
    assert_eq!(kinds(&out), ["t-2:task_started"]);
}

#[test]
fn a_completed_turn_is_task_complete_with_the_last_agent_message() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"method": "item/agentMessage/delta", "params": {"turnId": "ct-1", "itemId": "m", "delta": "hel"}}),
    );
    assert_eq!(kinds(&out), ["t-1:agent_message_delta"]);
    let out = line(
        &mut m,
        json!({"method": "item/completed", "params": {"turnId": "ct-1", "item": {"type": "agentMessage", "id": "m", "text": "hello"}}}),
    );
    assert_eq!(
        out.events[0].msg,
        EventMsg::AgentMessage(AgentMessageEvent { message: "hello".into() })
    );
    let out = line(
        &mut m,
        json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "completed"}}}),
    );
    assert_eq!(kinds(&out), ["t-1:task_complete"]);
    let EventMsg::TaskComplete(done) = &out.events[0].msg else { panic!() };
    assert_eq!(done.turn_id, "t-1");
    assert_eq!(done.last_agent_message.as_deref(), Some("hello"));
    assert_eq!(done.extra["status"], "completed");
    assert_eq!(out.status, Some(AgentStatus::Completed(Some("hello".into()))));
}

#[test]
fn an_interrupted_turn_is_turn_aborted_interrupted() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "interrupted"}}}),
    );
    assert_eq!(
        out.events,
        vec![Event::new(
            "t-1",
            EventMsg::TurnAborted(TurnAbortedEvent {
                turn_id: Some("t-1".into()),
                reason: TurnAbortReason::Interrupted,
                extra: Extra::new()
            })
        )]
    );
    assert_eq!(out.status, Some(AgentStatus::Interrupted));
}

#[test]
fn a_failed_turn_is_an_error_then_task_complete_and_the_error_is_not_repeated() {
    let mut m = running();
    let failed = json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "failed",
        "error": {"message": "stream disconnected", "additionalDetails": "502"}}}});
    let out = line(&mut m, failed.clone());
    assert_eq!(kinds(&out), ["t-1:error", "t-1:task_complete"]);
    assert_eq!(out.events[0].msg, EventMsg::error("stream disconnected: 502"));
    let EventMsg::TaskComplete(done) = &out.events[1].msg else { panic!() };
    assert_eq!(done.extra["status"], "failed");

    let mut m = running();
    let out = line(
        &mut m,
        json!({"method": "error", "params": {"threadId": "th-1", "turnId": "ct-1", "willRetry": false,
        "error": {"message": "stream disconnected"}}}),
    );
    assert_eq!(kinds(&out), ["t-1:error"]);
    let out = line(&mut m, failed);
    assert_eq!(kinds(&out), ["t-1:task_complete"]);
}

#[test]
fn an_error_codex_retries_is_a_warning() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"method": "error", "params": {"turnId": "ct-1", "willRetry": true,
        "error": {"message": "reconnecting"}}}),
    );
    assert_eq!(out.events[0].msg, EventMsg::warning("reconnecting (codex retries)"));
}

#[test]
fn a_rejected_turn_start_is_an_error_then_a_failed_task_complete() {
    let mut m = mapper();
    submit(&mut m, "t-1", Op::user_text("hi"));
    let out = line(&mut m, json!({"id": 3, "error": {"code": -32600, "message": "busy"}}));
    assert_eq!(kinds(&out), ["t-1:error", "t-1:task_complete"]);
    assert!(m.active_event_id().is_none());
}

#[test]
fn interrupt_targets_the_running_turn_with_its_trace() {
    let mut m = running();
    let sub = Submission::new("int-1", Op::Interrupt)
        .with_trace(Some(W3cTraceContext::from_traceparent(TRACEPARENT)));
    let mut out = Output::default();
    m.on_submission(sub, &mut out);
    assert_eq!(
        out.messages,
        vec![
            json!({"id": 4, "method": "turn/interrupt", "params": {"threadId": "th-1", "turnId": "ct-1"},
            "trace": {"traceparent": TRACEPARENT}})
        ]
    );
}

#[test]
fn interrupt_of_a_starting_turn_waits_for_its_id() {
    let mut m = mapper();
    submit(&mut m, "t-1", Op::user_text("hi"));
    let out = submit(&mut m, "int-1", Op::Interrupt);
    assert!(out.messages.is_empty());
    let out = line(&mut m, json!({"id": 3, "result": {"turn": {"id": "ct-1"}}}));
    assert_eq!(out.messages[0]["method"], "turn/interrupt");
    assert_eq!(out.messages[0]["params"]["turnId"], "ct-1");
}

#[test]
fn interrupt_without_a_turn_sends_nothing() {
    let mut m = mapper();
    let out = submit(&mut m, "int-1", Op::Interrupt);
    assert!(out.messages.is_empty() && out.events.is_empty());
}

#[test]
fn a_rejected_interrupt_is_a_warning() {
    let mut m = running();
    submit(&mut m, "int-1", Op::Interrupt);
    let out =
        line(&mut m, json!({"id": 4, "error": {"code": -32602, "message": "no active turn"}}));
    assert_eq!(kinds(&out), ["int-1:warning"]);
}

#[test]
fn shutdown_is_handed_to_the_driver() {
    let mut m = running();
    let mut out = Output::default();
    let control = m.on_submission(Submission::new("bye", Op::Shutdown), &mut out);
    assert_eq!(control, Control::Shutdown { submission_id: "bye".into() });
    assert!(out.messages.is_empty());
}

#[test]
fn a_command_approval_request_becomes_exec_approval_request_with_argv() {
    let mut m = running();
    let out = line(&mut m, exec_request(0, "call-1"));
    assert!(out.messages.is_empty(), "nothing is answered before the parent decides");
    assert_eq!(
        out.events,
        vec![Event::new(
            "t-1",
            EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
                call_id: "call-1".into(),
                approval_id: None,
                turn_id: "t-1".into(),
                command: vec!["/bin/bash".into(), "-lc".into(), "touch approved.txt".into()],
                cwd: PathBuf::from("/repo/sub"),
                reason: Some("needs to write".into()),
                extra: Extra::new(),
            }))
        )]
    );
}

#[test]
fn decisions_map_to_accept_accept_for_session_decline_and_cancel() {
    let cases = [
        (Decision::Approved, "accept"),
        (Decision::ApprovedForSession, "acceptForSession"),
        (Decision::Denied, "decline"),
        (Decision::TimedOut, "decline"),
        (Decision::Abort, "cancel"),
    ];
    for (rpc_id, (decision, expected)) in cases.into_iter().enumerate() {
        let mut m = running();
        line(&mut m, exec_request(rpc_id as i64, "call-1"));
        let op = Op::ExecApproval { id: "call-1".into(), turn_id: Some("t-1".into()), decision };
        let out = submit(&mut m, "answer", op);
        assert_eq!(out.messages, vec![json!({"id": rpc_id, "result": {"decision": expected}})]);
        assert!(out.events.is_empty());
    }
}

#[test]
fn exec_answers_use_the_approval_id_when_codex_gives_one() {
    let mut m = running();
    let mut request = exec_request(5, "call-1");
    request["params"]["approvalId"] = json!("sub-7");
    let out = line(&mut m, request);
    let EventMsg::ExecApprovalRequest(r) = &out.events[0].msg else { panic!() };
    assert_eq!(r.effective_approval_id(), "sub-7");
    let op = Op::ExecApproval { id: "sub-7".into(), turn_id: None, decision: Decision::Approved };
    assert_eq!(
        submit(&mut m, "a", op).messages,
        vec![json!({"id": 5, "result": {"decision": "accept"}})]
    );
}

#[test]
fn two_pending_requests_with_the_same_call_id_get_distinct_answer_ids() {
    let mut m = running();
    line(&mut m, exec_request(0, "call-1"));
    let out = line(&mut m, exec_request(1, "call-1"));
    let EventMsg::ExecApprovalRequest(r) = &out.events[0].msg else { panic!() };
    assert_eq!(r.effective_approval_id(), "codex-request-1");
    let op = Op::ExecApproval {
        id: "codex-request-1".into(),
        turn_id: None,
        decision: Decision::Denied,
    };
    assert_eq!(
        submit(&mut m, "a", op).messages,
        vec![json!({"id": 1, "result": {"decision": "decline"}})]
    );
    let op = Op::ExecApproval { id: "call-1".into(), turn_id: None, decision: Decision::Approved };
    assert_eq!(
        submit(&mut m, "a", op).messages,
        vec![json!({"id": 0, "result": {"decision": "accept"}})]
    );
}

#[test]
fn an_answer_to_an_unknown_or_already_answered_request_is_a_warning() {
    let mut m = running();
    let op = Op::ExecApproval { id: "nope".into(), turn_id: None, decision: Decision::Approved };
    let out = submit(&mut m, "a", op.clone());
    assert_eq!(kinds(&out), ["a:warning"]);
    assert!(out.messages.is_empty());
    let EventMsg::Warning(w) = &out.events[0].msg else { panic!() };
    assert!(w.message.contains("`nope`"), "{}", w.message);

    line(&mut m, exec_request(0, "call-1"));
    let answer =
        Op::ExecApproval { id: "call-1".into(), turn_id: None, decision: Decision::Approved };
    assert_eq!(submit(&mut m, "a", answer.clone()).messages.len(), 1);
    let out = submit(&mut m, "a", answer);
    assert!(out.messages.is_empty(), "answered only once");
    assert_eq!(kinds(&out), ["a:warning"]);
}

#[test]
fn an_answer_of_the_wrong_kind_is_a_warning_and_the_request_stays_pending() {
    let mut m = running();
    line(&mut m, exec_request(0, "call-1"));
    let out = submit(
        &mut m,
        "a",
        Op::PatchApproval { id: "call-1".into(), decision: Decision::Approved },
    );
    assert!(out.messages.is_empty());
    assert_eq!(kinds(&out), ["a:warning"]);
    let op = Op::ExecApproval { id: "call-1".into(), turn_id: None, decision: Decision::Denied };
    assert_eq!(submit(&mut m, "a", op).messages.len(), 1);
}

#[test]
fn requests_resolved_by_codex_or_by_the_end_of_the_turn_are_no_longer_answerable() {
    let mut m = running();
    line(&mut m, exec_request(0, "call-1"));
    let out = line(
        &mut m,
        json!({"method": "serverRequest/resolved", "params": {"threadId": "th-1", "requestId": 0}}),
    );
    assert_eq!(kinds(&out), [":serverRequest/resolved"]);
    let op = Op::ExecApproval { id: "call-1".into(), turn_id: None, decision: Decision::Approved };
    assert!(submit(&mut m, "a", op.clone()).messages.is_empty());

    let mut m = running();
    line(&mut m, exec_request(0, "call-1"));
    line(
        &mut m,
        json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "interrupted"}}}),
    );
    assert!(submit(&mut m, "a", op).messages.is_empty());
}

#[test]
fn command_items_are_exec_command_begin_and_end() {
    let mut m = running();
    let item = json!({"type": "commandExecution", "id": "call-1", "command": "/bin/bash -lc 'ls -la'",
        "cwd": "/repo", "status": "inProgress", "commandActions": []});
    let out =
        line(&mut m, json!({"method": "item/started", "params": {"turnId": "ct-1", "item": item}}));
    let EventMsg::ExecCommandBegin(begin) = &out.events[0].msg else { panic!("{:?}", out.events) };
    assert_eq!(begin.command, ["/bin/bash", "-lc", "ls -la"]);
    assert_eq!(begin.turn_id.as_deref(), Some("t-1"));
    let item = json!({"type": "commandExecution", "id": "call-1", "command": "/bin/bash -lc 'ls -la'",
        "status": "completed", "exitCode": 0, "aggregatedOutput": "x\n", "durationMs": 4});
    let out = line(
        &mut m,
        json!({"method": "item/completed", "params": {"turnId": "ct-1", "item": item}}),
    );
    let EventMsg::ExecCommandEnd(end) = &out.events[0].msg else { panic!() };
    assert_eq!((end.call_id.as_str(), end.exit_code), ("call-1", Some(0)));
    assert_eq!(end.aggregated_output.as_deref(), Some("x\n"));
    assert_eq!(end.extra["status"], "completed");
    assert_eq!(end.extra["duration_ms"], 4);
}

#[test]
fn a_file_change_approval_carries_the_changes_of_its_item() {
    let mut m = running();
    let item = json!({"type": "fileChange", "id": "call-2", "status": "inProgress", "changes": [
        {"path": "/repo/new.txt", "kind": {"type": "add"}, "diff": "hello\n"},
        {"path": "/repo/old.txt", "kind": {"type": "delete"}, "diff": ""},
        {"path": "/repo/a.txt", "kind": {"type": "update", "move_path": "/repo/b.txt"}, "diff": "@@ -1 +1 @@\n-a\n+b\n"}]});
    let out = line(
        &mut m,
        json!({"method": "item/started", "params": {"turnId": "ct-1", "item": item.clone()}}),
    );
    assert_eq!(kinds(&out), ["t-1:patch_apply_begin"]);
    let out = line(
        &mut m,
        json!({"id": 1, "method": "item/fileChange/requestApproval", "params": {
        "threadId": "th-1", "turnId": "ct-1", "itemId": "call-2", "reason": null, "grantRoot": "/repo"}}),
    );
    let EventMsg::ApplyPatchApprovalRequest(r) = &out.events[0].msg else { panic!() };
    assert_eq!(r.call_id, "call-2");
    assert_eq!(r.grant_root, Some(PathBuf::from("/repo")));
    let expected: BTreeMap<PathBuf, FileChange> = [
        (PathBuf::from("/repo/new.txt"), FileChange::Add { content: "hello\n".into() }),
        (PathBuf::from("/repo/old.txt"), FileChange::Delete { content: None }),
        (
            PathBuf::from("/repo/a.txt"),
            FileChange::Update {
                unified_diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
                move_path: Some(PathBuf::from("/repo/b.txt")),
            },
        ),
    ]
    .into();
    assert_eq!(r.changes, expected);
    let out =
        submit(&mut m, "a", Op::PatchApproval { id: "call-2".into(), decision: Decision::Abort });
    assert_eq!(out.messages, vec![json!({"id": 1, "result": {"decision": "cancel"}})]);

    let mut done = item;
    done["status"] = json!("completed");
    let out = line(
        &mut m,
        json!({"method": "item/completed", "params": {"turnId": "ct-1", "item": done}}),
    );
    let EventMsg::PatchApplyEnd(end) = &out.events[0].msg else { panic!() };
    assert_eq!(end.success, Some(true));
}

#[test]
fn a_file_change_approval_without_its_item_warns_and_still_asks() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"id": 1, "method": "item/fileChange/requestApproval", "params": {
        "threadId": "th-1", "turnId": "ct-1", "itemId": "call-9"}}),
    );
    assert_eq!(kinds(&out), ["t-1:warning", "t-1:apply_patch_approval_request"]);
}

#[test]
fn a_permissions_request_round_trips() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"id": 2, "method": "item/permissions/requestApproval", "params": {
        "threadId": "th-1", "turnId": "ct-1", "itemId": "call-3", "cwd": "/repo", "reason": "fetch deps",
        "permissions": {"network": {"enabled": true}, "fileSystem": {"read": null, "write": ["/repo/target"]}}}}),
    );
    let EventMsg::RequestPermissions(r) = &out.events[0].msg else { panic!() };
    assert_eq!(r.call_id, "call-3");
    assert_eq!(r.reason.as_deref(), Some("fetch deps"));
    assert_eq!(r.permissions.network, Some(NetworkPermissions { enabled: Some(true) }));
    assert_eq!(
        r.permissions.file_system,
        Some(FileSystemPermissions {
            read: None,
            write: Some(vec![PathBuf::from("/repo/target")])
        })
    );
    let response = RequestPermissionsResponse {
        permissions: PermissionProfile {
            network: Some(NetworkPermissions { enabled: Some(true) }),
            file_system: None,
        },
        scope: PermissionGrantScope::Session,
    };
    let out = submit(&mut m, "a", Op::RequestPermissionsResponse { id: "call-3".into(), response });
    assert_eq!(
        out.messages,
        vec![
            json!({"id": 2, "result": {"permissions": {"network": {"enabled": true}}, "scope": "session"}})
        ]
    );
}

#[test]
fn permission_entries_we_cannot_express_are_shown_but_not_granted_by_an_empty_answer() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"id": 2, "method": "item/permissions/requestApproval", "params": {
        "threadId": "th-1", "turnId": "ct-1", "itemId": "call-3", "cwd": "/repo",
        "permissions": {"fileSystem": {"entries": [{"access": "write", "path": {"type": "glob_pattern", "pattern": "**"}}]}}}}),
    );
    let EventMsg::RequestPermissions(r) = &out.events[0].msg else { panic!() };
    assert!(r.extra.contains_key("codex_permissions"));
    let op = Op::RequestPermissionsResponse {
        id: "call-3".into(),
        response: RequestPermissionsResponse::empty(),
    };
    let out = submit(&mut m, "a", op);
    assert_eq!(
        out.messages,
        vec![json!({"id": 2, "result": {"permissions": {}, "scope": "turn"}})]
    );
}

#[test]
fn a_user_input_request_is_answered_by_event_id_or_call_id() {
    for answer_id in ["t-1", "call-4"] {
        let mut m = running();
        let out = line(
            &mut m,
            json!({"id": 3, "method": "item/tool/requestUserInput", "params": {
            "threadId": "th-1", "turnId": "ct-1", "itemId": "call-4", "isBlocking": true,
            "questions": [{"id": "color", "header": "Color", "question": "Which?", "isOther": true, "isSecret": false,
                "options": [{"label": "red", "description": "warm"}]}]}}),
        );
        let EventMsg::RequestUserInput(r) = &out.events[0].msg else { panic!() };
        assert_eq!(r.questions[0].id, "color");
        assert_eq!(r.questions[0].header.as_deref(), Some("Color"));
        assert_eq!(r.questions[0].options.as_ref().unwrap()[0].label, "red");
        let mut response = RequestUserInputResponse::empty();
        response.answers.insert("color".into(), UserInputAnswer { answers: vec!["red".into()] });
        let out = submit(&mut m, "a", Op::UserInputAnswer { id: answer_id.into(), response });
        assert_eq!(
            out.messages,
            vec![json!({"id": 3, "result": {"answers": {"color": {"answers": ["red"]}}}})],
            "answered via {answer_id}"
        );
    }
}

#[test]
fn an_mcp_elicitation_is_declined_with_a_warning() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"id": 9, "method": "mcpServer/elicitation/request", "params": {
        "threadId": "th-1", "turnId": "ct-1", "serverName": "docs"}}),
    );
    assert_eq!(out.messages, vec![json!({"id": 9, "result": {"action": "decline"}})]);
    assert_eq!(kinds(&out), ["t-1:warning"]);
}

#[test]
fn an_unknown_server_request_is_refused_with_an_error_and_a_warning() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"id": "x1", "method": "item/tool/call", "params": {"threadId": "th-1"}}),
    );
    assert_eq!(out.messages[0]["id"], "x1");
    assert_eq!(out.messages[0]["error"]["code"], jsonrpc::METHOD_NOT_FOUND);
    assert!(out.messages[0].get("result").is_none(), "never accepted");
    assert_eq!(kinds(&out), [":warning"]);
    // A known request in an unexpected shape is refused the same way.
    let out = line(
        &mut m,
        json!({"id": 4, "method": "item/commandExecution/requestApproval", "params": {"x": 1}}),
    );
    assert_eq!(out.messages[0]["error"]["code"], jsonrpc::METHOD_NOT_FOUND);
}

#[test]
fn other_notifications_pass_through_under_their_method() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"method": "turn/diff/updated", "params": {"threadId": "th-1", "turnId": "ct-1", "diff": "d"}}),
    );
    assert_eq!(
        out.events,
        vec![Event::new(
            "t-1",
            EventMsg::Other(UnknownEvent {
                kind: "turn/diff/updated".into(),
                fields: object(json!({"threadId": "th-1", "turnId": "ct-1", "diff": "d"}))
            })
        )]
    );
    let out = line(
        &mut m,
        json!({"method": "item/started", "params": {"turnId": "ct-1", "item": {"type": "userMessage", "id": "u"}}}),
    );
    assert_eq!(kinds(&out), ["t-1:item/started"]);
    let out =
        line(&mut m, json!({"method": "thread/started", "params": {"thread": {"id": "th-1"}}}));
    assert_eq!(kinds(&out), [":thread/started"]);
}

#[test]
fn usage_names_warnings_and_reasoning_are_mapped() {
    let mut m = running();
    let out = line(
        &mut m,
        json!({"method": "thread/tokenUsage/updated", "params": {"turnId": "ct-1", "tokenUsage": {"total": {"totalTokens": 2}}}}),
    );
    let EventMsg::TokenCount(t) = &out.events[0].msg else { panic!() };
    assert_eq!(t.extra["total"]["totalTokens"], 2);
    let out = line(
        &mut m,
        json!({"method": "thread/name/updated", "params": {"threadId": "th-1", "threadName": "fix"}}),
    );
    let EventMsg::ThreadNameUpdated(n) = &out.events[0].msg else { panic!() };
    assert_eq!(n.thread_name.as_deref(), Some("fix"));
    let out = line(
        &mut m,
        json!({"method": "configWarning", "params": {"summary": "no bwrap", "details": "using bundled"}}),
    );
    assert_eq!(out.events[0].msg, EventMsg::warning("no bwrap: using bundled"));
    let out = line(&mut m, json!({"method": "warning", "params": {"message": "careful"}}));
    assert_eq!(out.events[0].msg, EventMsg::warning("careful"));
    let out = line(
        &mut m,
        json!({"method": "item/reasoning/summaryTextDelta", "params": {"turnId": "ct-1", "delta": "thinking"}}),
    );
    assert_eq!(kinds(&out), ["t-1:agent_reasoning_delta"]);
    let out = line(
        &mut m,
        json!({"method": "item/completed", "params": {"turnId": "ct-1", "item": {"type": "reasoning", "id": "r", "summary": ["a", "b"], "content": []}}}),
    );
    assert_eq!(
        out.events[0].msg,
        EventMsg::AgentReasoning(AgentReasoningEvent { text: "a\n\nb".into() })
    );
}

#[test]
fn a_mapped_notification_in_an_unexpected_shape_passes_through_whole() {
    let mut m = running();
    let out = line(&mut m, json!({"method": "turn/started", "params": {"turn": "weird"}}));
    assert_eq!(kinds(&out), [":turn/started"]);
}

#[test]
fn invalid_messages_and_unknown_response_ids_are_warnings() {
    let mut m = running();
    assert_eq!(kinds(&line(&mut m, json!([1, 2]))), ["t-1:warning"]);
    assert_eq!(kinds(&line(&mut m, json!({"id": 99, "result": {}}))), [":warning"]);
}

#[test]
fn a_late_notification_of_an_ended_turn_keeps_its_id_and_starts_nothing() {
    let mut m = running();
    line(
        &mut m,
        json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "completed"}}}),
    );
    let out = line(
        &mut m,
        json!({"method": "turn/diff/updated", "params": {"turnId": "ct-1", "diff": ""}}),
    );
    assert_eq!(kinds(&out), ["t-1:turn/diff/updated"]);
    assert_eq!(m.active_event_id(), None);
    assert!(submit(&mut m, "int", Op::Interrupt).messages.is_empty());
    // A turn nobody started keeps Codex's id and is not taken for ours.
    let out = line(
        &mut m,
        json!({"method": "turn/diff/updated", "params": {"turnId": "ct-x", "diff": ""}}),
    );
    assert_eq!(kinds(&out), ["ct-x:turn/diff/updated"]);
    assert_eq!(m.active_event_id(), None);
}
