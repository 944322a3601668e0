//! One-shot delegation.

use std::sync::Arc;

use delegate_approval::DenyAll;
use delegate_core::*;
use delegate_protocol::*;
use pretty_assertions::assert_eq;
use tokio_util::sync::CancellationToken;

use super::support::*;

/// Run a one-shot "go" task on `agent` with a deny-all policy, bounded, and return its outcome.
async fn outcome_of(agent: Arc<dyn Agent>) -> Outcome {
    within(
        "the outcome",
        run_one_shot(
            agent,
            Arc::new(DenyAll),
            CancellationToken::new(),
            DelegateOptions::default(),
            Submission::new("task", Op::user_text("go")),
        ),
    )
    .await
    .unwrap()
}

async fn start(endpoint_agent: ChannelAgent) -> Delegate {
    one_shot(
        Arc::new(endpoint_agent),
        Arc::new(DenyAll),
        CancellationToken::new(),
        DelegateOptions::default(),
        Submission::new("task", Op::user_text("do it")),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn one_shot_shuts_down_after_task_complete() {
    let (agent, mut sub) = ChannelAgent::pair();
    let mut d = start(agent).await;
    let input = expect_op(&mut sub.submissions, "the initial input", |op| {
        matches!(op, Op::UserInput { .. })
    })
    .await;
    assert_eq!(input.id, "task");
    sub.emit("task", task_complete("task", Some("done"))).await;
    let shutdown = expect_op(&mut sub.submissions, "shutdown", |op| *op == Op::Shutdown).await;
    assert_eq!(shutdown.id, "shutdown");
    let event = within("the forwarded completion", d.next_event()).await.unwrap();
    assert_eq!(event.msg, task_complete("task", Some("done")));
    sub.emit("shutdown", EventMsg::ShutdownComplete).await;
    within("the engine to finish", d.finished()).await;
    // It stopped itself: no interrupt was needed.
    let rest = drain_ops(&mut sub.submissions).await;
    assert!(!rest.contains(&Op::Interrupt), "{rest:?}");
}

#[tokio::test]
async fn one_shot_shuts_down_after_turn_aborted() {
    let (agent, mut sub) = ChannelAgent::pair();
    let mut d = start(agent).await;
    sub.emit("task", turn_aborted("task")).await;
    expect_op(&mut sub.submissions, "shutdown", |op| *op == Op::Shutdown).await;
    let event = within("the forwarded abort", d.next_event()).await.unwrap();
    assert_eq!(event.msg, turn_aborted("task"));
}

#[tokio::test]
async fn the_one_shot_op_sender_is_already_closed() {
    let (agent, _sub) = ChannelAgent::pair();
    let d = start(agent).await;
    assert!(d.ops().is_closed());
    let err = d.submit(Submission::new("more", Op::Interrupt)).await.unwrap_err();
    assert!(matches!(err, DelegateError::Closed { .. }));
    assert!(err.to_string().contains("one-shot"), "{err}");
}

#[tokio::test]
async fn one_shot_needs_user_input() {
    let (agent, _sub) = ChannelAgent::pair();
    let err = one_shot(
        Arc::new(agent),
        Arc::new(DenyAll),
        CancellationToken::new(),
        DelegateOptions::default(),
        Submission::new("x", Op::Interrupt),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("user_input"), "{err}");
}

#[tokio::test]
async fn run_one_shot_returns_the_outcome() {
    let (agent, mut sub) = ChannelAgent::pair();
    let player = tokio::spawn(async move {
        let input = sub.submissions.recv().await.unwrap();
        sub.emit(&input.id, message("thinking done")).await;
        sub.emit(&input.id, exec_request("c1", None, &["rm", "x"])).await;
        let answer = sub.submissions.recv().await.unwrap();
        let denied = matches!(answer.op, Op::ExecApproval { decision: Decision::Denied, .. });
        sub.emit(&input.id, task_complete(&input.id, None)).await;
        let shutdown = sub.submissions.recv().await.unwrap();
        sub.emit(&shutdown.id, EventMsg::ShutdownComplete).await;
        sub.status.send(AgentStatus::Shutdown).unwrap();
        denied
    });
    let outcome = outcome_of(Arc::new(agent)).await;
    assert!(within("the player", player).await.unwrap(), "the sub-agent was told no");
    assert_eq!(outcome.end, TurnEnd::Completed);
    assert_eq!(outcome.last_agent_message.as_deref(), Some("thinking done"));
    assert_eq!(outcome.status, AgentStatus::Shutdown);
    let kinds: Vec<&str> = outcome.events.iter().map(|e| e.msg.kind()).collect();
    assert_eq!(
        kinds,
        [
            "agent_message",
            "approval_pending",
            "approval_decided",
            "task_complete",
            "shutdown_complete"
        ]
    );
}

#[tokio::test]
async fn cancelling_the_parent_token_cancels_a_one_shot() {
    let (agent, mut sub) = ChannelAgent::pair();
    let parent = CancellationToken::new();
    let d = one_shot(
        Arc::new(agent),
        Arc::new(DenyAll),
        parent.clone(),
        DelegateOptions::default(),
        Submission::new("task", Op::user_text("go")),
    )
    .await
    .unwrap();
    parent.cancel();
    expect_op(&mut sub.submissions, "interrupt", |op| *op == Op::Interrupt).await;
    expect_op(&mut sub.submissions, "shutdown", |op| *op == Op::Shutdown).await;
    within("the engine to finish", d.finished()).await;
}

#[tokio::test]
async fn a_script_reports_the_first_unexpected_submission() {
    let (agent, script) = ScriptedAgent::new(vec![Step::expect("interrupt")]);
    let _d = one_shot(
        Arc::new(agent),
        Arc::new(DenyAll),
        CancellationToken::new(),
        DelegateOptions::default(),
        Submission::new("task", Op::user_text("go")),
    )
    .await
    .unwrap();
    let err = within("the script", script.finished()).await.unwrap_err();
    assert!(matches!(err, ScriptError::Unexpected { step: 0, .. }), "{err}");
    assert!(err.to_string().contains("interrupt"), "{err}");
}

#[tokio::test]
async fn a_vanishing_script_agent_surfaces_as_an_error_event() {
    let (agent, _script) = ScriptedAgent::new(vec![Step::expect("user_input"), Step::Vanish]);
    let outcome = outcome_of(Arc::new(agent)).await;
    assert!(
        matches!(outcome.end, TurnEnd::Failed(ref m) if m.contains("vanished")),
        "{:?}",
        outcome.end
    );
}

#[tokio::test]
async fn a_task_complete_marked_failed_is_a_failure() {
    let mut failed =
        TaskCompleteEvent { turn_id: "task".into(), last_agent_message: None, extra: Extra::new() };
    failed.extra.insert("status".into(), serde_json::json!("failed"));
    let (agent, _script) = ScriptedAgent::new(vec![
        Step::expect("user_input"),
        Step::emit("task", EventMsg::error("model unavailable")),
        Step::emit("task", EventMsg::TaskComplete(failed)),
    ]);
    let outcome = outcome_of(Arc::new(agent)).await;
    assert_eq!(outcome.end, TurnEnd::Failed("model unavailable".into()));
}
