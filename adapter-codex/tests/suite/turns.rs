//! Turns without approvals: a plain turn, and interrupting a model that is still talking.

use std::time::Duration;
use std::time::Instant;

use delegate_adapter_codex::test_util::ScriptedResponse;
use delegate_core::Agent;
use delegate_protocol::AgentStatus;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::TurnAbortReason;
use pretty_assertions::assert_eq;

use super::harness::Session;

#[tokio::test]
async fn a_plain_turn_completes_with_the_model_message() {
    let mut s = Session::start(vec![ScriptedResponse::message("hello from the mock")]).await;
    let configured =
        s.until("session_configured", |m| matches!(m, EventMsg::SessionConfigured(_))).await;
    let EventMsg::SessionConfigured(configured) = configured.msg else { unreachable!() };
    assert_eq!(configured.model.as_deref(), Some("gpt-5.5"));
    assert_eq!(configured.extra["codex_version"], "0.169.0");

    s.submit("turn-1", Op::user_text("say hello")).await;
    let started = s.until("task_started", |m| matches!(m, EventMsg::TaskStarted(_))).await;
    assert_eq!(started.id, "turn-1");
    let message = s.until("agent_message", |m| matches!(m, EventMsg::AgentMessage(_))).await;
    assert_eq!(
        message.msg,
        EventMsg::AgentMessage(delegate_protocol::AgentMessageEvent {
            message: "hello from the mock".into()
        })
    );
    let done = s.until_turn_ends().await;
    assert_eq!(done.id, "turn-1");
    let EventMsg::TaskComplete(done) = done.msg else { panic!("{done:?}") };
    assert_eq!(done.turn_id, "turn-1");
    assert_eq!(done.last_agent_message.as_deref(), Some("hello from the mock"));
    assert_eq!(
        *s.agent.status().borrow(),
        AgentStatus::Completed(Some("hello from the mock".into()))
    );

    // The model server saw the prompt, and only loopback was used.
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].request_line.starts_with("POST /v1/responses"),
        "{}",
        requests[0].request_line
    );
    assert!(requests[0].body.to_string().contains("say hello"));
    s.shutdown().await;
}

#[tokio::test]
async fn an_interrupt_while_the_model_streams_aborts_the_turn_and_the_next_turn_works() {
    // 200 pieces 100 ms apart: 20 s of talking, far longer than the test.
    let script = vec![ScriptedResponse::slow_stream(200, Duration::from_millis(100))];
    let mut s = Session::start(script).await;
    s.submit("turn-1", Op::user_text("talk for a long time")).await;
    s.until("a message delta", |m| matches!(m, EventMsg::AgentMessageDelta(_))).await;

    let asked = Instant::now();
    s.submit("stop", Op::Interrupt).await;
    let end = s.until_turn_ends().await;
    let took = asked.elapsed();
    assert_eq!(end.id, "turn-1");
    let EventMsg::TurnAborted(aborted) = end.msg else { panic!("{end:?}") };
    assert_eq!(aborted.reason, TurnAbortReason::Interrupted);
    assert_eq!(aborted.turn_id.as_deref(), Some("turn-1"));
    assert!(took < Duration::from_secs(5), "interrupt took {took:?}");
    assert_eq!(*s.agent.status().borrow(), AgentStatus::Interrupted);

    s.mock.push(ScriptedResponse::message("still here"));
    s.submit("turn-2", Op::user_text("are you there?")).await;
    let end = s.until_turn_ends().await;
    assert_eq!(end.id, "turn-2");
    let EventMsg::TaskComplete(done) = end.msg else { panic!("{end:?}") };
    assert_eq!(done.last_agent_message.as_deref(), Some("still here"));
    s.shutdown().await;
}
