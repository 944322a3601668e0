//! Test support (feature `test-util`): everything an offline end-to-end test against a real
//! Codex binary needs, for this crate's tests and for downstream crates (the CLI, benchmarks).
//!
//! - [`codex_binary`]: where `install-codex.sh` put the pinned Codex (or `DELEGATE_CODEX_BIN`);
//!   an error that says how to install it when it is missing, so tests fail, never skip.
//! - [`MockResponsesServer`]: a model server on `127.0.0.1` that answers `POST /v1/responses`
//!   with server-sent events from a per-test script ([`ScriptedResponse`]) and records every
//!   request. Hand-rolled HTTP/1.1: one request per connection, `Connection: close`.
//! - [`CodexSandbox`]: a throwaway `CODEX_HOME` (with an offline `config.toml` pointing at the
//!   mock), `HOME` and git repository, and [`CodexOptions`] that use them with a cleared
//!   environment, so a test never reads the real `~/.codex` nor reaches the internet.
//! - [`processes_with_env`] and [`process_is_gone`]: checks on `/proc` that nothing is left.

use std::ffi::OsStr;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::CodexOptions;
use crate::StderrMode;

/// The Codex version the end-to-end tests pin.
pub const CODEX_TEST_VERSION: &str = "0.169.0";

/// Environment variable naming a Codex binary to test with instead of the cached one.
pub const CODEX_BIN_ENV: &str = "DELEGATE_CODEX_BIN";

/// Environment variable naming the cache `install-codex.sh` installs into.
pub const CODEX_CACHE_ENV: &str = "DELEGATE_CODEX_CACHE";

/// Where the npm package keeps the native binary, under the install prefix.
const NATIVE_BINARY: &str =
    "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";

/// Longest request head (request line and headers) the mock accepts. Codex sends a few hundred
/// bytes; 64 KiB is far beyond any real client and keeps a broken one from growing memory.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Longest request body the mock accepts. A Responses request carries the whole conversation
/// and the tool schemas (tens of KiB); 32 MiB is far beyond a test's conversation.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The pinned Codex binary: `$DELEGATE_CODEX_BIN`, else the native binary in
/// `${DELEGATE_CODEX_CACHE:-$HOME/.cache/delegate/codex-0.169.0}`.
///
/// The error says how to install it: tests call this and fail with that message.
pub fn codex_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os(CODEX_BIN_ENV).filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("{CODEX_BIN_ENV}={} does not name a file", bin.display()))
        };
    }
    let cache = match std::env::var_os(CODEX_CACHE_ENV).filter(|c| !c.is_empty()) {
        Some(cache) => PathBuf::from(cache),
        None => {
            let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
            Path::new(&home).join(".cache/delegate").join(format!("codex-{CODEX_TEST_VERSION}"))
        }
    };
    let bin = cache.join(NATIVE_BINARY);
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "codex {CODEX_TEST_VERSION} is not installed at {}: run `adapter-codex/install-codex.sh` \
             (it needs npm and the npm registry) or set {CODEX_BIN_ENV}",
            bin.display()
        ))
    }
}

/// One scripted answer of the mock model server, for one `POST /v1/responses`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ScriptedResponse {
    /// A final assistant message.
    Message(String),
    /// A call of Codex's shell tool (`exec_command`) with this command line. Codex runs it (once
    /// approved) and asks again with its output.
    ExecCommand {
        /// The tool call id.
        call_id: String,
        /// The command, as the model would write it.
        cmd: String,
    },
    /// An `apply_patch` call with this patch text (`*** Begin Patch` … `*** End Patch`).
    ApplyPatch {
        /// The tool call id.
        call_id: String,
        /// The patch.
        patch: String,
    },
    /// A message streamed as `deltas`, one every `interval`, then completed. With many deltas
    /// and a long interval this is a model that is still talking (for interrupts and kills).
    Streamed {
        /// The pieces.
        deltas: Vec<String>,
        /// The pause before each piece.
        interval: Duration,
    },
    /// These SSE events as they are (`(event type, data)`), then the connection closes.
    Raw(Vec<(String, Value)>),
}

impl ScriptedResponse {
    /// [`ScriptedResponse::Message`].
    pub fn message(text: impl Into<String>) -> Self {
        ScriptedResponse::Message(text.into())
    }

    /// [`ScriptedResponse::ExecCommand`].
    pub fn exec(call_id: impl Into<String>, cmd: impl Into<String>) -> Self {
        ScriptedResponse::ExecCommand { call_id: call_id.into(), cmd: cmd.into() }
    }

    /// [`ScriptedResponse::ApplyPatch`] of a patch that adds `path` with `content` (each line
    /// of it prefixed with `+`).
    pub fn add_file(call_id: impl Into<String>, path: &str, content: &str) -> Self {
        let mut patch = format!("*** Begin Patch\n*** Add File: {path}\n");
        for line in content.lines() {
            patch.push('+');
            patch.push_str(line);
            patch.push('\n');
        }
        patch.push_str("*** End Patch\n");
        ScriptedResponse::ApplyPatch { call_id: call_id.into(), patch }
    }

    /// [`ScriptedResponse::Streamed`] of `count` pieces, one every `interval`.
    pub fn slow_stream(count: usize, interval: Duration) -> Self {
        ScriptedResponse::Streamed {
            deltas: (0..count).map(|i| format!("word{i} ")).collect(),
            interval,
        }
    }
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `POST /v1/responses`, as sent.
    pub request_line: String,
    /// The body, decoded (`Value::Null` when it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// The last item of the request's `input`: after a tool call, its output.
    pub fn last_input(&self) -> Option<&Value> {
        self.body.get("input").and_then(Value::as_array).and_then(|items| items.last())
    }
}

#[derive(Debug, Default)]
struct MockState {
    script: std::collections::VecDeque<ScriptedResponse>,
    requests: Vec<RecordedRequest>,
    next_response: u64,
}

/// A scripted Responses-API model server on `127.0.0.1`, for as long as it lives.
#[derive(Debug)]
pub struct MockResponsesServer {
    addr: SocketAddr,
    state: Arc<Mutex<MockState>>,
    received: Arc<Notify>,
    task: JoinHandle<()>,
}

impl MockResponsesServer {
    /// Listen on a free loopback port and answer requests with `script`, in order. When the
    /// script runs out, each further request gets the message `mock: script exhausted`.
    pub async fn start(script: Vec<ScriptedResponse>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state =
            Arc::new(Mutex::new(MockState { script: script.into(), ..MockState::default() }));
        let received = Arc::new(Notify::new());
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state), Arc::clone(&received)));
        Ok(Self { addr, state, received, task })
    }

    /// The provider base URL for Codex's config: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Append responses to the script.
    pub fn push(&self, response: ScriptedResponse) {
        lock(&self.state).script.push_back(response);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Wait until at least `count` requests have arrived, at most `timeout`. Returns whether
    /// they did.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn wait_for_requests(&self, count: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.received.notified();
            if lock(&self.state).requests.len() >= count {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return lock(&self.state).requests.len() >= count;
            }
        }
    }
}

impl Drop for MockResponsesServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<MockState>) -> std::sync::MutexGuard<'_, MockState> {
    // A panic while holding the lock cannot leave the state half-updated in a way that
    // matters to a test; keep serving.
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<MockState>>, received: Arc<Notify>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state), Arc::clone(&received)));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<MockState>>, received: Arc<Notify>) {
    let mut stream = BufReader::new(stream);
    let Ok(Some((request_line, body))) = read_request(&mut stream).await else {
        let _ = stream
            .get_mut()
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    if !request_line.starts_with("POST ") || !request_line.contains("/responses") {
        let _ = stream
            .get_mut()
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (response, number) = {
        let mut state = lock(&state);
        state.requests.push(RecordedRequest { request_line, body });
        state.next_response += 1;
        let response = state
            .script
            .pop_front()
            .unwrap_or_else(|| ScriptedResponse::message("mock: script exhausted"));
        (response, state.next_response)
    };
    received.notify_waiters();
    let stream = stream.get_mut();
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let _ = write_response(stream, &response, number).await;
    let _ = stream.shutdown().await;
}

/// Read one request: its request line and body. `None` when the peer closed first.
async fn read_request(
    stream: &mut BufReader<TcpStream>,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head_bytes = 0;
    let mut request_line = String::new();
    if stream.read_line(&mut request_line).await? == 0 {
        return Ok(None);
    }
    let request_line = request_line.trim_end().to_string();
    let mut content_length = None;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        let n = stream.read_line(&mut header).await?;
        head_bytes += n;
        if n == 0 || head_bytes > MAX_HEAD_BYTES {
            return Err(std::io::Error::other("request head too long or cut short"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            stream.read_line(&mut size_line).await?;
            let size_hex = size_line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            if body.len() + size > MAX_BODY_BYTES {
                return Err(std::io::Error::other("request body too large"));
            }
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let mut trailer = String::new();
                    if stream.read_line(&mut trailer).await? == 0 || trailer.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            stream.read_exact(&mut body[start..]).await?;
            let mut crlf = [0u8; 2];
            stream.read_exact(&mut crlf).await?;
        }
    } else if let Some(length) = content_length {
        if length > MAX_BODY_BYTES {
            return Err(std::io::Error::other("request body too large"));
        }
        body.resize(length, 0);
        stream.read_exact(&mut body).await?;
    }
    Ok(Some((request_line, body)))
}

async fn sse(stream: &mut TcpStream, kind: &str, mut data: Value) -> std::io::Result<()> {
    if let Value::Object(map) = &mut data {
        map.insert("type".to_string(), Value::from(kind));
    }
    let frame = format!("event: {kind}\ndata: {data}\n\n");
    stream.write_all(frame.as_bytes()).await?;
    stream.flush().await
}

async fn write_response(
    stream: &mut TcpStream,
    response: &ScriptedResponse,
    number: u64,
) -> std::io::Result<()> {
    let response_id = format!("resp-{number}");
    if let ScriptedResponse::Raw(events) = response {
        for (kind, data) in events {
            sse(stream, kind, data.clone()).await?;
        }
        return Ok(());
    }
    sse(stream, "response.created", json!({ "response": { "id": response_id } })).await?;
    let message_id = format!("msg-{number}");
    match response {
        ScriptedResponse::Message(text) => {
            sse(
                stream,
                "response.output_item.done",
                json!({ "output_index": 0, "item": message(&message_id, text) }),
            )
            .await?;
        }
        ScriptedResponse::ExecCommand { call_id, cmd } => {
            let arguments = json!({ "cmd": cmd }).to_string();
            let item = json!({ "type": "function_call", "id": format!("fc-{number}"), "call_id": call_id,
                               "name": "exec_command", "arguments": arguments });
            sse(stream, "response.output_item.done", json!({ "output_index": 0, "item": item }))
                .await?;
        }
        ScriptedResponse::ApplyPatch { call_id, patch } => {
            let item = json!({ "type": "custom_tool_call", "id": format!("ctc-{number}"), "call_id": call_id,
                               "name": "apply_patch", "input": patch });
            sse(stream, "response.output_item.done", json!({ "output_index": 0, "item": item }))
                .await?;
        }
        ScriptedResponse::Streamed { deltas, interval } => {
            let empty =
                json!({ "type": "message", "role": "assistant", "id": message_id, "content": [] });
            sse(stream, "response.output_item.added", json!({ "output_index": 0, "item": empty }))
                .await?;
            for delta in deltas {
                tokio::time::sleep(*interval).await;
                sse(
                    stream,
                    "response.output_text.delta",
                    json!({ "item_id": message_id, "output_index": 0,
                    "content_index": 0, "delta": delta }),
                )
                .await?;
            }
            let text: String = deltas.concat();
            sse(
                stream,
                "response.output_item.done",
                json!({ "output_index": 0, "item": message(&message_id, &text) }),
            )
            .await?;
        }
        ScriptedResponse::Raw(_) => {}
    }
    let usage = json!({ "input_tokens": 10, "input_tokens_details": null, "output_tokens": 5,
                        "output_tokens_details": null, "total_tokens": 15 });
    sse(stream, "response.completed", json!({ "response": { "id": response_id, "usage": usage } }))
        .await
}

fn message(id: &str, text: &str) -> Value {
    json!({ "type": "message", "role": "assistant", "id": id,
            "content": [{ "type": "output_text", "text": text, "annotations": [] }] })
}

/// A directory removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new empty directory under the system temp dir, named after `prefix`.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Throwaway `CODEX_HOME`, `HOME` and git repository for one test, with an offline config that
/// sends every model request to a [`MockResponsesServer`].
#[derive(Debug)]
pub struct CodexSandbox {
    root: TempDir,
    /// `CODEX_HOME`, holding `config.toml`.
    pub codex_home: PathBuf,
    /// `HOME` of the Codex process.
    pub home: PathBuf,
    /// A fresh git repository: the working directory.
    pub repo: PathBuf,
}

impl CodexSandbox {
    /// Create the directories and the config for a model server at `base_url`
    /// (see [`MockResponsesServer::base_url`]).
    pub fn new(base_url: &str) -> std::io::Result<Self> {
        let root = TempDir::new("delegate-codex")?;
        let codex_home = root.path().join("codex-home");
        let home = root.path().join("home");
        let repo = root.path().join("repo");
        for dir in [&codex_home, &home, &repo] {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(codex_home.join("config.toml"), offline_config(base_url))?;
        let status = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(&repo)
            .env("HOME", &home)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("git init failed: {status}")));
        }
        Ok(Self { root, codex_home, home, repo })
    }

    /// The sandbox's root directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Options that run `program` in the repository with this `CODEX_HOME` and `HOME`, an
    /// environment cleared but for `PATH`, stderr to `codex.log` in the root, and short
    /// shutdown grace periods.
    pub fn options(&self, program: impl Into<PathBuf>) -> CodexOptions {
        let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
        CodexOptions::new(&self.repo)
            .with_program(program)
            .with_codex_home(&self.codex_home)
            .with_env_clear(true)
            .with_env("PATH", path)
            .with_env("HOME", &self.home)
            .with_stderr(StderrMode::Log(self.root.path().join("codex.log")))
            .with_shutdown_grace(Duration::from_secs(2), Duration::from_millis(500))
    }

    /// What Codex wrote on stderr so far (for failure messages).
    pub fn codex_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("codex.log")).unwrap_or_default()
    }
}

/// A `config.toml` that keeps Codex offline and quiet and points it at `base_url`.
pub fn offline_config(base_url: &str) -> String {
    format!(
        r#"model = "gpt-5.5"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false
web_search = "disabled"

[analytics]
enabled = false

[agents]
enabled = false

[features]
plugins = false
remote_plugin = false
apps = false
tool_suggest = false
goals = false
daemon_auto_start = false
browser_use = false
computer_use = false
image_generation = false
in_app_browser = false
skill_mcp_dependency_install = false
unbounded_connection_retries = false

[model_providers.mock]
name = "mock"
base_url = "{base_url}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"#
    )
}

/// Pids of live processes whose environment has `name=value` (zombies have none and are not
/// listed; see [`process_is_gone`]).
pub fn processes_with_env(name: &str, value: &OsStr) -> Vec<u32> {
    use std::os::unix::ffi::OsStrExt;
    let mut needle = Vec::from(name.as_bytes());
    needle.push(b'=');
    needle.extend_from_slice(value.as_bytes());
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_slice()))
        })
        .collect()
}

/// Whether process `pid`, a child of this process, is gone: exited and reaped (no zombie left).
pub fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // Fields after the `(comm)`: state, ppid. A reused pid belongs to someone else.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok())
            .is_some_and(|ppid| ppid != std::process::id()),
    }
}
