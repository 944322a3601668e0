//! `--policy` deciding every kind of approval, and `delegate policy check|explain`.

use delegate_protocol::Event;
use delegate_protocol::EventMsg;

use super::support::*;

const POLICY: &str = r#"
default = "deny"

[[exec]]
id = "ls-ok"
prefix = "ls"
decision = "allow"

[[exec]]
id = "no-push"
prefix = "git push"
decision = "deny"

[[patch]]
id = "src-ok"
paths = ["src/**"]
decision = "allow"

[[permissions]]
id = "net-ok"
network = true
decision = "allow"

[[user_input]]
id = "branch"
question_id = "q1"
answers = ["main"]
decision = "allow"
"#;

fn decided(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .filter_map(|l| Event::from_json_slice(l.as_bytes()).ok())
        .filter_map(|e| match e.msg {
            EventMsg::ApprovalDecided(d) => {
                Some((d.kind.to_string(), d.decision.to_string(), d.decided_by.to_string()))
            }
            _ => None,
        })
        .collect()
}

fn with_policy(name: &str, policy: &str) -> (std::path::PathBuf, String) {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let file = dir.join("policy.toml");
    std::fs::write(&file, policy).unwrap();
    (dir, file.to_string_lossy().to_string())
}

#[test]
fn a_policy_decides_each_kind_of_request() {
    let (dir, policy) = with_policy("kinds", POLICY);
    let out = run(
        &dir,
        &[
            "exec",
            "--json",
            "--policy",
            &policy,
            "run: ls -la\nrun: git push origin main\nedit: src/lib.rs\nedit: .git/config\nnet:\nask: which branch?",
        ],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let got = decided(&out.stdout);
    let expect = [
        ("exec", "approved", "rule:ls-ok"),
        ("exec", "denied", "rule:no-push"),
        ("patch", "approved", "rule:src-ok"),
        ("patch", "denied", "default"),
        ("permissions", "approved", "rule:net-ok"),
        ("user_input", "approved", "rule:branch"),
    ];
    let got: Vec<(&str, &str, &str)> =
        got.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
    assert_eq!(got, expect);
    assert!(out.stdout.contains(r#"the answer was \"main\""#), "{}", out.stdout);
}

#[test]
fn a_wrapped_compound_command_is_not_allowed_by_a_prefix_rule() {
    let (dir, policy) = with_policy("bypass", POLICY);
    let out =
        run(&dir, &["exec", "--json", "--policy", &policy, "run: bash -lc 'ls; rm -rf ~'"], "");
    assert_eq!(out.code, 0, "{out:?}");
    let got = decided(&out.stdout);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "denied", "{got:?}");
}

#[test]
fn ask_rules_fall_back_to_the_missing_terminal_and_are_denied() {
    let (dir, policy) = with_policy("ask", "default = \"ask\"\n");
    let out = run(&dir, &["exec", "--json", "--policy", &policy, "run: make"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        decided(&out.stdout),
        [("exec".into(), "denied".into(), "policy:no_terminal".into())]
    );
    assert!(out.stderr.contains("stdin is not a terminal"), "{}", out.stderr);
}

#[test]
fn a_bad_policy_file_is_a_usage_error_naming_the_line() {
    let (dir, policy) = with_policy(
        "bad",
        "default = \"ask\"\n\n[[exec]]\nprefix = \"ls\"\ndecision = \"maybe\"\n",
    );
    let out = run(&dir, &["exec", "--policy", &policy, "run: ls"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("line 5") || out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(out.stderr.contains("policy.toml"), "{}", out.stderr);
    let check = run(&dir, &["policy", "check", &policy], "");
    assert_eq!(check.code, 2, "{check:?}");
}

#[test]
fn a_missing_policy_file_is_a_usage_error() {
    let dir = temp_dir("nofile");
    let out = run(&dir, &["exec", "--policy", "nope.toml", "hi"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nope.toml"), "{}", out.stderr);
}

#[test]
fn policy_explain_starts_with_the_decision_and_what_decided_it() {
    let (dir, policy) = with_policy("explain", POLICY);
    let out = run(&dir, &["policy", "explain", &policy, "--exec", "git push origin main"], "");
    assert_eq!(out.code, 0, "{out:?}");
    let first = out.stdout.lines().next().unwrap();
    assert!(first.starts_with("deny"), "{first}");
    assert!(first.contains("no-push"), "{first}");
    let out = run(&dir, &["policy", "explain", &policy, "--patch", "src/../.git/config"], "");
    assert!(out.stdout.starts_with("deny"), "{}", out.stdout);
    let out = run(&dir, &["policy", "explain", &policy, "--exec", "ls -la"], "");
    assert!(out.stdout.starts_with("allow"), "{}", out.stdout);
}

#[test]
fn policy_check_lists_the_rules() {
    let (dir, policy) = with_policy("check", POLICY);
    let out = run(&dir, &["policy", "check", &policy], "");
    assert_eq!(out.code, 0, "{out:?}");
    for id in ["ls-ok", "no-push", "src-ok", "net-ok", "branch"] {
        assert!(out.stdout.contains(id), "{}", out.stdout);
    }
}

#[test]
fn the_shipped_example_policy_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policy.toml");
    let dir = temp_dir("example");
    let out = run(&dir, &["policy", "check", example], "");
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn approval_timeout_times_out_a_waiting_prompt() {
    let dir = temp_dir("approval-timeout");
    let out =
        run_in_pty(&dir, &["exec", "--json", "--approval-timeout", "300ms", "run: make"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(r#""decision":"timed_out","decided_by":"timeout""#),
        "{}",
        out.stdout
    );
}

#[test]
fn audit_records_every_decision_with_who_decided() {
    let (dir, policy) = with_policy("audit", POLICY);
    let audit = dir.join("audit.jsonl");
    let out = run(
        &dir,
        &[
            "exec",
            "--policy",
            &policy,
            "--audit",
            audit.to_str().unwrap(),
            "run: ls\nrun: git push",
        ],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["decided_by"], "rule:ls-ok");
    assert_eq!(lines[1]["decided_by"], "rule:no-push");
    assert_eq!(lines[1]["decision"], "denied");
    assert!(
        lines.iter().all(|l| l["trace_id"].as_str().is_some_and(|t| t.len() == 32)),
        "{lines:?}"
    );
}
