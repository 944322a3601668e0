//! `check` and `explain`: structured results and the text the CLI prints.

use delegate_approval::Action;
use delegate_approval::ChangeKind;
use delegate_approval::Query;
use delegate_approval::Source;
use delegate_approval::check;
use delegate_approval::check_file;
use delegate_approval::explain;

use super::support::*;

const RULES: &str = r#"default = "ask"

[[exec]]
id = "git-read"
description = "read-only git"
prefix = "git status"
decision = "allow"

[[exec]]
id = "no-push"
glob = "git push **"
decision = "deny"

[[patch]]
paths = "src/**"
decision = "allow"
"#;

#[test]
fn the_first_line_says_what_and_who() {
    let rules = rules(RULES);
    let table: &[(Query, &str)] = &[
        (Query::exec("git push origin main"), "deny  rule no-push (line 9)"),
        (Query::exec("git status"), "allow rule git-read (line 3)"),
        (Query::exec("bash -lc 'git status'").with_cwd("/repo"), "allow rule git-read (line 3)"),
        (Query::exec("make"), "ask   default (no rule matched)"),
        (Query::exec("git status; rm -rf ~"), "ask   uncertain (cannot be matched with certainty)"),
        (Query::patch("src/lib.rs").with_cwd("/repo"), "allow rule at line 14"),
        (Query::patch("src/lib.rs"), "ask   uncertain (cannot be matched with certainty)"),
    ];
    for (query, first_line) in table {
        let explanation = explain(&rules, query);
        let text = explanation.to_string();
        assert_eq!(text.lines().next(), Some(*first_line), "{text}");
        assert!(text.lines().nth(1).unwrap().starts_with("  request: "), "{text}");
    }
}

#[test]
fn a_normalised_path_no_longer_matches_the_directory_it_named() {
    let scratch = Scratch::new("explain-dotdot");
    scratch.mkdir("src");
    let text = explain(&rules(RULES), &Query::patch("src/../.git/config").with_cwd(&scratch.path))
        .to_string();
    assert!(text.starts_with("ask   default (no rule matched)"), "{text}");
    assert!(text.contains("(as .git/config)"), "{text}");
}

#[test]
fn explanations_say_why() {
    let rules = rules(RULES);
    let e = explain(&rules, &Query::exec("git status && git push").with_cwd("/repo"));
    assert_eq!(e.ruling.action, Action::Deny);
    assert_eq!(e.ruling.source, Source::Rule { id: Some("no-push".into()), line: 9 });
    let text = e.to_string();
    assert!(
        text.contains("part 1 of 2, `git status` in /repo: allow by rule git-read (line 3)"),
        "{text}"
    );
    assert!(
        text.contains("part 2 of 2, `git push` in /repo: deny by rule no-push (line 9)"),
        "{text}"
    );

    let e = explain(&rules, &Query::exec("echo $(id)"));
    assert!(e.to_string().contains("uncertain: `$`"), "{e}");
    assert!(e.to_string().contains("a person decides"), "{e}");

    let e = explain(
        &rules,
        &Query::patch("src/a.rs").with_change(ChangeKind::Delete).with_cwd("/repo"),
    );
    assert_eq!(e.ruling.action, Action::Allow);
    assert!(e.to_string().contains("delete src/a.rs"), "{e}");
}

#[test]
fn unmatched_without_a_default_says_so() {
    let rules = rules("[[exec]]\nprefix = \"ls\"\ndecision = \"allow\"\n");
    let text = explain(&rules, &Query::exec("make")).to_string();
    assert!(text.starts_with("ask   no rule matched and the file sets no default"), "{text}");
}

#[test]
fn check_lists_every_rule_with_its_line() {
    let report = check(&rules(RULES));
    assert_eq!(report.rules.len(), 3);
    assert_eq!(report.default, Some(Action::Ask));
    let lines: Vec<usize> = report.rules.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![3, 9, 14]);
    let text = report.to_string();
    assert!(text.starts_with("ok: rules: 3 rules, default ask"), "{text}");
    assert!(text.contains("line 3    exec        allow git-read"), "{text}");
    assert!(text.contains("prefix \"git status\"  # read-only git"), "{text}");
    assert!(text.contains("line 14   patch       allow -                paths src/**"), "{text}");
}

#[test]
fn check_file_validates_and_names_the_file() {
    let scratch = Scratch::new("check-file");
    let good = scratch.join("good.toml");
    std::fs::write(&good, RULES).unwrap();
    let report = check_file(&good).unwrap();
    assert!(report.to_string().contains("good.toml"));
    let bad = scratch.join("bad.toml");
    std::fs::write(&bad, "[[exec]]\nprefix = \"ls\"\ndecision = \"maybe\"\n").unwrap();
    let e = check_file(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.toml") && e.contains("line 3") && e.contains("maybe"), "{e}");
}
