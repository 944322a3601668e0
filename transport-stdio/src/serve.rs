//! The server side: any in-process [`Agent`] exposed as JSON lines on a byte stream pair,
//! normally stdin/stdout, so that a sub-agent binary is a few lines.

use std::io;
use std::io::Read;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::task::Context;
use std::task::Poll;
use std::time::Duration;

use delegate_core::Agent;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use tokio::io::AsyncRead;
use tokio::io::AsyncWrite;
use tokio::io::ReadBuf;
use tokio::sync::mpsc;
use tokio::sync::watch;

use crate::Frame;
use crate::JsonLinesReader;
use crate::JsonLinesWriter;
use crate::SHUTDOWN_SUBMISSION_ID;
use crate::TransportError;
use crate::framing::DEFAULT_MAX_LINE_LEN;

/// How long serving goes on after the input ends, waiting for the agent to finish
/// (`shutdown_complete` or the end of its events), before it stops anyway.
///
/// An in-process agent normally finishes within milliseconds. Two seconds leaves room for one
/// that has to wind work down, while a parent that vanished without a word does not keep us
/// alive for long (and a parent using [`ChildProcessAgent`] sends SIGTERM after its own grace
/// period anyway).
///
/// [`ChildProcessAgent`]: crate::ChildProcessAgent
pub const DEFAULT_SERVE_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes read from stdin at once by [`serve_stdio`]'s reader thread: a pipe's capacity.
const STDIN_CHUNK_LEN: usize = 64 * 1024;

/// Chunks of stdin that may wait for the server: a little read-ahead, bounded.
const STDIN_CHUNKS_AHEAD: usize = 4;

/// Most events forwarded per wake-up of the event loop: the burst an agent has ready
/// ([`Agent::try_next_event`]) goes out without a `next_event` call per event, and the loop
/// still checks the drain deadline between bursts. 64, like the engine's batch.
const EVENT_BURST: usize = 64;

/// Options of [`serve_with_options`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Longest submission line accepted. Default [`DEFAULT_MAX_LINE_LEN`].
    pub max_line_len: usize,
    /// How long to keep forwarding events after the input ends. Default
    /// [`DEFAULT_SERVE_DRAIN_TIMEOUT`].
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { max_line_len: DEFAULT_MAX_LINE_LEN, drain_timeout: DEFAULT_SERVE_DRAIN_TIMEOUT }
    }
}

impl ServeOptions {
    /// Set [`max_line_len`](Self::max_line_len).
    #[must_use]
    pub fn max_line_len(mut self, max_line_len: usize) -> Self {
        self.max_line_len = max_line_len;
        self
    }

    /// Set [`drain_timeout`](Self::drain_timeout).
    #[must_use]
    pub fn drain_timeout(mut self, drain_timeout: Duration) -> Self {
        self.drain_timeout = drain_timeout;
        self
    }
}

/// Why serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServeEnd {
    /// The agent said `shutdown_complete`; it was written out.
    ShutdownComplete,
    /// The agent's event stream ended.
    EventsEnded,
    /// The input ended and the agent did not finish within the drain timeout.
    DrainTimedOut,
}

/// [`serve_with_options`] with default options.
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future stops serving; events not yet written are lost.
pub async fn serve<A, R, W>(agent: &A, input: R, output: W) -> Result<ServeEnd, TransportError>
where
    A: Agent + ?Sized,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    serve_with_options(agent, input, output, ServeOptions::default()).await
}

/// Serve `agent` over stdin/stdout with default options. See [`serve_with_options`].
///
/// Stdin is read by a thread of its own rather than tokio's blocking pool, so a parent that
/// never closes our stdin cannot keep the runtime from shutting down after serving ends.
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future stops serving; events not yet written are lost.
pub async fn serve_stdio<A: Agent + ?Sized>(agent: &A) -> Result<ServeEnd, TransportError> {
    let stdin = ThreadedStdin::spawn()?;
    serve(agent, stdin, tokio::io::stdout()).await
}

/// Expose `agent` as JSON lines: submissions decoded from `input` go to
/// [`Agent::submit`]; the agent's events are written to `output` (batched, flushed when none
/// are waiting).
///
/// - A bad input line (malformed, too long, not UTF-8) becomes a `warning` event on `output`
///   naming the line, and serving goes on. A submission the agent refuses becomes an `error`
///   event carrying the submission's id.
/// - Serving ends after the agent's `shutdown_complete` is written, or when its event stream
///   ends. When the input ends first, the agent is sent `shutdown` (unless it already was) and
///   its events are still forwarded for up to the drain timeout.
/// - All output is flushed and `output` shut down before this returns.
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future stops serving; events not yet written are lost.
pub async fn serve_with_options<A, R, W>(
    agent: &A,
    input: R,
    output: W,
    options: ServeOptions,
) -> Result<ServeEnd, TransportError>
where
    A: Agent + ?Sized,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let out = JsonLinesWriter::<Event>::spawn(output);
    let mut lines =
        JsonLinesReader::<_, Submission>::with_max_line_len(input, options.max_line_len);
    let shutdown_submitted = AtomicBool::new(false);
    let (input_ended_tx, mut input_ended) = watch::channel(false);

    let forward_input = async {
        loop {
            let submission = match lines.next_frame().await {
                Ok(Some(Frame::Message(submission))) => submission,
                Ok(Some(Frame::Bad(bad))) => {
                    out.send(bad.to_warning("")).await?;
                    continue;
                }
                Ok(None) => break,
                Err(err) => {
                    let message = format!("reading submissions failed: {err}");
                    out.send(Event::new("", EventMsg::warning(message))).await?;
                    break;
                }
            };
            let is_shutdown = matches!(submission.op, Op::Shutdown);
            let id = submission.id.clone();
            match agent.submit(submission).await {
                Ok(()) => shutdown_submitted.fetch_or(is_shutdown, Ordering::Relaxed),
                Err(err) => {
                    let message = format!("submission {id:?} was not delivered: {err}");
                    out.send(Event::new(id, EventMsg::error(message))).await?;
                    false
                }
            };
        }
        // The parent will send nothing more: ask the agent to wind down.
        if !shutdown_submitted.load(Ordering::Relaxed) {
            let shutdown = Submission::new(SHUTDOWN_SUBMISSION_ID, Op::Shutdown);
            if let Err(err) = agent.submit(shutdown).await {
                let message = format!("input ended; the agent did not take shutdown: {err}");
                out.send(Event::new("", EventMsg::warning(message))).await?;
            }
        }
        input_ended_tx.send_replace(true);
        std::future::pending::<Result<ServeEnd, TransportError>>().await
    };

    let forward_events = async {
        let drain_ended = async {
            let _ = input_ended.wait_for(|ended| *ended).await;
            tokio::time::sleep(options.drain_timeout).await;
        };
        tokio::pin!(drain_ended);
        loop {
            tokio::select! {
                biased;
                event = agent.next_event() => {
                    let Some(event) = event else { return Ok(ServeEnd::EventsEnded) };
                    // Then the burst the agent already has ready, without a `next_event`
                    // future (a boxed one, for `async_trait` agents) and a pass through
                    // `select!` per event; bounded, so the drain deadline is still looked at.
                    let mut next = Some(event);
                    let mut taken = 0;
                    while let Some(event) = next.take() {
                        let last = matches!(event.msg, EventMsg::ShutdownComplete);
                        out.send(event).await?;
                        if last {
                            return Ok(ServeEnd::ShutdownComplete);
                        }
                        taken += 1;
                        if taken < EVENT_BURST {
                            next = agent.try_next_event();
                        }
                    }
                }
                () = &mut drain_ended => {
                    let message = format!(
                        "input ended and the agent did not finish within {:?}; serving stops",
                        options.drain_timeout
                    );
                    out.send(Event::new("", EventMsg::warning(message))).await?;
                    return Ok(ServeEnd::DrainTimedOut);
                }
            }
        }
    };

    let end = tokio::select! {
        end = forward_events => end,
        end = forward_input => end,
    };
    let closed = out.close().await;
    let end = end?;
    closed?;
    Ok(end)
}

/// Stdin as an `AsyncRead`, read by a std thread of its own.
///
/// tokio's `stdin()` reads on the blocking pool, and a runtime waits for its blocking reads when
/// it shuts down: a parent that keeps our stdin open would keep us from exiting. This thread is
/// never waited for; it ends with the process.
#[derive(Debug)]
pub struct ThreadedStdin {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    position: usize,
}

impl ThreadedStdin {
    /// Start the reader thread.
    pub fn spawn() -> Result<Self, TransportError> {
        let (tx, chunks) = mpsc::channel(STDIN_CHUNKS_AHEAD);
        std::thread::Builder::new()
            .name("delegate-stdin".into())
            .spawn(move || {
                let mut stdin = io::stdin().lock();
                loop {
                    let mut chunk = vec![0; STDIN_CHUNK_LEN];
                    let read = match stdin.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(read) => read,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                        Err(err) => {
                            let _ = tx.blocking_send(Err(err));
                            break;
                        }
                    };
                    chunk.truncate(read);
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        break;
                    }
                }
            })
            .map_err(TransportError::Io)?;
        Ok(Self { chunks, current: Vec::new(), position: 0 })
    }
}

impl AsyncRead for ThreadedStdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.position < this.current.len() {
                let available = &this.current[this.position..];
                let len = available.len().min(buf.remaining());
                buf.put_slice(&available[..len]);
                this.position += len;
                return Poll::Ready(Ok(()));
            }
            match this.chunks.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(err)),
                Poll::Ready(Some(Ok(chunk))) => {
                    this.current = chunk;
                    this.position = 0;
                }
            }
        }
    }
}
