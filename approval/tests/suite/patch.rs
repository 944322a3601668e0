//! Patch matching: normalisation, escapes from the root, symlinks, moves, grant roots, change
//! types.

use delegate_approval::Action;
use delegate_approval::Source;
use delegate_protocol::DecidedBy;
use delegate_protocol::FileChange;

use super::support::*;

const RULES: &str = r#"
default = "ask"

[[patch]]
id = "sources"
paths = ["src/**", "tests/**/*.rs"]
change = ["add", "update"]
decision = "allow"

[[patch]]
id = "docs"
paths = "docs/**"
decision = "allow"

[[patch]]
id = "no-git"
paths = [".git/**", "**/.env"]
decision = "deny"

[[patch]]
id = "deletes"
change = "delete"
decision = "ask"

[[patch]]
id = "etc"
paths = "/etc/**"
decision = "deny"
"#;

#[test]
fn patches_are_ruled_as_the_table_says() {
    let rules = rules(RULES).with_root("/repo");
    type Row<'a> = (Vec<(&'a str, FileChange)>, Option<&'a str>, Action, &'a str);
    let table: Vec<Row<'_>> = vec![
        (vec![("src/main.rs", update())], None, Action::Allow, "rule:sources"),
        (vec![("src/a/b/c.rs", add())], None, Action::Allow, "rule:sources"),
        (vec![("/repo/src/main.rs", update())], None, Action::Allow, "rule:sources"),
        (vec![("./src/./main.rs", update())], None, Action::Allow, "rule:sources"),
        (vec![("tests/x/it.rs", update())], None, Action::Allow, "rule:sources"),
        (vec![("tests/x/it.txt", update())], None, Action::Ask, "default"),
        (vec![("src/main.rs", delete())], None, Action::Ask, "rule:deletes"),
        (vec![("docs/a.md", delete())], None, Action::Ask, "rule:deletes"),
        (vec![("src/../.git/config", update())], None, Action::Deny, "rule:no-git"),
        (vec![(".git/hooks/pre-commit", add())], None, Action::Deny, "rule:no-git"),
        (vec![("src/deep/.env", update())], None, Action::Deny, "rule:no-git"),
        (vec![("src/a.rs", update()), ("src/.env", update())], None, Action::Deny, "rule:no-git"),
        (vec![("src/a.rs", update()), ("README.md", update())], None, Action::Ask, "default"),
        (vec![("src/a.rs", update()), ("docs/x.md", add())], None, Action::Allow, "rule:docs"),
        (vec![("/etc/passwd", update())], None, Action::Deny, "rule:etc"),
        (vec![("src/a.rs", moved("src/b.rs"))], None, Action::Allow, "rule:sources"),
        (vec![("src/a.rs", moved(".git/config"))], None, Action::Deny, "rule:no-git"),
        (vec![("src/a.rs", update())], Some("src"), Action::Ask, "rule:deletes"),
        // A grant root lets the agent delete too, which `deletes` asks about.
        (vec![("docs/a.md", update())], Some("docs"), Action::Ask, "rule:deletes"),
    ];
    for (changes, grant_root, expected, by) in table {
        let request = patch(changes.clone(), grant_root);
        let ruling = rules.rule(&request);
        assert_eq!(ruling.action, expected, "{changes:?} {grant_root:?}: {ruling}");
        assert_eq!(ruling.decided_by().to_string(), by, "{changes:?}: {ruling}");
    }
}

#[test]
fn paths_that_leave_the_root_are_never_allowed() {
    let rules = rules(
        "[defaults]\npatch = \"allow\"\n[[patch]]\nid = \"all\"\npaths = [\"**\", \"/**\"]\ndecision = \"allow\"\n",
    )
    .with_root("/repo");
    for (path, change) in [
        ("../outside.rs", update()),
        ("src/../../outside.rs", update()),
        ("/etc/passwd", update()),
        ("/repository/x", update()),
        ("/repo/../etc/shadow", add()),
        ("src/a.rs", moved("../../home/me/.bashrc")),
        ("src/a.rs", moved("/home/me/.bashrc")),
    ] {
        let ruling = rules.rule(&patch(vec![(path, change)], None));
        assert_eq!(ruling.action, Action::Ask, "{path}: {ruling}");
        assert_eq!(ruling.source, Source::Uncertain, "{path}: {ruling}");
    }
    // A grant root outside the working root asks for far more than the patch.
    let ruling = rules.rule(&patch(vec![("src/a.rs", update())], Some("/")));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
    let ruling = rules.rule(&patch(vec![("src/a.rs", update())], Some("..")));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
    // Inside, all is well.
    assert_eq!(action(&rules, &patch(vec![("src/a.rs", update())], Some("src"))), Action::Allow);
}

#[test]
fn without_a_root_no_patch_is_allowed() {
    let rules = rules(RULES);
    let ruling = rules.rule(&patch(vec![("src/main.rs", update())], None));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
    assert!(ruling.reasons.iter().any(|r| r.contains("no working root")), "{ruling}");
    // Deny rules still apply.
    assert_eq!(action(&rules, &patch(vec![(".git/config", update())], None)), Action::Deny);
    assert_eq!(action(&rules, &patch(vec![("/etc/hosts", update())], None)), Action::Deny);
}

#[cfg(unix)]
#[test]
fn symlinks_that_leave_the_root_are_never_allowed() {
    let scratch = Scratch::new("patch-symlink");
    let root = scratch.mkdir("repo");
    std::fs::create_dir_all(root.join("src")).unwrap();
    let outside = scratch.mkdir("outside");
    std::os::unix::fs::symlink(&outside, root.join("src/escape")).unwrap();
    std::os::unix::fs::symlink(root.join(".git"), root.join("src/git-inside")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::os::unix::fs::symlink(outside.join("missing"), root.join("src/dangling")).unwrap();
    std::fs::write(outside.join("secret"), "x").unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("src/file-link")).unwrap();
    let rules = rules(RULES).with_root(&root);

    let allowed = rules.rule(&patch(vec![("src/ok.rs", update())], None));
    assert_eq!(allowed.action, Action::Allow, "{allowed}");
    for path in [
        "src/escape/x.rs",
        "src/escape/new/dir/x.rs",
        "src/dangling",
        "src/file-link",
        "src/escape/../x.rs",
    ] {
        let ruling = rules.rule(&patch(vec![(path, update())], None));
        assert_ne!(ruling.action, Action::Allow, "{path}: {ruling}");
    }
    // A symlink inside the root to a denied place is denied through its canonical form.
    let ruling = rules.rule(&patch(vec![("src/git-inside/config", update())], None));
    assert_eq!(ruling.action, Action::Deny, "{ruling}");
    assert_eq!(ruling.decided_by(), DecidedBy::Rule("no-git".into()));
    // The root itself reached through a symlink is fine.
    let link_to_root = scratch.join("root-link");
    std::os::unix::fs::symlink(&root, &link_to_root).unwrap();
    let via_link = rules.clone().with_root(&link_to_root);
    assert_eq!(action(&via_link, &patch(vec![("src/ok.rs", update())], None)), Action::Allow);
}

#[test]
fn grant_roots_need_a_rule_without_change_types() {
    let rules = rules(RULES).with_root("/repo");
    // `sources` restricts change types, so it cannot grant a whole directory.
    let ruling = rules.rule(&patch(vec![("src/a.rs", update())], Some("src")));
    assert_eq!(ruling.action, Action::Ask, "{ruling}");
    // A deny rule about any change type holds for a grant root.
    let deny_deletes = super::support::rules(
        "[[patch]]\npaths = \"**\"\ndecision = \"allow\"\n[[patch]]\nid = \"d\"\nchange = \"delete\"\ndecision = \"deny\"\n",
    )
    .with_root("/repo");
    assert_eq!(action(&deny_deletes, &patch(vec![("a", update())], Some("."))), Action::Deny);
    assert_eq!(action(&deny_deletes, &patch(vec![("a", update())], None)), Action::Allow);
}

#[test]
fn an_empty_patch_gets_the_default() {
    let rules = rules("default = \"deny\"").with_root("/repo");
    assert_eq!(action(&rules, &patch(vec![], None)), Action::Deny);
}

#[test]
fn a_patch_that_names_no_changes_is_never_allowed_nor_cached() {
    use delegate_approval::SessionKey;
    let rules =
        delegate_approval::Rules::from_toml("default = \"allow\"\n").unwrap().with_root("/repo");
    let request = delegate_approval::ApprovalRequest::new(
        delegate_approval::Request::Patch(delegate_protocol::ApplyPatchApprovalRequestEvent {
            call_id: "c".into(),
            turn_id: "t".into(),
            changes: Default::default(),
            reason: None,
            grant_root: None,
            extra: Default::default(),
        }),
        vec!["root".into()],
        "t",
    );
    let ruling = rules.rule(&request);
    assert_ne!(ruling.action, delegate_approval::Action::Allow, "{ruling}");
    assert!(SessionKey::for_request(&request, Some(std::path::Path::new("/repo"))).is_none());
}
