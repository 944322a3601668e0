//! `delegate exec` and `delegate run` with the demo agent and with misbehaving agents.

use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use delegate_protocol::Event;
use delegate_protocol::EventMsg;

use super::support::*;

fn events(stdout: &str) -> Vec<Event> {
    stdout
        .lines()
        .map(|line| {
            Event::from_json_slice(line.as_bytes())
                .unwrap_or_else(|e| panic!("not an event line: {line:?}: {e}"))
        })
        .collect()
}

#[test]
fn exec_with_the_demo_agent_prints_the_answer() {
    let dir = temp_dir("plain");
    let out = run(&dir, &["exec", "hello there"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "You said: hello there");
    assert!(out.stderr.contains("turn complete"), "{out:?}");
}

#[test]
fn exec_json_emits_only_events_and_denies_without_a_terminal() {
    let dir = temp_dir("json");
    let out = run(
        &dir,
        &["exec", "--json", "run: git status\nedit: notes.txt\nask: which branch?\nnet:"],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let events = events(&out.stdout);
    let decided: Vec<(String, String, String)> = events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::ApprovalDecided(d) => {
                Some((d.kind.to_string(), d.decision.to_string(), d.decided_by.to_string()))
            }
            _ => None,
        })
        .collect();
    let kinds: Vec<&str> = decided.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(kinds, ["exec", "patch", "user_input", "permissions"]);
    assert!(decided.iter().all(|d| d.1 == "denied" && d.2 == "policy:no_terminal"), "{decided:?}");
    // Raw requests never reach the output.
    assert!(!out.stdout.contains("exec_approval_request"));
    assert!(
        matches!(events.last().map(|e| &e.msg), Some(EventMsg::ShutdownComplete)),
        "{:?}",
        events.last()
    );
    assert!(events.iter().any(|e| matches!(&e.msg, EventMsg::TaskComplete(t) if t.last_agent_message.as_deref().is_some_and(|m| m.contains("denied")))));
    // The reason for each denial is on stderr, not in the JSON stream.
    assert_eq!(out.stderr.matches("stdin is not a terminal").count(), 4, "{}", out.stderr);
}

#[test]
fn the_interactive_prompt_approves_through_a_real_terminal() {
    let dir = temp_dir("pty-approve");
    let out = run_in_pty(&dir, &["exec", "run: make test"], &["y"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("run `make test`"), "{}", out.stdout);
    assert!(out.stdout.contains("exec call-1: approved (decided by user)"), "{}", out.stdout);
    assert!(out.stdout.contains("run `make test`: approved"), "{}", out.stdout);
}

#[test]
fn answering_abort_at_the_prompt_aborts_the_turn_with_status_3() {
    let dir = temp_dir("pty-abort");
    let out = run_in_pty(&dir, &["exec", "run: rm -rf build"], &["a"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("turn aborted"), "{}", out.stdout);
}

#[test]
fn a_question_is_answered_at_the_prompt() {
    let dir = temp_dir("pty-ask");
    let out = run_in_pty(&dir, &["exec", "--json", "ask: which branch?"], &["main"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(r#"the answer was \"main\""#), "{}", out.stdout);
}

#[test]
fn an_agent_command_that_does_not_exist_is_a_usage_error() {
    let dir = temp_dir("missing");
    let out = run(&dir, &["exec", "hi", "--", "no-such-agent-binary-xyz"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no-such-agent-binary-xyz"), "{}", out.stderr);
}

#[test]
fn an_agent_that_dies_mid_turn_fails_with_status_1() {
    let dir = temp_dir("dies");
    let out = run(&dir, &["exec", "hi", "--", "sh", "-c", "read line; exit 3"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
    assert!(out.stderr.contains('3'), "the exit code is named: {}", out.stderr);
}

#[test]
fn timeout_stops_a_hanging_agent_with_status_124() {
    let dir = temp_dir("timeout");
    let marker = format!("delegate-timeout-marker-{}", std::process::id());
    let script = format!("cat > /dev/null # {marker}");
    let out = run(&dir, &["exec", "--timeout", "1s", "hi", "--", "sh", "-c", &script], "");
    assert_eq!(out.code, 124, "{out:?}");
    assert!(out.took < Duration::from_secs(8), "took {:?}", out.took);
    assert!(processes_with(&marker).is_empty(), "the agent outlived delegate");
}

/// Start `delegate exec` with an agent that ignores SIGINT and SIGTERM and never answers, and
/// wait until the agent runs. Returns `delegate`, the marker in the agent's command line, and
/// when it started.
fn exec_with_a_hanging_agent(name: &str) -> (std::process::Child, String, Instant) {
    let dir = temp_dir(name);
    let marker = format!("delegate-{name}-marker-{}", std::process::id());
    let script = format!("trap '' INT TERM; cat > /dev/null # {marker}");
    let started = Instant::now();
    let child = Command::new(delegate_bin())
        .args(["exec", "hi", "--", "sh", "-c", &script])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let up = Instant::now();
    while agents_with(&marker).is_empty() {
        assert!(up.elapsed() < Duration::from_secs(5), "the agent never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, marker, started)
}

#[test]
fn ctrl_c_twice_shuts_down_a_hanging_agent_with_status_130() {
    let (child, marker, started) = exec_with_a_hanging_agent("sigint");
    let pid = child.id();
    signal(pid, "INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(pid, "INT");
    let out = wait(child, started);
    assert_eq!(out.code, 130, "{out:?}");
    assert!(out.stderr.contains("interrupting the turn"), "{}", out.stderr);
    assert!(processes_with(&marker).is_empty(), "the agent outlived delegate");
}

#[test]
fn ctrl_c_during_a_prompt_interrupts_the_turn() {
    let dir = temp_dir("sigint-demo");
    let started = Instant::now();
    // In a terminal, so the demo agent's request waits at the prompt.
    let line = format!("'{}' exec 'ask: are you there?'", delegate_bin());
    let child = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &line, "/dev/null"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let script_pid = child.id();
    std::thread::sleep(Duration::from_millis(800));
    // `delegate` is the child of `script`; interrupt it directly.
    let delegate_pid = processes_with("are you there?")
        .into_iter()
        .find(|p| {
            *p != script_pid
                && std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "delegate")
        })
        .expect("delegate is running");
    signal(delegate_pid, "INT");
    let out = wait(child, started);
    assert_eq!(out.code, 130, "{out:?}");
    assert!(out.stdout.contains("turn aborted"), "{}", out.stdout);
}

#[test]
fn record_writes_every_submission_and_event_with_timestamps() {
    let dir = temp_dir("record");
    let transcript = dir.join("session.jsonl");
    let out = run(&dir, &["exec", "--record", transcript.to_str().unwrap(), "run: ls"], "");
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&transcript).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        lines.iter().all(|l| l["at"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24))
    );
    let submissions: Vec<&str> =
        lines.iter().filter_map(|l| l["submission"]["op"]["type"].as_str()).collect();
    assert_eq!(submissions[0], "user_input");
    assert!(submissions.contains(&"exec_approval"));
    assert!(submissions.contains(&"shutdown"));
    let events: Vec<&str> =
        lines.iter().filter_map(|l| l["event"]["msg"]["type"].as_str()).collect();
    // The transcript has what crossed the wire, including what the caller never sees.
    assert!(events.contains(&"exec_approval_request"));
    assert!(events.contains(&"agent_message_delta"));
    assert!(events.contains(&"task_complete"));
}

#[test]
fn the_trace_parent_reaches_every_submission() {
    let dir = temp_dir("trace");
    let transcript = dir.join("t.jsonl");
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let out = run(
        &dir,
        &["exec", "--trace-parent", parent, "--record", transcript.to_str().unwrap(), "run: ls"],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&transcript).unwrap();
    for line in text.lines().filter(|l| l.contains("\"submission\"")) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let tp = v["submission"]["trace"]["traceparent"]
            .as_str()
            .unwrap_or_else(|| panic!("no trace: {line}"));
        assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{tp}");
    }
}

#[test]
fn a_malformed_trace_parent_is_dropped_with_a_warning() {
    let dir = temp_dir("badtrace");
    let out = run(&dir, &["exec", "--trace-parent", "garbage", "hi"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("ignoring --trace-parent"), "{}", out.stderr);
}

#[test]
fn run_takes_one_turn_per_line() {
    let dir = temp_dir("run");
    let out = run(&dir, &["run", "--json"], "first\nsecond\n");
    assert_eq!(out.code, 0, "{out:?}");
    let messages: Vec<String> = events(&out.stdout)
        .into_iter()
        .filter_map(|e| match e.msg {
            EventMsg::AgentMessage(m) => Some(m.message),
            _ => None,
        })
        .collect();
    assert_eq!(messages, ["You said: first", "You said: second"]);
}

#[test]
fn bad_usage_exits_2() {
    let dir = temp_dir("usage");
    let out = run(&dir, &["exec"], "");
    assert_eq!(out.code, 2, "{out:?}");
    let out = run(&dir, &["exec", "--timeout", "soon", "hi"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not a duration"), "{}", out.stderr);
}

#[test]
fn help_lists_the_subcommands_and_examples() {
    let dir = temp_dir("help");
    let out = run(&dir, &["--help"], "");
    assert_eq!(out.code, 0);
    for needle in ["exec", "run", "demo-agent", "policy", "Examples:", "Exit status"] {
        assert!(out.stdout.contains(needle), "--help lacks {needle:?}");
    }
}

#[test]
fn sigterm_shuts_the_agent_down_before_delegate_exits() {
    let (child, marker, started) = exec_with_a_hanging_agent("sigterm");
    signal(child.id(), "TERM");
    let out = wait(child, started);
    assert_eq!(out.code, 143, "{out:?}");
    assert!(processes_with(&marker).is_empty(), "the agent outlived delegate");
}

#[test]
fn absurd_timeouts_are_usage_errors_not_panics() {
    let dir = temp_dir("bigtimeout");
    for value in ["1e300", "18446744073709551615h", "5000000000000000h", "NaN"] {
        let out = run(&dir, &["exec", "--timeout", value, "hi"], "");
        assert_eq!(out.code, 2, "{value}: {out:?}");
    }
}

#[test]
fn the_demo_agent_refuses_to_edit_a_device() {
    let dir = temp_dir("device");
    let out = run(&dir, &["exec", "edit: /dev/zero"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("not a regular file"), "{}", out.stdout);
}
