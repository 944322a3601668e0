//! Golden JSON: one file per `Op` and `EventMsg` variant under `tests/golden/`, pinning the wire
//! shapes. Run with `UPDATE_GOLDEN=1` to write files that do not exist yet; a file that exists is
//! never overwritten by the test, so a shape change shows up as a failure to review.

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;

use pretty_assertions::assert_eq;
use serde_json::Value;
use serde_json::json;

use crate::*;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn extra(pairs: &[(&str, Value)]) -> Extra {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// The golden file name for each op; exhaustive so a new variant cannot go unpinned.
fn op_name(op: &Op) -> &'static str {
    match op {
        Op::UserInput { .. } => "op_user_input",
        Op::Interrupt => "op_interrupt",
        Op::Shutdown => "op_shutdown",
        Op::ExecApproval { .. } => "op_exec_approval",
        Op::PatchApproval { .. } => "op_patch_approval",
        Op::UserInputAnswer { .. } => "op_user_input_answer",
        Op::RequestPermissionsResponse { .. } => "op_request_permissions_response",
    }
}

fn sample_submissions() -> Vec<Submission> {
    let mut answers = BTreeMap::new();
    answers.insert("q1".to_string(), UserInputAnswer { answers: vec!["yes".into()] });
    vec![
        Submission {
            id: "turn-1".into(),
            op: Op::UserInput {
                items: vec![InputItem::text("fix the build")],
                final_output_json_schema: Some(json!({"type": "object"})),
            },
            trace: Some(W3cTraceContext {
                traceparent: Some(TRACEPARENT.into()),
                tracestate: Some("vendor=state".into()),
            }),
        },
        Submission::new("int-1", Op::Interrupt),
        Submission::new("shutdown", Op::Shutdown),
        Submission::new(
            "a1",
            Op::ExecApproval {
                id: "approval-1".into(),
                turn_id: Some("turn-1".into()),
                decision: Decision::Approved,
            },
        ),
        Submission::new("a2", Op::PatchApproval { id: "call-2".into(), decision: Decision::Abort }),
        Submission::new(
            "a3",
            Op::UserInputAnswer {
                id: "turn-1".into(),
                response: RequestUserInputResponse { answers },
            },
        ),
        Submission::new(
            "a4",
            Op::RequestPermissionsResponse {
                id: "call-4".into(),
                response: RequestPermissionsResponse {
                    permissions: PermissionProfile {
                        network: Some(NetworkPermissions { enabled: Some(true) }),
                        file_system: None,
                    },
                    scope: PermissionGrantScope::Session,
                },
            },
        ),
    ]
}

fn msg_name(msg: &EventMsg) -> &'static str {
    match msg {
        EventMsg::SessionConfigured(_) => "event_session_configured",
        EventMsg::TaskStarted(_) => "event_task_started",
        EventMsg::TaskComplete(_) => "event_task_complete",
        EventMsg::TurnAborted(_) => "event_turn_aborted",
        EventMsg::ShutdownComplete => "event_shutdown_complete",
        EventMsg::Error(_) => "event_error",
        EventMsg::Warning(_) => "event_warning",
        EventMsg::AgentMessage(_) => "event_agent_message",
        EventMsg::AgentMessageDelta(_) => "event_agent_message_delta",
        EventMsg::AgentReasoning(_) => "event_agent_reasoning",
        EventMsg::AgentReasoningDelta(_) => "event_agent_reasoning_delta",
        EventMsg::ExecCommandBegin(_) => "event_exec_command_begin",
        EventMsg::ExecCommandEnd(_) => "event_exec_command_end",
        EventMsg::PatchApplyBegin(_) => "event_patch_apply_begin",
        EventMsg::PatchApplyEnd(_) => "event_patch_apply_end",
        EventMsg::TokenCount(_) => "event_token_count",
        EventMsg::ThreadNameUpdated(_) => "event_thread_name_updated",
        EventMsg::ExecApprovalRequest(_) => "event_exec_approval_request",
        EventMsg::ApplyPatchApprovalRequest(_) => "event_apply_patch_approval_request",
        EventMsg::RequestPermissions(_) => "event_request_permissions",
        EventMsg::RequestUserInput(_) => "event_request_user_input",
        EventMsg::ApprovalPending(_) => "event_approval_pending",
        EventMsg::ApprovalDecided(_) => "event_approval_decided",
        EventMsg::Other(_) => "event_unknown_type",
    }
}

fn sample_events() -> Vec<Event> {
    let mut changes = BTreeMap::new();
    changes
        .insert(PathBuf::from("src/new.rs"), FileChange::Add { content: "fn main() {}\n".into() });
    changes.insert(PathBuf::from("old.txt"), FileChange::Delete { content: None });
    changes.insert(
        PathBuf::from("src/lib.rs"),
        FileChange::Update {
            unified_diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
            move_path: Some("src/core.rs".into()),
        },
    );
    let msgs = vec![
        EventMsg::SessionConfigured(SessionConfiguredEvent {
            session_id: Some("sess-1".into()),
            model: Some("demo".into()),
            extra: extra(&[("history_log_id", json!(0))]),
        }),
        EventMsg::TaskStarted(TaskStartedEvent { turn_id: "turn-1".into(), extra: Extra::new() }),
        EventMsg::TaskComplete(TaskCompleteEvent {
            turn_id: "turn-1".into(),
            last_agent_message: Some("done".into()),
            extra: Extra::new(),
        }),
        EventMsg::TurnAborted(TurnAbortedEvent {
            turn_id: Some("turn-1".into()),
            reason: TurnAbortReason::Interrupted,
            extra: Extra::new(),
        }),
        EventMsg::ShutdownComplete,
        EventMsg::error("model unavailable"),
        EventMsg::warning("line 3 is not JSON"),
        EventMsg::AgentMessage(AgentMessageEvent { message: "hello".into() }),
        EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta: "hel".into() }),
        EventMsg::AgentReasoning(AgentReasoningEvent { text: "thinking".into() }),
        EventMsg::AgentReasoningDelta(AgentReasoningDeltaEvent { delta: "thi".into() }),
        EventMsg::ExecCommandBegin(Box::new(ExecCommandBeginEvent {
            call_id: "call-1".into(),
            turn_id: Some("turn-1".into()),
            command: vec!["git".into(), "status".into()],
            cwd: Some("/repo".into()),
            extra: Extra::new(),
        })),
        EventMsg::ExecCommandEnd(Box::new(ExecCommandEndEvent {
            call_id: "call-1".into(),
            turn_id: Some("turn-1".into()),
            exit_code: Some(0),
            aggregated_output: Some("clean\n".into()),
            extra: extra(&[("duration", json!({"secs": 0, "nanos": 5000}))]),
        })),
        EventMsg::PatchApplyBegin(Box::new(PatchApplyBeginEvent {
            call_id: "call-2".into(),
            turn_id: Some("turn-1".into()),
            auto_approved: Some(false),
            changes: None,
            extra: Extra::new(),
        })),
        EventMsg::PatchApplyEnd(Box::new(PatchApplyEndEvent {
            call_id: "call-2".into(),
            turn_id: Some("turn-1".into()),
            success: Some(true),
            extra: Extra::new(),
        })),
        EventMsg::TokenCount(TokenCountEvent {
            extra: extra(&[(
                "info",
                json!({"total_token_usage": {"input_tokens": 10, "output_tokens": 2}}),
            )]),
        }),
        EventMsg::ThreadNameUpdated(ThreadNameUpdatedEvent {
            thread_name: Some("fix build".into()),
            extra: Extra::new(),
        }),
        EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
            call_id: "call-1".into(),
            approval_id: Some("approval-1".into()),
            turn_id: "turn-1".into(),
            command: vec!["bash".into(), "-lc".into(), "git push".into()],
            cwd: "/repo".into(),
            reason: Some("publish the fix".into()),
            extra: Extra::new(),
        })),
        EventMsg::ApplyPatchApprovalRequest(Box::new(ApplyPatchApprovalRequestEvent {
            call_id: "call-2".into(),
            turn_id: "turn-1".into(),
            changes,
            reason: None,
            grant_root: Some("/repo".into()),
            extra: Extra::new(),
        })),
        EventMsg::RequestPermissions(Box::new(RequestPermissionsEvent {
            call_id: "call-4".into(),
            turn_id: "turn-1".into(),
            reason: Some("download crates".into()),
            permissions: PermissionProfile {
                network: Some(NetworkPermissions { enabled: Some(true) }),
                file_system: Some(FileSystemPermissions {
                    read: Some(vec!["/etc/hosts".into()]),
                    write: Some(vec!["/repo/target".into()]),
                }),
            },
            extra: Extra::new(),
        })),
        EventMsg::RequestUserInput(Box::new(RequestUserInputEvent {
            call_id: "call-3".into(),
            turn_id: "turn-1".into(),
            questions: vec![Question {
                id: "q1".into(),
                header: Some("Branch".into()),
                question: "Which branch?".into(),
                options: Some(vec![
                    QuestionOption { label: "main".into(), description: None },
                    QuestionOption { label: "dev".into(), description: Some("unstable".into()) },
                ]),
            }],
            extra: Extra::new(),
        })),
        EventMsg::ApprovalPending(ApprovalPendingEvent {
            kind: ApprovalKind::Exec,
            call_id: "call-1".into(),
            agent_path: vec!["root".into(), "worker-1".into()],
            summary: "git push (in /repo)".into(),
        }),
        EventMsg::ApprovalDecided(ApprovalDecidedEvent {
            kind: ApprovalKind::Exec,
            call_id: "call-1".into(),
            decision: Decision::Denied,
            decided_by: DecidedBy::Rule("no-push".into()),
        }),
        EventMsg::Other(UnknownEvent {
            kind: "mcp_tool_call_begin".into(),
            fields: extra(&[
                ("call_id", json!("m1")),
                ("invocation", json!({"server": "fs", "tool": "read"})),
            ]),
        }),
    ];
    msgs.into_iter().map(|msg| Event::new("turn-1", msg)).collect()
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check_golden<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let path = golden_dir().join(format!("{name}.json"));
    let encoded = serde_json::to_value(value).unwrap();
    if !path.exists() && std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = serde_json::to_string_pretty(&encoded).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("golden file {} missing ({e}); run with UPDATE_GOLDEN=1", path.display())
    });
    let golden: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(golden, encoded, "encoding of {name} differs from its golden file");
    let decoded: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&decoded, value, "decoding {name}'s golden file gives a different value");
}

#[test]
fn every_op_matches_its_golden_file() {
    let samples = sample_submissions();
    let mut names: Vec<_> = samples.iter().map(|s| op_name(&s.op)).collect();
    for submission in &samples {
        check_golden(op_name(&submission.op), submission);
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 7, "one sample per op variant");
}

#[test]
fn every_event_matches_its_golden_file() {
    let samples = sample_events();
    let mut names: Vec<_> = samples.iter().map(|e| msg_name(&e.msg)).collect();
    for event in &samples {
        check_golden(msg_name(&event.msg), event);
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), samples.len(), "one sample per event variant");
    assert_eq!(names.len(), 24);
}

#[test]
fn no_golden_file_is_orphaned() {
    let mut expected: Vec<String> =
        sample_submissions().iter().map(|s| op_name(&s.op).to_string()).collect();
    expected.extend(sample_events().iter().map(|e| msg_name(&e.msg).to_string()));
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let name =
            entry.unwrap().file_name().to_string_lossy().trim_end_matches(".json").to_string();
        assert!(
            expected.contains(&name),
            "golden file {name}.json has no sample: remove it or add one"
        );
    }
}

#[test]
fn turn_aliases_decode_to_task_events() {
    let started =
        Event::from_json_slice(br#"{"id":"t","msg":{"type":"turn_started","turn_id":"t"}}"#)
            .unwrap();
    assert!(matches!(started.msg, EventMsg::TaskStarted(ref e) if e.turn_id == "t"));
    let done =
        Event::from_json_slice(br#"{"id":"t","msg":{"type":"turn_complete","turn_id":"t"}}"#)
            .unwrap();
    assert!(matches!(done.msg, EventMsg::TaskComplete(ref e) if e.last_agent_message.is_none()));
}

#[test]
fn type_need_not_come_first() {
    let line = br#"{"id":"t","msg":{"message":"hi","type":"agent_message"}}"#;
    let event = Event::from_json_slice(line).unwrap();
    assert_eq!(event.msg, EventMsg::AgentMessage(AgentMessageEvent { message: "hi".into() }));
    let line = br#"{"msg":{"n":[1,{"a":null}],"type":"future_event"},"id":"t"}"#;
    let event = Event::from_json_slice(line).unwrap();
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({"id":"t","msg":{"type":"future_event","n":[1,{"a":null}]}})
    );
}

#[test]
fn unknown_fields_of_known_events_survive() {
    let line = br#"{"id":"t","msg":{"type":"exec_approval_request","call_id":"c","turn_id":"t","command":["ls"],"cwd":"/","network_approval_context":{"host":"x"}}}"#;
    let event = Event::from_json_slice(line).unwrap();
    let back = serde_json::to_value(&event).unwrap();
    assert_eq!(back["msg"]["network_approval_context"], json!({"host":"x"}));
}

#[test]
fn bad_type_values_are_errors() {
    assert!(Event::from_json_slice(br#"{"id":"t","msg":{"type":5}}"#).is_err());
    assert!(Event::from_json_slice(br#"{"id":"t","msg":{"a":1,"type":5}}"#).is_err());
    assert!(Event::from_json_slice(br#"{"id":"t","msg":{}}"#).is_err());
    assert!(Event::from_json_slice(br#"{"id":"t","msg":{"a":1}}"#).is_err());
}

#[test]
fn decisions_use_snake_case() {
    for (d, s) in [
        (Decision::Approved, "approved"),
        (Decision::ApprovedForSession, "approved_for_session"),
        (Decision::Denied, "denied"),
        (Decision::TimedOut, "timed_out"),
        (Decision::Abort, "abort"),
    ] {
        assert_eq!(serde_json::to_value(d).unwrap(), json!(s));
        assert_eq!(d.to_string(), s);
    }
    assert!(serde_json::from_value::<Decision>(json!("maybe")).is_err());
}

#[test]
fn decided_by_round_trips_as_a_string() {
    for by in [
        DecidedBy::Rule("r1".into()),
        DecidedBy::Session,
        DecidedBy::User,
        DecidedBy::Timeout,
        DecidedBy::Cancel,
        DecidedBy::Default,
        DecidedBy::Policy("deny_all".into()),
    ] {
        let v = serde_json::to_value(&by).unwrap();
        assert!(v.is_string());
        assert_eq!(serde_json::from_value::<DecidedBy>(v).unwrap(), by);
    }
    assert!(serde_json::from_value::<DecidedBy>(json!("somebody")).is_err());
}

#[test]
fn a_second_type_key_is_an_error_not_a_smuggled_event() {
    let line = br#"{"id":"t","msg":{"type":"error","message":"m","type":"exec_approval_request"}}"#;
    let err = Event::from_json_slice(line).unwrap_err();
    assert!(err.message.contains("duplicate field `type`"), "{err}");
}

#[test]
fn two_spellings_of_one_path_in_a_patch_are_an_error() {
    let line = br#"{"id":"t","msg":{"type":"apply_patch_approval_request","call_id":"c","turn_id":"t","changes":{"a/b":{"type":"add","content":"harmless"},"a//b/":{"type":"delete"}}}}"#;
    let err = Event::from_json_slice(line).unwrap_err();
    assert!(err.message.contains("name the same file"), "{err}");
    assert!(err.path.contains("changes"), "{err}");
}
