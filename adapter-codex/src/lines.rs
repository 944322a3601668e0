//! Reading newline-delimited frames with a length limit, cancel-safely.

use tokio::io::AsyncBufRead;
use tokio::io::AsyncBufReadExt;

/// One read from a [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete line, without its `\n` (a trailing `\r` is kept; JSON ignores it).
    Line(Vec<u8>),
    /// A line longer than the limit was skipped; this is how long it was.
    Oversized(usize),
    /// The stream ended. Bytes after the last newline, if any, came as a final `Line` before.
    Eof,
}

/// Splits a byte stream into lines of at most `max` bytes, never buffering past the limit.
///
/// State lives in the reader, so dropping a `next` future loses nothing.
pub(crate) struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
    /// Bytes of the current line seen so far while skipping an oversized one.
    skipping: Option<usize>,
    done: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Self { inner, max, buf: Vec::new(), skipping: None, done: false }
    }

    /// The next frame.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: partial lines stay in the reader.
    pub(crate) async fn next(&mut self) -> std::io::Result<Frame> {
        if self.done {
            return Ok(Frame::Eof);
        }
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                self.done = true;
                if let Some(len) = self.skipping.take() {
                    return Ok(Frame::Oversized(len));
                }
                if self.buf.is_empty() {
                    return Ok(Frame::Eof);
                }
                return Ok(Frame::Line(std::mem::take(&mut self.buf)));
            }
            let newline = memchr(available);
            let take = newline.map_or(available.len(), |i| i + 1);
            let content = newline.unwrap_or(available.len());
            if let Some(seen) = self.skipping.as_mut() {
                *seen += content;
            } else if self.buf.len() + content > self.max {
                self.skipping = Some(self.buf.len() + content);
                self.buf.clear();
                self.buf.shrink_to(self.max.min(64 * 1024));
            } else {
                self.buf.extend_from_slice(&available[..content]);
            }
            self.inner.consume(take);
            if newline.is_some() {
                if let Some(len) = self.skipping.take() {
                    return Ok(Frame::Oversized(len));
                }
                return Ok(Frame::Line(std::mem::take(&mut self.buf)));
            }
        }
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use tokio::io::BufReader;

    async fn frames(input: &'static [u8], max: usize, chunk: usize) -> Vec<Frame> {
        let reader = BufReader::with_capacity(chunk, input);
        let mut lines = LineReader::new(reader, max);
        let mut out = Vec::new();
        loop {
            let frame = lines.next().await.unwrap();
            let end = frame == Frame::Eof;
            out.push(frame);
            if end {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn lines_split_on_newlines_across_small_reads() {
        for chunk in [1, 2, 3, 64] {
            assert_eq!(
                frames(b"ab\n\ncde\nf", 10, chunk).await,
                vec![
                    Frame::Line(b"ab".to_vec()),
                    Frame::Line(Vec::new()),
                    Frame::Line(b"cde".to_vec()),
                    Frame::Line(b"f".to_vec()),
                    Frame::Eof
                ],
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn an_oversized_line_is_skipped_and_reading_goes_on() {
        for chunk in [1, 4, 64] {
            assert_eq!(
                frames(b"12345678\nok\n123456", 4, chunk).await,
                vec![
                    Frame::Oversized(8),
                    Frame::Line(b"ok".to_vec()),
                    Frame::Oversized(6),
                    Frame::Eof
                ],
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_passes() {
        assert_eq!(frames(b"1234\n", 4, 2).await, vec![Frame::Line(b"1234".to_vec()), Frame::Eof]);
    }
}
