//! The process around the session: a missing binary, the trace context in the environment, a
//! crash mid-turn, and dropping the handle. Nothing may be left running.

use std::time::Duration;

use delegate_adapter_codex::CodexAgent;
use delegate_adapter_codex::CodexError;
use delegate_adapter_codex::CodexOptions;
use delegate_adapter_codex::test_util::ScriptedResponse;
use delegate_adapter_codex::test_util::TempDir;
use delegate_core::Agent;
use delegate_protocol::AgentStatus;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::W3cTraceContext;
use pretty_assertions::assert_eq;

use super::harness::Session;
use super::harness::assert_nothing_left;

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    let dir = TempDir::new("delegate-codex-missing").unwrap();
    let options = CodexOptions::new(dir.path()).with_program(dir.path().join("no-such-codex"));
    let err = CodexAgent::spawn(options).await.unwrap_err();
    assert!(matches!(err, CodexError::BinaryNotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("no-such-codex") && message.contains("npm install"), "{message}");
}

#[tokio::test]
async fn the_session_trace_reaches_codex_as_traceparent() {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let trace = W3cTraceContext::from_traceparent(traceparent);
    let s = Session::start_with(vec![], |o| o.with_trace(Some(trace))).await;
    let environ = std::fs::read(format!("/proc/{}/environ", s.pid)).unwrap();
    let expected = format!("TRACEPARENT={traceparent}");
    assert!(
        environ.split(|&b| b == 0).any(|var| var == expected.as_bytes()),
        "codex's environment has {expected}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn codex_killed_mid_turn_yields_an_error_then_the_end() {
    let script = vec![ScriptedResponse::slow_stream(200, Duration::from_millis(100))];
    let mut s = Session::start(script).await;
    s.submit("turn-1", Op::user_text("talk")).await;
    s.until("a message delta", |m| matches!(m, EventMsg::AgentMessageDelta(_))).await;

    let pid = rustix::process::Pid::from_raw(s.pid as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();

    let error = s.until("an error", |m| matches!(m, EventMsg::Error(_))).await;
    assert_eq!(error.id, "turn-1");
    let EventMsg::Error(error) = error.msg else { unreachable!() };
    assert!(error.message.contains("exited unexpectedly"), "{}", error.message);
    assert!(error.message.contains("signal 9"), "{}", error.message);
    assert!(s.next().await.is_none(), "the event stream ends after the error");
    assert!(matches!(*s.agent.status().borrow(), AgentStatus::Errored(_)));
    let err = s.agent.submit(delegate_protocol::Submission::new("x", Op::Interrupt)).await;
    assert!(err.is_err(), "a dead agent takes no submissions");
    s.assert_nothing_left().await;
}

#[tokio::test]
async fn dropping_the_agent_mid_turn_kills_and_reaps_codex() {
    let script = vec![ScriptedResponse::slow_stream(200, Duration::from_millis(100))];
    let mut s = Session::start(script).await;
    s.submit("turn-1", Op::user_text("talk")).await;
    s.until("a message delta", |m| matches!(m, EventMsg::AgentMessageDelta(_))).await;
    let Session { agent, sandbox, pid, mock, .. } = s;
    drop(agent);
    assert_nothing_left(pid, &sandbox).await;
    drop(mock);
}

#[tokio::test]
async fn shutdown_mid_turn_ends_codex_within_the_grace_period() {
    let script = vec![ScriptedResponse::slow_stream(200, Duration::from_millis(100))];
    let grace = Duration::from_secs(5);
    let mut s = Session::start_with(script, |o| o.with_shutdown_grace(grace, Duration::ZERO)).await;
    s.submit("turn-1", Op::user_text("talk")).await;
    s.until("a message delta", |m| matches!(m, EventMsg::AgentMessageDelta(_))).await;
    let asked = std::time::Instant::now();
    s.shutdown().await;
    // Within the grace period: codex went by itself when its stdin closed, no signal needed.
    assert!(asked.elapsed() < grace, "shutdown took {:?}", asked.elapsed());
}

#[tokio::test]
async fn an_unsupported_version_is_refused_and_nothing_is_left() {
    // A stand-in that answers `initialize` as a newer Codex would, then waits: `sh` runs the
    // file `app-server` in the working directory (no freshly written executable, so no
    // "text file busy" when another test forks at that moment).
    let dir = TempDir::new("delegate-codex-fake").unwrap();
    let script = "read line\n\
        echo '{\"id\":1,\"result\":{\"userAgent\":\"delegate/0.170.0 (fake)\"}}'\n\
        exec sleep 30\n";
    std::fs::write(dir.path().join("app-server"), script).unwrap();
    let marker = dir.path().join("marker");
    let options = CodexOptions::new(dir.path())
        .with_program("/bin/sh")
        .with_env("DELEGATE_TEST_MARKER", &marker);
    let err = tokio::time::timeout(super::harness::EVENT_WAIT, CodexAgent::spawn(options))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, CodexError::UnsupportedVersion { .. }), "{err:?}");
    assert!(err.to_string().contains("0.170.0"), "{err}");
    let leftovers = delegate_adapter_codex::test_util::processes_with_env(
        "DELEGATE_TEST_MARKER",
        marker.as_os_str(),
    );
    assert!(leftovers.is_empty(), "the refused process is gone: {leftovers:?}");
}
