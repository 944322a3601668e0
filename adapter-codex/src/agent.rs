//! [`CodexAgent`]: the [`Agent`] handle, the set-up handshake, and the task that drives the
//! app-server connection.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use delegate_core::Agent;
use delegate_core::AgentError;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Extra;
use delegate_protocol::SessionConfiguredEvent;
use delegate_protocol::Submission;
use delegate_transport_stdio::Frame;
use delegate_transport_stdio::JsonLinesReader;
use delegate_transport_stdio::JsonLinesWriter;
use rustix::process::Signal;
use serde_json::Value;
use serde_json::json;
use tokio::io::AsyncRead;
use tokio::io::AsyncWrite;
use tokio::sync::Mutex;
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::CodexError;
use crate::CodexOptions;
use crate::SUPPORTED_CODEX_VERSION;
use crate::VersionCheck;
use crate::jsonrpc;
use crate::jsonrpc::Incoming;
use crate::mapping::Control;
use crate::mapping::Mapper;
use crate::mapping::Output;
use crate::mapping::SESSION_EVENT_ID;
use crate::process::ChildProcess;
use crate::process::ProcessGroup;
use crate::wire::RpcMessage;

/// Submissions queued between [`CodexAgent::submit`] and the driver. Submissions are rare
/// (a turn, an answer, an interrupt); a small queue keeps `submit` from waiting in practice.
pub const SUBMISSION_CAPACITY: usize = 64;

/// Events queued between the driver and [`CodexAgent::next_event`]. Codex streams deltas in
/// bursts; 256 absorbs a burst, and past it reading from Codex waits (backpressure) rather than
/// buffering without bound.
pub const EVENT_CAPACITY: usize = 256;

/// JSON-RPC id of `initialize`.
const INITIALIZE_ID: i64 = 1;
/// JSON-RPC id of `thread/start`.
const THREAD_START_ID: i64 = 2;
/// First id of the requests after set-up.
const FIRST_REQUEST_ID: i64 = 3;

/// What the app-server told us about the session at set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The thread this agent drives.
    pub thread_id: String,
    /// Codex's version, e.g. `0.169.0`, when it could be read.
    pub codex_version: Option<String>,
    /// The app-server's user agent string.
    pub user_agent: String,
    /// The model the thread uses.
    pub model: Option<String>,
}

/// A Codex app-server, driven as one sub-agent: one thread, one turn at a time.
///
/// Create it with [`CodexAgent::spawn`] (starts the binary) or [`CodexAgent::from_streams`]
/// (any connected byte streams, e.g. for tests). Both return once the thread has started;
/// the first event is `session_configured`.
///
/// Dropping the handle kills the Codex process group at once; send `shutdown` first for a
/// clean exit.
#[derive(Debug)]
pub struct CodexAgent {
    submissions: mpsc::Sender<Submission>,
    events: Mutex<mpsc::Receiver<Event>>,
    status: watch::Receiver<AgentStatus>,
    group: Option<Arc<ProcessGroup>>,
    session: SessionInfo,
}

impl CodexAgent {
    /// Start `codex app-server` as `options` say and set up its thread.
    ///
    /// Errors when the binary is missing or fails to start, reports an unsupported version
    /// (see [`VersionCheck`]), or does not complete the set-up within the handshake timeout.
    /// The process is gone when an error is returned.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the process is killed.
    pub async fn spawn(options: CodexOptions) -> Result<Self, CodexError> {
        let (mut child, stdin, stdout) = ChildProcess::spawn(&options)?;
        match connect(stdout, stdin, options.clone(), Some(child.group())).await {
            Ok((agent, driver)) => {
                tokio::spawn(driver.run(Some(child)));
                Ok(agent)
            }
            Err(CodexError::Exited { method, .. }) => {
                let how = child.terminate(options.term_grace, options.term_grace).await;
                Err(CodexError::Exited { method, detail: format!(": {how}") })
            }
            Err(err) => {
                // Nothing to wait for: kill the group, and reap.
                child.terminate(Duration::ZERO, Duration::ZERO).await;
                Err(err)
            }
        }
    }

    /// Speak to an app-server over `reader` (its stdout) and `writer` (its stdin), and set up
    /// its thread. `options.program`, environment and stderr settings are not used.
    ///
    /// `shutdown` closes `writer` and waits up to the shutdown grace for `reader` to end.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the streams are dropped with it.
    pub async fn from_streams<R, W>(
        reader: R,
        writer: W,
        options: CodexOptions,
    ) -> Result<Self, CodexError>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (agent, driver) = connect(reader, writer, options, None).await?;
        tokio::spawn(driver.run(None));
        Ok(agent)
    }

    /// What the app-server said at set-up.
    pub fn session(&self) -> &SessionInfo {
        &self.session
    }

    /// The process id of the app-server (also its process group id), when this agent started it.
    pub fn pid(&self) -> Option<u32> {
        self.group.as_ref().and_then(|g| g.id())
    }
}

impl Drop for CodexAgent {
    fn drop(&mut self) {
        if let Some(group) = &self.group {
            group.signal(Signal::KILL);
        }
    }
}

#[async_trait]
impl Agent for CodexAgent {
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        self.submissions.send(submission).await.map_err(|_| {
            let status = self.status.borrow().clone();
            AgentError::closed(format!("the codex app-server is no longer running ({status})"))
        })
    }

    async fn next_event(&self) -> Option<Event> {
        self.events.lock().await.recv().await
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.clone()
    }
}

/// The set-up: `initialize`, `initialized`, `thread/start`. Returns the handle and the driver
/// that must then run.
async fn connect<R, W>(
    reader: R,
    writer: W,
    options: CodexOptions,
    group: Option<Arc<ProcessGroup>>,
) -> Result<(CodexAgent, Driver<R>), CodexError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut lines = JsonLinesReader::with_max_line_len(reader, options.max_line_bytes);
    let writer = JsonLinesWriter::spawn(writer);
    let trace = options.trace.as_ref().and_then(|t| t.sanitized().0);
    let mut early = Vec::new();
    let mut warnings = Vec::new();

    let init = json!({
        "clientInfo": {
            "name": options.client_name,
            "title": "delegate",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "capabilities": null,
    });
    write(&writer, jsonrpc::request(INITIALIZE_ID, "initialize", init, trace.as_ref())).await?;
    let result =
        await_response(&mut lines, INITIALIZE_ID, "initialize", &options, &mut early).await?;
    let user_agent = result.get("userAgent").and_then(Value::as_str).unwrap_or("").to_string();
    let mut codex_version = version_from_user_agent(&user_agent, &options.client_name);
    check_version(codex_version.as_deref(), &user_agent, options.version_check, &mut warnings)?;
    write(&writer, jsonrpc::notification("initialized")).await?;

    let mut params = json!({
        "cwd": options.cwd,
        "approvalPolicy": options.approval_policy.as_str(),
        "sandbox": options.sandbox.as_str(),
        "ephemeral": options.ephemeral,
    });
    if let Some(model) = &options.model {
        params["model"] = Value::from(model.clone());
    }
    write(&writer, jsonrpc::request(THREAD_START_ID, "thread/start", params, trace.as_ref()))
        .await?;
    let result =
        await_response(&mut lines, THREAD_START_ID, "thread/start", &options, &mut early).await?;
    let Some(thread_id) = result.pointer("/thread/id").and_then(Value::as_str) else {
        return Err(CodexError::Protocol(format!(
            "thread/start answered without a thread id: {result}"
        )));
    };
    let thread_id = thread_id.to_string();
    if codex_version.is_none() {
        codex_version =
            result.pointer("/thread/cliVersion").and_then(Value::as_str).map(str::to_string);
    }
    let model = result.get("model").and_then(Value::as_str).map(str::to_string);

    let mut extra = Extra::new();
    extra.insert("cwd".to_string(), json!(options.cwd));
    extra.insert("approval_policy".to_string(), json!(options.approval_policy.as_str()));
    extra.insert("sandbox".to_string(), json!(options.sandbox.as_str()));
    if let Some(version) = &codex_version {
        extra.insert("codex_version".to_string(), json!(version));
    }
    if let Some(provider) = result.get("modelProvider") {
        extra.insert("model_provider".to_string(), provider.clone());
    }
    let mut out = Output::default();
    for warning in warnings {
        out.events.push(Event::new(SESSION_EVENT_ID, EventMsg::warning(warning)));
    }
    out.events.push(Event::new(
        SESSION_EVENT_ID,
        EventMsg::SessionConfigured(SessionConfiguredEvent {
            session_id: Some(thread_id.clone()),
            model: model.clone(),
            extra,
        }),
    ));
    let mut mapper = Mapper::new(thread_id.clone(), options.cwd.clone(), FIRST_REQUEST_ID);
    for message in early {
        mapper.on_line(message, &mut out);
    }

    let (sub_tx, sub_rx) = mpsc::channel(SUBMISSION_CAPACITY);
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_CAPACITY);
    let (status_tx, status_rx) = watch::channel(AgentStatus::Running);
    let session = SessionInfo { thread_id, codex_version, user_agent, model };
    let agent = CodexAgent {
        submissions: sub_tx,
        events: Mutex::new(ev_rx),
        status: status_rx,
        group,
        session,
    };
    let driver = Driver {
        lines,
        writer,
        submissions: sub_rx,
        events: ev_tx,
        status: status_tx,
        mapper,
        first: Some(out),
        shutdown_grace: options.shutdown_grace,
        term_grace: options.term_grace,
    };
    Ok((agent, driver))
}

/// Read until the answer to request `id`, keeping whatever comes before it for the mapper.
async fn await_response<R: AsyncRead + Unpin>(
    lines: &mut JsonLinesReader<R, RpcMessage>,
    id: i64,
    method: &'static str,
    options: &CodexOptions,
    early: &mut Vec<Value>,
) -> Result<Value, CodexError> {
    let deadline = Instant::now() + options.handshake_timeout;
    loop {
        let frame = tokio::time::timeout_at(deadline, lines.next_frame())
            .await
            .map_err(|_| CodexError::Timeout { method, timeout: options.handshake_timeout })??;
        let value = match frame {
            Some(Frame::Message(RpcMessage(value))) => value,
            // Not JSON (a stray log line) or too long: skipped, as the driver does later.
            Some(Frame::Bad(_)) => continue,
            None => return Err(CodexError::Exited { method, detail: String::new() }),
        };
        match Incoming::classify(value.clone()) {
            Ok(Incoming::Response { id: got, result }) if got.as_i64() == Some(id) => {
                return result.map_err(|err| CodexError::Rejected {
                    method,
                    code: err.code,
                    message: err.message,
                });
            }
            _ => early.push(value),
        }
    }
}

/// `0.169.0` from `delegate/0.169.0 (Debian 12; x86_64) …`.
fn version_from_user_agent(user_agent: &str, client_name: &str) -> Option<String> {
    let rest = user_agent
        .strip_prefix(client_name)
        .and_then(|r| r.strip_prefix('/'))
        .or_else(|| user_agent.split_once('/').map(|(_, r)| r))?;
    let version = rest.split_whitespace().next()?;
    version.chars().next().filter(char::is_ascii_digit).map(|_| version.to_string())
}

fn check_version(
    version: Option<&str>,
    user_agent: &str,
    check: VersionCheck,
    warnings: &mut Vec<String>,
) -> Result<(), CodexError> {
    let supported = version.is_some_and(|v| {
        v == SUPPORTED_CODEX_VERSION
            || v.strip_prefix(SUPPORTED_CODEX_VERSION).is_some_and(|rest| rest.starts_with('.'))
    });
    if supported {
        return Ok(());
    }
    let found =
        version.map_or_else(|| format!("of unknown version ({user_agent:?})"), str::to_string);
    match check {
        VersionCheck::Warn => {
            warnings.push(format!(
                "codex {found} is not the supported {SUPPORTED_CODEX_VERSION}.x; going on anyway"
            ));
            Ok(())
        }
        _ => Err(CodexError::UnsupportedVersion { found, supported: SUPPORTED_CODEX_VERSION }),
    }
}

/// Queue one message for the app-server during set-up.
async fn write(writer: &JsonLinesWriter<RpcMessage>, message: Value) -> Result<(), CodexError> {
    writer.send(RpcMessage(message)).await.map_err(|err| {
        CodexError::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, err.to_string()))
    })
}

/// Owns the connection after set-up: reads the app-server, writes to it, runs the mapping.
struct Driver<R> {
    lines: JsonLinesReader<R, RpcMessage>,
    /// The app-server's stdin, written by the framing's writer task.
    writer: JsonLinesWriter<RpcMessage>,
    submissions: mpsc::Receiver<Submission>,
    events: mpsc::Sender<Event>,
    status: watch::Sender<AgentStatus>,
    mapper: Mapper,
    /// What set-up produced, emitted first.
    first: Option<Output>,
    shutdown_grace: Duration,
    term_grace: Duration,
}

/// Whether the driver goes on after emitting.
enum Flow {
    Continue,
    /// The handle is gone: nobody listens any more.
    Orphaned,
}

impl<R> Driver<R>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    async fn run(mut self, child: Option<ChildProcess>) {
        if let Some(first) = self.first.take()
            && let Flow::Orphaned = self.emit(first).await
        {
            return self.orphaned(child).await;
        }
        loop {
            let mut out = Output::default();
            tokio::select! {
                biased;
                submission = self.submissions.recv() => match submission {
                    Some(submission) => {
                        if let Control::Shutdown { submission_id } =
                            self.mapper.on_submission(submission, &mut out)
                        {
                            if let Flow::Orphaned = self.emit(out).await {
                                return self.orphaned(child).await;
                            }
                            return self.shutdown(submission_id, child).await;
                        }
                    }
                    None => return self.orphaned(child).await,
                },
                frame = self.lines.next_frame() => match frame {
                    Ok(Some(frame)) => self.on_frame(frame, &mut out),
                    Ok(None) => return self.died(None, child).await,
                    Err(err) => return self.died(Some(err), child).await,
                },
            }
            if let Flow::Orphaned = self.emit(out).await {
                return self.orphaned(child).await;
            }
        }
    }

    fn on_frame(&mut self, frame: Frame<RpcMessage>, out: &mut Output) {
        match frame {
            Frame::Message(RpcMessage(value)) => self.mapper.on_line(value, out),
            Frame::Bad(bad) => out.events.push(Event::new(
                self.mapper.active_event_id().unwrap_or_default(),
                EventMsg::warning(bad.to_string()),
            )),
        }
    }

    /// Write the messages, then hand over the events and status.
    async fn emit(&mut self, out: Output) -> Flow {
        let Output { messages, mut events, status } = out;
        for message in messages {
            if let Err(err) = self.writer.send(RpcMessage(message)).await {
                // Codex is most likely gone; the end of its output says how.
                let id = self.mapper.active_event_id().unwrap_or_default();
                events.push(Event::new(
                    id,
                    EventMsg::error(format!("writing to codex app-server failed: {err}")),
                ));
                break;
            }
        }
        if let Some(status) = status {
            self.status.send_replace(status);
        }
        for event in events {
            if self.events.send(event).await.is_err() {
                return Flow::Orphaned;
            }
        }
        Flow::Continue
    }

    /// The app-server's output ended without a shutdown: it exited or crashed.
    async fn died(self, err: Option<std::io::Error>, child: Option<ChildProcess>) {
        self.writer.abort();
        let how = match child {
            Some(mut child) => child.terminate(self.term_grace, self.term_grace).await,
            None => "its output ended".to_string(),
        };
        let mut message = format!("codex app-server exited unexpectedly ({how})");
        if let Some(err) = err {
            message.push_str(&format!(" after a read error: {err}"));
        }
        let id = self.mapper.active_event_id();
        if let Some(turn) = &id {
            message.push_str(&format!(" during turn `{turn}`"));
        }
        self.status.send_replace(AgentStatus::Errored(message.clone()));
        let _ =
            self.events.send(Event::new(id.unwrap_or_default(), EventMsg::error(message))).await;
    }

    /// `shutdown`: close stdin, pass on what Codex still says within the grace period, then end
    /// the process the bounded way and report `shutdown_complete`.
    async fn shutdown(mut self, submission_id: String, child: Option<ChildProcess>) {
        self.submissions.close();
        let deadline = Instant::now() + self.shutdown_grace;
        if tokio::time::timeout_at(deadline, self.writer.close()).await.is_err() {
            self.writer.abort();
        }
        loop {
            let mut out = Output::default();
            match tokio::time::timeout_at(deadline, self.lines.next_frame()).await {
                Ok(Ok(Some(frame))) => self.on_frame(frame, &mut out),
                Ok(Ok(None) | Err(_)) | Err(_) => break,
            }
            if let Flow::Orphaned = self.emit(out).await {
                break;
            }
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if let Some(mut child) = child {
            child.terminate(remaining, self.term_grace).await;
        }
        self.status.send_replace(AgentStatus::Shutdown);
        let _ = self.events.send(Event::new(submission_id, EventMsg::ShutdownComplete)).await;
    }

    /// The handle was dropped (it already killed the process group): reap and stop.
    async fn orphaned(self, child: Option<ChildProcess>) {
        self.writer.abort();
        if let Some(mut child) = child {
            child.terminate(Duration::ZERO, Duration::ZERO).await;
        }
        self.status.send_replace(AgentStatus::Shutdown);
    }
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod session_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_read_from_the_user_agent() {
        let ua = "delegate/0.169.0 (Debian 12.0.0; x86_64) unknown (delegate; 0)";
        assert_eq!(version_from_user_agent(ua, "delegate").as_deref(), Some("0.169.0"));
        assert_eq!(version_from_user_agent("a/b/0.1 (x)", "a/b").as_deref(), Some("0.1"));
        assert_eq!(version_from_user_agent("nothing", "delegate"), None);
        assert_eq!(version_from_user_agent("x/dev build", "delegate"), None);
    }

    #[test]
    fn only_the_supported_version_line_passes_a_strict_check() {
        let mut warnings = Vec::new();
        for ok in ["0.169.0", "0.169.3", "0.169"] {
            check_version(Some(ok), "", VersionCheck::Strict, &mut warnings).unwrap();
        }
        for bad in ["0.170.0", "0.1690.0", "0.16", "1.169.0"] {
            let err =
                check_version(Some(bad), "", VersionCheck::Strict, &mut warnings).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
        let err = check_version(None, "weird", VersionCheck::Strict, &mut warnings).unwrap_err();
        assert!(err.to_string().contains("weird"), "{err}");
        assert!(warnings.is_empty());
        check_version(Some("0.170.0"), "", VersionCheck::Warn, &mut warnings).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("0.170.0"));
    }
}
