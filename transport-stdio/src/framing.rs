//! JSON-lines framing: one JSON value per `\n`-terminated line, over any `AsyncRead` /
//! `AsyncWrite`.
//!
//! [`JsonLinesReader`] reads through one reused buffer and decodes a line straight out of it when
//! the line lies within one read; only a line that straddles reads is copied, into a second
//! reused buffer. A line longer than the limit is never buffered: once it passes the limit, the
//! rest of it is discarded as it streams in, and the line is reported as a [`BadLine`]. So are
//! malformed JSON and invalid UTF-8; the stream goes on after each.
//!
//! [`JsonLinesWriter`] queues messages for a writer task that encodes each batch into one reused
//! buffer, writes it, and flushes only when its queue is empty.

use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::Mutex;

use delegate_protocol::DecodeError;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Submission;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncRead;
use tokio::io::AsyncWrite;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TransportError;

/// Longest line accepted by default, in bytes, newline excluded.
///
/// 16 MiB holds any realistic event (a large patch, a long command output) with room to spare,
/// while a runaway or hostile peer cannot make a reader hold more than that per stream.
pub const DEFAULT_MAX_LINE_LEN: usize = 16 * 1024 * 1024;

/// Size of a reader's read buffer, in bytes.
///
/// 64 KiB is the default capacity of a Linux pipe, so one read can take everything a child wrote
/// while we were busy, and most lines are decoded in place without being copied.
pub const READ_BUFFER_LEN: usize = 64 * 1024;

/// Capacity a reader keeps in its buffer for lines that straddle reads, in bytes. After a longer
/// line the buffer shrinks back to this, so one 16 MiB line does not pin 16 MiB for the life of
/// the stream.
pub const RETAINED_LINE_CAPACITY: usize = 256 * 1024;

/// How many messages a [`JsonLinesWriter`]'s queue holds by default before `send` waits.
///
/// Enough to batch a burst of events into few write calls; bounded, so a peer that stops reading
/// pushes back on the sender instead of growing our memory.
pub const DEFAULT_WRITE_QUEUE_CAPACITY: usize = 256;

/// Bytes a writer encodes before it writes them out, even if more messages are queued.
///
/// 64 KiB fills a Linux pipe in one write call.
pub const WRITE_CHUNK_LEN: usize = 64 * 1024;

/// How many bytes of a bad line a [`BadLine`] quotes, so a warning shows what was sent without
/// repeating a huge line.
pub const BAD_LINE_EXCERPT_LEN: usize = 80;

/// A message that travels as one JSON line: [`Event`] (sub-agent → parent) or [`Submission`]
/// (parent → sub-agent).
pub trait WireMessage: Serialize + DeserializeOwned + Send + 'static {
    /// What a stream of these is called in warnings: `event` or `submission`.
    const STREAM: &'static str;

    /// Decode one line, without its newline, with an error that names the field, line and
    /// column.
    ///
    /// Readers decode a line with `serde_json::from_str` first (the line's UTF-8 is already
    /// checked by then) and call this only to explain a line that failed, so it must agree with
    /// the type's `Deserialize`.
    fn decode(line: &[u8]) -> Result<Self, DecodeError>;
}

impl WireMessage for Event {
    const STREAM: &'static str = "event";

    fn decode(line: &[u8]) -> Result<Self, DecodeError> {
        Event::from_json_slice(line)
    }
}

impl WireMessage for Submission {
    const STREAM: &'static str = "submission";

    fn decode(line: &[u8]) -> Result<Self, DecodeError> {
        Submission::from_json_slice(line)
    }
}

/// One line of a stream that could not be used. The stream goes on after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the {stream} stream was skipped: {problem}{}", excerpt_suffix(.excerpt))]
#[non_exhaustive]
pub struct BadLine {
    /// `event` or `submission`.
    pub stream: &'static str,
    /// 1-based number of the line in the stream (blank and bad lines count).
    pub line: u64,
    /// What is wrong with it.
    pub problem: LineProblem,
    /// The start of the line (at most [`BAD_LINE_EXCERPT_LEN`] bytes, invalid UTF-8 replaced).
    pub excerpt: String,
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() { String::new() } else { format!(" (it began {excerpt:?})") }
}

impl BadLine {
    /// A `warning` event with this description, carrying `id` (a turn id, or empty).
    pub fn to_warning(&self, id: impl Into<String>) -> Event {
        Event::new(id, EventMsg::warning(self.to_string()))
    }
}

/// What is wrong with a [`BadLine`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    /// The line is JSON that does not decode, or not JSON at all.
    #[error("{0}")]
    Malformed(Box<DecodeError>),
    /// The line is longer than the limit; it was discarded as it arrived.
    #[error("it is {len} bytes long, more than the limit of {max} bytes")]
    TooLong {
        /// Its length, newline excluded.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The line is not UTF-8.
    #[error("it is not valid UTF-8 (the first bad byte is at offset {valid_up_to})")]
    InvalidUtf8 {
        /// How many bytes of it are valid.
        valid_up_to: usize,
    },
}

/// What a [`JsonLinesReader`] read: a message, or a line it had to skip.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<T> {
    /// A line that decoded.
    Message(T),
    /// A line that did not; the stream goes on.
    Bad(BadLine),
}

/// Decode one line (without its newline) as a `T`.
///
/// `Ok(None)` for a blank line (only whitespace), which JSON-lines streams may contain. A `\r`
/// before the newline is whitespace to JSON, so CRLF streams decode too. `line_no` is used in the
/// [`BadLine`] only. This is the whole of the per-line logic of [`JsonLinesReader`], usable
/// without I/O (e.g. by a fuzz target).
pub fn decode_line<T: WireMessage>(line: &[u8], line_no: u64) -> Result<Option<T>, BadLine> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let bad =
        |problem| BadLine { stream: T::STREAM, line: line_no, problem, excerpt: excerpt(line) };
    // serde_json checks UTF-8 only inside strings it keeps; check the whole line so that bytes in
    // an ignored value are reported too. Decoding from the checked `str` then skips serde_json's
    // own per-string check, so the whole-line check costs (almost) nothing.
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(err) => return Err(bad(LineProblem::InvalidUtf8 { valid_up_to: err.valid_up_to() })),
    };
    match serde_json::from_str::<T>(text) {
        Ok(message) => Ok(Some(message)),
        // Decode again, slowly, to learn which field is wrong.
        Err(_) => match T::decode(line) {
            Ok(message) => Ok(Some(message)),
            Err(err) => Err(bad(LineProblem::Malformed(Box::new(err)))),
        },
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let end = bytes.len().min(BAD_LINE_EXCERPT_LEN);
    let mut text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    if end < bytes.len() {
        text.push('…');
    }
    text
}

/// The index of the first `\n` in `bytes`, looking at eight bytes at a time.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // A byte of `word` is zero exactly where `chunk` has a newline.
        let word = u64::from_le_bytes(word) ^ NEWLINES;
        if word.wrapping_sub(ONES) & !word & HIGHS != 0 {
            return chunk.iter().position(|&b| b == b'\n').map(|i| offset + i);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'\n').map(|i| offset + i)
}

/// The excerpt of a line too long to keep: its first bytes, from `head` then `rest`.
fn long_line_excerpt(head: &[u8], rest: &[u8]) -> String {
    let mut start = head[..head.len().min(BAD_LINE_EXCERPT_LEN)].to_vec();
    let more = BAD_LINE_EXCERPT_LEN - start.len();
    start.extend_from_slice(&rest[..rest.len().min(more)]);
    let mut text = String::from_utf8_lossy(&start).into_owned();
    text.push('…');
    text
}

/// The state of the line being read, kept outside the reader's future so reads are cancel-safe.
#[derive(Debug)]
struct LineAssembler {
    /// The start of a line that straddles reads.
    spill: Vec<u8>,
    /// Set while discarding a line that passed the limit: its length so far and its start.
    discarding: Option<(u64, String)>,
    /// Lines completed so far.
    line_no: u64,
    max_line_len: usize,
}

impl LineAssembler {
    /// Take bytes of a line whose end has not arrived yet.
    fn push_partial(&mut self, bytes: &[u8]) {
        if let Some((len, _)) = &mut self.discarding {
            *len += bytes.len() as u64;
        } else if self.spill.len() + bytes.len() > self.max_line_len {
            let len = (self.spill.len() + bytes.len()) as u64;
            let start = long_line_excerpt(&self.spill, bytes);
            self.spill = Vec::new();
            self.discarding = Some((len, start));
        } else {
            self.spill.extend_from_slice(bytes);
        }
    }

    /// The line ends with `tail` (the bytes before its newline). `None` for a blank line.
    fn finish<T: WireMessage>(&mut self, tail: &[u8]) -> Option<Frame<T>> {
        self.line_no += 1;
        let too_long = |len: u64, excerpt: String, line_no, max| {
            Some(Frame::Bad(BadLine {
                stream: T::STREAM,
                line: line_no,
                problem: LineProblem::TooLong { len, max },
                excerpt,
            }))
        };
        if let Some((len, start)) = self.discarding.take() {
            return too_long(len + tail.len() as u64, start, self.line_no, self.max_line_len);
        }
        let len = self.spill.len() + tail.len();
        if len > self.max_line_len {
            let start = long_line_excerpt(&self.spill, tail);
            self.spill = Vec::new();
            return too_long(len as u64, start, self.line_no, self.max_line_len);
        }
        let decoded = if self.spill.is_empty() {
            decode_line::<T>(tail, self.line_no)
        } else {
            self.spill.extend_from_slice(tail);
            let decoded = decode_line::<T>(&self.spill, self.line_no);
            self.spill.clear();
            self.spill.shrink_to(RETAINED_LINE_CAPACITY);
            decoded
        };
        match decoded {
            Ok(Some(message)) => Some(Frame::Message(message)),
            Ok(None) => None,
            Err(bad) => Some(Frame::Bad(bad)),
        }
    }

    /// Whether a line has started and not ended.
    fn in_line(&self) -> bool {
        !self.spill.is_empty() || self.discarding.is_some()
    }
}

/// Reads JSON lines of `T` from an `AsyncRead`.
///
/// ```
/// use delegate_protocol::{Event, EventMsg};
/// use delegate_transport_stdio::{Frame, JsonLinesReader};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let input = &b"{\"id\":\"t\",\"msg\":{\"type\":\"agent_message\",\"message\":\"hi\"}}\nnot json\n"[..];
/// let mut reader = JsonLinesReader::<_, Event>::new(input);
/// let Some(Frame::Message(event)) = reader.next_frame().await.unwrap() else { panic!() };
/// assert!(matches!(event.msg, EventMsg::AgentMessage(_)));
/// let Some(Frame::Bad(bad)) = reader.next_frame().await.unwrap() else { panic!() };
/// assert_eq!(bad.line, 2);
/// assert!(reader.next_frame().await.unwrap().is_none());
/// # });
/// ```
#[derive(Debug)]
pub struct JsonLinesReader<R, T> {
    input: BufReader<R>,
    assembler: LineAssembler,
    eof: bool,
    _message: PhantomData<fn() -> T>,
}

impl<R: AsyncRead + Unpin, T: WireMessage> JsonLinesReader<R, T> {
    /// A reader with the default limit, [`DEFAULT_MAX_LINE_LEN`].
    pub fn new(input: R) -> Self {
        Self::with_max_line_len(input, DEFAULT_MAX_LINE_LEN)
    }

    /// A reader that skips lines longer than `max_line_len` bytes (newline excluded).
    pub fn with_max_line_len(input: R, max_line_len: usize) -> Self {
        Self {
            input: BufReader::with_capacity(READ_BUFFER_LEN, input),
            assembler: LineAssembler {
                spill: Vec::new(),
                discarding: None,
                line_no: 0,
                max_line_len,
            },
            eof: false,
            _message: PhantomData,
        }
    }

    /// How many lines have been read so far (blank and bad lines count).
    pub fn lines_read(&self) -> u64 {
        self.assembler.line_no
    }

    /// The next message or bad line; `Ok(None)` at the end of the stream. Blank lines are
    /// skipped. A last line without a newline is read as a line.
    ///
    /// An `Err` is an I/O error of the underlying reader; the stream should be considered over.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the part of a line read so far is kept in the reader, so if the future is
    /// dropped, the next call goes on where this one stopped and no line is lost.
    pub async fn next_frame(&mut self) -> io::Result<Option<Frame<T>>> {
        loop {
            if self.eof {
                return Ok(None);
            }
            let available = match self.input.fill_buf().await {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                self.eof = true;
                if self.assembler.in_line()
                    && let Some(frame) = self.assembler.finish(&[])
                {
                    return Ok(Some(frame));
                }
                return Ok(None);
            }
            match find_newline(available) {
                Some(end) => {
                    let frame = self.assembler.finish(&available[..end]);
                    self.input.consume(end + 1);
                    if let Some(frame) = frame {
                        return Ok(Some(frame));
                    }
                }
                None => {
                    let len = available.len();
                    self.assembler.push_partial(available);
                    self.input.consume(len);
                }
            }
        }
    }
}

impl<R: AsyncRead + Unpin, T: WireMessage> JsonLinesReader<R, T> {
    /// The next message or bad line if it is already complete in the read buffer, without
    /// reading; `None` otherwise (which says nothing about the end of the stream). Lets a
    /// consumer take a burst of lines in one go after [`next_frame`](Self::next_frame).
    pub fn try_next_frame(&mut self) -> Option<Frame<T>> {
        loop {
            let available = self.input.buffer();
            let end = find_newline(available)?;
            let frame = self.assembler.finish(&available[..end]);
            self.input.consume(end + 1);
            if frame.is_some() {
                return frame;
            }
        }
    }
}

impl<R: AsyncRead + Unpin> JsonLinesReader<R, Event> {
    /// The next event, with a bad line turned into a `warning` event (empty id) that says what
    /// was wrong and on which line. `Ok(None)` at the end of the stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`next_frame`](Self::next_frame).
    pub async fn next_event(&mut self) -> io::Result<Option<Event>> {
        Ok(self.next_frame().await?.map(|frame| match frame {
            Frame::Message(event) => event,
            Frame::Bad(bad) => bad.to_warning(""),
        }))
    }
}

/// What a writer task and its handles share.
#[derive(Debug)]
struct WriterShared {
    /// Cancelled to make the task write what is queued, flush, shut down and end.
    closing: CancellationToken,
    /// How the task ended: `None` while it runs; the sender lives in the task, so if the task is
    /// aborted or dropped the receiver sees the channel close.
    done: watch::Receiver<Option<Result<(), String>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Writes messages as JSON lines to an `AsyncWrite`, from a task of its own.
///
/// `send` queues; the task takes everything queued, encodes it into one reused buffer, writes
/// it, and flushes only when the queue is empty — so a burst costs few writes and one flush.
/// Clones share the queue and the task. Must be created inside a tokio runtime.
#[derive(Debug)]
pub struct JsonLinesWriter<T> {
    queue: mpsc::Sender<T>,
    shared: Arc<WriterShared>,
}

impl<T> Clone for JsonLinesWriter<T> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<T: WireMessage> JsonLinesWriter<T> {
    /// Start a writer task over `output` with a queue of [`DEFAULT_WRITE_QUEUE_CAPACITY`].
    ///
    /// Panics outside a tokio runtime, as `tokio::spawn` does.
    pub fn spawn<W: AsyncWrite + Unpin + Send + 'static>(output: W) -> Self {
        Self::spawn_with_capacity(output, DEFAULT_WRITE_QUEUE_CAPACITY)
    }

    /// Start a writer task over `output` with a queue of `capacity` messages (at least 1).
    ///
    /// Panics outside a tokio runtime, as `tokio::spawn` does.
    pub fn spawn_with_capacity<W: AsyncWrite + Unpin + Send + 'static>(
        output: W,
        capacity: usize,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let (done_tx, done) = watch::channel(None);
        let closing = CancellationToken::new();
        let task = tokio::spawn(write_lines(output, receiver, closing.clone(), done_tx));
        let shared = Arc::new(WriterShared { closing, done, task: Mutex::new(Some(task)) });
        Self { queue, shared }
    }

    /// Queue `message`; waits while the queue is full.
    ///
    /// Fails with [`TransportError::Closed`] (saying why, e.g. the write error) once the writer
    /// has stopped. A queued message is written unless writing fails or the writer is aborted.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, the message was not queued.
    pub async fn send(&self, message: T) -> Result<(), TransportError> {
        // Fast path: with room in the queue (the common case: the writer keeps up), queue
        // without building and polling a semaphore-acquire future. Callgrind on a `serve`d
        // event flood: ~190 instructions per event less.
        let message = match self.queue.try_send(message) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(message)) => message,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(TransportError::closed(self.stop_reason()));
            }
        };
        self.queue.send(message).await.map_err(|_| TransportError::closed(self.stop_reason()))
    }

    /// Stop taking messages, write and flush everything queued, shut the output down (which
    /// closes a pipe), and wait for that to finish. Returns the write error, if writing failed.
    ///
    /// Waits as long as the output takes; bound it with a timeout and call
    /// [`abort`](Self::abort) if the peer may have stopped reading.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future leaves the close under way; calling `close` again waits
    /// for the same outcome.
    pub async fn close(&self) -> Result<(), TransportError> {
        self.shared.closing.cancel();
        let mut done = self.shared.done.clone();
        let outcome = match done.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(reason)) => Err(TransportError::closed(reason)),
            None => Err(TransportError::closed("the writer was aborted")),
        }
    }

    /// Stop at once: drop whatever is queued and the output itself (closing a pipe). Works
    /// without a running runtime.
    pub fn abort(&self) {
        if let Ok(mut slot) = self.shared.task.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }

    /// Why writing stopped, or `None` while the writer runs.
    pub fn stopped(&self) -> Option<String> {
        if self.queue.is_closed() || self.shared.done.has_changed().is_err() {
            Some(self.stop_reason())
        } else {
            None
        }
    }

    fn stop_reason(&self) -> String {
        match &*self.shared.done.borrow() {
            Some(Ok(())) => "the writer was closed".to_string(),
            Some(Err(reason)) => reason.clone(),
            None if self.shared.closing.is_cancelled() => "the writer is closing".to_string(),
            None => "the writer was aborted".to_string(),
        }
    }
}

/// Most messages a writer takes from its queue at once: enough to turn a burst into one write,
/// few enough that a slow write does not hold many messages out of the queue's accounting.
const WRITE_BATCH: usize = 64;

async fn write_lines<T: WireMessage, W: AsyncWrite + Unpin>(
    mut output: W,
    mut queue: mpsc::Receiver<T>,
    closing: CancellationToken,
    done: watch::Sender<Option<Result<(), String>>>,
) {
    let result = match write_until_closed(&mut output, &mut queue, &closing).await {
        Ok(()) => output.shutdown().await,
        Err(err) => Err(err),
    };
    // Refuse further sends before reporting, so nobody queues into a dead writer.
    queue.close();
    done.send_replace(Some(result.map_err(|err| format!("writing failed: {err}"))));
}

async fn write_until_closed<T: WireMessage, W: AsyncWrite + Unpin>(
    output: &mut W,
    queue: &mut mpsc::Receiver<T>,
    closing: &CancellationToken,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut buf = Vec::with_capacity(WRITE_CHUNK_LEN);
    let mut closed = false;
    loop {
        let taken = if closed {
            queue.recv_many(&mut batch, WRITE_BATCH).await
        } else {
            tokio::select! {
                biased;
                taken = queue.recv_many(&mut batch, WRITE_BATCH) => taken,
                () = closing.cancelled() => {
                    // Take no more, but write what is queued: recv_many drains, then returns 0.
                    queue.close();
                    closed = true;
                    continue;
                }
            }
        };
        if taken == 0 {
            return output.flush().await;
        }
        for message in batch.drain(..) {
            let start = buf.len();
            if let Err(err) = serde_json::to_writer(&mut buf, &message) {
                // Cannot happen for the protocol's types (all map keys are strings); never write
                // half a line if it does.
                buf.truncate(start);
                tracing::error!(stream = T::STREAM, %err, "could not encode a message; skipped");
                continue;
            }
            buf.push(b'\n');
            if buf.len() >= WRITE_CHUNK_LEN {
                output.write_all(&buf).await?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            output.write_all(&buf).await?;
            buf.clear();
        }
        buf.shrink_to(WRITE_CHUNK_LEN);
        if queue.is_empty() {
            output.flush().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assembler(max_line_len: usize) -> LineAssembler {
        LineAssembler { spill: Vec::new(), discarding: None, line_no: 0, max_line_len }
    }

    #[test]
    fn an_oversized_line_never_holds_more_than_the_limit() {
        let max = 1024;
        let mut lines = assembler(max);
        let chunk = [b'x'; 1000];
        for _ in 0..10_000 {
            lines.push_partial(&chunk);
            assert!(lines.spill.capacity() <= 2 * max, "{}", lines.spill.capacity());
        }
        let Some(Frame::Bad(bad)) = lines.finish::<Event>(b"tail") else { panic!() };
        assert_eq!(bad.problem, LineProblem::TooLong { len: 10_000_004, max });
        assert!(bad.excerpt.ends_with('…') && bad.excerpt.starts_with("xxxx"), "{bad}");
        assert!(!lines.in_line());
    }

    #[test]
    fn the_spill_buffer_shrinks_back_after_a_long_line() {
        let mut lines = assembler(DEFAULT_MAX_LINE_LEN);
        let message = format!(
            r#"{{"id":"t","msg":{{"type":"agent_message","message":"{}"}}}}"#,
            "y".repeat(4 << 20)
        );
        let (head, tail) = message.as_bytes().split_at(100);
        lines.push_partial(head);
        lines.push_partial(&tail[..tail.len() - 10]);
        let Some(Frame::Message(_)) = lines.finish::<Event>(&tail[tail.len() - 10..]) else {
            panic!()
        };
        assert!(lines.spill.capacity() <= RETAINED_LINE_CAPACITY, "{}", lines.spill.capacity());
    }

    #[test]
    fn find_newline_agrees_with_a_byte_by_byte_search() {
        let mut bytes = vec![b'a'; 100];
        assert_eq!(find_newline(&bytes), None);
        for at in [0, 1, 7, 8, 9, 63, 64, 95, 99] {
            bytes[at] = b'\n';
            assert_eq!(find_newline(&bytes), Some(at), "newline at {at}");
            assert_eq!(find_newline(&bytes[..at]), None);
            bytes[at] = 0x8a; // a byte that differs from `\n` only in its high bit
        }
        assert_eq!(find_newline(b"\x0b\x09\n"), Some(2));
    }

    #[test]
    fn blank_lines_are_counted_but_yield_nothing() {
        let mut lines = assembler(100);
        assert!(lines.finish::<Event>(b"").is_none());
        assert!(lines.finish::<Event>(b" \r").is_none());
        let Some(Frame::Bad(bad)) = lines.finish::<Event>(b"x") else { panic!() };
        assert_eq!(bad.line, 3);
    }
}
