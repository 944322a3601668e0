//! `delegate exec` and `delegate run`: start the agent, wire the approver, drive the turns, map
//! the outcome to an exit status, and make sure the agent is gone before returning.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use delegate_adapter_codex::CodexAgent;
use delegate_adapter_codex::CodexError;
use delegate_adapter_codex::CodexOptions;
use delegate_approval::Approver;
use delegate_core::Agent;
use delegate_core::Delegate;
use delegate_core::DelegateOptions;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_protocol::TraceParent;
use delegate_protocol::TurnAbortReason;
use delegate_protocol::W3cTraceContext;
use delegate_transport_stdio::ChildProcessAgent;
use delegate_transport_stdio::StderrMode;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::args::CommonArgs;
use crate::exit;
use crate::policy;
use crate::prompt::NoTerminal;
use crate::prompt::StdinLines;
use crate::prompt::TerminalApprover;
use crate::record::RecordingAgent;
use crate::render::Renderer;
use crate::render::Stderr;

/// Longest wait for the agent process to be gone after the delegation ended: the transport's
/// own shutdown sequence is bounded well below this; this only guards against a bug there.
const FINAL_SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// A configuration problem: exit status 2 with a message naming it.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The agent's process, for the final shutdown.
enum Process {
    /// A JSON-lines agent (the demo agent, or an agent command).
    Child(Arc<ChildProcessAgent>),
    /// A Codex app-server, through the Codex adapter.
    Codex(Arc<CodexAgent>),
}

/// Everything a session needs, set up from the command line.
struct Session {
    process: Process,
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    trace: W3cTraceContext,
    renderer: Renderer,
    stdin: Option<StdinLines>,
}

fn trace_context(common: &CommonArgs, stderr: &Stderr) -> W3cTraceContext {
    if let Some(value) = &common.trace_parent {
        match TraceParent::parse(value.trim()) {
            Ok(parent) => return W3cTraceContext::from_traceparent(parent.to_string()),
            Err(err) => stderr.line(&format!(
                "warning: ignoring --trace-parent/TRACEPARENT: {err}; starting a new trace"
            )),
        }
    }
    W3cTraceContext::from_traceparent(TraceParent::new_root().to_string())
}

async fn setup(
    common: &CommonArgs,
    agent_command: &[String],
    interactive_input: bool,
) -> anyhow::Result<Session> {
    let stderr = Stderr::new();
    let trace = trace_context(common, &stderr);
    let stdin_is_tty = std::io::stdin().is_terminal();
    let stdin = if interactive_input || stdin_is_tty {
        Some(StdinLines::open().context("cannot read stdin")?)
    } else {
        None
    };
    let person: Arc<dyn Approver> = match (&stdin, stdin_is_tty) {
        (Some(lines), true) => Arc::new(TerminalApprover::new(lines.clone(), stderr.clone())),
        _ => Arc::new(NoTerminal),
    };
    let approver = policy::build(common, person)?;

    let codex = common.codex || common.agent.as_deref() == Some("codex");
    if codex && !agent_command.is_empty() {
        return Err(ConfigError(
            "--codex drives Codex itself; drop the agent command after `--`".into(),
        )
        .into());
    }
    let process = if codex {
        spawn_codex(common, &trace).await?
    } else {
        spawn_child(agent_command, &trace)?
    };
    let mut agent: Arc<dyn Agent> = match &process {
        Process::Child(child) => child.clone(),
        Process::Codex(codex) => codex.clone(),
    };
    if let Some(path) = &common.record {
        let recording = RecordingAgent::create(agent, path).map_err(|err| {
            ConfigError(format!("cannot create the --record file {}: {err}", path.display()))
        })?;
        agent = Arc::new(recording);
    }
    let renderer = Renderer::new(common.json, stderr);
    Ok(Session { process, agent, approver, trace, renderer, stdin })
}

async fn spawn_codex(common: &CommonArgs, trace: &W3cTraceContext) -> anyhow::Result<Process> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut options = CodexOptions::new(cwd).with_trace(Some(trace.clone()));
    if let Some(bin) = &common.codex_bin {
        options = options.with_program(bin);
    }
    match CodexAgent::spawn(options).await {
        Ok(codex) => Ok(Process::Codex(Arc::new(codex))),
        Err(
            err @ (CodexError::BinaryNotFound { .. }
            | CodexError::UnsupportedVersion { .. }
            | CodexError::Spawn { .. }),
        ) => Err(ConfigError(format!("--codex: {err}")).into()),
        Err(err) => {
            Err(anyhow::Error::new(err).context("--codex: the Codex app-server did not start"))
        }
    }
}

fn spawn_child(agent_command: &[String], trace: &W3cTraceContext) -> anyhow::Result<Process> {
    let (program, args): (std::ffi::OsString, Vec<String>) = match agent_command.split_first() {
        Some((program, args)) => (program.into(), args.to_vec()),
        None => {
            let me = std::env::current_exe()
                .context("cannot find the delegate binary to start the demo agent")?;
            (me.into_os_string(), vec!["demo-agent".to_string()])
        }
    };
    let shown = program.to_string_lossy().to_string();
    let child = ChildProcessAgent::builder(&program)
        .args(&args)
        .stderr(StderrMode::Inherit)
        .trace_context(Some(trace.clone()))
        .spawn()
        .map_err(|err| ConfigError(format!("cannot start the agent command `{shown}`: {err}")))?;
    Ok(Process::Child(Arc::new(child)))
}

fn options(session: &Session) -> DelegateOptions {
    DelegateOptions::default()
        .with_agent_path(vec!["delegate".into(), "agent".into()])
        .with_trace(Some(session.trace.clone()))
}

/// How a turn ended, as far as the exit status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Completed,
    Aborted,
    Failed,
    /// The event stream ended with no turn end and no error.
    Vanished,
}

fn classify(event: &Event, end: &mut Option<End>) {
    match &event.msg {
        EventMsg::TaskComplete(done) => {
            let failed = done.extra.get("status").and_then(|s| s.as_str()) == Some("failed");
            *end = Some(if failed { End::Failed } else { End::Completed });
        }
        EventMsg::TurnAborted(a) if a.reason != TurnAbortReason::Replaced => {
            *end = Some(End::Aborted)
        }
        EventMsg::Error(_) if end.is_none() => *end = Some(End::Failed),
        _ => {}
    }
}

async fn finish(session: &Session, delegate: &Delegate) {
    let _ = tokio::time::timeout(FINAL_SHUTDOWN_LIMIT, delegate.finished()).await;
    match &session.process {
        Process::Child(child) => match tokio::time::timeout(FINAL_SHUTDOWN_LIMIT, child.shutdown())
            .await
        {
            Ok(Ok(_status)) => {}
            Ok(Err(err)) => session.renderer.note(&format!("delegate: stopping the agent: {err}")),
            Err(_) => session
                .renderer
                .note("delegate: the agent did not stop in time; it was killed on exit"),
        },
        Process::Codex(codex) => {
            // The adapter ends the process the bounded way on `shutdown`; dropping the handle
            // (when the session ends) kills whatever is left of its process group.
            let bye = Submission::new("shutdown", Op::Shutdown);
            let _ = tokio::time::timeout(Duration::from_secs(1), codex.submit(bye)).await;
            let mut status = codex.status();
            let _ =
                tokio::time::timeout(FINAL_SHUTDOWN_LIMIT, status.wait_for(|s| s.is_final())).await;
        }
    }
}

/// What ended the wait for events.
enum Interrupt {
    None,
    CtrlC,
    Timeout,
    Terminate(i32),
}

/// `delegate exec`.
pub async fn exec(
    prompt: String,
    common: CommonArgs,
    agent_command: Vec<String>,
) -> anyhow::Result<i32> {
    // Take over SIGINT before the agent starts, so no Ctrl-C falls on the default handler.
    let mut sigint = interrupts()?;
    let mut session = setup(&common, &agent_command, false).await?;
    let cancel = CancellationToken::new();
    let input =
        Submission::new("task-1", Op::user_text(prompt)).with_trace(Some(session.trace.clone()));
    let mut delegate = delegate_core::one_shot(
        session.agent.clone(),
        session.approver.clone(),
        cancel.clone(),
        options(&session),
        input,
    )
    .await
    .context("could not start the task")?;
    let deadline = deadline_after(common.timeout);
    let mut end = None;
    let mut ctrl_c = 0;
    let mut timed_out = false;
    let mut terminated = None;
    loop {
        let interrupt = tokio::select! {
            event = delegate.next_event() => match event {
                Some(event) => {
                    classify(&event, &mut end);
                    session.renderer.event(&event);
                    Interrupt::None
                }
                None => break,
            },
            sig = sigint.next() => match sig {
                Sig::Interrupt => Interrupt::CtrlC,
                Sig::Terminate(code) => Interrupt::Terminate(code),
            },
            _ = sleep_until(deadline), if !timed_out => Interrupt::Timeout,
        };
        match interrupt {
            Interrupt::None => {}
            Interrupt::Terminate(code) => {
                if terminated.is_none() {
                    session.renderer.note("delegate: terminated; shutting down the agent");
                    terminated = Some(code);
                    cancel.cancel();
                }
            }
            Interrupt::CtrlC => {
                ctrl_c += 1;
                if ctrl_c == 1 {
                    session
                        .renderer
                        .note("delegate: interrupting the turn (Ctrl-C again to shut down)");
                    let interrupt = Submission::new("interrupt", Op::Interrupt)
                        .with_trace(session.trace.child());
                    // A one-shot takes no ops from the caller; the interrupt goes to the agent itself.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        session.agent.submit(interrupt),
                    )
                    .await;
                } else {
                    session.renderer.note("delegate: shutting down");
                    cancel.cancel();
                }
            }
            Interrupt::Timeout => {
                timed_out = true;
                session.renderer.note("delegate: --timeout ran out; shutting down");
                cancel.cancel();
            }
        }
    }
    session.renderer.stop_spinner();
    finish(&session, &delegate).await;
    let code = if let Some(code) = terminated {
        code
    } else if timed_out {
        exit::TIMEOUT
    } else if ctrl_c > 0 {
        exit::INTERRUPTED
    } else {
        match end.unwrap_or(End::Vanished) {
            End::Completed => exit::OK,
            End::Aborted => exit::ABORTED,
            End::Failed | End::Vanished => exit::AGENT_FAILED,
        }
    };
    Ok(code)
}

/// The signals `delegate` handles itself: SIGINT (Ctrl-C) interrupts, then shuts down; SIGTERM
/// and SIGHUP shut down at once. The agent runs in its own process group, so it never sees the
/// terminal's signals: without this, a killed `delegate` would leave it running.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

/// What a signal asks for.
enum Sig {
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM or SIGHUP: shut down and exit with this status.
    Terminate(i32),
}

impl Signals {
    async fn next(&mut self) -> Sig {
        tokio::select! {
            _ = self.interrupt.recv() => Sig::Interrupt,
            _ = self.terminate.recv() => Sig::Terminate(exit::TERMINATED),
            _ = self.hangup.recv() => Sig::Terminate(exit::HANGUP),
        }
    }
}

fn interrupts() -> anyhow::Result<Signals> {
    use tokio::signal::unix::SignalKind;
    use tokio::signal::unix::signal;
    Ok(Signals {
        interrupt: signal(SignalKind::interrupt()).context("cannot handle Ctrl-C (SIGINT)")?,
        terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        hangup: signal(SignalKind::hangup()).context("cannot handle SIGHUP")?,
    })
}

/// `now + timeout`, or no deadline when that is beyond what the clock can hold.
fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `delegate run`: a prompt loop, each line a turn.
pub async fn run(common: CommonArgs, agent_command: Vec<String>) -> anyhow::Result<i32> {
    let mut sigint = interrupts()?;
    let mut session = setup(&common, &agent_command, true).await?;
    let Some(stdin) = session.stdin.clone() else {
        return Err(ConfigError("stdin is not readable".into()).into());
    };
    let cancel = CancellationToken::new();
    let mut delegate = delegate_core::delegate(
        session.agent.clone(),
        session.approver.clone(),
        cancel.clone(),
        options(&session),
    );
    let deadline = deadline_after(common.timeout);
    let interactive = std::io::stdin().is_terminal();
    if interactive && !common.json {
        session.renderer.note(
            "delegate: type a task and press Enter; an empty line or Ctrl-D ends the session.",
        );
    }
    let mut turns = 0u64;
    let mut code = exit::OK;
    'session: loop {
        if interactive {
            eprint!("> ");
        }
        let line = tokio::select! {
            line = stdin.next_line() => line,
            sig = sigint.next() => {
                code = match sig { Sig::Interrupt => exit::INTERRUPTED, Sig::Terminate(code) => code };
                break 'session;
            }
            _ = sleep_until(deadline) => { code = exit::TIMEOUT; break 'session; }
        };
        let Some(line) = line else { break };
        let line = line.trim().to_string();
        if line.is_empty() {
            if interactive {
                break;
            }
            continue;
        }
        turns += 1;
        let id = format!("turn-{turns}");
        let submission = Submission::new(id.clone(), Op::user_text(line))
            .with_trace(Some(session.trace.clone()));
        if delegate.submit(submission).await.is_err() {
            code = exit::AGENT_FAILED;
            break;
        }
        let mut end = None;
        let mut ctrl_c = 0;
        while end.is_none() {
            tokio::select! {
                event = delegate.next_event() => match event {
                    Some(event) => {
                        if event.id == id || !matches!(event.msg, EventMsg::TaskComplete(_) | EventMsg::TurnAborted(_)) {
                            classify(&event, &mut end);
                        }
                        session.renderer.event(&event);
                    }
                    None => { code = exit::AGENT_FAILED; break 'session; }
                },
                sig = sigint.next() => {
                    if let Sig::Terminate(terminated) = sig {
                        code = terminated;
                        break 'session;
                    }
                    ctrl_c += 1;
                    if ctrl_c == 1 {
                        session.renderer.note("delegate: interrupting the turn (Ctrl-C again to end the session)");
                        let _ = delegate.submit(Submission::new("interrupt", Op::Interrupt).with_trace(session.trace.child())).await;
                    } else {
                        code = exit::INTERRUPTED;
                        break 'session;
                    }
                }
                _ = sleep_until(deadline) => { code = exit::TIMEOUT; break 'session; }
            }
        }
        code = match end {
            Some(End::Completed) => exit::OK,
            Some(End::Aborted) if ctrl_c > 0 => exit::INTERRUPTED,
            Some(End::Aborted) => exit::ABORTED,
            _ => exit::AGENT_FAILED,
        };
        if end == Some(End::Failed) {
            break;
        }
    }
    session.renderer.stop_spinner();
    if code == exit::OK || code == exit::ABORTED {
        // A clean end: ask the agent to shut down and show what it says on the way out.
        let _ = delegate
            .submit(Submission::new("shutdown", Op::Shutdown).with_trace(session.trace.child()))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(event) = delegate.next_event().await {
                session.renderer.event(&event);
            }
        })
        .await;
    }
    cancel.cancel();
    finish(&session, &delegate).await;
    Ok(code)
}
