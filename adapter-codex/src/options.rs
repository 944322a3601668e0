//! [`CodexOptions`]: which Codex binary to run, and how its thread is set up.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use delegate_protocol::W3cTraceContext;

/// How long to wait for each set-up answer (`initialize`, `thread/start`). Codex answers in
/// 0.05–0.15 s on a loaded 2-core machine; 30 s covers a cold disk and a busy CI host while a
/// wedged binary still fails a test long before its runner's timeout.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `shutdown` waits for Codex to exit by itself after its stdin is closed, before
/// SIGTERM goes to its process group. Codex exits within milliseconds of losing stdin; 2 s
/// leaves room for it to flush its session files under load.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How long to wait after SIGTERM before SIGKILL. A process that ignores SIGTERM for half a
/// second is not going to honour it.
pub const DEFAULT_TERM_GRACE: Duration = Duration::from_millis(500);

/// Longest line accepted from the app-server: the stdio transport's limit (16 MiB). A
/// command's aggregated output travels inside one line, so this is generous; past it the line
/// is skipped with a warning rather than buffered.
pub const DEFAULT_MAX_LINE_BYTES: usize = delegate_transport_stdio::DEFAULT_MAX_LINE_LEN;

/// When Codex asks before running a command (`approvalPolicy` of the thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ApprovalPolicy {
    /// Ask before every command that is not known to be safe: every command reaches the parent's
    /// policy. The default.
    #[default]
    Untrusted,
    /// Ask only when the model asks for more than the sandbox allows.
    OnRequest,
    /// Never ask (approval requests never reach the parent).
    Never,
}

impl ApprovalPolicy {
    /// The app-server's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalPolicy::Untrusted => "untrusted",
            ApprovalPolicy::OnRequest => "on-request",
            ApprovalPolicy::Never => "never",
        }
    }
}

/// Where Codex's commands may write (`sandbox` of the thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SandboxMode {
    /// Read anywhere, write nowhere (an approved command may still be run outside it). The default.
    #[default]
    ReadOnly,
    /// Write inside the working directory.
    WorkspaceWrite,
    /// No sandbox at all.
    DangerFullAccess,
}

impl SandboxMode {
    /// The app-server's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxMode::ReadOnly => "read-only",
            SandboxMode::WorkspaceWrite => "workspace-write",
            SandboxMode::DangerFullAccess => "danger-full-access",
        }
    }
}

/// What to do when the app-server is not the supported version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VersionCheck {
    /// Refuse with [`CodexError::UnsupportedVersion`](crate::CodexError::UnsupportedVersion).
    /// The default: Codex's protocol changes between releases.
    #[default]
    Strict,
    /// Go on, with a `warning` event first.
    Warn,
}

/// Where the app-server's stderr (its logs) goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StderrMode {
    /// The parent's stderr. The default.
    #[default]
    Inherit,
    /// Nowhere.
    Discard,
    /// Appended to this file.
    Log(PathBuf),
}

/// How to start and set up a Codex app-server.
///
/// ```
/// use delegate_adapter_codex::{ApprovalPolicy, CodexOptions, SandboxMode};
///
/// let options = CodexOptions::new("/path/to/repo")
///     .with_program("/opt/codex/bin/codex")
///     .with_approval_policy(ApprovalPolicy::Untrusted)
///     .with_sandbox(SandboxMode::WorkspaceWrite)
///     .with_model("gpt-5.5")
///     .with_config("model_reasoning_effort", "\"low\"");
/// assert_eq!(options.args(), ["app-server", "-c", "model_reasoning_effort=\"low\""]);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CodexOptions {
    /// The codex binary: a path, or a name looked up on `PATH`. Default `codex`.
    pub program: PathBuf,
    /// The working directory of the process and of the thread.
    pub cwd: PathBuf,
    /// The thread's approval policy. Default [`ApprovalPolicy::Untrusted`].
    pub approval_policy: ApprovalPolicy,
    /// The thread's sandbox. Default [`SandboxMode::ReadOnly`].
    pub sandbox: SandboxMode,
    /// The model; `None` leaves Codex's configured one.
    pub model: Option<String>,
    /// `-c key=value` overrides, in order (the value is TOML, or a plain string).
    pub config: Vec<(String, String)>,
    /// `CODEX_HOME` of the process; `None` inherits it (Codex's default is `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// Extra environment variables for the process.
    pub env: Vec<(OsString, OsString)>,
    /// Start the process with an empty environment (then only `env`, `CODEX_HOME` and
    /// `TRACEPARENT` are set).
    pub env_clear: bool,
    /// Whether the thread is ephemeral (not saved for later resumption). Default `true`.
    pub ephemeral: bool,
    /// Trace context of the whole session: `TRACEPARENT`/`TRACESTATE` of the process, and the
    /// `trace` of the set-up requests. Each submission's own trace goes with its request.
    pub trace: Option<W3cTraceContext>,
    /// The name this client gives in `initialize`. Default `delegate`.
    pub client_name: String,
    /// What to do about an unsupported version.
    pub version_check: VersionCheck,
    /// Where stderr goes.
    pub stderr: StderrMode,
    /// See [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// See [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
    /// See [`DEFAULT_TERM_GRACE`].
    pub term_grace: Duration,
    /// See [`DEFAULT_MAX_LINE_BYTES`].
    pub max_line_bytes: usize,
}

impl CodexOptions {
    /// Options for a thread working in `cwd`, with every default.
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        Self {
            program: PathBuf::from("codex"),
            cwd: cwd.into(),
            approval_policy: ApprovalPolicy::default(),
            sandbox: SandboxMode::default(),
            model: None,
            config: Vec::new(),
            codex_home: None,
            env: Vec::new(),
            env_clear: false,
            ephemeral: true,
            trace: None,
            client_name: "delegate".to_string(),
            version_check: VersionCheck::default(),
            stderr: StderrMode::default(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            term_grace: DEFAULT_TERM_GRACE,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }

    /// Run this binary.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Use this approval policy.
    pub fn with_approval_policy(mut self, policy: ApprovalPolicy) -> Self {
        self.approval_policy = policy;
        self
    }

    /// Use this sandbox.
    pub fn with_sandbox(mut self, sandbox: SandboxMode) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Use this model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Add a `-c key=value` override.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    /// Set `CODEX_HOME`.
    pub fn with_codex_home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.codex_home = Some(dir.into());
        self
    }

    /// Set an environment variable of the process.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Start from an empty environment.
    pub fn with_env_clear(mut self, clear: bool) -> Self {
        self.env_clear = clear;
        self
    }

    /// Keep (`false`) or do not keep (`true`, the default) the thread for later.
    pub fn with_ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = ephemeral;
        self
    }

    /// Carry this trace context.
    pub fn with_trace(mut self, trace: Option<W3cTraceContext>) -> Self {
        self.trace = trace;
        self
    }

    /// What to do about an unsupported version.
    pub fn with_version_check(mut self, check: VersionCheck) -> Self {
        self.version_check = check;
        self
    }

    /// Send stderr here.
    pub fn with_stderr(mut self, stderr: StderrMode) -> Self {
        self.stderr = stderr;
        self
    }

    /// Wait this long for each set-up answer.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Wait this long for a voluntary exit at shutdown, and this long after SIGTERM.
    pub fn with_shutdown_grace(mut self, grace: Duration, term_grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self.term_grace = term_grace;
        self
    }

    /// The arguments the binary is started with: `app-server` and the `-c` overrides.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["app-server".to_string()];
        for (key, value) in &self.config {
            args.push("-c".to_string());
            args.push(format!("{key}={value}"));
        }
        args
    }
}
