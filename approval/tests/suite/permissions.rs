//! Permission matching: network, read and write paths.

use delegate_approval::Action;

use super::support::*;

const RULES: &str = r#"
[defaults]
permissions = "ask"

[[permissions]]
id = "no-network"
network = true
decision = "deny"

[[permissions]]
id = "read-anything-here"
read = "**"
decision = "allow"

[[permissions]]
id = "write-target"
write = ["target/**", "/opt/delegate-out/**"]
decision = "allow"

[[permissions]]
id = "no-ssh"
read = "/home/*/.ssh/**"
write = "/home/*/.ssh/**"
decision = "deny"
"#;

#[test]
fn permissions_are_ruled_as_the_table_says() {
    let scratch = Scratch::new("perm-table");
    let root = scratch.mkdir("repo");
    scratch.mkdir("repo/src");
    scratch.mkdir("repo/target");
    let in_root = root.join("src/lib.rs");
    let in_root = in_root.to_str().unwrap();
    let rules = rules(RULES).with_root(&root);
    type Row<'a> = (bool, &'a [&'a str], &'a [&'a str], Action, &'a str);
    let table: &[Row<'_>] = &[
        (true, &[], &[], Action::Deny, "rule:no-network"),
        (false, &["src"], &[], Action::Allow, "rule:read-anything-here"),
        (false, &[in_root], &[], Action::Allow, "rule:read-anything-here"),
        (false, &["/etc"], &[], Action::Ask, "default"),
        (false, &["../other"], &[], Action::Ask, "default"),
        (false, &[], &["target/debug"], Action::Allow, "rule:write-target"),
        (false, &[], &["/opt/delegate-out/x"], Action::Allow, "rule:write-target"),
        (false, &[], &["target/../src"], Action::Ask, "default"),
        (false, &[], &["src"], Action::Ask, "default"),
        (false, &["src"], &["target"], Action::Allow, "rule:read-anything-here"),
        (true, &["src"], &["target"], Action::Deny, "rule:no-network"),
        (false, &["/home/me/.ssh/id_rsa"], &[], Action::Deny, "rule:no-ssh"),
        (false, &["src", "/home/me/.ssh/id_rsa"], &[], Action::Deny, "rule:no-ssh"),
        (false, &[], &[], Action::Ask, "default"),
    ];
    for (network, read, write, expected, by) in table {
        let ruling = rules.rule(&permissions(*network, read, write));
        assert_eq!(ruling.action, *expected, "{network} {read:?} {write:?}: {ruling}");
        assert_eq!(ruling.decided_by().to_string(), *by, "{read:?} {write:?}: {ruling}");
    }
}

#[test]
fn relative_paths_without_a_root_are_never_allowed() {
    let rules = rules(RULES);
    assert_eq!(action(&rules, &permissions(false, &["src"], &[])), Action::Ask);
    assert_eq!(action(&rules, &permissions(false, &[], &["target/x"])), Action::Ask);
    assert_eq!(action(&rules, &permissions(false, &[], &["/opt/delegate-out/y"])), Action::Allow);
}

#[cfg(unix)]
#[test]
fn symlinked_paths_must_match_where_they_lead() {
    let scratch = Scratch::new("perm-symlink");
    let root = scratch.mkdir("repo");
    scratch.mkdir("repo/target");
    let secret = scratch.mkdir("secret");
    std::os::unix::fs::symlink(&secret, root.join("target/out")).unwrap();
    let rules = rules(RULES).with_root(&root);
    assert_eq!(action(&rules, &permissions(false, &[], &["target/debug"])), Action::Allow);
    assert_eq!(action(&rules, &permissions(false, &[], &["target/out/x"])), Action::Ask);
}
