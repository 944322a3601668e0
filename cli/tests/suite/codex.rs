//! `delegate exec --codex` against the real Codex binary (`adapter-codex/install-codex.sh`) and a
//! mock model server on loopback: a policy approves one command and denies another, and only the
//! approved one changes the disk.

use std::process::Command;
use std::process::Stdio;
use std::time::Instant;

use delegate_adapter_codex::test_util::CodexSandbox;
use delegate_adapter_codex::test_util::MockResponsesServer;
use delegate_adapter_codex::test_util::ScriptedResponse;
use delegate_adapter_codex::test_util::codex_binary;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;

use super::support::*;

const POLICY: &str = r#"
default = "deny"

[[exec]]
id = "touch-ok"
prefix = "touch approved.txt"
decision = "allow"

[[exec]]
id = "no-touch-denied"
prefix = "touch denied.txt"
decision = "deny"
"#;

#[test]
fn exec_codex_runs_only_what_the_policy_approves() {
    let codex = codex_binary().unwrap_or_else(|e| panic!("{e}"));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = runtime
        .block_on(MockResponsesServer::start(vec![
            ScriptedResponse::exec("call-1", "touch approved.txt"),
            ScriptedResponse::exec("call-2", "touch denied.txt"),
            ScriptedResponse::message("made one file, was refused the other"),
        ]))
        .unwrap();
    let sandbox = CodexSandbox::new(&server.base_url()).unwrap();
    let policy = sandbox.root().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let started = Instant::now();
    let child = Command::new(delegate_bin())
        .args([
            "exec",
            "--codex",
            "--codex-bin",
            codex.to_str().unwrap(),
            "--json",
            "--policy",
            policy.to_str().unwrap(),
        ])
        .arg("create two files")
        .current_dir(&sandbox.repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sandbox.home)
        .env("CODEX_HOME", &sandbox.codex_home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait(child, started);
    // Shown with --nocapture: the session as a user would see it.
    eprintln!(
        "--- delegate exec --codex --json (stdout)\n{}--- stderr\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.code, 0, "{out:?}\ncodex log:\n{}", sandbox.codex_log());
    let events: Vec<Event> =
        out.stdout.lines().map(|l| Event::from_json_slice(l.as_bytes()).unwrap()).collect();
    let decided: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::ApprovalDecided(d) => {
                Some((d.decision.to_string(), d.decided_by.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        decided,
        [
            ("approved".to_string(), "rule:touch-ok".to_string()),
            ("denied".to_string(), "rule:no-touch-denied".to_string())
        ]
    );
    assert!(sandbox.repo.join("approved.txt").exists(), "the approved command ran");
    assert!(!sandbox.repo.join("denied.txt").exists(), "the denied command did not run");
    assert!(events.iter().any(|e| matches!(&e.msg, EventMsg::TaskComplete(_))), "{}", out.stdout);
    let home = sandbox.codex_home.as_os_str();
    assert!(
        delegate_adapter_codex::test_util::processes_with_env("CODEX_HOME", home).is_empty(),
        "codex outlived delegate"
    );
    drop(runtime);
}

#[test]
fn a_missing_codex_binary_is_a_usage_error() {
    let dir = temp_dir("nocodex");
    let out = run(&dir, &["exec", "--codex", "--codex-bin", "/nonexistent/codex", "hi"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("/nonexistent/codex"), "{}", out.stderr);
}
