//! Tier 2: the server side over in-memory duplex streams, with a scripted agent.

use std::time::Duration;

use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_transport_stdio::JsonLinesReader;
use delegate_transport_stdio::SHUTDOWN_SUBMISSION_ID;
use delegate_transport_stdio::ServeEnd;
use delegate_transport_stdio::ServeOptions;
use delegate_transport_stdio::serve;
use delegate_transport_stdio::serve_with_options;
use pretty_assertions::assert_eq;
use tokio::io::AsyncWriteExt;
use tokio::io::DuplexStream;

use super::support::Script;
use super::support::ScriptedAgent;
use super::support::scripted_agent;
use super::support::within;

/// The parent's ends: where it writes submissions, and where it reads events.
struct Parent {
    input: DuplexStream,
    output: JsonLinesReader<DuplexStream, Event>,
}

impl Parent {
    async fn send_line(&mut self, line: &[u8]) {
        within("writing a line", self.input.write_all(line)).await.unwrap();
        within("writing a newline", self.input.write_all(b"\n")).await.unwrap();
    }

    async fn submit(&mut self, submission: &Submission) {
        self.send_line(&serde_json::to_vec(submission).unwrap()).await;
    }

    async fn next(&mut self) -> Option<Event> {
        within("an event on the output", self.output.next_event()).await.unwrap()
    }
}

/// Serve a scripted agent on in-memory streams; the server runs in its own task.
fn start(
    options: ServeOptions,
) -> (
    Parent,
    Script,
    tokio::task::JoinHandle<Result<ServeEnd, delegate_transport_stdio::TransportError>>,
) {
    let (agent, script) = scripted_agent();
    let (parent_input, server_input) = tokio::io::duplex(1024);
    let (server_output, parent_output) = tokio::io::duplex(1024);
    let server = tokio::spawn(async move {
        let agent: ScriptedAgent = agent;
        serve_with_options(&agent, server_input, server_output, options).await
    });
    let parent = Parent { input: parent_input, output: JsonLinesReader::new(parent_output) };
    (parent, script, server)
}

#[tokio::test]
async fn submissions_reach_the_agent_and_its_events_come_back() {
    let (mut parent, mut script, server) = start(ServeOptions::default());
    let submission = Submission::new("t1", Op::user_text("hello"));
    parent.submit(&submission).await;
    assert_eq!(within("a submission", script.submissions.recv()).await.unwrap(), submission);

    let reply = Event::new("t1", EventMsg::warning("from the agent"));
    within("an event from the script", script.events.send(reply.clone())).await.unwrap();
    assert_eq!(parent.next().await.unwrap(), reply);

    within(
        "an event from the script",
        script.events.send(Event::new("", EventMsg::ShutdownComplete)),
    )
    .await
    .unwrap();
    assert!(matches!(parent.next().await.unwrap().msg, EventMsg::ShutdownComplete));
    assert_eq!(within("the server", server).await.unwrap().unwrap(), ServeEnd::ShutdownComplete);
    assert!(parent.next().await.is_none(), "output is closed after serving");
}

#[tokio::test]
async fn a_bad_input_line_becomes_a_warning_and_serving_goes_on() {
    let (mut parent, mut script, _server) = start(ServeOptions::default());
    parent.send_line(b"{\"id\":\"x\",\"op\":{\"type\":\"launch_rockets\"}}").await;
    parent.submit(&Submission::new("t2", Op::Interrupt)).await;
    let warning = parent.next().await.unwrap();
    let EventMsg::Warning(warning) = warning.msg else { panic!("{warning:?}") };
    assert!(
        warning.message.starts_with("line 1 of the submission stream was skipped"),
        "{warning:?}"
    );
    assert!(warning.message.contains("launch_rockets"), "{warning:?}");
    let next = within("a submission", script.submissions.recv()).await.unwrap();
    assert_eq!(next.id, "t2");
}

#[tokio::test]
async fn an_oversized_input_line_is_skipped_with_a_warning() {
    let (mut parent, mut script, _server) = start(ServeOptions::default().max_line_len(100));
    let long = serde_json::to_vec(&Submission::new("x".repeat(200), Op::Interrupt)).unwrap();
    parent.send_line(&long).await;
    parent.submit(&Submission::new("ok", Op::Interrupt)).await;
    let EventMsg::Warning(warning) = parent.next().await.unwrap().msg else { panic!() };
    assert!(warning.message.contains("more than the limit of 100 bytes"), "{warning:?}");
    assert_eq!(within("a submission", script.submissions.recv()).await.unwrap().id, "ok");
}

#[tokio::test]
async fn everything_before_shutdown_complete_is_flushed_when_serving_ends() {
    let (mut parent, script, server) = start(ServeOptions::default());
    let emitting = tokio::spawn(async move {
        for i in 0..500 {
            within(
                "an event from the script",
                script.events.send(Event::new(format!("e{i}"), EventMsg::warning("x"))),
            )
            .await
            .unwrap();
        }
        within(
            "an event from the script",
            script.events.send(Event::new("", EventMsg::ShutdownComplete)),
        )
        .await
        .unwrap();
        script
    });
    let mut ids = Vec::new();
    while let Some(event) = parent.next().await {
        ids.push(event.id);
    }
    assert_eq!(ids.len(), 501);
    assert!(ids[..500].iter().enumerate().all(|(i, id)| *id == format!("e{i}")));
    assert_eq!(within("the server", server).await.unwrap().unwrap(), ServeEnd::ShutdownComplete);
    drop(within("the emitter", emitting).await.unwrap());
}

#[tokio::test]
async fn input_eof_asks_the_agent_to_shut_down_and_forwards_its_last_events() {
    let (parent, mut script, server) = start(ServeOptions::default());
    let Parent { input, mut output } = parent;
    drop(input);
    let shutdown = within("the implied shutdown", script.submissions.recv()).await.unwrap();
    assert_eq!(shutdown, Submission::new(SHUTDOWN_SUBMISSION_ID, Op::Shutdown));
    within(
        "an event from the script",
        script.events.send(Event::new("shutdown", EventMsg::ShutdownComplete)),
    )
    .await
    .unwrap();
    let last = within("the last event", output.next_event()).await.unwrap().unwrap();
    assert!(matches!(last.msg, EventMsg::ShutdownComplete));
    assert_eq!(within("the server", server).await.unwrap().unwrap(), ServeEnd::ShutdownComplete);
}

#[tokio::test]
async fn an_explicit_shutdown_is_not_sent_twice_at_input_eof() {
    let (mut parent, mut script, server) = start(ServeOptions::default());
    parent.submit(&Submission::new("bye", Op::Shutdown)).await;
    let Parent { input, output: _output } = parent;
    drop(input);
    assert_eq!(within("the shutdown", script.submissions.recv()).await.unwrap().id, "bye");
    within(
        "an event from the script",
        script.events.send(Event::new("bye", EventMsg::ShutdownComplete)),
    )
    .await
    .unwrap();
    within("the server", server).await.unwrap().unwrap();
    assert!(script.submissions.try_recv().is_err(), "no second shutdown");
}

#[tokio::test(start_paused = true)]
async fn serving_stops_after_the_drain_timeout_when_the_agent_never_finishes() {
    let options = ServeOptions::default().drain_timeout(Duration::from_secs(2));
    let (parent, mut script, server) = start(options);
    let Parent { input, mut output } = parent;
    drop(input);
    within("the implied shutdown", script.submissions.recv()).await.unwrap();
    // The agent ignores it.
    assert_eq!(within("the server", server).await.unwrap().unwrap(), ServeEnd::DrainTimedOut);
    let EventMsg::Warning(warning) = output.next_event().await.unwrap().unwrap().msg else {
        panic!()
    };
    assert!(warning.message.contains("did not finish within 2s"), "{warning:?}");
}

#[tokio::test]
async fn a_refused_submission_becomes_an_error_event_with_its_id() {
    let (mut parent, script, _server) = start(ServeOptions::default());
    let Script { submissions, events } = script;
    drop(submissions);
    parent.submit(&Submission::new("lost", Op::Interrupt)).await;
    let event = parent.next().await.unwrap();
    assert_eq!(event.id, "lost");
    let EventMsg::Error(error) = event.msg else { panic!("{event:?}") };
    assert!(error.message.contains("\"lost\" was not delivered"), "{error:?}");
    assert!(error.message.contains("the script stopped"), "{error:?}");
    drop(events);
}

#[tokio::test]
async fn the_end_of_the_agents_events_ends_serving() {
    let (mut parent, script, server) = start(ServeOptions::default());
    drop(script);
    assert_eq!(within("the server", server).await.unwrap().unwrap(), ServeEnd::EventsEnded);
    assert!(parent.next().await.is_none());
}

#[tokio::test]
async fn serve_takes_a_shared_dyn_agent() {
    let (agent, script) = scripted_agent();
    let agent: std::sync::Arc<dyn delegate_core::Agent> = std::sync::Arc::new(agent);
    drop(script);
    let (_input, server_input) = tokio::io::duplex(64);
    let (server_output, _output) = tokio::io::duplex(64);
    let end = within("serve", serve(&*agent, server_input, server_output)).await.unwrap();
    assert_eq!(end, ServeEnd::EventsEnded);
}
