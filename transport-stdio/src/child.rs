//! [`ChildProcessAgent`]: a sub-agent running as a child process that speaks JSON lines on its
//! stdin and stdout.
//!
//! Four parts cooperate, all around one [`Shared`] state:
//! - a std thread owns the `std::process::Child` and blocks in `wait()`, so the child is always
//!   reaped — with or without a tokio runtime — and its exit status lands in a watch;
//! - a writer task ([`JsonLinesWriter`]) owns the child's stdin;
//! - a reader task owns its stdout: decodes events, tracks the turn and the status, and, when
//!   stdout ends, appends the `error`/`warning` events that explain how the child ended;
//! - a supervisor task runs the bounded stop sequence when asked, and after the child exits
//!   terminates whatever is left in its process group.
//!
//! Dropping the handle SIGKILLs the process group synchronously, so it works after the runtime
//! is gone; the reaper thread then reaps the child.

use std::ffi::OsStr;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use delegate_core::Agent;
use delegate_core::AgentError;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_protocol::W3cTraceContext;
use rustix::process::Pid;
use rustix::process::Signal;
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Frame;
use crate::JsonLinesReader;
use crate::JsonLinesWriter;
use crate::TransportError;
use crate::framing::DEFAULT_MAX_LINE_LEN;
use crate::framing::DEFAULT_WRITE_QUEUE_CAPACITY;

/// How long a child gets, after `shutdown` is sent and its stdin closed, to exit by itself
/// before its process group gets SIGTERM.
///
/// One second lets an agent finish writing its state and answer `shutdown_complete`, while a
/// stuck agent does not hold up the parent noticeably.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How long the process group gets, after SIGTERM, before SIGKILL.
///
/// One second is what a process that handles SIGTERM needs to clean up; one that ignores it
/// gains nothing from a longer wait.
pub const DEFAULT_TERM_GRACE: Duration = Duration::from_secs(1);

/// How long to wait, after SIGKILL, for the child to be reaped before giving up on it.
///
/// SIGKILL cannot be caught; a process that survives it for a second is stuck in the kernel
/// (e.g. on a dead network file system), and waiting longer would only hang the parent.
pub const DEFAULT_KILL_WAIT: Duration = Duration::from_secs(1);

/// How many decoded events wait for the consumer before the reader stops reading stdout.
///
/// Large enough to absorb a burst (a stream of deltas) without a context switch per event;
/// bounded, so a child that floods a slow consumer blocks on its own stdout instead of growing
/// our memory.
pub const DEFAULT_EVENT_QUEUE_CAPACITY: usize = 1024;

/// The submission id used for the `shutdown` op the transport sends itself.
pub const SHUTDOWN_SUBMISSION_ID: &str = "shutdown";

/// Environment variable carrying the W3C `traceparent` of the spawning context to the child.
pub const TRACEPARENT_ENV: &str = "TRACEPARENT";

/// Environment variable carrying the W3C `tracestate` of the spawning context to the child.
pub const TRACESTATE_ENV: &str = "TRACESTATE";

/// How often to look whether a process group has emptied. Members other than the child are not
/// our children, so they cannot be waited for; 10 ms keeps the added latency small at a
/// negligible cost (one `kill(-pgid, 0)` per poll).
const GROUP_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Stack of the thread that waits for the child: it only calls `wait()`.
const REAPER_STACK_SIZE: usize = 64 * 1024;

/// Most events the reader hands over at once. It decodes every line already in its buffer into
/// one batch, so a burst costs one queue operation per batch instead of one per event.
const EVENT_BATCH: usize = 128;

/// The steps of the stop sequence, each bounded.
///
/// Stop sequence: send `shutdown`, close stdin, wait up to `grace`; SIGTERM the process group,
/// wait up to `term_grace`; SIGKILL the process group, wait up to `kill_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownTimeouts {
    /// From `shutdown` to SIGTERM. Default [`DEFAULT_SHUTDOWN_GRACE`].
    pub grace: Duration,
    /// From SIGTERM to SIGKILL. Default [`DEFAULT_TERM_GRACE`].
    pub term_grace: Duration,
    /// From SIGKILL to giving up. Default [`DEFAULT_KILL_WAIT`].
    pub kill_wait: Duration,
}

impl ShutdownTimeouts {
    /// These three durations.
    pub fn new(grace: Duration, term_grace: Duration, kill_wait: Duration) -> Self {
        Self { grace, term_grace, kill_wait }
    }

    /// The same duration for every step (handy in tests).
    pub fn uniform(step: Duration) -> Self {
        Self::new(step, step, step)
    }

    /// The longest the whole sequence can take.
    pub fn total(&self) -> Duration {
        self.grace + self.term_grace + self.kill_wait
    }
}

impl Default for ShutdownTimeouts {
    fn default() -> Self {
        Self::new(DEFAULT_SHUTDOWN_GRACE, DEFAULT_TERM_GRACE, DEFAULT_KILL_WAIT)
    }
}

/// Where the child's stderr goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StderrMode {
    /// To our stderr (the default).
    #[default]
    Inherit,
    /// Nowhere.
    Discard,
    /// Appended to this file, which is created if missing.
    File(PathBuf),
}

/// Which of our environment variables the child sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvPolicy {
    /// All of them (the default).
    #[default]
    Inherit,
    /// None.
    Clear,
    /// Only these (those that are set).
    AllowList(Vec<OsString>),
}

/// How to start a [`ChildProcessAgent`]. Made by [`ChildProcessAgent::builder`].
///
/// The program is started directly, never through a shell: arguments are passed as they are.
#[derive(Debug, Clone)]
#[must_use]
pub struct ChildProcessAgentBuilder {
    program: OsString,
    args: Vec<OsString>,
    env_policy: EnvPolicy,
    envs: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    stderr: StderrMode,
    trace: Option<W3cTraceContext>,
    timeouts: ShutdownTimeouts,
    max_line_len: usize,
    event_capacity: usize,
    submission_capacity: usize,
}

impl ChildProcessAgentBuilder {
    /// Add one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Add arguments.
    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Start the child with an empty environment (plus [`env`](Self::env) variables and
    /// `TRACEPARENT`).
    pub fn env_clear(mut self) -> Self {
        self.env_policy = EnvPolicy::Clear;
        self
    }

    /// Pass only these of our environment variables (plus [`env`](Self::env) variables and
    /// `TRACEPARENT`).
    pub fn env_allow(mut self, names: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        self.env_policy =
            EnvPolicy::AllowList(names.into_iter().map(|n| n.as_ref().to_owned()).collect());
        self
    }

    /// Set the environment policy.
    pub fn env_policy(mut self, policy: EnvPolicy) -> Self {
        self.env_policy = policy;
        self
    }

    /// Set a variable in the child's environment (applied after the policy).
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs.push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Start the child in this directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Where the child's stderr goes.
    pub fn stderr(mut self, mode: StderrMode) -> Self {
        self.stderr = mode;
        self
    }

    /// The trace context of the spawning request; its `traceparent` (and `tracestate`) go into
    /// the child's environment as `TRACEPARENT` (and `TRACESTATE`). A malformed value is dropped
    /// and reported as the first event, a `warning`; the child then gets no `TRACEPARENT`.
    pub fn trace_context(mut self, trace: Option<W3cTraceContext>) -> Self {
        self.trace = trace;
        self
    }

    /// The durations of the stop sequence.
    pub fn shutdown_timeouts(mut self, timeouts: ShutdownTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The longest event line accepted (default [`DEFAULT_MAX_LINE_LEN`]).
    pub fn max_line_len(mut self, max_line_len: usize) -> Self {
        self.max_line_len = max_line_len;
        self
    }

    /// How many decoded events may wait for the consumer (default
    /// [`DEFAULT_EVENT_QUEUE_CAPACITY`]).
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// How many submissions may wait to be written (default
    /// [`DEFAULT_WRITE_QUEUE_CAPACITY`]).
    pub fn submission_capacity(mut self, capacity: usize) -> Self {
        self.submission_capacity = capacity.max(1);
        self
    }

    /// Start the child. Must be called inside a tokio runtime with I/O and time enabled.
    ///
    /// # Panics
    ///
    /// Inside a runtime without I/O enabled, as tokio's own pipe types do (the child is killed
    /// and reaped first). Outside any runtime it returns [`TransportError::NoRuntime`] instead.
    ///
    /// The child leads a new process group (so that signals reach its descendants too, and a
    /// Ctrl-C at the terminal reaches the parent only, which then shuts children down).
    pub fn spawn(self) -> Result<ChildProcessAgent, TransportError> {
        tokio::runtime::Handle::try_current().map_err(|_| TransportError::NoRuntime)?;
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args);
        match &self.env_policy {
            EnvPolicy::Inherit => {}
            EnvPolicy::Clear => {
                command.env_clear();
            }
            EnvPolicy::AllowList(names) => {
                command.env_clear();
                for name in names {
                    if let Some(value) = std::env::var_os(name) {
                        command.env(name, value);
                    }
                }
            }
        }
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        let mut early_events = Vec::new();
        if let Some(trace) = &self.trace {
            let (valid, errors) = trace.sanitized();
            for error in errors {
                early_events.push(Event::new(
                    "",
                    EventMsg::warning(format!(
                        "trace context not passed to the sub-agent: {error}"
                    )),
                ));
            }
            // Our own TRACEPARENT, if inherited, is not the spawning request's context.
            command.env_remove(TRACEPARENT_ENV).env_remove(TRACESTATE_ENV);
            if let Some(valid) = valid {
                if let Some(parent) = &valid.traceparent {
                    command.env(TRACEPARENT_ENV, parent);
                }
                if let Some(state) = &valid.tracestate {
                    command.env(TRACESTATE_ENV, state);
                }
            }
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        let stderr = match &self.stderr {
            StderrMode::Inherit => Stdio::inherit(),
            StderrMode::Discard => Stdio::null(),
            StderrMode::File(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(Stdio::from)
                .map_err(|source| TransportError::StderrLog { path: path.clone(), source })?,
        };
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr).process_group(0);
        // The reaper thread comes first: once the child exists, nothing may fail before someone
        // is there to reap it.
        let (exit_tx, exit_rx) = watch::channel(None);
        let (child_tx, child_rx) = std::sync::mpsc::channel::<std::process::Child>();
        std::thread::Builder::new()
            .name("delegate-reaper".into())
            .stack_size(REAPER_STACK_SIZE)
            .spawn(move || {
                if let Ok(mut child) = child_rx.recv() {
                    exit_tx.send_replace(Some(child.wait().map_err(|err| err.to_string())));
                }
            })
            .map_err(TransportError::Io)?;
        let mut child = command
            .spawn()
            .map_err(|source| TransportError::Spawn { program: self.program.clone(), source })?;
        let pid = Pid::from_child(&child);
        let guard = GroupKiller { pid, clean: AtomicBool::new(false) };
        // tokio panics when registering the pipes in a runtime without I/O: kill on the way out.
        let mut unwinding = KillOnUnwind { pid, armed: true };
        let pipes = child.stdin.take().zip(child.stdout.take());
        if let Err(unsent) = child_tx.send(child) {
            // The reaper thread is gone (it cannot be): reap here, after making the wait short.
            guard.kill();
            let mut child = unsent.0;
            let _ = child.wait();
            return Err(TransportError::closed("the reaper thread ended early"));
        }
        let pipes = pipes
            .ok_or_else(|| io::Error::other("the child's stdin or stdout was not piped"))
            .and_then(|(stdin, stdout)| {
                Ok((
                    tokio::process::ChildStdin::from_std(stdin)?,
                    tokio::process::ChildStdout::from_std(stdout)?,
                ))
            });
        let (stdin, stdout) = match pipes {
            Ok(pipes) => pipes,
            Err(err) => {
                // The reaper reaps it once it is dead.
                guard.kill();
                return Err(TransportError::Io(err));
            }
        };
        unwinding.armed = false;

        let root = CancellationToken::new();
        let (status_tx, status_rx) = watch::channel(AgentStatus::PendingInit);
        let (finished_tx, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            pid,
            writer: JsonLinesWriter::spawn_with_capacity(stdin, self.submission_capacity),
            exit: exit_rx,
            status: status_tx,
            finished: finished_tx,
            stop: CancellationToken::new(),
            timeouts: self.timeouts,
            state: Mutex::new(LifecycleState::default()),
            guard,
        });
        let (events_tx, events_rx) = mpsc::channel(self.event_capacity.div_ceil(EVENT_BATCH));
        tokio::spawn(supervise(Arc::clone(&shared), root.child_token()));
        tokio::spawn(read_events(
            Arc::clone(&shared),
            stdout,
            self.max_line_len,
            early_events,
            events_tx,
            root.child_token(),
        ));
        Ok(ChildProcessAgent {
            shared,
            ready: Mutex::new(Vec::new().into_iter()),
            batches: tokio::sync::Mutex::new(events_rx),
            status: status_rx,
            root,
        })
    }
}

/// SIGKILLs a fresh child's process group if `spawn` unwinds before the agent owns it.
struct KillOnUnwind {
    pid: Pid,
    armed: bool,
}

impl Drop for KillOnUnwind {
    fn drop(&mut self) {
        if self.armed {
            let _ = rustix::process::kill_process_group(self.pid, Signal::KILL);
        }
    }
}

/// Kills a process group; remembers whether the group is known to be empty.
#[derive(Debug)]
struct GroupKiller {
    pid: Pid,
    /// Set once the group was seen empty: from then on its id may be reused, so never signal it.
    clean: AtomicBool,
}

impl GroupKiller {
    fn signal(&self, signal: Signal) {
        if !self.clean.load(Ordering::Acquire) {
            // ESRCH (nobody left) is the good case; nothing else can be done about other errors.
            let _ = rustix::process::kill_process_group(self.pid, signal);
        }
    }

    fn kill(&self) {
        self.signal(Signal::KILL);
    }

    /// Whether any process is left in the group (zombies count: they still hold the id).
    fn group_alive(&self) -> bool {
        if self.clean.load(Ordering::Acquire) {
            return false;
        }
        match rustix::process::test_kill_process_group(self.pid) {
            Err(rustix::io::Errno::SRCH) => {
                self.clean.store(true, Ordering::Release);
                false
            }
            _ => true,
        }
    }
}

/// What the reader, supervisor and handle learn about the child's life.
#[derive(Debug, Default)]
struct LifecycleState {
    /// The id of the turn that started (`task_started`) and has not ended.
    open_turn: Option<String>,
    /// We asked the child to stop (a `shutdown` op, [`ChildProcessAgent::shutdown`], drop).
    stop_requested: bool,
    /// A `shutdown` op has been queued for the child.
    shutdown_sent: bool,
    /// The child said `shutdown_complete`.
    shutdown_complete: bool,
    /// The child closed its stdout while still running.
    stdout_closed_early: bool,
    /// Signals we sent to the group while stopping the child.
    sent_term: bool,
    sent_kill: bool,
}

/// How the child's life ended, published by the supervisor.
#[derive(Debug, Clone)]
struct Finished {
    /// The exit status, or why it is unknown (wait failed, or the child survived SIGKILL).
    exit: Result<ExitStatus, String>,
}

#[derive(Debug)]
struct Shared {
    pid: Pid,
    writer: JsonLinesWriter<Submission>,
    exit: watch::Receiver<Option<Result<ExitStatus, String>>>,
    status: watch::Sender<AgentStatus>,
    finished: watch::Sender<Option<Finished>>,
    /// Cancelled to start the stop sequence.
    stop: CancellationToken,
    timeouts: ShutdownTimeouts,
    state: Mutex<LifecycleState>,
    guard: GroupKiller,
}

impl Shared {
    fn with_state<R>(&self, f: impl FnOnce(&mut LifecycleState) -> R) -> R {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Set the status unless it is already final.
    fn set_status(&self, status: AgentStatus) {
        self.status.send_if_modified(|current| {
            if current.is_final() || *current == status {
                false
            } else {
                *current = status;
                true
            }
        });
    }

    /// Start the stop sequence. A child that already exited by itself still counts as having
    /// exited by itself.
    fn request_stop(&self) {
        self.note_stop_requested();
        self.stop.cancel();
    }

    /// Remember that we asked the child to stop, unless it already exited by itself.
    fn note_stop_requested(&self) {
        let exited = self.exit.borrow().is_some();
        self.with_state(|s| s.stop_requested |= !exited);
    }

    fn exit_status(&self) -> Option<Result<ExitStatus, String>> {
        self.exit.borrow().clone()
    }

    /// Wait until the child has exited, at most until `deadline`. True if it has.
    async fn wait_exit_until(&self, deadline: Instant) -> bool {
        let mut exit = self.exit.clone();
        matches!(tokio::time::timeout_at(deadline, exit.wait_for(Option::is_some)).await, Ok(Ok(_)))
    }

    /// Wait until the supervisor has published how the child ended. `None` if it never will
    /// (the agent is being dropped).
    async fn wait_finished(&self) -> Option<Finished> {
        let mut finished = self.finished.subscribe();
        finished.wait_for(Option::is_some).await.ok().and_then(|f| f.clone())
    }

    /// Track the turn and the status from an event the child sent.
    fn observe(&self, event: &Event) {
        let status = match &event.msg {
            EventMsg::TaskStarted(started) => {
                self.with_state(|s| s.open_turn = Some(started.turn_id.clone()));
                AgentStatus::Running
            }
            EventMsg::TaskComplete(complete) => {
                self.with_state(|s| s.open_turn = None);
                AgentStatus::Completed(complete.last_agent_message.clone())
            }
            EventMsg::TurnAborted(_) => {
                self.with_state(|s| s.open_turn = None);
                AgentStatus::Interrupted
            }
            EventMsg::ShutdownComplete => {
                self.with_state(|s| s.shutdown_complete = true);
                return;
            }
            _ => return,
        };
        self.set_status(status);
    }

    /// The final status, and the events that explain it, once the child is gone.
    fn conclusion(&self, finished: &Finished) -> (AgentStatus, Vec<Event>) {
        let pid = self.pid.as_raw_nonzero();
        let state = self.with_state(|s| {
            (
                s.open_turn.clone(),
                s.stop_requested || s.shutdown_complete,
                s.stdout_closed_early,
                s.sent_term,
                s.sent_kill,
            )
        });
        let (open_turn, expected, stdout_closed_early, sent_term, sent_kill) = state;
        let status = match &finished.exit {
            Ok(status) => *status,
            Err(reason) => {
                let message = format!("sub-agent (pid {pid}) could not be stopped: {reason}");
                return (
                    AgentStatus::Errored(message.clone()),
                    vec![Event::new(open_turn.unwrap_or_default(), EventMsg::error(message))],
                );
            }
        };
        let how = describe_exit(status);
        let ours = match status.signal() {
            Some(sig) => {
                (sent_term && sig == Signal::TERM.as_raw())
                    || (sent_kill && sig == Signal::KILL.as_raw())
            }
            None => false,
        };
        let mut events = Vec::new();
        if stdout_closed_early {
            let message =
                format!("sub-agent closed its stdout but kept running; it was stopped and {how}");
            events.push(Event::new(open_turn.unwrap_or_default(), EventMsg::error(message)));
            return (AgentStatus::Errored("closed its stdout while still running".into()), events);
        }
        if expected && (sent_term || sent_kill) {
            let signal = if sent_kill { "SIGKILL" } else { "SIGTERM" };
            events.push(Event::new(
                "",
                EventMsg::warning(format!(
                    "sub-agent did not exit within {:?} of shutdown; its process group got {signal}",
                    self.timeouts.grace
                )),
            ));
        }
        let clean = status.success() || ours;
        if expected && clean {
            return (AgentStatus::Shutdown, events);
        }
        if !expected && status.success() && open_turn.is_none() {
            return (AgentStatus::Shutdown, events);
        }
        let message = match (&open_turn, expected) {
            (Some(turn), _) => format!("sub-agent {how} mid-turn (turn {turn})"),
            (None, true) => format!("sub-agent {how} during shutdown"),
            (None, false) => format!("sub-agent {how} unexpectedly"),
        };
        events.push(Event::new(open_turn.unwrap_or_default(), EventMsg::error(message.clone())));
        (AgentStatus::Errored(message), events)
    }
}

/// "exited with code 3", "was killed by signal 9 (SIGKILL)".
fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match status.signal() {
        Some(signal) => match signal_name(signal) {
            Some(name) => format!("was killed by signal {signal} ({name})"),
            None => format!("was killed by signal {signal}"),
        },
        None => format!("ended ({status})"),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// The supervisor: waits for the child to exit or for a stop request; runs the stop sequence;
/// then clears the process group and publishes how the child ended.
async fn supervise(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut exit = shared.exit.clone();
    let exited_by_itself = tokio::select! {
        () = cancel.cancelled() => return,
        _ = exit.wait_for(Option::is_some) => true,
        () = shared.stop.cancelled() => false,
    };
    let survived = if exited_by_itself {
        false
    } else {
        tokio::select! {
            () = cancel.cancelled() => return,
            survived = stop_sequence(&shared) => survived,
        }
    };
    // Nothing more can reach a dead child; release its stdin now.
    shared.writer.abort();
    tokio::select! {
        () = cancel.cancelled() => return,
        () = clear_group(&shared) => {}
    }
    let exit = match shared.exit_status() {
        Some(exit) => exit,
        None if survived => Err("it is still running after SIGKILL".to_string()),
        None => Err("its exit status is unknown".to_string()),
    };
    shared.finished.send_replace(Some(Finished { exit }));
}

/// Send `shutdown`, close stdin, wait; SIGTERM the group, wait; SIGKILL the group, wait.
/// Returns true if the child survived all of it.
async fn stop_sequence(shared: &Shared) -> bool {
    let timeouts = shared.timeouts;
    let deadline = Instant::now() + timeouts.grace;
    let send_shutdown = shared.with_state(|s| !std::mem::replace(&mut s.shutdown_sent, true));
    if send_shutdown {
        let shutdown = Submission::new(SHUTDOWN_SUBMISSION_ID, Op::Shutdown);
        let _ = tokio::time::timeout_at(deadline, shared.writer.send(shutdown)).await;
    }
    // Closing stdin writes out what is queued first; a child that does not read may block that.
    if tokio::time::timeout_at(deadline, shared.writer.close()).await.is_err() {
        shared.writer.abort();
    }
    if shared.wait_exit_until(deadline).await {
        return false;
    }
    shared.with_state(|s| s.sent_term = true);
    shared.guard.signal(Signal::TERM);
    if shared.wait_exit_until(Instant::now() + timeouts.term_grace).await {
        return false;
    }
    shared.with_state(|s| s.sent_kill = true);
    shared.guard.kill();
    !shared.wait_exit_until(Instant::now() + timeouts.kill_wait).await
}

/// After the child exited: whatever is left in its process group (grandchildren it started)
/// gets SIGTERM, then SIGKILL if it lingers. Nothing is left behind.
async fn clear_group(shared: &Shared) {
    if !shared.guard.group_alive() {
        return;
    }
    let timeouts = shared.timeouts;
    shared.guard.signal(Signal::TERM);
    if wait_group_gone(&shared.guard, timeouts.term_grace).await {
        return;
    }
    shared.guard.kill();
    wait_group_gone(&shared.guard, timeouts.kill_wait).await;
}

async fn wait_group_gone(guard: &GroupKiller, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !guard.group_alive() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(GROUP_POLL_INTERVAL).await;
    }
}

/// The reader: decodes the child's stdout into events until it ends, then explains the end.
async fn read_events(
    shared: Arc<Shared>,
    stdout: tokio::process::ChildStdout,
    max_line_len: usize,
    early_events: Vec<Event>,
    events: mpsc::Sender<Vec<Event>>,
    cancel: CancellationToken,
) {
    cancel
        .run_until_cancelled(read_until_end(&shared, stdout, max_line_len, early_events, &events))
        .await;
}

async fn read_until_end(
    shared: &Shared,
    stdout: tokio::process::ChildStdout,
    max_line_len: usize,
    early_events: Vec<Event>,
    events: &mpsc::Sender<Vec<Event>>,
) {
    if !early_events.is_empty() && events.send(early_events).await.is_err() {
        return;
    }
    let mut reader = JsonLinesReader::<_, Event>::with_max_line_len(stdout, max_line_len);
    // A descendant in another process group may hold stdout open after the child is gone; stop
    // reading a grace period after the child and its group are.
    let drain_ended = async {
        shared.wait_finished().await;
        tokio::time::sleep(shared.timeouts.grace).await;
    };
    tokio::pin!(drain_ended);
    let mut seen_first = false;
    let mut stdout_ended = false;
    while !stdout_ended {
        let frame = tokio::select! {
            biased;
            frame = reader.next_frame() => frame,
            () = &mut drain_ended => break,
        };
        // One slot for a lone event (the common case between turns and in round trips); a burst
        // gets a full batch at its second event.
        let mut batch = Vec::with_capacity(1);
        let mut frame = match frame {
            Ok(Some(frame)) => Some(frame),
            Ok(None) => {
                stdout_ended = true;
                None
            }
            Err(err) => {
                stdout_ended = true;
                let message = format!("reading the sub-agent's stdout failed: {err}");
                batch.push(Event::new("", EventMsg::warning(message)));
                None
            }
        };
        while let Some(next) = frame {
            batch.push(match next {
                Frame::Message(event) => {
                    shared.observe(&event);
                    event
                }
                Frame::Bad(bad) => {
                    bad.to_warning(shared.with_state(|s| s.open_turn.clone()).unwrap_or_default())
                }
            });
            frame = if batch.len() < EVENT_BATCH { reader.try_next_frame() } else { None };
            if frame.is_some() && batch.len() == 1 {
                batch.reserve_exact(EVENT_BATCH - 1);
            }
        }
        if !seen_first && !batch.is_empty() {
            seen_first = true;
            if *shared.status.borrow() == AgentStatus::PendingInit {
                shared.set_status(AgentStatus::Running);
            }
        }
        if !batch.is_empty() && events.send(batch).await.is_err() {
            return;
        }
    }
    if stdout_ended && !shared.wait_exit_until(Instant::now() + shared.timeouts.grace).await {
        // Stdout is gone but the child is not: it can no longer tell us anything. Stop it.
        shared.with_state(|s| s.stdout_closed_early = true);
        shared.request_stop();
    }
    let Some(finished) = shared.wait_finished().await else { return };
    let (status, closing_events) = shared.conclusion(&finished);
    if !closing_events.is_empty() && events.send(closing_events).await.is_err() {
        return;
    }
    shared.set_status(status);
}

/// A sub-agent running as a child process, speaking JSON lines on its stdin and stdout.
///
/// Made with [`ChildProcessAgent::builder`]. See the crate docs for the lifecycle.
#[derive(Debug)]
pub struct ChildProcessAgent {
    shared: Arc<Shared>,
    /// The rest of the batch the consumer is taking events from.
    ready: Mutex<std::vec::IntoIter<Event>>,
    /// Batches of decoded events from the reader task.
    batches: tokio::sync::Mutex<mpsc::Receiver<Vec<Event>>>,
    status: watch::Receiver<AgentStatus>,
    root: CancellationToken,
}

impl ChildProcessAgent {
    fn take_ready(&self) -> Option<Event> {
        match self.ready.lock() {
            Ok(mut ready) => ready.next(),
            Err(poisoned) => poisoned.into_inner().next(),
        }
    }

    /// Keep the rest of `batch` for later calls; return its first event.
    fn store_ready(&self, batch: Vec<Event>) -> Option<Event> {
        let mut batch = batch.into_iter();
        let first = batch.next();
        match self.ready.lock() {
            Ok(mut ready) => *ready = batch,
            Err(poisoned) => *poisoned.into_inner() = batch,
        }
        first
    }

    /// How to start `program` (looked up in `PATH` if it has no slash), never through a shell.
    pub fn builder(program: impl AsRef<OsStr>) -> ChildProcessAgentBuilder {
        ChildProcessAgentBuilder {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env_policy: EnvPolicy::Inherit,
            envs: Vec::new(),
            cwd: None,
            stderr: StderrMode::Inherit,
            trace: None,
            timeouts: ShutdownTimeouts::default(),
            max_line_len: DEFAULT_MAX_LINE_LEN,
            event_capacity: DEFAULT_EVENT_QUEUE_CAPACITY,
            submission_capacity: DEFAULT_WRITE_QUEUE_CAPACITY,
        }
    }

    /// The child's process id, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.shared.pid.as_raw_nonzero().get().unsigned_abs()
    }

    /// The child's exit status, if it has exited.
    pub fn try_exit_status(&self) -> Option<ExitStatus> {
        self.shared.exit_status().and_then(Result::ok)
    }

    /// Wait for the child to exit by itself (this does not ask it to), and return its status.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future has no effect on the child.
    pub async fn wait(&self) -> Result<ExitStatus, TransportError> {
        let mut exit = self.shared.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(exit) => match &*exit {
                Some(Ok(status)) => Ok(*status),
                Some(Err(reason)) => Err(TransportError::Io(io::Error::other(reason.clone()))),
                None => Err(TransportError::closed("the child's exit status is unknown")),
            },
            Err(_) => Err(TransportError::closed("the child's exit status is unknown")),
        }
    }

    /// Shut the child down and return its exit status: send `shutdown`, close stdin, wait up to
    /// the grace period; SIGTERM its process group, wait; SIGKILL the group, wait. Then whatever
    /// is left in the group is terminated. Takes at most [`ShutdownTimeouts::total`] plus the
    /// group clean-up ([`ShutdownTimeouts::term_grace`] + [`ShutdownTimeouts::kill_wait`]),
    /// and returns at once if the child is already gone.
    ///
    /// The status becomes `shutdown` (or `errored` if the child failed on the way out). Events
    /// still queued stay readable with `next_event`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the sequence runs in the agent's own task, so dropping the future does not
    /// stop it; calling `shutdown` again waits for the same outcome.
    pub async fn shutdown(&self) -> Result<ExitStatus, TransportError> {
        self.shared.request_stop();
        let Some(finished) = self.shared.wait_finished().await else {
            return Err(TransportError::closed("the agent is being dropped"));
        };
        // The reader sets the final status after the remaining events; if nobody reads them,
        // set it here. With the stop requested, the turn state cannot change the outcome.
        let (status, _) = self.shared.conclusion(&finished);
        self.shared.set_status(status);
        finished.exit.map_err(|_| TransportError::Unkillable { pid: self.pid() })
    }
}

#[async_trait]
impl Agent for ChildProcessAgent {
    /// Write `submission` to the child's stdin. A `shutdown` op also arms the stop sequence:
    /// stdin is closed once it is written, and after the grace period the child's process group
    /// gets SIGTERM, then SIGKILL.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped while the queue to the child is full, the submission was not
    /// queued (and a `shutdown` op did not arm the stop sequence).
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        let is_shutdown = matches!(submission.op, Op::Shutdown);
        if is_shutdown {
            // Before sending: the child may exit as soon as it reads the op.
            self.shared.note_stop_requested();
        }
        let sent = self.shared.writer.send(submission).await;
        if is_shutdown && sent.is_ok() {
            self.shared.with_state(|s| s.shutdown_sent = true);
            self.shared.stop.cancel();
        }
        sent.map_err(|err| {
            let reason = match self.shared.exit_status() {
                Some(Ok(status)) => format!("the sub-agent {}", describe_exit(status)),
                _ => err.to_string(),
            };
            AgentError::closed(reason)
        })
    }

    async fn next_event(&self) -> Option<Event> {
        if let Some(event) = self.take_ready() {
            return Some(event);
        }
        let mut batches = self.batches.lock().await;
        // Someone else may have taken a batch while we waited for the lock.
        if let Some(event) = self.take_ready() {
            return Some(event);
        }
        // Cancel-safe: nothing is awaited between receiving a batch and storing it.
        let batch = batches.recv().await?;
        self.store_ready(batch)
    }

    fn try_next_event(&self) -> Option<Event> {
        if let Some(event) = self.take_ready() {
            return Some(event);
        }
        // Storing under the lock keeps a concurrent `next_event` from storing over us.
        let mut batches = self.batches.try_lock().ok()?;
        let batch = batches.try_recv().ok()?;
        self.store_ready(batch)
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.clone()
    }
}

impl Drop for ChildProcessAgent {
    fn drop(&mut self) {
        self.root.cancel();
        // Synchronous, so it works with no runtime left; the reaper thread then reaps the child.
        // Skipped once the group was seen empty, when its id may already belong to others.
        self.shared.guard.kill();
        self.shared.writer.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described_by_code_or_signal_name() {
        assert_eq!(describe_exit(ExitStatus::from_raw(3 << 8)), "exited with code 3");
        assert_eq!(describe_exit(ExitStatus::from_raw(9)), "was killed by signal 9 (SIGKILL)");
        assert_eq!(describe_exit(ExitStatus::from_raw(15)), "was killed by signal 15 (SIGTERM)");
        assert_eq!(describe_exit(ExitStatus::from_raw(40)), "was killed by signal 40");
    }

    #[test]
    fn shutdown_timeouts_add_up() {
        let timeouts = ShutdownTimeouts::uniform(Duration::from_millis(100));
        assert_eq!(timeouts.total(), Duration::from_millis(300));
        assert_eq!(ShutdownTimeouts::default().grace, DEFAULT_SHUTDOWN_GRACE);
    }
}
