//! Codex behind the delegation engine: a one-shot delegation whose approvals a policy answers.

use std::sync::Arc;

use async_trait::async_trait;
use delegate_adapter_codex::test_util::ScriptedResponse;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::Request;
use delegate_approval::Verdict;
use delegate_core::DelegateOptions;
use delegate_core::TurnEnd;
use delegate_core::run_one_shot;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use pretty_assertions::assert_eq;
use tokio_util::sync::CancellationToken;

use super::harness::EVENT_WAIT;
use super::harness::Session;
use super::harness::assert_nothing_left;

/// Allows `touch` of files named `allowed*`, denies everything else.
struct TouchAllowedOnly;

#[async_trait]
impl Approver for TouchAllowedOnly {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        let by = DecidedBy::Rule("touch-allowed".into());
        match &request.request {
            Request::Exec(exec)
                if exec.command.last().is_some_and(|c| c.starts_with("touch allowed")) =>
            {
                request.grant(Decision::Approved, by)
            }
            _ => request.refusal(Decision::Denied, DecidedBy::Default),
        }
    }
}

#[tokio::test]
async fn a_one_shot_delegation_lets_the_policy_approve_one_command_and_deny_another() {
    let script = vec![
        ScriptedResponse::exec("call-1", "touch allowed.txt"),
        ScriptedResponse::exec("call-2", "touch forbidden.txt"),
        ScriptedResponse::message("one of two"),
    ];
    let s = Session::start(script).await;
    let Session { agent, sandbox, pid, mock, .. } = s;
    let outcome = tokio::time::timeout(
        EVENT_WAIT,
        run_one_shot(
            Arc::new(agent),
            Arc::new(TouchAllowedOnly),
            CancellationToken::new(),
            DelegateOptions::default(),
            Submission::new("task", Op::user_text("touch two files")),
        ),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the one-shot did not end within {EVENT_WAIT:?}; the model was asked {} times\n\
             codex log:\n{}",
            mock.requests().len(),
            sandbox.codex_log()
        )
    })
    .expect("the one-shot runs");

    assert_eq!(outcome.end, TurnEnd::Completed);
    assert_eq!(outcome.last_agent_message.as_deref(), Some("one of two"));
    assert!(sandbox.repo.join("allowed.txt").is_file(), "the allowed command ran");
    assert!(!sandbox.repo.join("forbidden.txt").exists(), "the denied command did not");
    let decisions: Vec<(String, Decision)> = outcome
        .events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::ApprovalDecided(d) => Some((d.call_id.clone(), d.decision)),
            _ => None,
        })
        .collect();
    assert_eq!(
        decisions,
        vec![("call-1".to_string(), Decision::Approved), ("call-2".to_string(), Decision::Denied)]
    );
    assert!(
        !outcome.events.iter().any(|e| matches!(e.msg, EventMsg::ExecApprovalRequest(_))),
        "raw requests never reach the caller"
    );
    assert_eq!(mock.requests().len(), 3);
    assert_nothing_left(pid, &sandbox).await;
}
