//! The audit trail: one JSON line per decision, durable, and failures never silent.

use std::sync::Arc;
use std::sync::Mutex;

use delegate_approval::AllowAll;
use delegate_approval::Approver;
use delegate_approval::AuditLog;
use delegate_approval::AuditRecord;
use delegate_approval::Audited;
use delegate_approval::DenyAll;
use delegate_approval::Error;
use delegate_protocol::ApprovalKind;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::W3cTraceContext;

use super::support::*;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn read_records(path: &std::path::Path) -> Vec<AuditRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn every_decision_is_one_json_line_with_who_decided_and_the_trace() {
    let scratch = Scratch::new("audit-lines");
    let path = scratch.join("audit.jsonl");
    let log = Arc::new(AuditLog::open(&path).unwrap());
    let allow = Audited::new(AllowAll, log.clone());
    let deny = Audited::new(DenyAll, log.clone());
    let mut traced = exec(&["git", "status"], "/repo");
    traced.trace = Some(W3cTraceContext::from_traceparent(TRACEPARENT));
    traced.agent_path = strings(&["root", "worker"]);
    let mut badly_traced = exec(&["ls"], "/repo");
    badly_traced.trace = Some(W3cTraceContext::from_traceparent("00-zz-00"));
    block_on(async {
        assert!(allow.decide(&traced).await.approves());
        assert!(!deny.decide(&patch(vec![("a", update())], None)).await.approves());
        allow.decide(&badly_traced).await;
    });
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    let records = read_records(&path);
    let first = &records[0];
    assert_eq!(first.agent_path, strings(&["root", "worker"]));
    assert_eq!(first.kind, ApprovalKind::Exec);
    assert_eq!(first.call_id, "call-1");
    assert_eq!(first.summary, "run `git status` in /repo");
    assert_eq!(first.decision, Decision::Approved);
    assert_eq!(first.decided_by, DecidedBy::Policy("allow_all".into()));
    assert_eq!(first.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(first.time.len(), "2025-01-31T12:00:00.000Z".len());
    assert!(first.time.ends_with('Z') && first.time.as_bytes()[10] == b'T', "{}", first.time);
    assert_eq!(records[1].decision, Decision::Denied);
    assert_eq!(records[1].kind, ApprovalKind::Patch);
    assert_eq!(records[2].trace_id, None, "an invalid traceparent is left out");
    assert!(!text.contains("trace_id\":null"));
}

#[test]
fn reopening_appends() {
    let scratch = Scratch::new("audit-append");
    let path = scratch.join("audit.jsonl");
    for _ in 0..2 {
        let audited = Audited::new(DenyAll, Arc::new(AuditLog::open(&path).unwrap()));
        block_on(audited.decide(&exec(&["ls"], "/")));
    }
    assert_eq!(read_records(&path).len(), 2);
}

#[test]
fn cancellation_answers_are_recorded_through_resolved() {
    let scratch = Scratch::new("audit-resolved");
    let path = scratch.join("audit.jsonl");
    let person = Person::answering(Decision::Approved);
    let audited = Audited::new(person.clone(), Arc::new(AuditLog::open(&path).unwrap()));
    let request = exec(&["ls"], "/");
    let refusal = request.refusal(Decision::Abort, DecidedBy::Cancel);
    audited.resolved(&request, &refusal);
    let records = read_records(&path);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].decision, Decision::Abort);
    assert_eq!(records[0].decided_by, DecidedBy::Cancel);
    assert_eq!(person.resolved.lock().unwrap().len(), 1, "the inner prompt is told too");
}

#[test]
fn concurrent_writers_never_interleave_lines() {
    let scratch = Scratch::new("audit-concurrent");
    let path = scratch.join("audit.jsonl");
    let log = Arc::new(AuditLog::open(&path).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let request = exec(&["echo", &"x".repeat(100 * t + i)], "/");
                    let verdict = request.refusal(Decision::Denied, DecidedBy::User);
                    log.record(&request, &verdict).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(read_records(&path).len(), 100);
}

#[test]
fn an_audit_file_that_cannot_be_opened_is_an_error_naming_it() {
    let scratch = Scratch::new("audit-open");
    let path = scratch.join("no/such/dir/audit.jsonl");
    let e = AuditLog::open(&path).unwrap_err();
    assert!(matches!(e, Error::Audit { .. }), "{e}");
    assert!(e.to_string().contains("audit.jsonl"), "{e}");
}

/// `/dev/full` accepts the open and fails every write with "no space left on device".
#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_refuses_the_decision_and_is_reported() {
    let log = Arc::new(AuditLog::open("/dev/full").unwrap());
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    let audited = Audited::new(AllowAll, log.clone())
        .on_error(move |e| seen.lock().unwrap().push(e.to_string()));
    let request = exec(&["ls"], "/");
    let verdict = block_on(audited.decide(&request));
    assert!(!verdict.approves(), "an approval that cannot be recorded is refused");
    assert_eq!(verdict.decided_by, DecidedBy::Policy("audit_failed".into()));
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 2, "the failure and the failed refusal record: {errors:?}");
    assert!(errors[0].contains("/dev/full"), "{}", errors[0]);

    let plain = Audited::new(AllowAll, log);
    let e = block_on(plain.try_decide(&request)).unwrap_err();
    assert!(matches!(e, Error::Audit { .. }));
    // resolved() reports too.
    let reported = Arc::new(Mutex::new(0));
    let count = reported.clone();
    let audited = plain.on_error(move |_| *count.lock().unwrap() += 1);
    audited.resolved(&request, &request.refusal(Decision::Abort, DecidedBy::Cancel));
    assert_eq!(*reported.lock().unwrap(), 1);
}
