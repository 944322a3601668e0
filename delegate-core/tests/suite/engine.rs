//! Interactive delegation: forwarding, filtering, approval routing, cancellation and shutdown.

use std::sync::Arc;
use std::time::Duration;

use delegate_approval::AllowAll;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::DenyAll;
use delegate_approval::MockApprover;
use delegate_approval::Verdict;
use delegate_core::*;
use delegate_protocol::*;
use pretty_assertions::assert_eq;
use tokio_util::sync::CancellationToken;

use super::support::*;

fn start(
    approver: Arc<dyn Approver>,
    options: DelegateOptions,
) -> (Delegate, AgentEndpoint, CancellationToken) {
    let (agent, endpoint) = ChannelAgent::pair();
    let cancel = CancellationToken::new();
    let d = delegate(Arc::new(agent), approver, cancel.clone(), options);
    (d, endpoint, cancel)
}

async fn next(d: &mut Delegate) -> Event {
    within("an event", d.next_event()).await.expect("event stream ended early")
}

#[tokio::test]
async fn cancel_while_the_consumer_channel_is_full_still_sends_interrupt_and_shutdown() {
    let options = DelegateOptions::default().with_event_capacity(1);
    let (mut d, mut sub, cancel) = start(Arc::new(DenyAll), options);
    // Fill the caller's channel, then make the engine block on a second send.
    sub.emit("full", message("first")).await;
    sub.emit(
        "evt",
        EventMsg::Other(UnknownEvent { kind: "raw_item".into(), fields: Default::default() }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(sub.events);
    cancel.cancel();
    within("the engine to finish", d.finished()).await;
    let first = next(&mut d).await;
    assert_eq!(first.id, "full");
    let ops = drain_ops(&mut sub.submissions).await;
    assert!(ops.contains(&Op::Interrupt), "expected interrupt after cancellation, got {ops:?}");
    assert!(ops.contains(&Op::Shutdown), "expected shutdown after cancellation, got {ops:?}");
}

#[tokio::test]
async fn forwarded_ops_keep_their_id_and_trace() {
    let (d, mut sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    let submission = Submission::new("sub-1", Op::Interrupt).with_trace(Some(W3cTraceContext {
        traceparent: Some("00-1234567890abcdef1234567890abcdef-1234567890abcdef-01".into()),
        tracestate: Some("vendor=state".into()),
    }));
    d.submit(submission.clone()).await.unwrap();
    let forwarded = within("the forwarded op", sub.submissions.recv()).await.unwrap();
    assert_eq!(forwarded, submission);
}

#[tokio::test]
async fn a_malformed_trace_is_dropped_with_a_warning_and_the_op_still_goes() {
    let (mut d, mut sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    let submission = Submission::new("sub-1", Op::user_text("hi"))
        .with_trace(Some(W3cTraceContext::from_traceparent("not-a-traceparent")));
    d.submit(submission).await.unwrap();
    let forwarded = within("the forwarded op", sub.submissions.recv()).await.unwrap();
    assert_eq!(forwarded.id, "sub-1");
    assert_eq!(forwarded.trace, None);
    let warning = next(&mut d).await;
    assert!(
        matches!(&warning.msg, EventMsg::Warning(w) if w.message.contains("trace context")),
        "{warning:?}"
    );
}

#[tokio::test]
async fn the_permissions_round_trip_uses_the_tool_call_id() {
    let (approver, mut requests) = HandApprover::new();
    let (mut d, mut sub, _cancel) = start(approver, DelegateOptions::default());
    sub.emit("parent-turn", permissions_request("tool-call-1")).await;
    let (request, answer) = within("the approval request", requests.recv()).await.unwrap();
    assert_eq!(request.call_id(), "tool-call-1");
    assert_eq!(request.event_id, "parent-turn");
    let granted = RequestPermissionsResponse {
        permissions: PermissionProfile {
            network: Some(NetworkPermissions { enabled: Some(true) }),
            file_system: None,
        },
        scope: PermissionGrantScope::Turn,
    };
    answer.send(Verdict::permissions(granted.clone(), DecidedBy::User)).unwrap();
    let reply = expect_op(&mut sub.submissions, "the permissions answer", |op| {
        matches!(op, Op::RequestPermissionsResponse { .. })
    })
    .await;
    assert_eq!(
        reply.op,
        Op::RequestPermissionsResponse { id: "tool-call-1".into(), response: granted }
    );
    assert!(matches!(next(&mut d).await.msg, EventMsg::ApprovalPending(_)));
    let decided = next(&mut d).await;
    assert_eq!(
        decided.msg,
        EventMsg::ApprovalDecided(ApprovalDecidedEvent {
            kind: ApprovalKind::Permissions,
            call_id: "tool-call-1".into(),
            decision: Decision::Approved,
            decided_by: DecidedBy::User,
        })
    );
}

#[tokio::test]
async fn each_request_kind_is_answered_with_the_id_the_sub_agent_expects() {
    let (mut d, mut sub, _cancel) = start(Arc::new(AllowAll), DelegateOptions::default());
    sub.emit("ev-1", exec_request("call-1", Some("approval-1"), &["ls"])).await;
    let reply =
        expect_op(&mut sub.submissions, "exec answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert_eq!(
        reply.op,
        Op::ExecApproval {
            id: "approval-1".into(),
            turn_id: Some("ev-1".into()),
            decision: Decision::Approved
        }
    );
    sub.emit("ev-2", exec_request("call-2", None, &["ls"])).await;
    let reply =
        expect_op(&mut sub.submissions, "exec answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert_eq!(
        reply.op,
        Op::ExecApproval {
            id: "call-2".into(),
            turn_id: Some("ev-2".into()),
            decision: Decision::Approved
        }
    );
    sub.emit("ev-3", patch_request("call-3")).await;
    let reply = expect_op(&mut sub.submissions, "patch answer", |op| {
        matches!(op, Op::PatchApproval { .. })
    })
    .await;
    assert_eq!(reply.op, Op::PatchApproval { id: "call-3".into(), decision: Decision::Approved });
    sub.emit("ev-4", user_input_request("call-4")).await;
    let reply = expect_op(&mut sub.submissions, "user input answer", |op| {
        matches!(op, Op::UserInputAnswer { .. })
    })
    .await;
    assert_eq!(
        reply.op,
        Op::UserInputAnswer { id: "ev-4".into(), response: RequestUserInputResponse::empty() }
    );
    // The caller never sees a raw request: only pending/decided pairs.
    for _ in 0..4 {
        assert!(matches!(next(&mut d).await.msg, EventMsg::ApprovalPending(_)));
        assert!(matches!(next(&mut d).await.msg, EventMsg::ApprovalDecided(_)));
    }
}

#[tokio::test]
async fn the_default_filter_drops_noise_and_keeps_the_rest_in_order() {
    let (mut d, sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    let noise = [
        EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta: "he".into() }),
        EventMsg::AgentReasoningDelta(AgentReasoningDeltaEvent { delta: "th".into() }),
        EventMsg::TokenCount(TokenCountEvent::default()),
        EventMsg::SessionConfigured(SessionConfiguredEvent::default()),
        EventMsg::ThreadNameUpdated(ThreadNameUpdatedEvent::default()),
    ];
    for (i, msg) in noise.into_iter().enumerate() {
        sub.emit("t", msg).await;
        sub.emit("t", message(&format!("m{i}"))).await;
    }
    let unknown =
        EventMsg::Other(UnknownEvent { kind: "brand_new".into(), fields: Default::default() });
    sub.emit("t", unknown.clone()).await;
    for i in 0..5 {
        assert_eq!(next(&mut d).await.msg, message(&format!("m{i}")));
    }
    assert_eq!(next(&mut d).await.msg, unknown);
}

#[tokio::test]
async fn a_custom_filter_can_show_deltas() {
    let options = DelegateOptions::default()
        .with_filter(EventFilter::default().keep_type("agent_message_delta"));
    let (mut d, sub, _cancel) = start(Arc::new(DenyAll), options);
    let delta = EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta: "he".into() });
    sub.emit("t", delta.clone()).await;
    assert_eq!(next(&mut d).await.msg, delta);
}

#[tokio::test]
async fn events_keep_flowing_in_order_while_an_approval_is_pending() {
    let (approver, mut requests) = HandApprover::new();
    let (mut d, mut sub, _cancel) = start(approver, DelegateOptions::default());
    sub.emit("t", message("before")).await;
    sub.emit("t", exec_request("call-1", None, &["make"])).await;
    for i in 0..20 {
        sub.emit("t", message(&format!("during {i}"))).await;
    }
    assert_eq!(next(&mut d).await.msg, message("before"));
    let pending = next(&mut d).await;
    assert!(
        matches!(&pending.msg, EventMsg::ApprovalPending(p) if p.call_id == "call-1" && p.summary.contains("make"))
    );
    for i in 0..20 {
        assert_eq!(next(&mut d).await.msg, message(&format!("during {i}")));
    }
    // Only now does the person answer.
    let (_request, answer) = within("the request", requests.recv()).await.unwrap();
    answer.send(Verdict::decision(Decision::Denied, DecidedBy::User)).unwrap();
    let decided = next(&mut d).await;
    assert!(
        matches!(decided.msg, EventMsg::ApprovalDecided(ref e) if e.decision == Decision::Denied)
    );
    let reply =
        expect_op(&mut sub.submissions, "exec answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert!(matches!(reply.op, Op::ExecApproval { decision: Decision::Denied, .. }));
}

#[tokio::test]
async fn approvals_are_decided_concurrently_and_answered_by_request_id() {
    let (approver, mut requests) = HandApprover::new();
    let (_d, mut sub, _cancel) = start(approver, DelegateOptions::default());
    sub.emit("t", exec_request("a", None, &["one"])).await;
    sub.emit("t", exec_request("b", None, &["two"])).await;
    let (first, answer_a) = within("request a", requests.recv()).await.unwrap();
    let (second, answer_b) = within("request b", requests.recv()).await.unwrap();
    assert_eq!((first.call_id(), second.call_id()), ("a", "b"));
    // Answer the second first: replies follow decisions, not arrival order.
    answer_b.send(Verdict::decision(Decision::Approved, DecidedBy::User)).unwrap();
    let reply =
        expect_op(&mut sub.submissions, "b's answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert_eq!(
        reply.op,
        Op::ExecApproval {
            id: "b".into(),
            turn_id: Some("t".into()),
            decision: Decision::Approved
        }
    );
    answer_a.send(Verdict::decision(Decision::Denied, DecidedBy::User)).unwrap();
    let reply =
        expect_op(&mut sub.submissions, "a's answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert_eq!(
        reply.op,
        Op::ExecApproval { id: "a".into(), turn_id: Some("t".into()), decision: Decision::Denied }
    );
}

#[tokio::test]
async fn cancel_during_a_pending_approval_aborts_it_and_tells_the_approver() {
    let (approver, mut requests) = HandApprover::new();
    let (mut d, mut sub, cancel) = start(approver.clone(), DelegateOptions::default());
    sub.emit("t", exec_request("call-1", None, &["rm", "-rf", "/"])).await;
    sub.emit("t", permissions_request("call-2")).await;
    sub.emit("t", user_input_request("call-3")).await;
    for _ in 0..3 {
        within("a request", requests.recv()).await.unwrap();
    }
    cancel.cancel();
    within("the engine to finish", d.finished()).await;
    let ops = drain_ops(&mut sub.submissions).await;
    assert!(ops.contains(&Op::ExecApproval {
        id: "call-1".into(),
        turn_id: Some("t".into()),
        decision: Decision::Abort
    }));
    assert!(ops.contains(&Op::RequestPermissionsResponse {
        id: "call-2".into(),
        response: RequestPermissionsResponse::empty()
    }));
    assert!(ops.contains(&Op::UserInputAnswer {
        id: "t".into(),
        response: RequestUserInputResponse::empty()
    }));
    let interrupt = ops.iter().position(|op| *op == Op::Interrupt).expect("interrupt sent");
    let shutdown = ops.iter().position(|op| *op == Op::Shutdown).expect("shutdown sent");
    assert!(interrupt < shutdown);
    assert!(
        !ops.iter().any(|op| matches!(op, Op::ExecApproval { decision: Decision::Approved, .. }))
    );
    let resolved = approver.resolved.lock().unwrap().clone();
    assert_eq!(resolved.len(), 3);
    assert!(resolved.iter().all(|(_, v)| v.decided_by == DecidedBy::Cancel && !v.approves()));
    let mut decided = Vec::new();
    while let Some(event) = within("the rest of the events", d.next_event()).await {
        if let EventMsg::ApprovalDecided(e) = event.msg {
            decided.push(e);
        }
    }
    assert_eq!(decided.len(), 3);
    assert!(decided.iter().all(|e| e.decided_by == DecidedBy::Cancel && !e.decision.is_approved()));
}

#[tokio::test(start_paused = true)]
async fn a_sub_agent_that_never_answers_shutdown_is_left_after_the_drain_timeout() {
    let drain = Duration::from_millis(500);
    let (d, _sub, cancel) =
        start(Arc::new(DenyAll), DelegateOptions::default().with_drain_timeout(drain));
    let started = tokio::time::Instant::now();
    cancel.cancel();
    within("the engine to finish", d.finished()).await;
    let took = started.elapsed();
    assert!(took >= drain, "drained for {took:?}, less than the timeout");
    assert!(
        took < drain + Duration::from_millis(50),
        "drained for {took:?}, well past the timeout"
    );
}

#[tokio::test]
async fn draining_stops_at_the_end_of_the_turn() {
    let (d, mut sub, cancel) = start(
        Arc::new(DenyAll),
        DelegateOptions::default().with_drain_timeout(Duration::from_secs(30)),
    );
    cancel.cancel();
    expect_op(&mut sub.submissions, "interrupt", |op| *op == Op::Interrupt).await;
    sub.emit("t", turn_aborted("t")).await;
    within("the engine to finish well before the drain timeout", d.finished()).await;
}

#[tokio::test]
async fn dropping_the_event_receiver_shuts_the_sub_agent_down() {
    let (d, mut sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    let (ops, events) = d.into_parts();
    drop(events);
    expect_op(&mut sub.submissions, "interrupt", |op| *op == Op::Interrupt).await;
    expect_op(&mut sub.submissions, "shutdown", |op| *op == Op::Shutdown).await;
    drop(ops);
}

#[tokio::test]
async fn a_dying_sub_agent_produces_an_error_event_before_the_stream_ends() {
    let (mut d, sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    sub.emit("t", message("working")).await;
    sub.status.send(AgentStatus::Errored("exited with code 3".into())).unwrap();
    drop(sub);
    assert_eq!(next(&mut d).await.msg, message("working"));
    let error = next(&mut d).await;
    assert!(
        matches!(&error.msg, EventMsg::Error(e) if e.message.contains("exited with code 3")),
        "{error:?}"
    );
    assert!(within("the end of the stream", d.next_event()).await.is_none());
}

#[tokio::test]
async fn a_clean_shutdown_ends_the_stream_without_an_error() {
    let (mut d, mut sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    d.submit(Submission::new("bye", Op::Shutdown)).await.unwrap();
    expect_op(&mut sub.submissions, "shutdown", |op| *op == Op::Shutdown).await;
    sub.emit("bye", EventMsg::ShutdownComplete).await;
    drop(sub);
    assert_eq!(next(&mut d).await.msg, EventMsg::ShutdownComplete);
    assert!(within("the end of the stream", d.next_event()).await.is_none());
}

#[tokio::test]
async fn an_answer_of_the_wrong_kind_is_refused() {
    let mut approver = MockApprover::new();
    approver.expect_decide().returning(|_| Verdict::decision(Decision::Approved, DecidedBy::User));
    let (_d, mut sub, _cancel) = start(Arc::new(approver), DelegateOptions::default());
    sub.emit("t", permissions_request("call-1")).await;
    let reply = expect_op(&mut sub.submissions, "the answer", |op| {
        matches!(op, Op::RequestPermissionsResponse { .. })
    })
    .await;
    assert_eq!(
        reply.op,
        Op::RequestPermissionsResponse {
            id: "call-1".into(),
            response: RequestPermissionsResponse::empty()
        }
    );
}

#[tokio::test]
async fn a_panicking_approver_means_refusal_not_approval() {
    struct Panics;
    #[async_trait::async_trait]
    impl Approver for Panics {
        async fn decide(&self, _request: &ApprovalRequest) -> Verdict {
            panic!("approver bug")
        }
    }
    let (mut d, mut sub, _cancel) = start(Arc::new(Panics), DelegateOptions::default());
    sub.emit("t", exec_request("call-1", None, &["ls"])).await;
    let reply =
        expect_op(&mut sub.submissions, "the answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert!(matches!(reply.op, Op::ExecApproval { decision: Decision::Denied, .. }));
    assert!(matches!(next(&mut d).await.msg, EventMsg::ApprovalPending(_)));
    assert!(
        matches!(next(&mut d).await.msg, EventMsg::Warning(ref w) if w.message.contains("approver failed"))
    );
}

#[tokio::test]
async fn requests_carry_the_agent_path() {
    let (approver, mut requests) = HandApprover::new();
    let options = DelegateOptions::default().with_agent_path(vec!["root".into(), "worker".into()]);
    let (mut d, sub, _cancel) = start(approver, options);
    sub.emit("t", exec_request("c", None, &["ls"])).await;
    let (request, _answer) = within("the request", requests.recv()).await.unwrap();
    assert_eq!(request.agent_path, vec!["root".to_string(), "worker".to_string()]);
    let pending = next(&mut d).await;
    assert!(
        matches!(pending.msg, EventMsg::ApprovalPending(ref p) if p.agent_path == request.agent_path)
    );
}

#[tokio::test]
async fn engine_answers_carry_a_child_of_the_delegation_trace() {
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let options =
        DelegateOptions::default().with_trace(Some(W3cTraceContext::from_traceparent(parent)));
    let (_d, mut sub, _cancel) = start(Arc::new(DenyAll), options);
    sub.emit("t", exec_request("c", None, &["ls"])).await;
    let reply =
        expect_op(&mut sub.submissions, "the answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    let trace = reply.trace.expect("answer carries a trace").parse_traceparent().unwrap().unwrap();
    assert_eq!(trace.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(trace.to_string(), parent);
}

#[tokio::test]
async fn a_grant_beyond_the_request_is_refused() {
    let mut approver = MockApprover::new();
    approver.expect_decide().returning(|_| {
        let everything = RequestPermissionsResponse {
            permissions: PermissionProfile {
                network: Some(NetworkPermissions { enabled: Some(true) }),
                file_system: Some(FileSystemPermissions {
                    read: None,
                    write: Some(vec!["/".into()]),
                }),
            },
            scope: PermissionGrantScope::Session,
        };
        Verdict::permissions(everything, DecidedBy::User)
    });
    let (_d, mut sub, _cancel) = start(Arc::new(approver), DelegateOptions::default());
    sub.emit("t", permissions_request("call-1")).await;
    let reply = expect_op(&mut sub.submissions, "the answer", |op| {
        matches!(op, Op::RequestPermissionsResponse { .. })
    })
    .await;
    assert_eq!(
        reply.op,
        Op::RequestPermissionsResponse {
            id: "call-1".into(),
            response: RequestPermissionsResponse::empty()
        }
    );
}

#[tokio::test]
async fn a_turn_that_ends_closes_its_pending_approvals() {
    let (approver, mut requests) = HandApprover::new();
    let (mut d, mut sub, _cancel) = start(approver.clone(), DelegateOptions::default());
    sub.emit("t", exec_request("call-1", None, &["rm", "-rf", "/tmp/x"])).await;
    let (_request, late_answer) = within("the request", requests.recv()).await.unwrap();
    sub.emit("t", turn_aborted("t")).await;
    assert!(matches!(next(&mut d).await.msg, EventMsg::ApprovalPending(_)));
    let decided = next(&mut d).await;
    assert_eq!(
        decided.msg,
        EventMsg::ApprovalDecided(ApprovalDecidedEvent {
            kind: ApprovalKind::Exec,
            call_id: "call-1".into(),
            decision: Decision::Abort,
            decided_by: DecidedBy::Cancel,
        })
    );
    assert_eq!(next(&mut d).await.msg, turn_aborted("t"));
    assert_eq!(approver.resolved.lock().unwrap().len(), 1);
    // A person answering the dead prompt now changes nothing: the decision task is gone.
    let _ = late_answer.send(Verdict::decision(Decision::Approved, DecidedBy::User));
    let ops = drain_ops(&mut sub.submissions).await;
    assert!(!ops.iter().any(|op| matches!(op, Op::ExecApproval { .. })), "{ops:?}");
    sub.emit("t2", message("next turn")).await;
    assert_eq!(next(&mut d).await.msg, message("next turn"));
}

#[tokio::test]
async fn shutdown_delivers_buffered_events_to_a_caller_that_reads_late() {
    let (mut d, mut sub, cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    for i in 0..100 {
        sub.emit("t", message(&format!("m{i}"))).await;
    }
    cancel.cancel();
    expect_op(&mut sub.submissions, "interrupt", |op| *op == Op::Interrupt).await;
    sub.emit("t", turn_aborted("t")).await;
    let mut seen = Vec::new();
    while let Some(event) = within("the events", d.next_event()).await {
        seen.push(event.msg);
    }
    let messages = seen.iter().filter(|m| matches!(m, EventMsg::AgentMessage(_))).count();
    assert_eq!(messages, 100, "{seen:?}");
    assert_eq!(seen.last(), Some(&turn_aborted("t")));
}

#[tokio::test]
async fn an_op_that_cannot_reach_the_sub_agent_is_reported() {
    let (mut d, sub, _cancel) = start(Arc::new(DenyAll), DelegateOptions::default());
    drop(sub.submissions);
    d.submit(Submission::new("lost-1", Op::user_text("hello"))).await.unwrap();
    let warning = next(&mut d).await;
    assert_eq!(warning.id, "lost-1");
    assert!(
        matches!(&warning.msg, EventMsg::Warning(w) if w.message.contains("did not reach")),
        "{warning:?}"
    );
}

#[tokio::test]
async fn an_approver_that_panics_after_waiting_means_refusal_too() {
    struct PanicsLater;
    #[async_trait::async_trait]
    impl Approver for PanicsLater {
        async fn decide(&self, _request: &ApprovalRequest) -> Verdict {
            tokio::task::yield_now().await;
            panic!("approver bug after a wait")
        }
    }
    let (mut d, mut sub, _cancel) = start(Arc::new(PanicsLater), DelegateOptions::default());
    sub.emit("t", exec_request("call-1", None, &["ls"])).await;
    let reply =
        expect_op(&mut sub.submissions, "the answer", |op| matches!(op, Op::ExecApproval { .. }))
            .await;
    assert!(matches!(reply.op, Op::ExecApproval { decision: Decision::Denied, .. }));
    assert!(matches!(next(&mut d).await.msg, EventMsg::ApprovalPending(_)));
    assert!(
        matches!(next(&mut d).await.msg, EventMsg::Warning(ref w) if w.message.contains("approver failed"))
    );
}
