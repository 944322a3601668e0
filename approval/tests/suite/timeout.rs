//! Deadlines, on a paused clock: `timed_out`, decided by the timeout, never a person's denial.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use delegate_approval::Answer;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::DEFAULT_DEADLINE;
use delegate_approval::Deadlines;
use delegate_approval::Timeout;
use delegate_approval::Verdict;
use delegate_protocol::ApprovalKind;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;

use super::support::*;

/// A person who takes `delay` to approve, and records `resolved` calls.
#[derive(Clone, Default)]
struct Slow {
    delay: Duration,
    resolved: Arc<AtomicUsize>,
    forever: bool,
}

#[async_trait]
impl Approver for Slow {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        if self.forever {
            pending::<()>().await;
        }
        tokio::time::sleep(self.delay).await;
        request.grant(Decision::Approved, DecidedBy::User)
    }

    fn resolved(&self, _request: &ApprovalRequest, verdict: &Verdict) {
        assert_eq!(verdict.decided_by, DecidedBy::Timeout);
        self.resolved.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn a_person_who_never_answers_times_out_after_the_default_deadline() {
    let person = Slow { forever: true, ..Slow::default() };
    let approver = Timeout::with_default(person.clone());
    let start = tokio::time::Instant::now();
    let verdict = approver.decide(&exec(&["ls"], "/")).await;
    assert_eq!(start.elapsed(), DEFAULT_DEADLINE);
    assert_eq!(verdict.answer, Answer::Decision(Decision::TimedOut));
    assert_eq!(verdict.decided_by, DecidedBy::Timeout);
    assert_eq!(verdict.summary_decision(), Decision::TimedOut);
    assert_eq!(person.resolved.load(Ordering::SeqCst), 1, "the prompt is told to close");
}

#[tokio::test(start_paused = true)]
async fn an_answer_just_before_the_deadline_counts() {
    let person = Slow { delay: DEFAULT_DEADLINE - Duration::from_millis(1), ..Slow::default() };
    let verdict = Timeout::with_default(person.clone()).decide(&exec(&["ls"], "/")).await;
    assert_eq!(verdict.decided_by, DecidedBy::User);
    assert!(verdict.approves());
    assert_eq!(person.resolved.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn deadlines_are_per_kind() {
    let deadlines = Deadlines::uniform(Duration::from_secs(10))
        .with(ApprovalKind::Exec, Duration::from_secs(1))
        .with(ApprovalKind::UserInput, Duration::from_secs(60));
    assert_eq!(deadlines.for_kind(ApprovalKind::Patch), Duration::from_secs(10));
    let person = Slow { delay: Duration::from_secs(5), ..Slow::default() };
    let approver = Timeout::new(person, deadlines);

    let exec_verdict = approver.decide(&exec(&["ls"], "/")).await;
    assert_eq!(exec_verdict.decided_by, DecidedBy::Timeout);
    let patch_verdict = approver.decide(&patch(vec![("a", update())], None)).await;
    assert_eq!(patch_verdict.decided_by, DecidedBy::User);
    assert!(patch_verdict.approves());
}

#[tokio::test(start_paused = true)]
async fn timed_out_permissions_and_questions_grant_nothing_and_say_timed_out() {
    let approver = Timeout::new(
        Slow { forever: true, ..Slow::default() },
        Deadlines::uniform(Duration::from_secs(3)),
    );
    let perms = approver.decide(&permissions(true, &["/x"], &[])).await;
    assert!(!perms.approves());
    assert_eq!(perms.summary_decision(), Decision::TimedOut);
    assert_eq!(perms.decided_by, DecidedBy::Timeout);
    let Answer::Permissions(granted) = &perms.answer else { panic!("{perms:?}") };
    assert!(granted.permissions.is_empty());

    let qs = approver.decide(&questions(&[("q", None, None)])).await;
    assert_eq!(qs.summary_decision(), Decision::TimedOut);
    assert_ne!(qs.summary_decision(), Decision::Denied);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_inside_rules_is_recorded_as_the_timeout_not_as_a_person() {
    let rules = rules("default = \"ask\"");
    let approver = delegate_approval::PolicyApprover::new(
        Arc::new(rules),
        Arc::new(Timeout::new(
            Slow { forever: true, ..Slow::default() },
            Deadlines::uniform(Duration::from_secs(1)),
        )),
    );
    let verdict = approver.decide(&exec(&["ls"], "/")).await;
    assert_eq!(verdict.decided_by, DecidedBy::Timeout);
    assert_eq!(verdict.summary_decision(), Decision::TimedOut);
}

#[test]
fn the_rules_file_sets_deadlines() {
    let rules = rules("[timeouts]\ndefault = 60\nuser_input = 900\n");
    let d = rules.deadlines();
    assert_eq!(d.exec, Duration::from_secs(60));
    assert_eq!(d.user_input, Duration::from_secs(900));
    assert_eq!(super::support::rules("").deadlines(), Deadlines::default());
}
