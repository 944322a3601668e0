//! Composition: chains (first opinion wins), `stricter` (never looser than the parent), and the
//! policy approver's handling of inner verdicts.

use std::sync::Arc;

use delegate_approval::Action;
use delegate_approval::Answer;
use delegate_approval::Approver;
use delegate_approval::Chain;
use delegate_approval::Fixed;
use delegate_approval::Policy;
use delegate_approval::PolicyApprover;
use delegate_approval::Rules;
use delegate_approval::Source;
use delegate_approval::Verdict;
use delegate_approval::stricter;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::PermissionGrantScope;
use delegate_protocol::RequestPermissionsResponse;
use delegate_protocol::RequestUserInputResponse;
use delegate_protocol::UserInputAnswer;

use super::support::*;

fn policy(text: &str) -> Arc<dyn Policy> {
    Arc::new(rules(text))
}

fn none() -> Arc<dyn Policy> {
    Arc::new(Rules::from_toml("").unwrap())
}

fn fixed(action: Action) -> Arc<dyn Policy> {
    Arc::new(Fixed::new(action, action.as_str()))
}

#[test]
fn a_chain_takes_the_first_opinion() {
    let session_rules =
        policy("[[exec]]\nid = \"mine\"\nprefix = \"make\"\ndecision = \"allow\"\n");
    let project = policy(
        "default = \"deny\"\n[[exec]]\nid = \"ls\"\nprefix = \"ls\"\ndecision = \"allow\"\n",
    );
    let chain = Chain::new(vec![session_rules, project]);
    let rule = |argv: &[&str]| chain.evaluate(&exec(argv, "/")).unwrap();
    assert_eq!(rule(&["make"]).decided_by(), DecidedBy::Rule("mine".into()));
    assert_eq!(rule(&["ls"]).decided_by(), DecidedBy::Rule("ls".into()));
    assert_eq!(rule(&["rm"]).action, Action::Deny);
    assert_eq!(rule(&["rm"]).source, Source::Default);
    assert!(Chain::default().evaluate(&exec(&["ls"], "/")).is_none());
    assert!(Chain::default().then(none()).evaluate(&exec(&["ls"], "/")).is_none());
}

#[test]
fn stricter_is_never_looser_than_either_side() {
    use Action::*;
    let sides: Vec<(Option<Action>, Arc<dyn Policy>)> = vec![
        (None, none()),
        (Some(Allow), fixed(Allow)),
        (Some(Ask), fixed(Ask)),
        (Some(Deny), fixed(Deny)),
    ];
    let request = exec(&["ls"], "/");
    for (parent_action, parent) in &sides {
        for (child_action, child) in &sides {
            let combined = stricter(parent.clone(), child.clone()).evaluate(&request);
            let got = combined.as_ref().map(|r| r.action);
            // No opinion counts as ask.
            let rank = |a: Option<Action>| a.unwrap_or(Ask);
            match (parent_action, child_action) {
                (None, None) => assert_eq!(got, None),
                _ => {
                    let expected = rank(*parent_action).max(rank(*child_action));
                    assert_eq!(got, Some(expected), "{parent_action:?} + {child_action:?}");
                }
            }
        }
    }
}

#[test]
fn a_child_cannot_loosen_its_parents_rules() {
    let parent = policy(
        "default = \"ask\"\n[[exec]]\nid = \"parent-no-push\"\nprefix = \"git push\"\ndecision = \"deny\"\n",
    );
    let child = policy(
        "default = \"allow\"\n[[exec]]\nid = \"child-push\"\nprefix = \"git push\"\ndecision = \"allow\"\n[[exec]]\nid = \"child-no-rm\"\nprefix = \"rm\"\ndecision = \"deny\"\n",
    );
    let effective = stricter(parent, child);
    let rule = |argv: &[&str]| effective.evaluate(&exec(argv, "/")).unwrap();
    assert_eq!(rule(&["git", "push"]).action, Action::Deny);
    assert_eq!(rule(&["git", "push"]).decided_by(), DecidedBy::Rule("parent-no-push".into()));
    assert_eq!(rule(&["rm", "x"]).decided_by(), DecidedBy::Rule("child-no-rm".into()));
    // The child's default allow does not beat the parent's default ask.
    assert_eq!(rule(&["ls"]).action, Action::Ask);
}

#[test]
fn stricter_asks_when_canned_answers_disagree() {
    let a =
        policy("[[user_input]]\nquestion_id = \"q\"\nanswers = [\"yes\"]\ndecision = \"allow\"\n");
    let b =
        policy("[[user_input]]\nquestion_id = \"q\"\nanswers = [\"no\"]\ndecision = \"allow\"\n");
    let request = questions(&[("q", None, None)]);
    assert_eq!(stricter(a.clone(), b).evaluate(&request).unwrap().action, Action::Ask);
    assert_eq!(stricter(a.clone(), a).evaluate(&request).unwrap().action, Action::Allow);
}

#[test]
fn the_approver_reports_who_decided() {
    let rules = policy(
        "default = \"deny\"\n[defaults]\nexec = \"ask\"\n[[exec]]\nid = \"ls\"\nprefix = \"ls\"\ndecision = \"allow\"\n[[exec]]\nprefix = \"rm\"\ndecision = \"deny\"\n",
    );
    let person = Person::answering(Decision::Approved);
    let approver = PolicyApprover::new(rules, Arc::new(person.clone()));
    block_on(async {
        let ls = approver.decide(&exec(&["ls"], "/")).await;
        assert_eq!(
            (ls.summary_decision(), ls.decided_by),
            (Decision::Approved, DecidedBy::Rule("ls".into()))
        );
        let rm = approver.decide(&exec(&["rm"], "/")).await;
        assert_eq!(
            (rm.summary_decision(), rm.decided_by),
            (Decision::Denied, DecidedBy::Rule("line 8".into()))
        );
        let make = approver.decide(&exec(&["make"], "/")).await;
        assert_eq!(
            (make.summary_decision(), make.decided_by),
            (Decision::Approved, DecidedBy::User)
        );
        let perms = approver.decide(&permissions(true, &[], &[])).await;
        assert_eq!(
            (perms.summary_decision(), perms.decided_by),
            (Decision::Denied, DecidedBy::Default)
        );
    });
    assert_eq!(person.times_asked(), 1);
}

#[test]
fn verdicts_that_do_not_fit_or_grant_too_much_are_refused() {
    let ask = policy("default = \"ask\"");
    let invalid = DecidedBy::Policy("invalid_verdict".into());
    let cases: Vec<(Verdict, delegate_approval::ApprovalRequest)> = vec![
        // An exec answer to a permissions request.
        (Verdict::decision(Decision::Approved, DecidedBy::User), permissions(true, &[], &[])),
        // Permissions for an exec request.
        (
            Verdict::permissions(RequestPermissionsResponse::empty(), DecidedBy::User),
            exec(&["ls"], "/"),
        ),
        // More permissions than asked.
        (
            Verdict::permissions(
                RequestPermissionsResponse {
                    permissions: profile(true, &["/"], &["/"]),
                    scope: PermissionGrantScope::Session,
                },
                DecidedBy::User,
            ),
            permissions(false, &["/repo"], &[]),
        ),
        // An answer to a question nobody asked.
        (
            Verdict::user_input(
                RequestUserInputResponse {
                    answers: [("other".to_string(), UserInputAnswer { answers: vec!["x".into()] })]
                        .into_iter()
                        .collect(),
                },
                DecidedBy::User,
            ),
            questions(&[("q", None, None)]),
        ),
    ];
    for (verdict, request) in cases {
        let approver = PolicyApprover::new(ask.clone(), Arc::new(Scripted(verdict.clone())));
        let got = block_on(approver.decide(&request));
        assert!(!got.approves(), "{verdict:?}");
        assert_eq!(got.decided_by, invalid, "{verdict:?}");
        assert!(got.fits(&request));
    }
    // A subset of what was asked is fine.
    let subset = Verdict::permissions(
        RequestPermissionsResponse {
            permissions: profile(false, &["/repo"], &[]),
            scope: PermissionGrantScope::Turn,
        },
        DecidedBy::User,
    );
    let approver = PolicyApprover::new(ask, Arc::new(Scripted(subset)));
    let got = block_on(approver.decide(&permissions(true, &["/repo"], &[])));
    assert!(got.approves());
    assert_eq!(got.decided_by, DecidedBy::User);
}

#[test]
fn an_allowed_permission_request_grants_exactly_what_was_asked_for_the_turn() {
    let approver = PolicyApprover::new(
        policy("[[permissions]]\nid = \"r\"\nread = \"/data/**\"\ndecision = \"allow\"\n"),
        Arc::new(Person::answering(Decision::Denied)),
    );
    let verdict = block_on(approver.decide(&permissions(false, &["/data/x"], &[])));
    let Answer::Permissions(granted) = &verdict.answer else { panic!("{verdict:?}") };
    assert_eq!(granted.permissions, profile(false, &["/data/x"], &[]));
    assert_eq!(granted.scope, PermissionGrantScope::Turn);
    assert_eq!(verdict.decided_by, DecidedBy::Rule("r".into()));
}

#[test]
fn cancellation_reaches_the_person_through_the_stack() {
    let person = Person::answering(Decision::Approved);
    let approver = PolicyApprover::new(policy(""), Arc::new(person.clone()));
    let request = exec(&["ls"], "/");
    approver.resolved(&request, &request.refusal(Decision::Abort, DecidedBy::Cancel));
    assert_eq!(person.resolved.lock().unwrap().len(), 1);
}
