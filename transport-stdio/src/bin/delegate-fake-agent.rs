//! `delegate-fake-agent`: a scriptable sub-agent for the tests and benchmarks of
//! `delegate-transport-stdio`. Its first argument picks a behaviour:
//!
//! | mode | behaviour |
//! |---|---|
//! | `turn` | `session_configured`; each `user_input` → `task_started`, `agent_message` "echo: …", `task_complete`; `interrupt` → `turn_aborted`; `shutdown` → `shutdown_complete`, exit 0 |
//! | `crash CODE` | as `turn`, but a `user_input` gets `task_started`, one delta, then exit with CODE |
//! | `crash-signal` | as `turn`, but a `user_input` gets `task_started`, then the agent SIGKILLs itself |
//! | `exit CODE` | exit with CODE at once, saying nothing |
//! | `ignore-shutdown` | as `turn`, but ignores `shutdown`, stdin EOF and SIGTERM |
//! | `flood N` | as `turn`, but a `user_input` gets N `agent_message_delta` events |
//! | `garbage [LEN]` | as `turn`, but a turn interleaves good events with a malformed line, a LEN-byte line (default 2 MiB), invalid UTF-8, a blank line and a line missing a field |
//! | `close-stdout` | `session_configured`, then closes stdout and sleeps |
//! | `grandchild` | starts `delegate-fake-agent sleep` (sharing its stdout), reports its pid in an `agent_message` "grandchild PID", then as `turn` |
//! | `stderr` | writes a line to stderr, then as `turn` |
//! | `env` | an `agent_message` holding `{"cwd": …, "env": {…}}`, then as `turn` |
//! | `approvals` | a `user_input` whose text is N gets N `exec_approval_request`s, each sent after the previous one was answered |
//! | `echo` | each submission line is answered with one `exec_approval_request` line (a raw baseline) |
//! | `serve` | an in-process echo agent behind `serve_stdio` |
//! | `sleep` | sleeps 1000 s |

use std::collections::BTreeMap;
use std::io::BufRead;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use async_trait::async_trait;
use delegate_core::Agent;
use delegate_core::AgentError;
use delegate_protocol::AgentMessageDeltaEvent;
use delegate_protocol::AgentMessageEvent;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::Extra;
use delegate_protocol::InputItem;
use delegate_protocol::Op;
use delegate_protocol::SessionConfiguredEvent;
use delegate_protocol::Submission;
use delegate_protocol::TaskCompleteEvent;
use delegate_protocol::TaskStartedEvent;
use delegate_protocol::TurnAbortReason;
use delegate_protocol::TurnAbortedEvent;
use tokio::sync::Mutex;
use tokio::sync::mpsc;
use tokio::sync::watch;

type Out = std::io::BufWriter<std::io::Stdout>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("turn");
    let number = |default: u64| args.get(1).and_then(|n| n.parse().ok()).unwrap_or(default);
    let result = match mode {
        "turn" => run_turns(Behaviour::Normal),
        "crash" => run_turns(Behaviour::Crash(i32::try_from(number(3)).unwrap_or(3))),
        "crash-signal" => run_turns(Behaviour::CrashSignal),
        "exit" => return ExitCode::from(u8::try_from(number(3)).unwrap_or(3)),
        "ignore-shutdown" => ignore_shutdown(),
        "flood" => run_turns(Behaviour::Flood(number(1_000_000))),
        "garbage" => run_turns(Behaviour::Garbage(number(2 * 1024 * 1024))),
        "close-stdout" => close_stdout(),
        "grandchild" => grandchild(),
        "stderr" => {
            eprintln!("fake-agent: this line goes to stderr");
            run_turns(Behaviour::Normal)
        }
        "env" => report_env(),
        "approvals" => run_turns(Behaviour::Approvals),
        "echo" => echo(),
        "serve" => serve(),
        "sleep" => {
            std::thread::sleep(Duration::from_secs(1000));
            Ok(())
        }
        other => {
            eprintln!("delegate-fake-agent: unknown mode {other:?}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("delegate-fake-agent: {err}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    Normal,
    Crash(i32),
    CrashSignal,
    IgnoreShutdown,
    Flood(u64),
    Garbage(u64),
    Approvals,
}

fn stdout() -> Out {
    std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout())
}

fn emit(out: &mut Out, id: &str, msg: EventMsg) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &Event::new(id, msg))?;
    out.write_all(b"\n")
}

fn message(text: impl Into<String>) -> EventMsg {
    EventMsg::AgentMessage(AgentMessageEvent { message: text.into() })
}

fn input_text(op: &Op) -> String {
    match op {
        Op::UserInput { items, .. } => items
            .iter()
            .map(|item| match item {
                InputItem::Text { text } => text.as_str(),
                _ => "",
            })
            .collect(),
        _ => String::new(),
    }
}

/// Read submissions until `shutdown` or EOF, answering per `behaviour`.
fn run_turns(behaviour: Behaviour) -> std::io::Result<()> {
    let mut out = stdout();
    let configured = SessionConfiguredEvent {
        session_id: Some(format!("fake-{}", std::process::id())),
        ..Default::default()
    };
    emit(&mut out, "", EventMsg::SessionConfigured(configured))?;
    out.flush()?;
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let submission = match Submission::from_json_slice(&line) {
            Ok(submission) => submission,
            Err(err) => {
                emit(&mut out, "", EventMsg::warning(format!("fake agent: {err}")))?;
                out.flush()?;
                continue;
            }
        };
        let id = submission.id.as_str();
        match &submission.op {
            Op::UserInput { .. } => {
                turn(&mut out, &mut input, id, &input_text(&submission.op), behaviour)?
            }
            Op::Interrupt => {
                let aborted = TurnAbortedEvent {
                    turn_id: None,
                    reason: TurnAbortReason::Interrupted,
                    extra: Extra::new(),
                };
                emit(&mut out, id, EventMsg::TurnAborted(aborted))?;
            }
            Op::Shutdown if behaviour == Behaviour::IgnoreShutdown => {}
            Op::Shutdown => {
                emit(&mut out, id, EventMsg::ShutdownComplete)?;
                out.flush()?;
                return Ok(());
            }
            _ => {}
        }
        out.flush()?;
    }
    if behaviour == Behaviour::IgnoreShutdown {
        std::thread::sleep(Duration::from_secs(1000));
    }
    Ok(())
}

fn turn(
    out: &mut Out,
    input: &mut impl BufRead,
    id: &str,
    text: &str,
    behaviour: Behaviour,
) -> std::io::Result<()> {
    let started = TaskStartedEvent { turn_id: id.to_string(), extra: Extra::new() };
    emit(out, id, EventMsg::TaskStarted(started))?;
    let mut last = format!("echo: {text}");
    match behaviour {
        Behaviour::Normal | Behaviour::IgnoreShutdown => emit(out, id, message(last.clone()))?,
        Behaviour::Crash(code) => {
            let delta = AgentMessageDeltaEvent { delta: "about to crash".into() };
            emit(out, id, EventMsg::AgentMessageDelta(delta))?;
            out.flush()?;
            std::process::exit(code);
        }
        Behaviour::CrashSignal => {
            out.flush()?;
            rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            )?;
            std::thread::sleep(Duration::from_secs(10));
        }
        Behaviour::Flood(count) => {
            let mut line = serde_json::to_vec(&Event::new(
                id,
                EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta: "tok ".into() }),
            ))?;
            line.push(b'\n');
            for _ in 0..count {
                out.write_all(&line)?;
            }
            last = format!("flooded {count}");
        }
        Behaviour::Garbage(len) => {
            out.write_all(b"{\"id\": \"t\", \"msg\": \n")?;
            emit(out, id, message("after malformed"))?;
            out.flush()?;
            // A valid event, only too long; written in pieces so the reader sees it stream in.
            out.write_all(br#"{"id":"t","msg":{"type":"agent_message","message":""#)?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = len;
            while left > 0 {
                let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
                out.write_all(&chunk[..n])?;
                out.flush()?;
                left -= n as u64;
            }
            out.write_all(b"\"}}\n")?;
            emit(out, id, message("after oversized"))?;
            out.write_all(
                b"{\"id\":\"t\",\"msg\":{\"type\":\"agent_message\",\"message\":\"\xff\xfe\"}}\n",
            )?;
            emit(out, id, message("after invalid utf-8"))?;
            out.write_all(b"\n   \n")?;
            out.write_all(b"{\"id\":\"t\",\"msg\":{\"type\":\"agent_message\"}}\n")?;
            emit(out, id, message("after missing field"))?;
        }
        Behaviour::Approvals => {
            let count: u64 = text.trim().parse().unwrap_or(1);
            for i in 0..count {
                let call_id = format!("c{i}");
                emit(out, id, exec_request(id, &call_id))?;
                out.flush()?;
                wait_for_approval(input, &call_id)?;
            }
            last = format!("{count} approvals");
        }
    }
    let complete = TaskCompleteEvent {
        turn_id: id.to_string(),
        last_agent_message: Some(last),
        extra: Extra::new(),
    };
    emit(out, id, EventMsg::TaskComplete(complete))
}

fn exec_request(turn_id: &str, call_id: &str) -> EventMsg {
    EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
        call_id: call_id.to_string(),
        approval_id: None,
        turn_id: turn_id.to_string(),
        command: vec!["echo".into(), "hi".into()],
        cwd: "/".into(),
        reason: None,
        extra: Extra::new(),
    }))
}

fn wait_for_approval(input: &mut impl BufRead, call_id: &str) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::Error::other("stdin ended while waiting for an approval"));
        }
        if let Ok(Submission { op: Op::ExecApproval { id, .. }, .. }) =
            Submission::from_json_slice(&line)
            && id == call_id
        {
            return Ok(());
        }
    }
}

fn ignore_shutdown() -> std::io::Result<()> {
    // Registering a handler replaces SIGTERM's default action (terminate): it is now ignored.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let _terminate = runtime.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    })?;
    run_turns(Behaviour::IgnoreShutdown)
}

fn close_stdout() -> std::io::Result<()> {
    let mut out = stdout();
    emit(&mut out, "", EventMsg::SessionConfigured(SessionConfiguredEvent::default()))?;
    out.flush()?;
    drop(out);
    let null = std::fs::File::open("/dev/null")?;
    rustix::stdio::dup2_stdout(&null)?;
    std::thread::sleep(Duration::from_secs(1000));
    Ok(())
}

fn grandchild() -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    // Shares our stdout on purpose: the worst case, a descendant that holds the pipe open.
    let child =
        std::process::Command::new(exe).arg("sleep").stdin(std::process::Stdio::null()).spawn()?;
    let mut out = stdout();
    emit(&mut out, "", message(format!("grandchild {}", child.id())))?;
    out.flush()?;
    // Never waited for: it is left behind when we exit, for the transport to clear.
    std::mem::forget(child);
    run_turns(Behaviour::Normal)
}

fn report_env() -> std::io::Result<()> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let cwd = std::env::current_dir()?;
    let report = serde_json::json!({ "cwd": cwd, "env": env });
    let mut out = stdout();
    emit(&mut out, "", message(report.to_string()))?;
    out.flush()?;
    run_turns(Behaviour::Normal)
}

fn echo() -> std::io::Result<()> {
    let mut out = stdout();
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let Ok(submission) = Submission::from_json_slice(&line) else { continue };
        if matches!(submission.op, Op::Shutdown) {
            return Ok(());
        }
        emit(&mut out, &submission.id, exec_request(&submission.id, &submission.id))?;
        out.flush()?;
    }
}

/// An in-process agent that echoes, for the `serve` mode.
struct EchoAgent {
    events: mpsc::Sender<Event>,
    queue: Mutex<mpsc::Receiver<Event>>,
    status: watch::Sender<AgentStatus>,
}

#[async_trait]
impl Agent for EchoAgent {
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        let id = submission.id.clone();
        let mut events = Vec::new();
        match &submission.op {
            Op::UserInput { .. } => {
                let text = input_text(&submission.op);
                let started = TaskStartedEvent { turn_id: id.clone(), extra: Extra::new() };
                events.push(EventMsg::TaskStarted(started));
                events.push(message(format!("echo: {text}")));
                events.push(EventMsg::TaskComplete(TaskCompleteEvent {
                    turn_id: id.clone(),
                    last_agent_message: Some(format!("echo: {text}")),
                    extra: Extra::new(),
                }));
            }
            Op::Shutdown => {
                self.status.send_replace(AgentStatus::Shutdown);
                events.push(EventMsg::ShutdownComplete);
            }
            _ => {}
        }
        for msg in events {
            let sent = self.events.send(Event::new(id.clone(), msg)).await;
            sent.map_err(|_| AgentError::closed("the echo agent stopped"))?;
        }
        Ok(())
    }

    async fn next_event(&self) -> Option<Event> {
        self.queue.lock().await.recv().await
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.subscribe()
    }
}

fn serve() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (events, queue) = mpsc::channel(64);
        let (status, _) = watch::channel(AgentStatus::Running);
        let agent = EchoAgent { events, queue: Mutex::new(queue), status };
        delegate_transport_stdio::serve_stdio(&agent).await.map_err(std::io::Error::other)?;
        Ok(())
    })
}
