//! [`TransportError`]: what can go wrong when framing lines, starting a child process or serving.

use std::ffi::OsString;
use std::path::PathBuf;

/// Errors of `delegate-transport-stdio`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The sub-agent's program could not be started.
    #[error("could not start {program:?}: {source} (check the path and that it is executable)")]
    Spawn {
        /// The program, as given to the builder.
        program: OsString,
        /// Why.
        source: std::io::Error,
    },
    /// The file that should receive the child's stderr could not be opened.
    #[error("could not open {path:?} for the sub-agent's stderr: {source}")]
    StderrLog {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The transport was used outside a tokio runtime (it spawns tasks and registers pipes).
    #[error(
        "no tokio runtime is running: call this from inside a runtime with I/O and time enabled"
    )]
    NoRuntime,
    /// The other end is gone; nothing more can be sent.
    #[error("the stream is closed: {reason}")]
    Closed {
        /// Why, as precisely as known (the write error, the child's exit status, …).
        reason: String,
    },
    /// Reading or writing failed.
    #[error("i/o failed: {0}")]
    Io(#[from] std::io::Error),
    /// A child process is still running after SIGKILL and the wait that follows it (it is
    /// probably stuck in the kernel); it is no longer waited for here.
    #[error("process group {pid} is still running after SIGKILL")]
    Unkillable {
        /// The child's pid, which is also its process group id.
        pid: u32,
    },
}

impl TransportError {
    /// A [`TransportError::Closed`] with this reason.
    pub fn closed(reason: impl Into<String>) -> Self {
        TransportError::Closed { reason: reason.into() }
    }
}
