//! User-input matching: canned answers, what `allow` means without them, options.

use std::sync::Arc;

use delegate_approval::Action;
use delegate_approval::Answer;
use delegate_approval::Approver;
use delegate_approval::PolicyApprover;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;

use super::support::*;

const RULES: &str = r#"
[[user_input]]
id = "continue"
question_id = "continue"
answers = ["yes"]
decision = "allow"

[[user_input]]
id = "pick"
question_id = "pick_*"
answers = ["first"]
decision = "allow"

[[user_input]]
id = "no-answer"
header = "Name?"
decision = "allow"

[[user_input]]
id = "never-delete"
header = "*[Dd]elete*"
decision = "deny"
"#;

#[test]
fn canned_answers_answer_matching_questions() {
    let rules = rules(RULES);
    let ruling = rules.rule(&questions(&[("continue", None, None)]));
    assert_eq!(ruling.action, Action::Allow, "{ruling}");
    let answers = ruling.answers.unwrap();
    assert_eq!(answers.answers["continue"].answers, vec!["yes".to_string()]);

    let both = rules.rule(&questions(&[
        ("continue", None, None),
        ("pick_color", None, Some(&["first", "second"])),
    ]));
    assert_eq!(both.action, Action::Allow, "{both}");
    assert_eq!(both.answers.unwrap().answers.len(), 2);
}

#[test]
fn allow_without_answers_means_ask() {
    let rules = rules(RULES);
    let ruling = rules.rule(&questions(&[("name", Some("Name?"), None)]));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
    assert!(ruling.answers.is_none());
    let with_default =
        super::support::rules("default = \"allow\"").rule(&questions(&[("x", None, None)]));
    assert_eq!(with_default.action, Action::Ask, "{with_default}");
}

#[test]
fn canned_answers_outside_the_options_are_asked() {
    let rules = rules(RULES);
    let ruling = rules.rule(&questions(&[("pick_size", None, Some(&["small", "large"]))]));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
}

#[test]
fn one_unanswerable_question_sends_the_whole_request_to_a_person() {
    let rules = rules(RULES);
    let ruling = rules.rule(&questions(&[("continue", None, None), ("other", None, None)]));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
    let ruling =
        rules.rule(&questions(&[("continue", None, None), ("d", Some("Delete all?"), None)]));
    assert_eq!(ruling.action, Action::Deny, "{ruling}");
}

#[test]
fn the_approver_answers_with_the_canned_answers_or_nothing() {
    let person = Person::answering(Decision::Denied);
    let approver = PolicyApprover::new(Arc::new(rules(RULES)), Arc::new(person.clone()));
    block_on(async {
        let verdict = approver.decide(&questions(&[("continue", None, None)])).await;
        assert_eq!(verdict.decided_by, DecidedBy::Rule("continue".into()));
        assert!(verdict.approves());
        let Answer::UserInput(response) = &verdict.answer else { panic!("{verdict:?}") };
        assert_eq!(response.answers["continue"].answers, vec!["yes".to_string()]);

        let denied = approver.decide(&questions(&[("d", Some("Delete it?"), None)])).await;
        assert_eq!(denied.decided_by, DecidedBy::Rule("never-delete".into()));
        assert_eq!(denied.summary_decision(), Decision::Denied);
        let Answer::UserInput(response) = &denied.answer else { panic!("{denied:?}") };
        assert!(response.answers.is_empty());
    });
    assert_eq!(person.times_asked(), 0);
}
