//! `delegate-transport-stdio`: sub-agents over stdin/stdout.
//!
//! Three things, all speaking the protocol of `delegate-protocol` as JSON lines:
//!
//! - **Framing** over any `AsyncRead` / `AsyncWrite`: [`JsonLinesReader`] and
//!   [`JsonLinesWriter`].
//! - **A sub-agent as a child process**: [`ChildProcessAgent`], an implementation of
//!   [`delegate_core::Agent`].
//! - **The server side**: [`serve`] / [`serve_stdio`] expose any in-process `Agent` on a
//!   stream pair, so a sub-agent binary is a few lines.
//!
//! What this crate is not: it makes no decisions about approvals and does no delegation of its
//! own (that is `delegate-core`); it is the one library crate of the workspace that starts
//! processes.
//!
//! # Framing
//!
//! One JSON value per line, `\n`-terminated (a `\r` before it is tolerated, blank lines are
//! skipped). The reader reads through one reused 64 KiB buffer and decodes each line in place; a
//! line that straddles two reads is gathered in a second reused buffer. A line is checked as
//! UTF-8 as a whole and decoded from that `str` (so serde_json does not check its strings
//! again); a line that fails is decoded again with
//! [`Event::from_json_slice`](delegate_protocol::Event::from_json_slice) /
//! [`Submission::from_json_slice`](delegate_protocol::Submission::from_json_slice) to learn
//! which field is wrong. [`JsonLinesReader::try_next_frame`] takes the lines already read
//! without waiting, so a burst is decoded in one go. Lines are limited to
//! [`DEFAULT_MAX_LINE_LEN`] (16 MiB) by default: once a line passes the limit, its rest is
//! discarded as it arrives, never buffered. A line that is too long, is not UTF-8 or does not
//! decode becomes a [`BadLine`] — for event streams a `warning` event such as *"line 7 of the
//! event stream was skipped: event is invalid at line 1, column 31 (field `msg`): missing field
//! `message`"* — and the stream goes on.
//!
//! The writer is a task fed by a bounded queue: it takes everything queued, encodes it into one
//! reused buffer, writes it, and flushes only when the queue is empty, so a burst of messages
//! costs a few writes and one flush.
//!
//! # The child-process lifecycle
//!
//! [`ChildProcessAgent::builder`] takes a program and arguments (never a shell command line),
//! the environment (inherited, cleared, or an allow-list, plus extra variables), a working
//! directory, where stderr goes ([`StderrMode`]: inherited, a file, or nowhere), and the trace
//! context of the spawning request, which reaches the child as `TRACEPARENT` / `TRACESTATE`.
//!
//! - The child leads a process group of its own, so signals reach everything it started.
//! - Status ([`AgentStatus`](delegate_protocol::AgentStatus)): `pending_init` until its first
//!   event; `running`; `completed` / `interrupted` from `task_complete` / `turn_aborted`;
//!   `shutdown` after a clean exit (asked for, or exit code 0 between turns); `errored` with the
//!   exit code or signal when it dies otherwise.
//! - When the child dies unexpectedly, an `error` event says how — *"sub-agent exited with code
//!   3 mid-turn (turn t1)"* — before the event stream ends (`next_event` returns `None`).
//! - **Stop sequence** ([`ChildProcessAgent::shutdown`], or a `shutdown` op through
//!   [`submit`](delegate_core::Agent::submit)): send `shutdown`, close stdin, wait up to the
//!   grace period; SIGTERM the process group, wait; SIGKILL the process group, wait. Each step's
//!   duration is in [`ShutdownTimeouts`]. A child that closes its stdout but keeps running is
//!   stopped the same way.
//! - After the child exits, whatever is left in its process group (grandchildren) gets SIGTERM,
//!   then SIGKILL.
//! - Events reach the consumer in batches of the lines that were ready together; `next_event`
//!   waits for one, [`try_next_event`](delegate_core::Agent::try_next_event) takes the rest of
//!   a burst without waiting. At most [`DEFAULT_EVENT_QUEUE_CAPACITY`] events wait for the
//!   consumer (configurable); beyond that the child blocks on its own stdout.
//! - **Drop** SIGKILLs the process group synchronously, so it works even when no tokio runtime
//!   is running any more. A std thread that waits on the child reaps it in every case: no
//!   orphans, no zombies.
//!
//! ```no_run
//! use delegate_core::Agent;
//! use delegate_protocol::{EventMsg, Op, Submission};
//! use delegate_transport_stdio::{ChildProcessAgent, StderrMode};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let agent = ChildProcessAgent::builder("my-sub-agent")
//!     .args(["--model", "small"])
//!     .env_allow(["PATH", "HOME"])
//!     .stderr(StderrMode::File("sub-agent.log".into()))
//!     .spawn()?;
//! agent.submit(Submission::new("t1", Op::user_text("list the files"))).await?;
//! while let Some(event) = agent.next_event().await {
//!     if let EventMsg::TaskComplete(done) = event.msg {
//!         println!("{:?}", done.last_agent_message);
//!         break;
//!     }
//! }
//! let status = agent.shutdown().await?;
//! println!("sub-agent {status}");
//! # Ok(()) }
//! ```
//!
//! # The server side
//!
//! [`serve`] decodes submissions from its input and hands them to the agent, and writes the
//! agent's events to its output; a bad input line becomes a `warning` event on the output and
//! serving goes on. It ends after the agent's `shutdown_complete`, or when the agent's events
//! end; when the input ends first, the agent gets `shutdown` and a bounded time to finish. All
//! output is flushed before it returns. A complete sub-agent binary:
//!
//! ```no_run
//! use async_trait::async_trait;
//! use delegate_core::{Agent, AgentError};
//! use delegate_protocol::*;
//! use tokio::sync::{mpsc, watch, Mutex};
//!
//! /// Answers every input with "echo: …".
//! struct Echo { events: mpsc::Sender<Event>, queue: Mutex<mpsc::Receiver<Event>>, status: watch::Sender<AgentStatus> }
//!
//! #[async_trait]
//! impl Agent for Echo {
//!     async fn submit(&self, s: Submission) -> Result<(), AgentError> {
//!         let msg = match s.op {
//!             Op::UserInput { items, .. } => {
//!                 let InputItem::Text { text } = &items[0] else { return Ok(()) };
//!                 EventMsg::TaskComplete(TaskCompleteEvent {
//!                     turn_id: s.id.clone(), last_agent_message: Some(format!("echo: {text}")), extra: Extra::new(),
//!                 })
//!             }
//!             Op::Shutdown => EventMsg::ShutdownComplete,
//!             _ => return Ok(()),
//!         };
//!         self.events.send(Event::new(s.id, msg)).await.map_err(|_| AgentError::closed("stopped"))
//!     }
//!     async fn next_event(&self) -> Option<Event> { self.queue.lock().await.recv().await }
//!     fn status(&self) -> watch::Receiver<AgentStatus> { self.status.subscribe() }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), delegate_transport_stdio::TransportError> {
//!     let (events, queue) = mpsc::channel(64);
//!     let agent = Echo { events, queue: Mutex::new(queue), status: watch::channel(AgentStatus::Running).0 };
//!     delegate_transport_stdio::serve_stdio(&agent).await?;
//!     Ok(())
//! }
//! ```
//!
//! [`serve_stdio`] reads stdin on a thread of its own ([`ThreadedStdin`]), not on tokio's
//! blocking pool, so a parent that keeps our stdin open cannot stop the runtime from shutting
//! down after serving ends.
//!
//! The fake agent this crate's tests use (`src/bin/delegate-fake-agent.rs`) has a `serve` mode
//! built the same way.

mod child;
mod error;
mod framing;
mod serve;

pub use child::ChildProcessAgent;
pub use child::ChildProcessAgentBuilder;
pub use child::DEFAULT_EVENT_QUEUE_CAPACITY;
pub use child::DEFAULT_KILL_WAIT;
pub use child::DEFAULT_SHUTDOWN_GRACE;
pub use child::DEFAULT_TERM_GRACE;
pub use child::EnvPolicy;
pub use child::SHUTDOWN_SUBMISSION_ID;
pub use child::ShutdownTimeouts;
pub use child::StderrMode;
pub use child::TRACEPARENT_ENV;
pub use child::TRACESTATE_ENV;
pub use error::TransportError;
pub use framing::BAD_LINE_EXCERPT_LEN;
pub use framing::BadLine;
pub use framing::DEFAULT_MAX_LINE_LEN;
pub use framing::DEFAULT_WRITE_QUEUE_CAPACITY;
pub use framing::Frame;
pub use framing::JsonLinesReader;
pub use framing::JsonLinesWriter;
pub use framing::LineProblem;
pub use framing::READ_BUFFER_LEN;
pub use framing::RETAINED_LINE_CAPACITY;
pub use framing::WRITE_CHUNK_LEN;
pub use framing::WireMessage;
pub use framing::decode_line;
pub use serve::DEFAULT_SERVE_DRAIN_TIMEOUT;
pub use serve::ServeEnd;
pub use serve::ServeOptions;
pub use serve::ThreadedStdin;
pub use serve::serve;
pub use serve::serve_stdio;
pub use serve::serve_with_options;
