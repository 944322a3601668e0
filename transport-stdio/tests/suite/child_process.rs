//! Tier 3: real child processes — the `delegate-fake-agent` binary — with fault injection.
//! Every test ends by checking the process table: the child reaped, its process group empty.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;
use std::time::Instant;

use delegate_core::Agent;
use delegate_protocol::AgentStatus;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_protocol::W3cTraceContext;
use delegate_transport_stdio::ChildProcessAgent;
use delegate_transport_stdio::StderrMode;
use delegate_transport_stdio::TransportError;
use pretty_assertions::assert_eq;

use super::support::STEP;
use super::support::assert_no_leftovers;
use super::support::drain;
use super::support::errors;
use super::support::events_until;
use super::support::eventually;
use super::support::eventually_blocking;
use super::support::fake_agent;
use super::support::final_status;
use super::support::group_members;
use super::support::is_gone;
use super::support::messages;
use super::support::proc_stat;
use super::support::temp_path;
use super::support::warnings;
use super::support::within;
use super::support::within_for;

fn turn(id: &str, text: &str) -> Submission {
    Submission::new(id, Op::user_text(text))
}

fn ends_turn(msg: &EventMsg) -> bool {
    msg.ends_turn()
}

#[tokio::test]
async fn a_normal_turn_then_shutdown_reports_every_status_and_leaves_nothing() {
    let agent = fake_agent("turn").spawn().unwrap();
    let pid = agent.pid();
    let mut status = agent.status();
    assert_eq!(*status.borrow_and_update(), AgentStatus::PendingInit);

    let first = within("session_configured", agent.next_event()).await.unwrap();
    assert!(matches!(first.msg, EventMsg::SessionConfigured(_)), "{first:?}");
    assert_eq!(*status.borrow_and_update(), AgentStatus::Running);

    within("a submission", agent.submit(turn("t1", "hello"))).await.unwrap();
    let events = events_until(&agent, ends_turn).await;
    assert_eq!(messages(&events), ["echo: hello"]);
    assert!(events.iter().all(|e| e.id == "t1"));
    assert_eq!(*status.borrow_and_update(), AgentStatus::Completed(Some("echo: hello".into())));

    let exit = within("shutdown", agent.shutdown()).await.unwrap();
    assert_eq!(exit.code(), Some(0));
    let rest = drain(&agent).await;
    let kinds: Vec<&str> = rest.iter().map(|e| e.msg.kind()).collect();
    assert_eq!(kinds, ["shutdown_complete"]);
    assert_eq!(rest[0].id, "shutdown");
    assert_eq!(final_status(&agent).await, AgentStatus::Shutdown);
    assert!(within("the end", agent.next_event()).await.is_none(), "the stream stays ended");
    assert_no_leftovers(pid).await;
}

#[tokio::test]
async fn an_interrupt_reports_interrupted() {
    let agent = fake_agent("turn").spawn().unwrap();
    within("a submission", agent.submit(Submission::new("i1", Op::Interrupt))).await.unwrap();
    let events = events_until(&agent, ends_turn).await;
    assert!(matches!(events.last().unwrap().msg, EventMsg::TurnAborted(_)));
    assert_eq!(*agent.status().borrow(), AgentStatus::Interrupted);
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_crash_mid_turn_ends_the_stream_with_an_error_naming_the_exit_code() {
    let agent = fake_agent("crash").arg("3").spawn().unwrap();
    let pid = agent.pid();
    within("a submission", agent.submit(turn("t1", "go"))).await.unwrap();
    let events = drain(&agent).await;
    let last = events.last().unwrap();
    assert_eq!(last.id, "t1");
    let EventMsg::Error(error) = &last.msg else { panic!("last event {last:?}") };
    assert_eq!(error.message, "sub-agent exited with code 3 mid-turn (turn t1)");
    assert!(events.iter().any(|e| matches!(&e.msg, EventMsg::AgentMessageDelta(_))), "{events:?}");
    let status = final_status(&agent).await;
    assert_eq!(
        status,
        AgentStatus::Errored("sub-agent exited with code 3 mid-turn (turn t1)".into())
    );
    assert_eq!(agent.try_exit_status().and_then(|s| s.code()), Some(3));
    assert_no_leftovers(pid).await;
}

#[tokio::test]
async fn a_child_killed_by_a_signal_mid_turn_is_reported_with_the_signal() {
    let agent = fake_agent("crash-signal").spawn().unwrap();
    within("a submission", agent.submit(turn("t9", "go"))).await.unwrap();
    let events = drain(&agent).await;
    assert_eq!(errors(&events), ["sub-agent was killed by signal 9 (SIGKILL) mid-turn (turn t9)"]);
    assert!(matches!(final_status(&agent).await, AgentStatus::Errored(m) if m.contains("SIGKILL")));
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_child_that_exits_between_turns_with_a_failure_code_is_an_error() {
    let agent = fake_agent("exit").arg("7").spawn().unwrap();
    let events = drain(&agent).await;
    assert_eq!(errors(&events), ["sub-agent exited with code 7 unexpectedly"]);
    assert_eq!(
        final_status(&agent).await,
        AgentStatus::Errored("sub-agent exited with code 7 unexpectedly".into())
    );
    let err = within("a submission", agent.submit(turn("late", "anyone?"))).await.unwrap_err();
    assert!(err.to_string().contains("exited with code 7"), "{err}");
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_child_that_ignores_shutdown_and_sigterm_is_killed_within_the_bounds() {
    let agent = fake_agent("ignore-shutdown").spawn().unwrap();
    let pid = agent.pid();
    within("session_configured", agent.next_event()).await.unwrap();
    let started = Instant::now();
    let exit = within("shutdown", agent.shutdown()).await.unwrap();
    let took = started.elapsed();
    assert_eq!(exit.signal(), Some(9), "{exit:?}");
    assert!(took >= STEP * 2, "SIGKILL came after {took:?}, before grace + term grace");
    assert!(took < STEP * 3 + Duration::from_millis(1500), "shutdown took {took:?}");
    let events = drain(&agent).await;
    assert_eq!(
        warnings(&events),
        ["sub-agent did not exit within 200ms of shutdown; its process group got SIGKILL"]
    );
    assert!(errors(&events).is_empty(), "a requested kill is not an error: {events:?}");
    assert_eq!(final_status(&agent).await, AgentStatus::Shutdown);
    assert_no_leftovers(pid).await;
}

#[tokio::test]
async fn a_shutdown_op_through_submit_arms_the_bounded_stop_sequence() {
    let agent = fake_agent("ignore-shutdown").spawn().unwrap();
    within("a submission", agent.submit(Submission::new("bye", Op::Shutdown))).await.unwrap();
    // Nobody calls `shutdown()`: the op alone must end the process.
    let exit = within("the child to be stopped", agent.wait()).await.unwrap();
    assert_eq!(exit.signal(), Some(9));
    assert_eq!(final_status(&agent).await, AgentStatus::Shutdown);
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_flood_of_a_million_events_arrives_complete_and_in_order() {
    const COUNT: u64 = 1_000_000;
    let agent = fake_agent("flood").arg(COUNT.to_string()).spawn().unwrap();
    within("a submission", agent.submit(turn("f", "go"))).await.unwrap();
    // A million decodes take seconds in an unoptimised test build on a busy machine.
    let counted = within_for(Duration::from_secs(25), "the flood", async {
        let mut deltas = 0u64;
        loop {
            let event = agent.next_event().await.expect("the stream ended early");
            match event.msg {
                EventMsg::AgentMessageDelta(_) => deltas += 1,
                EventMsg::TaskComplete(done) => {
                    assert_eq!(done.last_agent_message, Some(format!("flooded {COUNT}")));
                    return deltas;
                }
                EventMsg::TaskStarted(_) | EventMsg::SessionConfigured(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(counted, COUNT);
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_child_flooding_a_consumer_that_stops_reading_still_shuts_down() {
    let agent = fake_agent("flood").arg("1000000").spawn().unwrap();
    within("a submission", agent.submit(turn("f", "go"))).await.unwrap();
    // Read a few, then stop: the child blocks on its full stdout.
    for _ in 0..10 {
        within("an event", agent.next_event()).await.unwrap();
    }
    let exit = within("shutdown", agent.shutdown()).await.unwrap();
    assert!(exit.signal().is_some() || exit.code().is_some());
    assert!(final_status(&agent).await.is_final());
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn garbage_oversized_and_invalid_utf8_lines_become_warnings_and_the_turn_goes_on() {
    let agent =
        fake_agent("garbage").arg((2 << 20).to_string()).max_line_len(1 << 20).spawn().unwrap();
    within("a submission", agent.submit(turn("g", "go"))).await.unwrap();
    let events = events_until(&agent, ends_turn).await;
    assert_eq!(
        messages(&events),
        ["after malformed", "after oversized", "after invalid utf-8", "after missing field"]
    );
    let warnings = warnings(&events);
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    assert!(warnings[0].starts_with("line 3 of the event stream was skipped: event is invalid"));
    assert!(warnings[1].starts_with("line 5 of the event stream was skipped: it is 2097206 bytes long, more than the limit of 1048576 bytes"), "{}", warnings[1]);
    assert!(
        warnings[2].starts_with("line 7 of the event stream was skipped: it is not valid UTF-8")
    );
    assert!(warnings[3].starts_with("line 11 of the event stream was skipped"), "{}", warnings[3]);
    assert!(warnings[3].contains("missing field `message`"));
    // Warnings about a turn's lines carry the turn's id.
    assert!(events.iter().filter(|e| e.msg.kind() == "warning").all(|e| e.id == "g"));
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_eq!(final_status(&agent).await, AgentStatus::Shutdown);
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_child_that_closes_stdout_but_stays_alive_is_stopped_and_reported() {
    let agent = fake_agent("close-stdout").spawn().unwrap();
    let started = Instant::now();
    let events = drain(&agent).await;
    assert!(matches!(events[0].msg, EventMsg::SessionConfigured(_)));
    assert_eq!(
        errors(&events),
        [
            "sub-agent closed its stdout but kept running; it was stopped and was killed by signal 15 (SIGTERM)"
        ]
    );
    assert!(started.elapsed() < STEP * 3 + Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(
        final_status(&agent).await,
        AgentStatus::Errored("closed its stdout while still running".into())
    );
    assert_eq!(agent.try_exit_status().and_then(|s| s.signal()), Some(15));
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_grandchild_holding_stdout_is_gone_after_shutdown() {
    let agent = fake_agent("grandchild").spawn().unwrap();
    let pid = agent.pid();
    let report = within("the grandchild's pid", agent.next_event()).await.unwrap();
    let EventMsg::AgentMessage(report) = report.msg else { panic!("{report:?}") };
    let grandchild: i32 = report.message.strip_prefix("grandchild ").unwrap().parse().unwrap();
    let stat = proc_stat(grandchild).expect("the grandchild runs");
    assert_eq!(stat.pgid, pid as i32, "the grandchild is in the child's process group");
    assert_ne!(stat.state, 'Z');

    within("a submission", agent.submit(turn("t1", "hi"))).await.unwrap();
    events_until(&agent, ends_turn).await;
    let exit = within("shutdown", agent.shutdown()).await.unwrap();
    assert_eq!(exit.code(), Some(0), "the child itself exits cleanly");
    eventually("the grandchild to be gone", || is_gone(grandchild)).await;
    drain(&agent).await;
    assert_eq!(final_status(&agent).await, AgentStatus::Shutdown);
    assert_no_leftovers(pid).await;
}

#[tokio::test]
async fn a_grandchild_is_cleared_when_the_child_crashes() {
    let agent = fake_agent("grandchild").spawn().unwrap();
    let report = within("the grandchild's pid", agent.next_event()).await.unwrap();
    let EventMsg::AgentMessage(report) = report.msg else { panic!("{report:?}") };
    let grandchild: i32 = report.message.strip_prefix("grandchild ").unwrap().parse().unwrap();
    // Kill only the child: its grandchild still holds stdout, yet the stream must end.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(agent.pid() as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let events = drain(&agent).await;
    assert_eq!(errors(&events), ["sub-agent was killed by signal 9 (SIGKILL) unexpectedly"]);
    eventually("the grandchild to be gone", || is_gone(grandchild)).await;
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn stderr_can_be_captured_to_a_file() {
    let log = temp_path("stderr.log");
    let _ = std::fs::remove_file(&log);
    let agent = fake_agent("stderr").stderr(StderrMode::File(log.clone())).spawn().unwrap();
    within("session_configured", agent.next_event()).await.unwrap();
    within("shutdown", agent.shutdown()).await.unwrap();
    let captured = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    assert_eq!(captured, "fake-agent: this line goes to stderr\n");
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn an_unopenable_stderr_file_is_an_error_naming_it() {
    let err = fake_agent("turn")
        .stderr(StderrMode::File("/nonexistent-dir/x.log".into()))
        .spawn()
        .unwrap_err();
    assert!(matches!(err, TransportError::StderrLog { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent-dir/x.log"), "{err}");
}

/// The `env` mode's report: (cwd, environment).
async fn env_report(
    agent: &ChildProcessAgent,
) -> (String, serde_json::Map<String, serde_json::Value>) {
    let mut events = Vec::new();
    while let Some(event) = within("the env report", agent.next_event()).await {
        let EventMsg::AgentMessage(message) = &event.msg else {
            events.push(event);
            continue;
        };
        let report: serde_json::Value = serde_json::from_str(&message.message).unwrap();
        let cwd = report["cwd"].as_str().unwrap().to_string();
        let env = report["env"].as_object().unwrap().clone();
        return (cwd, env);
    }
    panic!("no env report; got {events:?}")
}

#[tokio::test]
async fn a_cleared_environment_holds_only_the_extra_variables_and_the_traceparent() {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let agent = fake_agent("env")
        .env_clear()
        .env("DELEGATE_TEST", "yes")
        .current_dir(&dir)
        .trace_context(Some(W3cTraceContext {
            traceparent: Some(traceparent.into()),
            tracestate: Some("vendor=1".into()),
        }))
        .spawn()
        .unwrap();
    let (cwd, env) = env_report(&agent).await;
    assert_eq!(cwd, dir.to_str().unwrap());
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(names, ["DELEGATE_TEST", "TRACEPARENT", "TRACESTATE"]);
    assert_eq!(env["TRACEPARENT"], traceparent);
    assert_eq!(env["TRACESTATE"], "vendor=1");
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn an_allow_list_passes_only_the_listed_variables() {
    assert!(std::env::var_os("PATH").is_some(), "the test needs PATH set");
    let agent = fake_agent("env").env_allow(["PATH", "DELEGATE_SURELY_UNSET"]).spawn().unwrap();
    let (_, env) = env_report(&agent).await;
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(names, ["PATH"]);
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn a_malformed_traceparent_is_dropped_with_a_warning() {
    let agent = fake_agent("env")
        .env_clear()
        .trace_context(Some(W3cTraceContext::from_traceparent("00-zz-bad")))
        .spawn()
        .unwrap();
    let first = within("the first event", agent.next_event()).await.unwrap();
    let EventMsg::Warning(warning) = first.msg else { panic!("{first:?}") };
    assert!(
        warning.message.starts_with("trace context not passed to the sub-agent"),
        "{warning:?}"
    );
    let (_, env) = env_report(&agent).await;
    assert!(env.is_empty(), "{env:?}");
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn arguments_are_never_interpreted_by_a_shell() {
    let agent = fake_agent("turn").spawn().unwrap();
    within("session_configured", agent.next_event()).await.unwrap();
    within("shutdown", agent.shutdown()).await.unwrap();
    // A program name with shell syntax is looked up literally, and so fails to start.
    let err = ChildProcessAgent::builder("true; echo pwned").spawn().unwrap_err();
    let TransportError::Spawn { program, .. } = &err else { panic!("{err}") };
    assert_eq!(program, "true; echo pwned");
    assert!(err.to_string().starts_with("could not start \"true; echo pwned\""), "{err}");
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn dropping_the_agent_kills_its_process_group() {
    let agent = fake_agent("grandchild").spawn().unwrap();
    let pid = agent.pid();
    let report = within("the grandchild's pid", agent.next_event()).await.unwrap();
    let EventMsg::AgentMessage(report) = report.msg else { panic!("{report:?}") };
    let grandchild: i32 = report.message.strip_prefix("grandchild ").unwrap().parse().unwrap();
    drop(agent);
    eventually("the grandchild to be gone", || is_gone(grandchild)).await;
    assert_no_leftovers(pid).await;
}

#[test]
fn dropping_the_agent_after_its_runtime_is_gone_still_kills_and_reaps_it() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let agent = runtime.block_on(async {
        let agent = fake_agent("ignore-shutdown").spawn().unwrap();
        within("session_configured", agent.next_event()).await.unwrap();
        agent
    });
    let pid = agent.pid() as i32;
    drop(runtime);
    assert!(proc_stat(pid).is_some_and(|s| s.state != 'Z'), "the child outlives the runtime");
    drop(agent);
    eventually_blocking("the child to be reaped", || proc_stat(pid).is_none());
    eventually_blocking("its group to be empty", || group_members(pid).is_empty());
}

#[tokio::test]
async fn submitting_to_a_child_that_is_gone_fails_with_its_exit_status() {
    let agent = fake_agent("turn").spawn().unwrap();
    within("shutdown", agent.shutdown()).await.unwrap();
    let err = within("a submission", agent.submit(turn("late", "hello?"))).await.unwrap_err();
    assert!(err.to_string().contains("exited with code 0"), "{err}");
    // A second shutdown returns the same status at once.
    let again = within("a second shutdown", agent.shutdown()).await.unwrap();
    assert_eq!(again.code(), Some(0));
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn an_in_process_agent_served_on_stdio_works_as_a_child_process() {
    let agent = fake_agent("serve").spawn().unwrap();
    within("a submission", agent.submit(Submission::new("t1", Op::user_text("served"))))
        .await
        .unwrap();
    let events = events_until(&agent, ends_turn).await;
    assert_eq!(messages(&events), ["echo: served"]);
    // A bad line reaches the server, which answers with a warning and goes on.
    let exit = within("shutdown", agent.shutdown()).await.unwrap();
    assert_eq!(exit.code(), Some(0));
    let rest = drain(&agent).await;
    assert!(matches!(rest.last().unwrap().msg, EventMsg::ShutdownComplete), "{rest:?}");
    assert_eq!(final_status(&agent).await, AgentStatus::Shutdown);
    assert_no_leftovers(agent.pid()).await;
}

/// Start the fake agent in `serve` mode as a plain process, outside the transport.
fn raw_served_child() -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_delegate-fake-agent"))
        .arg("serve")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait (bounded) for a plain child to exit; kill it if it does not.
fn wait_bounded(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

#[test]
fn a_served_agent_shuts_down_when_its_stdin_closes() {
    use std::io::Read;
    let mut child = raw_served_child();
    drop(child.stdin.take());
    let mut output = String::new();
    child.stdout.take().unwrap().read_to_string(&mut output).unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    assert_eq!(output, "{\"id\":\"shutdown\",\"msg\":{\"type\":\"shutdown_complete\"}}\n");
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

#[test]
fn a_served_agent_exits_after_shutdown_even_if_its_stdin_stays_open() {
    use std::io::BufRead;
    use std::io::Write;
    let mut child = raw_served_child();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"{\"id\":\"s\",\"op\":{\"type\":\"shutdown\"}}\n").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("shutdown_complete"), "{line}");
    // stdin is still open here: the stdin reader must not keep the runtime alive.
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    drop(stdin);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "the served agent hung on its open stdin");
}

#[tokio::test]
async fn approvals_round_trip_over_stdio() {
    let agent = fake_agent("approvals").spawn().unwrap();
    within("a submission", agent.submit(turn("a", "3"))).await.unwrap();
    let mut answered = 0;
    within("three approvals", async {
        while let Some(event) = agent.next_event().await {
            match event.msg {
                EventMsg::ExecApprovalRequest(request) => {
                    let answer = Op::ExecApproval {
                        id: request.effective_approval_id().to_string(),
                        turn_id: Some(event.id.clone()),
                        decision: delegate_protocol::Decision::Approved,
                    };
                    within("a submission", agent.submit(Submission::new("answer", answer)))
                        .await
                        .unwrap();
                    answered += 1;
                }
                EventMsg::TaskComplete(done) => {
                    assert_eq!(done.last_agent_message.as_deref(), Some("3 approvals"));
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(answered, 3);
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}

#[tokio::test]
async fn many_agents_started_and_dropped_leave_no_process_behind() {
    let mut pids = Vec::new();
    for mode in ["turn", "ignore-shutdown", "grandchild", "close-stdout", "sleep"] {
        let agent = fake_agent(mode).spawn().unwrap();
        pids.push(agent.pid());
        drop(agent);
    }
    for pid in pids {
        assert_no_leftovers(pid).await;
    }
    // And no child of this test process is a zombie of ours.
    let me = std::process::id() as i32;
    eventually("no zombie children", || {
        std::fs::read_dir("/proc").unwrap().flatten().all(|e| {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                return true;
            };
            proc_stat(pid).is_none_or(|s| !(s.ppid == me && s.state == 'Z'))
        })
    })
    .await;
}

#[tokio::test]
async fn try_next_event_returns_ready_events_without_waiting() {
    let idle = fake_agent("sleep").spawn().unwrap();
    assert!(idle.try_next_event().is_none(), "a silent child has nothing ready");
    let idle_pid = idle.pid();
    drop(idle);
    assert_no_leftovers(idle_pid).await;

    let agent = fake_agent("flood").arg("1000").spawn().unwrap();
    within("a submission", agent.submit(turn("f", "go"))).await.unwrap();
    within("a first event", agent.next_event()).await.unwrap();
    let mut ready = 0;
    eventually("events to be ready", || {
        while agent.try_next_event().is_some() {
            ready += 1;
        }
        ready > 0
    })
    .await;
    within("shutdown", agent.shutdown()).await.unwrap();
    assert_no_leftovers(agent.pid()).await;
}
