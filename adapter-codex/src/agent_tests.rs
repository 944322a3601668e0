//! Tests of [`CodexAgent`] over in-memory streams, with the test playing the app-server.

use delegate_protocol::Decision;
use delegate_protocol::Op;
use delegate_protocol::W3cTraceContext;
use pretty_assertions::assert_eq;
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::io::DuplexStream;
use tokio::io::Lines;

use super::*;

/// Bound on every wait in these tests: nothing here takes more than milliseconds.
const WAIT: Duration = Duration::from_secs(5);

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The app-server's side of the streams.
struct FakeServer {
    lines: Lines<BufReader<DuplexStream>>,
    writer: Option<DuplexStream>,
}

impl FakeServer {
    /// The next message the adapter sent.
    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("the adapter sends within the bound")
            .unwrap()
            .expect("the adapter's stream is open");
        serde_json::from_str(&line).unwrap()
    }

    /// Whether the adapter closed its side (stdin of a real app-server).
    async fn closed(&mut self) -> bool {
        tokio::time::timeout(WAIT, self.lines.next_line()).await.unwrap().unwrap().is_none()
    }

    async fn send(&mut self, value: Value) {
        self.send_raw(&format!("{value}\n")).await;
    }

    async fn send_raw(&mut self, text: &str) {
        let writer = self.writer.as_mut().expect("open");
        writer.write_all(text.as_bytes()).await.unwrap();
        writer.flush().await.unwrap();
    }

    /// Answer the set-up requests as codex 0.169.0 does.
    async fn handshake(&mut self, user_agent: &str) -> (Value, Value) {
        let init = self.recv().await;
        self.send(json!({"id": init["id"], "result": {"userAgent": user_agent, "codexHome": "/h",
            "platformFamily": "unix", "platformOs": "linux"}}))
            .await;
        let initialized = self.recv().await;
        assert_eq!(initialized, json!({"method": "initialized"}));
        let start = self.recv().await;
        // A notification before the answer, as the real server sends.
        self.send(json!({"method": "configWarning", "params": {"summary": "no bwrap"}})).await;
        self.send(
            json!({"id": start["id"], "result": {"thread": {"id": "th-1", "cliVersion": "0.169.0"},
            "model": "gpt-5.5", "modelProvider": "mock"}}),
        )
        .await;
        (init, start)
    }
}

fn pipes() -> (DuplexStream, DuplexStream, FakeServer) {
    let (client_writer, server_reader) = tokio::io::duplex(64 * 1024);
    let (server_writer, client_reader) = tokio::io::duplex(64 * 1024);
    let server =
        FakeServer { lines: BufReader::new(server_reader).lines(), writer: Some(server_writer) };
    (client_reader, client_writer, server)
}

fn options() -> CodexOptions {
    CodexOptions::new("/repo").with_shutdown_grace(Duration::from_millis(200), Duration::ZERO)
}

const UA: &str = "delegate/0.169.0 (Debian 12.0.0; x86_64) unknown (delegate; 0)";

async fn connected(options: CodexOptions) -> (CodexAgent, FakeServer) {
    let (reader, writer, mut server) = pipes();
    let (agent, _) =
        tokio::join!(CodexAgent::from_streams(reader, writer, options), server.handshake(UA));
    (agent.unwrap(), server)
}

async fn next(agent: &CodexAgent) -> Event {
    tokio::time::timeout(WAIT, agent.next_event())
        .await
        .expect("an event within the bound")
        .expect("an event")
}

/// The next event that is not a pass-through of a raw app-server notification.
async fn next_mapped(agent: &CodexAgent) -> Event {
    loop {
        let event = next(agent).await;
        if !matches!(event.msg, EventMsg::Other(_)) {
            return event;
        }
    }
}

#[tokio::test]
async fn set_up_starts_one_untrusted_ephemeral_thread_and_reports_session_configured() {
    let (reader, writer, mut server) = pipes();
    let options = options()
        .with_model("gpt-5.5")
        .with_trace(Some(W3cTraceContext::from_traceparent(TRACEPARENT)));
    let (agent, (init, start)) =
        tokio::join!(CodexAgent::from_streams(reader, writer, options), server.handshake(UA));
    let agent = agent.unwrap();
    assert_eq!(init["method"], "initialize");
    assert_eq!(init["params"]["clientInfo"]["name"], "delegate");
    assert_eq!(init["trace"]["traceparent"], TRACEPARENT);
    assert_eq!(start["method"], "thread/start");
    assert_eq!(
        start["params"],
        json!({"cwd": "/repo", "approvalPolicy": "untrusted", "sandbox": "read-only",
               "ephemeral": true, "model": "gpt-5.5"})
    );
    assert_eq!(start["trace"]["traceparent"], TRACEPARENT);
    assert_eq!(agent.session().thread_id, "th-1");
    assert_eq!(agent.session().codex_version.as_deref(), Some("0.169.0"));
    assert_eq!(agent.pid(), None);

    let event = next(&agent).await;
    assert_eq!(event.id, "");
    let EventMsg::SessionConfigured(configured) = event.msg else { panic!("{event:?}") };
    assert_eq!(configured.session_id.as_deref(), Some("th-1"));
    assert_eq!(configured.model.as_deref(), Some("gpt-5.5"));
    assert_eq!(configured.extra["codex_version"], "0.169.0");
    // What came before the thread/start answer follows, mapped.
    assert_eq!(next(&agent).await.msg, EventMsg::warning("no bwrap"));
    assert_eq!(*agent.status().borrow(), AgentStatus::Running);
}

#[tokio::test]
async fn an_unsupported_version_is_refused_by_default_and_a_warning_when_asked() {
    let (reader, writer, mut server) = pipes();
    let connect = CodexAgent::from_streams(reader, writer, options());
    let answer = async {
        let init = server.recv().await;
        server
            .send(json!({"id": init["id"], "result": {"userAgent": "delegate/0.170.2 (x)"}}))
            .await;
    };
    let (result, ()) = tokio::join!(connect, answer);
    let err = result.unwrap_err();
    assert!(matches!(err, CodexError::UnsupportedVersion { .. }), "{err}");
    assert!(err.to_string().contains("0.170.2") && err.to_string().contains("0.169"), "{err}");

    let (agent, _server) =
        connected_with(options().with_version_check(VersionCheck::Warn), "delegate/0.170.2 (x)")
            .await;
    let EventMsg::Warning(w) = next(&agent).await.msg else { panic!() };
    assert!(w.message.contains("0.170.2"), "{}", w.message);
}

async fn connected_with(options: CodexOptions, user_agent: &str) -> (CodexAgent, FakeServer) {
    let (reader, writer, mut server) = pipes();
    let (agent, _) = tokio::join!(
        CodexAgent::from_streams(reader, writer, options),
        server.handshake(user_agent)
    );
    (agent.unwrap(), server)
}

#[tokio::test]
async fn a_rejected_or_unanswered_set_up_is_a_clear_error() {
    let (reader, writer, mut server) = pipes();
    let answer = async {
        let init = server.recv().await;
        server
            .send(json!({"id": init["id"], "error": {"code": -32600, "message": "bad client"}}))
            .await;
    };
    let (result, ()) = tokio::join!(CodexAgent::from_streams(reader, writer, options()), answer);
    let err = result.unwrap_err();
    assert!(
        matches!(err, CodexError::Rejected { method: "initialize", code: -32600, .. }),
        "{err}"
    );

    let (reader, writer, mut server) = pipes();
    server.writer = None;
    let err = CodexAgent::from_streams(reader, writer, options()).await.unwrap_err();
    assert!(matches!(err, CodexError::Exited { method: "initialize", .. }), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_silent_app_server_times_out_the_set_up() {
    let (reader, writer, _server) = pipes();
    let options = options().with_handshake_timeout(Duration::from_secs(3));
    let err = CodexAgent::from_streams(reader, writer, options).await.unwrap_err();
    assert!(matches!(err, CodexError::Timeout { method: "initialize", .. }), "{err}");
    assert!(err.to_string().contains("3s"), "{err}");
}

#[tokio::test]
async fn a_turn_with_an_approval_goes_through_the_driver() {
    let (agent, mut server) = connected(options()).await;
    next(&agent).await; // session_configured
    next(&agent).await; // the config warning

    let submission = Submission::new("t-1", Op::user_text("run it"))
        .with_trace(Some(W3cTraceContext::from_traceparent(TRACEPARENT)));
    agent.submit(submission).await.unwrap();
    let start = server.recv().await;
    assert_eq!(start["method"], "turn/start");
    assert_eq!(start["params"]["threadId"], "th-1");
    assert_eq!(start["trace"]["traceparent"], TRACEPARENT);
    server
        .send(
            json!({"id": start["id"], "result": {"turn": {"id": "ct-1", "status": "inProgress"}}}),
        )
        .await;
    server.send(json!({"method": "turn/started", "params": {"threadId": "th-1", "turn": {"id": "ct-1"}}})).await;
    assert_eq!(next(&agent).await.msg.kind(), "task_started");

    server
        .send(json!({"id": 0, "method": "item/commandExecution/requestApproval", "params": {
            "threadId": "th-1", "turnId": "ct-1", "itemId": "call-1", "startedAtMs": 1,
            "command": "/bin/bash -lc 'touch a.txt'", "cwd": "/repo"}}))
        .await;
    let event = next(&agent).await;
    assert_eq!(event.id, "t-1");
    let EventMsg::ExecApprovalRequest(request) = event.msg else { panic!() };
    assert_eq!(request.command, ["/bin/bash", "-lc", "touch a.txt"]);
    let answer = Op::ExecApproval {
        id: request.call_id,
        turn_id: Some(event.id),
        decision: Decision::Denied,
    };
    agent.submit(Submission::new("a-1", answer)).await.unwrap();
    assert_eq!(server.recv().await, json!({"id": 0, "result": {"decision": "decline"}}));

    // A stray non-JSON line is a warning; the stream goes on.
    server.send_raw("not json\n").await;
    let EventMsg::Warning(w) = next(&agent).await.msg else { panic!() };
    assert!(w.message.contains("was skipped") && w.message.contains("not json"), "{}", w.message);

    server
        .send(json!({"method": "item/completed", "params": {"turnId": "ct-1",
        "item": {"type": "agentMessage", "id": "m", "text": "did not run it"}}}))
        .await;
    server.send(json!({"method": "turn/completed", "params": {"turn": {"id": "ct-1", "status": "completed"}}})).await;
    assert_eq!(next_mapped(&agent).await.msg.kind(), "agent_message");
    let done = next_mapped(&agent).await;
    assert_eq!((done.id.as_str(), done.msg.kind()), ("t-1", "task_complete"));
    assert_eq!(*agent.status().borrow(), AgentStatus::Completed(Some("did not run it".into())));
}

#[tokio::test]
async fn shutdown_closes_stdin_and_ends_with_shutdown_complete() {
    let (agent, mut server) = connected(options()).await;
    agent.submit(Submission::new("bye", Op::Shutdown)).await.unwrap();
    assert!(server.closed().await, "stdin is closed");
    // What the server still says before it goes is passed on; then its end.
    server.send(json!({"method": "warning", "params": {"message": "bye"}})).await;
    server.writer = None;
    let mut kinds = Vec::new();
    while let Some(event) = tokio::time::timeout(WAIT, agent.next_event()).await.unwrap() {
        kinds.push(format!("{}:{}", event.id, event.msg.kind()));
    }
    assert_eq!(kinds, [":session_configured", ":warning", ":warning", "bye:shutdown_complete"]);
    assert_eq!(*agent.status().borrow(), AgentStatus::Shutdown);
    let err = agent.submit(Submission::new("late", Op::user_text("x"))).await.unwrap_err();
    assert!(err.to_string().contains("shutdown"), "{err}");
}

#[tokio::test]
async fn shutdown_does_not_wait_past_the_grace_for_a_server_that_stays() {
    let (agent, mut server) = connected(options()).await;
    agent.submit(Submission::new("bye", Op::Shutdown)).await.unwrap();
    assert!(server.closed().await);
    // The server keeps its output open: shutdown still completes after the 200 ms grace.
    let started = std::time::Instant::now();
    loop {
        let event = next(&agent).await;
        if event.msg == EventMsg::ShutdownComplete {
            break;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(tokio::time::timeout(WAIT, agent.next_event()).await.unwrap().is_none());
}

#[tokio::test]
async fn an_app_server_that_dies_mid_turn_yields_an_error_and_the_end() {
    let (agent, mut server) = connected(options()).await;
    agent.submit(Submission::new("t-1", Op::user_text("go"))).await.unwrap();
    let start = server.recv().await;
    server.send(json!({"id": start["id"], "result": {"turn": {"id": "ct-1"}}})).await;
    server.writer = None;
    let mut last = None;
    while let Some(event) = tokio::time::timeout(WAIT, agent.next_event()).await.unwrap() {
        last = Some(event);
    }
    let last = last.unwrap();
    assert_eq!(last.id, "t-1");
    let EventMsg::Error(error) = last.msg else { panic!("{last:?}") };
    assert!(error.message.contains("exited unexpectedly"), "{}", error.message);
    assert!(error.message.contains("t-1"), "{}", error.message);
    assert!(matches!(*agent.status().borrow(), AgentStatus::Errored(_)));
    assert!(agent.submit(Submission::new("x", Op::Interrupt)).await.is_err());
}

#[tokio::test]
async fn an_oversized_line_is_skipped_with_a_warning() {
    let mut options = options();
    options.max_line_bytes = 1024;
    let (agent, mut server) = connected(options).await;
    next(&agent).await;
    next(&agent).await;
    server.send_raw(&format!("{}\n", "x".repeat(4096))).await;
    server.send(json!({"method": "warning", "params": {"message": "after"}})).await;
    let EventMsg::Warning(w) = next(&agent).await.msg else { panic!() };
    assert!(w.message.contains("4096 bytes long"), "{}", w.message);
    assert_eq!(next(&agent).await.msg, EventMsg::warning("after"));
}

#[tokio::test]
async fn dropping_the_handle_stops_the_driver_and_closes_stdin() {
    let (agent, mut server) = connected(options()).await;
    drop(agent);
    assert!(server.closed().await);
}
