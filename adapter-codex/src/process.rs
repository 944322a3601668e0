//! The Codex child process: started as the leader of its own process group, ended the bounded
//! way (stdin closed → grace → SIGTERM to the group → SIGKILL to the group), killed on drop.
//!
//! This is the minimum the adapter needs; the stdio transport's `ChildProcessAgent` follows the
//! same sequence but speaks our protocol on the pipes, not Codex's JSON-RPC.

use std::process::ExitStatus;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustix::process::Pid;
use rustix::process::Signal;
use tokio::process::Child;
use tokio::process::ChildStdin;
use tokio::process::ChildStdout;
use tokio::process::Command;

use crate::CodexError;
use crate::CodexOptions;
use crate::StderrMode;

/// How long to wait for the process to go after SIGKILL. SIGKILL cannot be caught; only a
/// process stuck in the kernel (uninterruptible I/O) takes longer, and then we give up waiting
/// rather than hang.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(5);

/// The process group of a child we started, which anyone holding it may kill. Once the child
/// has been reaped, signals are no longer sent (its id may be reused).
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pgid: Option<Pid>,
    reaped: AtomicBool,
}

impl ProcessGroup {
    /// Send `signal` to the whole group, unless the leader is already reaped. Errors (the group
    /// is gone) are ignored: the goal is that nothing is left, and nothing is.
    pub(crate) fn signal(&self, signal: Signal) {
        if self.reaped.load(Ordering::Acquire) {
            return;
        }
        if let Some(pgid) = self.pgid {
            let _ = rustix::process::kill_process_group(pgid, signal);
        }
    }

    /// The id of the group (the leader's pid).
    pub(crate) fn id(&self) -> Option<u32> {
        self.pgid.map(|p| p.as_raw_nonzero().get().unsigned_abs())
    }
}

/// A running Codex app-server.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    child: Child,
    group: Arc<ProcessGroup>,
}

impl ChildProcess {
    /// Start `codex app-server` as `options` say, with piped stdin and stdout.
    pub(crate) fn spawn(
        options: &CodexOptions,
    ) -> Result<(Self, ChildStdin, ChildStdout), CodexError> {
        let program = options.program.clone();
        if !options.cwd.is_dir() {
            return Err(CodexError::Spawn {
                program,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("working directory {} does not exist", options.cwd.display()),
                ),
            });
        }
        let mut command = Command::new(&options.program);
        command
            .args(options.args())
            .current_dir(&options.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if options.env_clear {
            command.env_clear();
        }
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        if let Some(home) = &options.codex_home {
            command.env("CODEX_HOME", home);
        }
        if let Some(trace) = options.trace.as_ref().and_then(|t| t.sanitized().0) {
            if let Some(parent) = &trace.traceparent {
                command.env("TRACEPARENT", parent);
            }
            if let Some(state) = &trace.tracestate {
                command.env("TRACESTATE", state);
            }
        }
        match &options.stderr {
            StderrMode::Inherit => command.stderr(Stdio::inherit()),
            StderrMode::Discard => command.stderr(Stdio::null()),
            StderrMode::Log(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| CodexError::Spawn { program: program.clone(), source })?;
                command.stderr(Stdio::from(file))
            }
        };
        let mut child = command.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                CodexError::BinaryNotFound { program: program.clone() }
            } else {
                CodexError::Spawn { program: program.clone(), source }
            }
        })?;
        let pgid = child.id().and_then(|id| i32::try_from(id).ok()).and_then(Pid::from_raw);
        let group = Arc::new(ProcessGroup { pgid, reaped: AtomicBool::new(false) });
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            group.signal(Signal::KILL);
            return Err(CodexError::Spawn {
                program,
                source: std::io::Error::other("the child's stdin or stdout was not piped"),
            });
        };
        Ok((Self { child, group }, stdin, stdout))
    }

    /// The process group, for killing it from elsewhere (e.g. a `Drop`).
    pub(crate) fn group(&self) -> Arc<ProcessGroup> {
        Arc::clone(&self.group)
    }

    /// Wait for the child to exit and reap it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        // Stragglers (commands Codex started in its group) go with their leader. The group id
        // cannot have been reused while any member lives.
        if let Some(pgid) = self.group.pgid {
            let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
        }
        self.group.reaped.store(true, Ordering::Release);
        Ok(status)
    }

    /// End the process the bounded way, its stdin already closed: wait `grace` for it to exit,
    /// SIGTERM the group and wait `term_grace`, SIGKILL the group and wait [`KILL_WAIT`].
    /// Returns how it ended, in words.
    ///
    /// # Cancel safety
    ///
    /// If dropped, the process may be left running; dropping the `ChildProcess` kills it.
    pub(crate) async fn terminate(&mut self, grace: Duration, term_grace: Duration) -> String {
        if let Ok(result) = tokio::time::timeout(grace, self.wait()).await {
            return describe(result);
        }
        self.group.signal(Signal::TERM);
        if let Ok(result) = tokio::time::timeout(term_grace, self.wait()).await {
            return describe(result);
        }
        self.group.signal(Signal::KILL);
        match tokio::time::timeout(KILL_WAIT, self.wait()).await {
            Ok(result) => describe(result),
            Err(_) => format!("still running {KILL_WAIT:?} after SIGKILL"),
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Works without a runtime: one system call. Tokio reaps the killed leader.
        self.group.signal(Signal::KILL);
    }
}

fn describe(result: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match result {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => status.to_string(),
        },
        Err(err) => format!("could not wait for it: {err}"),
    }
}
