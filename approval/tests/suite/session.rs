//! The session cache: canonical keys that never widen, and the wrapper that consults them.

use std::sync::Arc;

use delegate_approval::Action;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::Fixed;
use delegate_approval::MAX_SESSION_APPROVALS;
use delegate_approval::PolicyApprover;
use delegate_approval::Session;
use delegate_approval::SessionCache;
use delegate_approval::SessionKey;
use delegate_approval::Verdict;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::PermissionGrantScope;
use delegate_protocol::RequestPermissionsResponse;

use super::support::*;

fn key(request: &ApprovalRequest) -> SessionKey {
    SessionKey::for_request(request, Some("/repo".as_ref())).unwrap()
}

#[test]
fn honest_spellings_of_one_command_share_a_key() {
    let base = key(&exec(&["git", "status"], "/repo"));
    for same in [
        exec(&["/usr/bin/git", "status"], "/repo"),
        exec(&["bash", "-lc", "git status"], "/repo"),
        exec(&["/bin/sh", "-c", "'git' status"], "/repo"),
        exec(&["git", "status"], "/repo/./"),
        exec(&["git", "status"], "."),
    ] {
        assert_eq!(key(&same), base, "{:?}", same.request);
    }
    // The documented canonical text (the remainder of a missing path is appended as is).
    assert_eq!(
        base.as_str(),
        r#"{"agent":["root"],"commands":[["git","status"]],"cwd":["/repo","/repo"],"kind":"exec"}"#
    );
}

#[test]
fn paths_through_existing_directories_normalise_to_one_key() {
    let scratch = Scratch::new("session-dirs");
    let root = scratch.mkdir("repo");
    scratch.mkdir("repo/sub");
    scratch.mkdir("repo/src/x");
    let key = |r: &ApprovalRequest| SessionKey::for_request(r, Some(&root)).unwrap();
    let base = key(&exec(&["git", "status"], &root));
    assert_eq!(base, key(&exec(&["git", "status"], root.join("sub/.."))));
    assert_eq!(base, key(&exec(&["git", "status"], ".")));
    let p = key(&patch(vec![("src/a.rs", update())], None));
    assert_eq!(p, key(&patch(vec![(root.join("src/a.rs").to_str().unwrap(), update())], None)));
    assert_eq!(p, key(&patch(vec![("./src/x/../a.rs", update())], None)));
    // Past a directory that does not exist, `..` cannot be resolved: a different key (ask
    // again), never the same one.
    assert_ne!(base, key(&exec(&["git", "status"], root.join("missing/.."))));
}

#[cfg(unix)]
#[test]
fn a_symlink_swapped_under_a_path_changes_its_key() {
    let scratch = Scratch::new("session-symlink");
    let root = scratch.mkdir("repo");
    let inside = scratch.mkdir("repo/real");
    let outside = scratch.mkdir("outside");
    std::os::unix::fs::symlink(&inside, root.join("link")).unwrap();
    let request = patch(vec![("link/a.rs", update())], None);
    let before = SessionKey::for_request(&request, Some(&root)).unwrap();
    std::fs::remove_file(root.join("link")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let after = SessionKey::for_request(&request, Some(&root)).unwrap();
    assert_ne!(before, after);
}

#[test]
fn some_requests_have_no_key() {
    assert!(SessionKey::for_request(&questions(&[("q", None, None)]), None).is_none());
    assert!(SessionKey::for_request(&exec(&["ls"], "relative"), None).is_none());
    assert!(SessionKey::for_request(&patch(vec![("src/a.rs", update())], None), None).is_none());
}

#[test]
fn an_approval_for_the_session_is_remembered_for_that_request_only() {
    let person = Person::answering(Decision::ApprovedForSession);
    let cache = Arc::new(SessionCache::new());
    let session = Session::new(person.clone(), cache.clone()).with_root("/repo");
    block_on(async {
        let first = session.decide(&exec(&["cargo", "test"], "/repo")).await;
        assert_eq!(first.decided_by, DecidedBy::User);
        assert_eq!(cache.len(), 1);
        let again = session.decide(&bash("/usr/bin/cargo test", "/repo")).await;
        assert_eq!(again.decided_by, DecidedBy::Session);
        assert_eq!(again.summary_decision(), Decision::Approved);
        assert_eq!(person.times_asked(), 1);
        let other = session.decide(&exec(&["cargo", "test", "--release"], "/repo")).await;
        assert_eq!(other.decided_by, DecidedBy::User);
        let elsewhere = session.decide(&exec(&["cargo", "test"], "/other")).await;
        assert_eq!(elsewhere.decided_by, DecidedBy::User);
        assert_eq!(person.times_asked(), 3);
    });
}

#[test]
fn plain_approvals_and_refusals_are_not_remembered() {
    for decision in [Decision::Approved, Decision::Denied, Decision::TimedOut, Decision::Abort] {
        let person = Person::answering(decision);
        let session = Session::new(person.clone(), Arc::new(SessionCache::new()));
        block_on(async {
            session.decide(&exec(&["ls"], "/repo")).await;
            session.decide(&exec(&["ls"], "/repo")).await;
        });
        assert_eq!(person.times_asked(), 2, "{decision}");
        assert!(session.cache().is_empty());
    }
}

#[test]
fn a_partial_permission_grant_is_not_remembered_and_a_full_one_is_replayed_exactly() {
    let asked = permissions(true, &["/repo/src"], &[]);
    let partial = Verdict::permissions(
        RequestPermissionsResponse {
            permissions: profile(false, &["/repo/src"], &[]),
            scope: PermissionGrantScope::Session,
        },
        DecidedBy::User,
    );
    let session = Session::new(Scripted(partial), Arc::new(SessionCache::new()));
    block_on(session.decide(&asked));
    assert!(session.cache().is_empty());

    let full = Verdict::permissions(
        RequestPermissionsResponse {
            permissions: profile(true, &["/repo/src"], &[]),
            scope: PermissionGrantScope::Session,
        },
        DecidedBy::User,
    );
    let session = Session::new(Scripted(full), Arc::new(SessionCache::new()));
    block_on(async {
        session.decide(&asked).await;
        assert_eq!(session.cache().len(), 1);
        let replay = session.decide(&asked).await;
        assert_eq!(replay.decided_by, DecidedBy::Session);
        let delegate_approval::Answer::Permissions(granted) = &replay.answer else { panic!() };
        assert_eq!(granted.permissions, profile(true, &["/repo/src"], &[]));
        assert_eq!(granted.scope, PermissionGrantScope::Turn);
    });
}

#[test]
fn user_input_is_never_cached() {
    let answers = delegate_protocol::RequestUserInputResponse {
        answers: [(
            "q".to_string(),
            delegate_protocol::UserInputAnswer { answers: vec!["a".into()] },
        )]
        .into_iter()
        .collect(),
    };
    let session = Session::new(
        Scripted(Verdict::user_input(answers, DecidedBy::User)),
        Arc::new(SessionCache::new()),
    );
    block_on(session.decide(&questions(&[("q", None, None)])));
    assert!(session.cache().is_empty());
}

#[test]
fn a_deny_rule_still_wins_over_a_remembered_approval() {
    // The session approved `git push` before a parent's policy turned it off: rules come first.
    let cache = Arc::new(SessionCache::new());
    let request = exec(&["git", "push"], "/repo");
    cache.insert(key(&request));
    let rules = rules("[[exec]]\nid = \"no-push\"\nprefix = \"git push\"\ndecision = \"deny\"\n");
    let approver = PolicyApprover::new(
        Arc::new(rules),
        Arc::new(Session::new(Person::answering(Decision::Denied), cache).with_root("/repo")),
    );
    let verdict = block_on(approver.decide(&request));
    assert_eq!(verdict.decided_by, DecidedBy::Rule("no-push".into()));
    assert!(!verdict.approves());
    // And a fixed deny policy too.
    let fixed = PolicyApprover::new(
        Arc::new(Fixed::new(Action::Deny, "read_only")),
        Arc::new(Session::new(
            Person::answering(Decision::Approved),
            Arc::new(SessionCache::new()),
        )),
    );
    assert!(!block_on(fixed.decide(&request)).approves());
}

#[test]
fn the_cache_is_bounded() {
    let cache = SessionCache::new();
    for i in 0..MAX_SESSION_APPROVALS {
        assert!(cache.insert(key(&exec(&["echo", &i.to_string()], "/repo"))));
    }
    assert!(!cache.insert(key(&exec(&["echo", "one more"], "/repo"))));
    assert!(cache.insert(key(&exec(&["echo", "0"], "/repo"))), "re-inserting a known key is fine");
    assert_eq!(cache.len(), MAX_SESSION_APPROVALS);
    cache.clear();
    assert!(cache.is_empty());
}
