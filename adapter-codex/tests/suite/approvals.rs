//! Approvals answered by the test itself, playing the parent: the command or patch really runs
//! only when approved.

use delegate_adapter_codex::test_util::ScriptedResponse;
use delegate_core::Agent;
use delegate_protocol::AgentStatus;
use delegate_protocol::Decision;
use delegate_protocol::EventMsg;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::FileChange;
use delegate_protocol::Op;
use delegate_protocol::TurnAbortReason;
use pretty_assertions::assert_eq;

use super::harness::Session;

/// Start a turn whose model asks to `touch FILE`, and return the approval request.
async fn ask_to_touch(file: &str) -> (Session, ExecApprovalRequestEvent, String) {
    let script = vec![
        ScriptedResponse::exec("call-1", format!("touch {file}")),
        ScriptedResponse::message("finished"),
    ];
    let mut s = Session::start(script).await;
    s.submit("turn-1", Op::user_text(format!("create {file}"))).await;
    let event =
        s.until("exec_approval_request", |m| matches!(m, EventMsg::ExecApprovalRequest(_))).await;
    let EventMsg::ExecApprovalRequest(request) = event.msg else { unreachable!() };
    assert_eq!(event.id, "turn-1");
    assert_eq!(request.turn_id, "turn-1");
    assert_eq!(request.call_id, "call-1");
    // Codex wraps the command in a login shell; the adapter splits it back into argv.
    assert_eq!(request.command.len(), 3, "{:?}", request.command);
    assert!(request.command[0].ends_with("sh"), "{:?}", request.command);
    assert_eq!(request.command[1], "-lc");
    assert_eq!(request.command[2], format!("touch {file}"));
    assert_eq!(request.cwd, s.sandbox.repo);
    assert!(!s.sandbox.repo.join(file).exists(), "nothing runs before the answer");
    (s, *request, event.id)
}

fn answer(request: &ExecApprovalRequestEvent, turn: String, decision: Decision) -> Op {
    Op::ExecApproval {
        id: request.effective_approval_id().to_string(),
        turn_id: Some(turn),
        decision,
    }
}

#[tokio::test]
async fn an_approved_command_really_runs() {
    let (mut s, request, turn) = ask_to_touch("approved.txt").await;
    s.submit("answer", answer(&request, turn, Decision::Approved)).await;
    let end = s.until("exec_command_end", |m| matches!(m, EventMsg::ExecCommandEnd(_))).await;
    let EventMsg::ExecCommandEnd(end) = end.msg else { unreachable!() };
    assert_eq!(end.call_id, "call-1");
    assert_eq!(end.exit_code, Some(0));
    assert_eq!(end.extra["status"], "completed");
    let done = s.until_turn_ends().await;
    let EventMsg::TaskComplete(done) = done.msg else { panic!("{done:?}") };
    assert_eq!(done.last_agent_message.as_deref(), Some("finished"));
    assert!(s.sandbox.repo.join("approved.txt").is_file(), "the approved command ran");
    s.shutdown().await;
}

#[tokio::test]
async fn a_denied_command_does_not_run_and_the_model_is_told() {
    let (mut s, request, turn) = ask_to_touch("denied.txt").await;
    s.submit("answer", answer(&request, turn, Decision::Denied)).await;
    let end = s.until("exec_command_end", |m| matches!(m, EventMsg::ExecCommandEnd(_))).await;
    let EventMsg::ExecCommandEnd(end) = end.msg else { unreachable!() };
    assert_eq!(end.extra["status"], "declined");
    let done = s.until_turn_ends().await;
    assert!(matches!(done.msg, EventMsg::TaskComplete(_)), "{done:?}");
    assert!(!s.sandbox.repo.join("denied.txt").exists(), "the denied command did not run");
    // The model heard that the user said no.
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 2);
    let output = requests[1].last_input().expect("the second request has input").to_string();
    assert!(output.contains("function_call_output") && output.contains("rejected"), "{output}");
    s.shutdown().await;
}

#[tokio::test]
async fn abort_ends_the_turn_interrupted_without_running_the_command() {
    let (mut s, request, turn) = ask_to_touch("aborted.txt").await;
    s.submit("answer", answer(&request, turn, Decision::Abort)).await;
    let end = s.until_turn_ends().await;
    assert_eq!(end.id, "turn-1");
    let EventMsg::TurnAborted(aborted) = end.msg else { panic!("{end:?}") };
    assert_eq!(aborted.reason, TurnAbortReason::Interrupted);
    assert_eq!(*s.agent.status().borrow(), AgentStatus::Interrupted);
    assert!(!s.sandbox.repo.join("aborted.txt").exists(), "the aborted command did not run");
    assert_eq!(s.mock.requests().len(), 1, "the model is not asked again after an abort");
    s.shutdown().await;
}

#[tokio::test]
async fn an_approved_patch_creates_the_file() {
    let script = vec![
        ScriptedResponse::add_file("call-2", "hello.txt", "hello\nworld"),
        ScriptedResponse::message("patched"),
    ];
    let mut s = Session::start(script).await;
    s.submit("turn-1", Op::user_text("write hello.txt")).await;
    let event = s
        .until("apply_patch_approval_request", |m| {
            matches!(m, EventMsg::ApplyPatchApprovalRequest(_))
        })
        .await;
    let EventMsg::ApplyPatchApprovalRequest(request) = event.msg else { unreachable!() };
    let path = s.sandbox.repo.join("hello.txt");
    assert_eq!(request.call_id, "call-2");
    assert_eq!(request.turn_id, "turn-1");
    assert_eq!(
        request.changes.into_iter().collect::<Vec<_>>(),
        vec![(path.clone(), FileChange::Add { content: "hello\nworld\n".into() })]
    );
    assert!(!path.exists(), "nothing is written before the answer");

    s.submit("answer", Op::PatchApproval { id: request.call_id, decision: Decision::Approved })
        .await;
    let end = s.until("patch_apply_end", |m| matches!(m, EventMsg::PatchApplyEnd(_))).await;
    let EventMsg::PatchApplyEnd(end) = end.msg else { unreachable!() };
    assert_eq!(end.success, Some(true));
    let done = s.until_turn_ends().await;
    assert!(matches!(done.msg, EventMsg::TaskComplete(_)), "{done:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\nworld\n");
    s.shutdown().await;
}
