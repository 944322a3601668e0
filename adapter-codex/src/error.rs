//! [`CodexError`]: why a Codex app-server could not be started or spoken to.

use std::path::PathBuf;
use std::time::Duration;

/// Why a Codex app-server session could not be set up.
///
/// Once a [`CodexAgent`](crate::CodexAgent) exists, failures are reported as events (`error`,
/// `warning`) and through its status instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodexError {
    /// The binary does not exist or is not on `PATH`.
    #[error(
        "codex binary `{}` not found: install it (`npm install -g @openai/codex@{}`) or pass its path",
        .program.display(), crate::SUPPORTED_CODEX_VERSION
    )]
    BinaryNotFound {
        /// The program that was looked up.
        program: PathBuf,
    },
    /// The binary exists but could not be started.
    #[error("could not start codex binary `{}`: {source}", .program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The app-server reports a version this adapter does not support.
    #[error(
        "codex {found} is not supported: this adapter speaks to codex {supported}.x; install that \
         version or set `VersionCheck::Warn` to try anyway"
    )]
    UnsupportedVersion {
        /// The version the app-server reported (or its whole user agent when it had none).
        found: String,
        /// The supported version line, e.g. `0.169`.
        supported: &'static str,
    },
    /// The app-server did not answer a set-up request in time.
    #[error("codex app-server did not answer `{method}` within {timeout:?}")]
    Timeout {
        /// The request that went unanswered.
        method: &'static str,
        /// How long we waited.
        timeout: Duration,
    },
    /// The app-server answered a set-up request with an error.
    #[error("codex app-server rejected `{method}`: {message} (code {code})")]
    Rejected {
        /// The request.
        method: &'static str,
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The app-server closed its output (it exited) during set-up.
    #[error("codex app-server exited during `{method}`{detail}")]
    Exited {
        /// The request in flight.
        method: &'static str,
        /// `: exit status …` when known.
        detail: String,
    },
    /// The app-server sent something that is not the protocol we expect.
    #[error("unexpected message from codex app-server: {0}")]
    Protocol(String),
    /// Reading from or writing to the app-server failed.
    #[error("talking to codex app-server failed: {0}")]
    Io(#[from] std::io::Error),
}
