//! Table-driven exec matching: prefixes, globs, cwd, precedence, defaults and `decided_by`.

use delegate_approval::Action;
use delegate_approval::Policy;
use delegate_approval::Source;
use delegate_protocol::DecidedBy;

use super::support::*;

const RULES: &str = r#"
default = "ask"

[[exec]]
id = "git-status"
prefix = "git status"
decision = "allow"

[[exec]]
id = "git-log"
glob = "git log **"
decision = "allow"

[[exec]]
id = "cargo-test-here"
glob = ["cargo", "test", "**"]
cwd = "/work/repo"
decision = "allow"

[[exec]]
id = "no-push"
glob = "git push **"
decision = "deny"

[[exec]]
id = "force-anything"
glob = "** --force **"
decision = "deny"

[[exec]]
glob = "make *"
decision = "ask"

[[exec]]
id = "ls-exact"
glob = "ls"
decision = "allow"

[[exec]]
id = "cat-md"
glob = "cat *.md"
decision = "allow"
"#;

#[test]
fn commands_are_ruled_as_the_table_says() {
    let rules = rules(RULES);
    let table: &[(&[&str], &str, Action, &str)] = &[
        (&["git", "status"], "/anywhere", Action::Allow, "rule:git-status"),
        (&["git", "status", "--short"], "/anywhere", Action::Allow, "rule:git-status"),
        (&["/usr/bin/git", "status"], "/anywhere", Action::Allow, "rule:git-status"),
        (&["git", "log"], "/x", Action::Allow, "rule:git-log"),
        (&["git", "log", "-p", "--stat"], "/x", Action::Allow, "rule:git-log"),
        (&["git", "push"], "/x", Action::Deny, "rule:no-push"),
        (&["git", "push", "origin", "main"], "/x", Action::Deny, "rule:no-push"),
        (&["git", "log", "--force"], "/x", Action::Deny, "rule:force-anything"),
        (&["git", "stash"], "/x", Action::Ask, "default"),
        (&["cargo", "test"], "/work/repo", Action::Allow, "rule:cargo-test-here"),
        (&["cargo", "test", "-p", "x"], "/work/repo/sub", Action::Allow, "rule:cargo-test-here"),
        (&["cargo", "test"], "/work/repo/../other", Action::Ask, "default"),
        (&["cargo", "test"], "/work/repository", Action::Ask, "default"),
        (&["cargo", "test"], "/work", Action::Ask, "default"),
        (&["make", "all"], "/x", Action::Ask, "rule:line 30"),
        (&["ls"], "/x", Action::Allow, "rule:ls-exact"),
        (&["ls", "-la"], "/x", Action::Ask, "default"),
        (&["cat", "README.md"], "/x", Action::Allow, "rule:cat-md"),
        (&["cat", "docs/README.md"], "/x", Action::Ask, "default"),
        (&["cat", "../README.md"], "/x", Action::Ask, "default"),
        (&["cat", "..md"], "/x", Action::Allow, "rule:cat-md"),
    ];
    for (argv, cwd, expected, by) in table {
        let ruling = rules.rule(&exec(argv, cwd));
        assert_eq!(ruling.action, *expected, "{argv:?} in {cwd}: {ruling}");
        assert_eq!(ruling.decided_by().to_string(), *by, "{argv:?} in {cwd}: {ruling}");
    }
}

#[test]
fn deny_beats_ask_beats_allow_whatever_the_order() {
    for order in [["allow", "ask", "deny"], ["deny", "ask", "allow"], ["ask", "deny", "allow"]] {
        let text: String = order
            .iter()
            .map(|d| format!("[[exec]]\nid = \"{d}\"\nprefix = \"git\"\ndecision = \"{d}\"\n"))
            .collect();
        let rules = rules(&text);
        assert_eq!(action(&rules, &exec(&["git", "x"], "/")), Action::Deny, "{order:?}");
        let without_deny: String = order
            .iter()
            .filter(|d| **d != "deny")
            .map(|d| format!("[[exec]]\nid = \"{d}\"\nprefix = \"git\"\ndecision = \"{d}\"\n"))
            .collect();
        assert_eq!(
            action(&super::support::rules(&without_deny), &exec(&["git"], "/")),
            Action::Ask
        );
    }
}

#[test]
fn a_rule_without_id_is_named_by_its_line() {
    let rules = rules("\n\n[[exec]]\nprefix = \"ls\"\ndecision = \"deny\"\n");
    let ruling = rules.rule(&exec(&["ls"], "/"));
    assert_eq!(ruling.decided_by(), DecidedBy::Rule("line 3".into()));
    assert_eq!(ruling.source, Source::Rule { id: None, line: 3 });
}

#[test]
fn per_kind_defaults_override_the_file_default() {
    let rules = rules("default = \"deny\"\n[defaults]\nexec = \"allow\"\n");
    assert_eq!(action(&rules, &exec(&["ls"], "/")), Action::Allow);
    assert_eq!(action(&rules, &permissions(true, &[], &[])), Action::Deny);
}

#[test]
fn without_a_default_an_unmatched_request_has_no_opinion() {
    let rules = rules("[[exec]]\nprefix = \"ls\"\ndecision = \"allow\"\n");
    let request = exec(&["git", "status"], "/");
    assert_eq!(rules.rule(&request).source, Source::Unmatched);
    assert_eq!(Policy::evaluate(&rules, &request), None);
    assert!(Policy::evaluate(&rules, &exec(&["ls"], "/")).is_some());
}

#[test]
fn compound_scripts_need_every_part_allowed() {
    let rules = rules(RULES);
    let table: &[(&str, Action)] = &[
        ("git status && git log", Action::Allow),
        ("git status; git log -p | git log", Action::Allow),
        ("git status && git stash", Action::Ask),
        ("git status && git push", Action::Deny),
        ("git push || git status", Action::Deny),
        ("git status\ngit log", Action::Allow),
    ];
    for (script, expected) in table {
        assert_eq!(action(&rules, &bash(script, "/x")), *expected, "{script:?}");
    }
}

#[test]
fn cd_moves_the_following_commands_only_when_certain() {
    let rules = rules(RULES);
    let table: &[(&str, &str, Action)] = &[
        ("cd /work/repo && cargo test", "/elsewhere", Action::Allow),
        ("cd repo && cargo test", "/work", Action::Allow),
        // `..` after a directory that does not exist cannot be resolved with certainty.
        ("cd sub && cd .. && cargo test", "/work/repo", Action::Ask),
        ("cd /tmp && cargo test", "/work/repo", Action::Ask),
        ("cd .. && cargo test", "/work/repo", Action::Ask),
        // `;`: if cd fails the test runs where we started; we cannot tell which.
        ("cd /work/repo; cargo test", "/elsewhere", Action::Ask),
        // `||`: the test runs only if cd failed.
        ("cd /work/repo || cargo test", "/elsewhere", Action::Ask),
        // In a pipeline cd runs in a subshell.
        ("cd /work/repo | cargo test", "/elsewhere", Action::Ask),
        ("cd && cargo test", "/work/repo", Action::Ask),
        ("cd - && cargo test", "/work/repo", Action::Ask),
    ];
    for (script, cwd, expected) in table {
        let ruling = rules.rule(&bash(script, cwd));
        assert_eq!(ruling.action, *expected, "{script:?} in {cwd}: {ruling}");
    }
}

#[test]
fn a_relative_cwd_without_a_root_never_satisfies_a_cwd_allow() {
    let rules = rules(RULES);
    assert_eq!(action(&rules, &exec(&["cargo", "test"], "repo")), Action::Ask);
    let rooted = rules.clone().with_root("/work");
    assert_eq!(action(&rooted, &exec(&["cargo", "test"], "repo")), Action::Allow);
}

#[test]
fn a_deny_with_cwd_still_holds_where_the_directory_is_unknown() {
    let rules = rules(
        "[[exec]]\nid = \"no-rm-in-home\"\nprefix = \"rm\"\ncwd = \"/home\"\ndecision = \"deny\"\n[defaults]\nexec = \"allow\"\n",
    );
    assert_eq!(action(&rules, &bash("rm x", "/tmp")), Action::Allow);
    assert_eq!(action(&rules, &bash("rm x", "/home/me")), Action::Deny);
    assert_eq!(action(&rules, &bash("cd /tmp; rm x", "/tmp")), Action::Deny);
    assert_eq!(action(&rules, &exec(&["rm", "x"], "relative")), Action::Deny);
}

#[cfg(unix)]
#[test]
fn cwd_rules_see_through_symlinked_directories() {
    let scratch = Scratch::new("cwd-symlink");
    let repo = scratch.mkdir("repo");
    let outside = scratch.mkdir("outside");
    std::os::unix::fs::symlink(&outside, repo.join("link")).unwrap();
    let text = format!(
        "[[exec]]\nid = \"t\"\nprefix = \"cargo test\"\ncwd = \"{}\"\ndecision = \"allow\"\n",
        repo.display()
    );
    let rules = rules(&text);
    assert_eq!(action(&rules, &exec(&["cargo", "test"], &repo)), Action::Allow);
    // Lexically under the repo, really in `outside`.
    assert_eq!(action(&rules, &exec(&["cargo", "test"], repo.join("link"))), Action::Ask);
}

#[test]
fn cd_into_and_out_of_existing_directories_is_followed() {
    let scratch = Scratch::new("cd-follow");
    let repo = scratch.mkdir("repo");
    scratch.mkdir("repo/sub");
    let text = format!(
        "[[exec]]\nid = \"t\"\nprefix = \"cargo test\"\ncwd = \"{}\"\ndecision = \"allow\"\n",
        repo.display()
    );
    let rules = rules(&text);
    assert_eq!(action(&rules, &bash("cd sub && cd .. && cargo test", &repo)), Action::Allow);
    assert_eq!(action(&rules, &bash("cd sub && cargo test", &repo)), Action::Allow);
    assert_eq!(action(&rules, &bash("cd sub && cd ../.. && cargo test", &repo)), Action::Ask);
}
