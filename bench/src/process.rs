//! Whole processes: how long a child process takes to be gone after its delegation is
//! cancelled, and `delegate exec 'hello'` from start to exit.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use delegate_approval::AllowAll;
use delegate_bench::Task;
use delegate_core::DEFAULT_DRAIN_TIMEOUT;
use delegate_core::DelegateOptions;
use delegate_core::delegate;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_transport_stdio::ChildProcessAgent;
use delegate_transport_stdio::StderrMode;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::report::Figure;
use crate::report::Row;
use crate::report::Section;
use crate::report::millis;
use crate::stdio::peer;

/// Whether a process is gone: no /proc entry, so not even a zombie is left (reaped).
fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Cancel a delegation of a child process (the engine holds the only handle to it) and return
/// how long until the process is gone, polled every 100 µs from a thread of its own.
async fn cancel_until_gone(program: &Path, mode: Option<&str>, cooperative: bool) -> Duration {
    let agent = ChildProcessAgent::builder(program)
        .args(mode)
        .stderr(StderrMode::Discard)
        .spawn()
        .expect("the peer starts");
    let pid = agent.pid();
    let mut d = delegate(
        Arc::new(agent),
        Arc::new(AllowAll),
        CancellationToken::new(),
        DelegateOptions::default(),
    );
    if cooperative {
        // One turn first, so the child is up and idle.
        d.submit(Submission::new("t1", Op::user_text(Task::Flood(1).text())))
            .await
            .expect("submits");
        while let Some(event) = d.next_event().await {
            if matches!(event.msg, EventMsg::TaskComplete(_)) {
                break;
            }
        }
    } else {
        // A child that never speaks: give it time to start.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let start = Instant::now();
    let watcher = std::thread::spawn(move || {
        let deadline = start + Duration::from_secs(10);
        while !gone(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(100));
        }
        start.elapsed()
    });
    d.cancel();
    d.finished().await;
    // Drain what the engine forwarded; the caller drops everything.
    while d.next_event().await.is_some() {}
    drop(d);
    tokio::task::spawn_blocking(move || watcher.join().expect("the watcher"))
        .await
        .expect("the watcher task")
}

pub fn child_shutdown(config: &Config, rt: &tokio::runtime::Runtime) -> Section {
    let limit = DEFAULT_DRAIN_TIMEOUT + Duration::from_millis(50);
    let mut rows = Vec::new();
    for (name, program, mode, cooperative, runs) in [
        (
            "child process gone after cancel: cooperative child (`serve`)",
            peer("peer-serve"),
            None,
            true,
            config.process_runs,
        ),
        (
            "child process gone after cancel: child ignoring `shutdown` and EOF",
            peer("peer-raw"),
            Some("hang"),
            false,
            config.process_runs.min(5),
        ),
    ] {
        let mut values = Vec::new();
        for _ in 0..runs {
            let took = rt.block_on(cancel_until_gone(&program, mode, cooperative));
            values.push(took.as_secs_f64());
        }
        let figure = Figure::of(&values);
        // The target holds for every run, not only the median.
        rows.push(
            Row::new(name, figure.show(millis))
                .baseline(format!("worst {}", millis(figure.max)))
                .target(
                    format!("≤ drain timeout + 50 ms = {} ms", limit.as_millis()),
                    figure.max <= limit.as_secs_f64(),
                ),
        );
    }
    Section {
        title: "process lifecycle".into(),
        rows,
        notes: vec![format!(
            "Child shutdown: `delegate()` over a `ChildProcessAgent` (the engine holds the only handle), cancel, and poll /proc/PID every 100 µs until the process is reaped. A cooperative child answers `shutdown` and exits; the other ignores it, so the engine drains for its whole drain timeout ({} ms) and dropping the agent SIGKILLs the process group. Met only if every run is within the limit.",
            DEFAULT_DRAIN_TIMEOUT.as_millis()
        )],
    }
}

/// `delegate exec 'hello'` with the demo agent, whole process, start to exit.
pub fn exec(config: &Config, delegate_bin: Option<&Path>) -> Row {
    let name = "`delegate exec 'hello'` (demo agent), start to exit";
    let Some(bin) = delegate_bin else {
        return Row::not_measured(
            name,
            "",
            "no --delegate-bin given (cargo xtask bench builds and passes it)".into(),
        );
    };
    let mut values = Vec::new();
    for _ in 0..config.process_runs + 1 {
        let start = Instant::now();
        let status = std::process::Command::new(bin)
            .args(["exec", "hello"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let took = start.elapsed();
        match status {
            Ok(status) if status.success() => values.push(took.as_secs_f64()),
            Ok(status) => {
                return Row::not_measured(
                    name,
                    "",
                    format!("{} exited with {status}", bin.display()),
                );
            }
            Err(err) => {
                return Row::not_measured(name, "", format!("cannot run {}: {err}", bin.display()));
            }
        }
    }
    // The first run pays for the page cache.
    let figure = Figure::of(&values[1..]);
    Row::new(name, figure.show(millis))
        .baseline("two processes: `delegate` and `delegate demo-agent`")
}
