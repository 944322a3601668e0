//! Running the built `delegate` binary with bounded waits.

use std::io::Read;
use std::io::Write;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

/// Longest any one command may take before the test fails (and the command is killed).
pub const LIMIT: Duration = Duration::from_secs(20);

pub fn delegate_bin() -> &'static str {
    env!("CARGO_BIN_EXE_delegate")
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("delegate-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Wait for `child` with a deadline; kill it and fail if it does not finish.
pub fn wait(mut child: Child, started: Instant) -> Output {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        took,
    }
}

/// Run `delegate ARGS` in `cwd` with `stdin` as its input.
pub fn run(cwd: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let started = Instant::now();
    let mut child = Command::new(delegate_bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("TRACEPARENT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    wait(child, started)
}

/// Run `delegate ARGS` inside a pseudo-terminal (util-linux `script`), typing `answers` one line
/// at a time after a short pause each, as a person would.
pub fn run_in_pty(cwd: &std::path::Path, args: &[&str], answers: &[&str]) -> Output {
    let mut line = shell_quote(delegate_bin());
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    let started = Instant::now();
    let mut child = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &line, "/dev/null"])
        .current_dir(cwd)
        .env_remove("TRACEPARENT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` is needed for the pseudo-terminal tests (apt-get install bsdutils)");
    let mut input = child.stdin.take().unwrap();
    let answers: Vec<String> = answers.iter().map(|a| format!("{a}\n")).collect();
    std::thread::spawn(move || {
        for answer in answers {
            std::thread::sleep(Duration::from_millis(700));
            if input.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
        // Keep the terminal open a little longer, then close it.
        std::thread::sleep(Duration::from_millis(2000));
    });
    wait(child, started)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Processes whose command line contains `marker`, other than ourselves.
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if pid == std::process::id() {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

/// Like [`processes_with`], leaving out `delegate` itself (whose arguments hold the marker too).
pub fn agents_with(marker: &str) -> Vec<u32> {
    processes_with(marker)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() != "delegate")
        })
        .collect()
}

/// Send a signal with the system's `kill` command.
pub fn signal(pid: u32, sig: &str) {
    let status =
        Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -{sig} {pid} failed");
}
