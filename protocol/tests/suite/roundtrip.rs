//! Property tests: every value the strategies can build encodes and decodes back to itself, and
//! decoding never panics on arbitrary bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use delegate_protocol::*;
use proptest::collection::btree_map;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_ -]{0,12}",
        any::<String>(),
        Just("quote\" backslash\\ newline\n tab\t nul\u{0}".to_string()),
    ]
}

fn path() -> impl Strategy<Value = PathBuf> {
    "(/?[a-z.]{1,6}){1,4}".prop_map(PathBuf::from)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Extra fields whose names cannot collide with a payload's own fields.
fn extra() -> impl Strategy<Value = Extra> {
    btree_map("x_[a-z]{1,5}", json_value(), 0..3).prop_map(|m| m.into_iter().collect())
}

fn decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Approved),
        Just(Decision::ApprovedForSession),
        Just(Decision::Denied),
        Just(Decision::TimedOut),
        Just(Decision::Abort),
    ]
}

fn permissions() -> impl Strategy<Value = PermissionProfile> {
    (
        option::of(option::of(any::<bool>()).prop_map(|enabled| NetworkPermissions { enabled })),
        option::of(
            (option::of(vec(path(), 0..3)), option::of(vec(path(), 0..3)))
                .prop_map(|(read, write)| FileSystemPermissions { read, write }),
        ),
    )
        .prop_map(|(network, file_system)| PermissionProfile { network, file_system })
}

fn file_change() -> impl Strategy<Value = FileChange> {
    prop_oneof![
        text().prop_map(|content| FileChange::Add { content }),
        option::of(text()).prop_map(|content| FileChange::Delete { content }),
        (text(), option::of(path()))
            .prop_map(|(unified_diff, move_path)| FileChange::Update { unified_diff, move_path }),
    ]
}

fn trace() -> impl Strategy<Value = Option<W3cTraceContext>> {
    option::of(
        (option::of(text()), option::of(text()))
            .prop_map(|(traceparent, tracestate)| W3cTraceContext { traceparent, tracestate }),
    )
}

fn op() -> impl Strategy<Value = Op> {
    let answers =
        btree_map(text(), vec(text(), 0..3).prop_map(|answers| UserInputAnswer { answers }), 0..3)
            .prop_map(|answers| RequestUserInputResponse { answers });
    prop_oneof![
        (
            vec(text().prop_map(InputItem::text), 0..3),
            option::of(json_value().prop_filter("a null schema is no schema", |v| !v.is_null()))
        )
            .prop_map(|(items, final_output_json_schema)| Op::UserInput {
                items,
                final_output_json_schema
            }),
        Just(Op::Interrupt),
        Just(Op::Shutdown),
        (text(), option::of(text()), decision())
            .prop_map(|(id, turn_id, decision)| Op::ExecApproval { id, turn_id, decision }),
        (text(), decision()).prop_map(|(id, decision)| Op::PatchApproval { id, decision }),
        (text(), answers).prop_map(|(id, response)| Op::UserInputAnswer { id, response }),
        (text(), permissions(), any::<bool>()).prop_map(|(id, permissions, session)| {
            let scope =
                if session { PermissionGrantScope::Session } else { PermissionGrantScope::Turn };
            Op::RequestPermissionsResponse {
                id,
                response: RequestPermissionsResponse { permissions, scope },
            }
        }),
    ]
}

fn kind() -> impl Strategy<Value = ApprovalKind> {
    prop_oneof![
        Just(ApprovalKind::Exec),
        Just(ApprovalKind::Patch),
        Just(ApprovalKind::Permissions),
        Just(ApprovalKind::UserInput)
    ]
}

fn decided_by() -> impl Strategy<Value = DecidedBy> {
    prop_oneof![
        text().prop_map(DecidedBy::Rule),
        Just(DecidedBy::Session),
        Just(DecidedBy::User),
        Just(DecidedBy::Timeout),
        Just(DecidedBy::Cancel),
        Just(DecidedBy::Default),
        text().prop_map(DecidedBy::Policy),
    ]
}

fn question() -> impl Strategy<Value = Question> {
    (
        text(),
        option::of(text()),
        text(),
        option::of(vec(
            (text(), option::of(text()))
                .prop_map(|(label, description)| QuestionOption { label, description }),
            0..3,
        )),
    )
        .prop_map(|(id, header, question, options)| Question { id, header, question, options })
}

fn event_msg() -> BoxedStrategy<EventMsg> {
    let lifecycle = prop_oneof![
        (option::of(text()), option::of(text()), extra()).prop_map(|(session_id, model, extra)| {
            EventMsg::SessionConfigured(SessionConfiguredEvent { session_id, model, extra })
        }),
        (text(), extra()).prop_map(|(turn_id, extra)| EventMsg::TaskStarted(TaskStartedEvent {
            turn_id,
            extra
        })),
        (text(), option::of(text()), extra()).prop_map(|(turn_id, last_agent_message, extra)| {
            EventMsg::TaskComplete(TaskCompleteEvent { turn_id, last_agent_message, extra })
        }),
        (option::of(text()), 0..3u8, extra()).prop_map(|(turn_id, r, extra)| {
            let reason = match r {
                0 => TurnAbortReason::Interrupted,
                1 => TurnAbortReason::Replaced,
                _ => TurnAbortReason::ReviewEnded,
            };
            EventMsg::TurnAborted(TurnAbortedEvent { turn_id, reason, extra })
        }),
        Just(EventMsg::ShutdownComplete),
        (text(), extra())
            .prop_map(|(message, extra)| EventMsg::Error(ErrorEvent { message, extra })),
        (text(), extra())
            .prop_map(|(message, extra)| EventMsg::Warning(WarningEvent { message, extra })),
        (option::of(text()), extra()).prop_map(|(thread_name, extra)| EventMsg::ThreadNameUpdated(
            ThreadNameUpdatedEvent { thread_name, extra }
        )),
        extra().prop_map(|extra| EventMsg::TokenCount(TokenCountEvent { extra })),
    ];
    let output = prop_oneof![
        text().prop_map(|message| EventMsg::AgentMessage(AgentMessageEvent { message })),
        text().prop_map(|delta| EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta })),
        text().prop_map(|text| EventMsg::AgentReasoning(AgentReasoningEvent { text })),
        text().prop_map(|delta| EventMsg::AgentReasoningDelta(AgentReasoningDeltaEvent { delta })),
        (text(), option::of(text()), vec(text(), 0..3), option::of(path()), extra()).prop_map(
            |(call_id, turn_id, command, cwd, extra)| EventMsg::ExecCommandBegin(Box::new(
                ExecCommandBeginEvent { call_id, turn_id, command, cwd, extra }
            ))
        ),
        (text(), option::of(text()), option::of(any::<i32>()), option::of(text()), extra())
            .prop_map(|(call_id, turn_id, exit_code, aggregated_output, extra)| {
                EventMsg::ExecCommandEnd(Box::new(ExecCommandEndEvent {
                    call_id,
                    turn_id,
                    exit_code,
                    aggregated_output,
                    extra,
                }))
            }),
        (
            text(),
            option::of(text()),
            option::of(any::<bool>()),
            option::of(btree_map(path(), file_change(), 0..3)),
            extra()
        )
            .prop_map(|(call_id, turn_id, auto_approved, changes, extra)| {
                EventMsg::PatchApplyBegin(Box::new(PatchApplyBeginEvent {
                    call_id,
                    turn_id,
                    auto_approved,
                    changes,
                    extra,
                }))
            }),
        (text(), option::of(text()), option::of(any::<bool>()), extra()).prop_map(
            |(call_id, turn_id, success, extra)| EventMsg::PatchApplyEnd(Box::new(
                PatchApplyEndEvent { call_id, turn_id, success, extra }
            ))
        ),
    ];
    let requests = prop_oneof![
        (
            text(),
            option::of(text()),
            text(),
            vec(text(), 0..4),
            path(),
            option::of(text()),
            extra()
        )
            .prop_map(|(call_id, approval_id, turn_id, command, cwd, reason, extra)| {
                EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
                    call_id,
                    approval_id,
                    turn_id,
                    command,
                    cwd,
                    reason,
                    extra,
                }))
            }),
        (
            text(),
            text(),
            btree_map(path(), file_change(), 0..3),
            option::of(text()),
            option::of(path()),
            extra()
        )
            .prop_map(|(call_id, turn_id, changes, reason, grant_root, extra)| {
                EventMsg::ApplyPatchApprovalRequest(Box::new(ApplyPatchApprovalRequestEvent {
                    call_id,
                    turn_id,
                    changes,
                    reason,
                    grant_root,
                    extra,
                }))
            }),
        (text(), text(), option::of(text()), permissions(), extra()).prop_map(
            |(call_id, turn_id, reason, permissions, extra)| EventMsg::RequestPermissions(
                Box::new(RequestPermissionsEvent { call_id, turn_id, reason, permissions, extra })
            )
        ),
        (text(), text(), vec(question(), 0..3), extra()).prop_map(
            |(call_id, turn_id, questions, extra)| {
                EventMsg::RequestUserInput(Box::new(RequestUserInputEvent {
                    call_id,
                    turn_id,
                    questions,
                    extra,
                }))
            }
        ),
        (kind(), text(), vec(text(), 0..3), text()).prop_map(
            |(kind, call_id, agent_path, summary)| {
                EventMsg::ApprovalPending(ApprovalPendingEvent {
                    kind,
                    call_id,
                    agent_path,
                    summary,
                })
            }
        ),
        (kind(), text(), decision(), decided_by()).prop_map(
            |(kind, call_id, decision, decided_by)| {
                EventMsg::ApprovalDecided(ApprovalDecidedEvent {
                    kind,
                    call_id,
                    decision,
                    decided_by,
                })
            }
        ),
        ("zz_[a-z_]{1,10}", extra())
            .prop_map(|(kind, fields)| EventMsg::Other(UnknownEvent { kind, fields })),
    ];
    prop_oneof![lifecycle.boxed(), output.boxed(), requests.boxed()].boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn submissions_round_trip(id in text(), op in op(), trace in trace()) {
        let submission = Submission { id, op, trace };
        let line = serde_json::to_vec(&submission).unwrap();
        prop_assert!(!line.contains(&b'\n'), "one line per message");
        prop_assert_eq!(Submission::from_json_slice(&line).unwrap(), submission);
    }

    #[test]
    fn events_round_trip(id in text(), msg in event_msg()) {
        let event = Event::new(id, msg);
        let line = serde_json::to_vec(&event).unwrap();
        prop_assert!(!line.contains(&b'\n'), "one line per message");
        let decoded = Event::from_json_slice(&line).unwrap();
        prop_assert_eq!(&decoded, &event);
        // And through a generic `Value`, which takes the slow path when keys are sorted.
        let value: Value = serde_json::from_slice(&line).unwrap();
        let via_value: Event = serde_json::from_value(value).unwrap();
        prop_assert_eq!(via_value, event);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        let _ = Event::from_json_slice(&bytes);
        let _ = Submission::from_json_slice(&bytes);
    }

    #[test]
    fn traceparent_parsing_never_panics(s in "[0-9a-f-]{50,60}|.{0,80}") {
        if let Ok(parsed) = TraceParent::parse(&s) {
            prop_assert_eq!(parsed.version == 0, s.len() == 55);
        }
    }

    #[test]
    fn permission_empty_means_nothing_granted(p in permissions()) {
        let grants_network = p.network.as_ref().and_then(|n| n.enabled) == Some(true);
        prop_assert!(!(p.is_empty() && grants_network));
    }
}

#[test]
fn maps_keep_their_keys() {
    let mut answers = BTreeMap::new();
    answers.insert("q".to_string(), UserInputAnswer { answers: vec![] });
    let response = RequestUserInputResponse { answers };
    let v = serde_json::to_value(&response).unwrap();
    assert_eq!(v, serde_json::json!({"answers": {"q": {"answers": []}}}));
}
