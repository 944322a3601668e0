//! Tier 1: framing against scripted I/O — reads that split lines at awkward places, oversized
//! lines streaming in, bad bytes, read and write errors, and a writer that counts its calls.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::task::Context;
use std::task::Poll;
use std::time::Duration;

use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_transport_stdio::BadLine;
use delegate_transport_stdio::Frame;
use delegate_transport_stdio::JsonLinesReader;
use delegate_transport_stdio::JsonLinesWriter;
use delegate_transport_stdio::LineProblem;
use delegate_transport_stdio::TransportError;
use delegate_transport_stdio::decode_line;
use pretty_assertions::assert_eq;
use tokio::io::AsyncWrite;
use tokio_test::io::Builder;

use super::support::within;

fn message_line(text: &str) -> Vec<u8> {
    let event = Event::new(
        "t1",
        EventMsg::AgentMessage(delegate_protocol::AgentMessageEvent { message: text.into() }),
    );
    let mut line = serde_json::to_vec(&event).unwrap();
    line.push(b'\n');
    line
}

fn message_of(frame: Option<Frame<Event>>) -> String {
    match frame {
        Some(Frame::Message(Event { msg: EventMsg::AgentMessage(m), .. })) => m.message,
        other => panic!("expected an agent_message, got {other:?}"),
    }
}

fn bad_of(frame: Option<Frame<Event>>) -> BadLine {
    match frame {
        Some(Frame::Bad(bad)) => bad,
        other => panic!("expected a bad line, got {other:?}"),
    }
}

/// A reader over `chunks`, each returned by one read.
fn scripted<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> tokio_test::io::Mock {
    let mut builder = Builder::new();
    for chunk in chunks {
        builder.read(chunk);
    }
    builder.build()
}

#[tokio::test]
async fn a_line_split_inside_a_utf8_character_and_between_cr_and_lf_decodes() {
    let mut line = message_line("héllo ✓");
    line.pop();
    line.extend_from_slice(b"\r\n");
    let e_acute = line.iter().position(|&b| b == 0xc3).unwrap();
    let check = line.iter().position(|&b| b == 0xe2).unwrap();
    let cr = line.len() - 2;
    let chunks = [
        &line[..e_acute + 1],
        &line[e_acute + 1..check + 2],
        &line[check + 2..cr + 1],
        &line[cr + 1..],
    ];
    let mut reader = JsonLinesReader::<_, Event>::new(scripted(chunks));
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "héllo ✓");
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn lines_arriving_one_byte_per_read_decode_in_order() {
    let input = [message_line("one"), message_line("two"), message_line("three")].concat();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted(input.chunks(1)));
    for expected in ["one", "two", "three"] {
        assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), expected);
    }
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
    assert_eq!(reader.lines_read(), 3);
}

#[tokio::test]
async fn many_lines_in_one_read_are_all_returned() {
    let input: Vec<u8> = (0..500).flat_map(|i| message_line(&format!("m{i}"))).collect();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted([&input[..]]));
    for i in 0..500 {
        assert_eq!(
            message_of(within("a frame", reader.next_frame()).await.unwrap()),
            format!("m{i}")
        );
    }
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn try_next_frame_takes_only_lines_already_read() {
    let first = [message_line("a"), message_line("b"), message_line("c")[..10].to_vec()].concat();
    let rest = message_line("c")[10..].to_vec();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted([&first[..], &rest[..]]));
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "a");
    assert_eq!(message_of(reader.try_next_frame()), "b");
    // The start of "c" is buffered, but not its end: nothing without a read.
    assert!(reader.try_next_frame().is_none());
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "c");
    assert!(reader.try_next_frame().is_none());
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn an_oversized_line_is_discarded_as_it_streams_in_and_the_stream_goes_on() {
    let huge = message_line(&"x".repeat(100_000));
    let after = message_line("after");
    let mut chunks: Vec<&[u8]> = huge.chunks(1000).collect();
    chunks.push(&after);
    let mut reader = JsonLinesReader::<_, Event>::with_max_line_len(scripted(chunks), 1024);
    let bad = bad_of(within("a frame", reader.next_frame()).await.unwrap());
    assert_eq!(bad.line, 1);
    assert_eq!(bad.problem, LineProblem::TooLong { len: huge.len() as u64 - 1, max: 1024 });
    assert!(bad.excerpt.starts_with(r#"{"id":"t1","msg":{"type":"agent_message""#), "{bad}");
    let text = bad.to_string();
    assert!(text.contains("line 1 of the event stream was skipped"), "{text}");
    assert!(text.contains("more than the limit of 1024 bytes"), "{text}");
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "after");
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn an_oversized_line_with_its_newline_in_the_same_read_is_reported() {
    let input = [message_line(&"y".repeat(5000)), message_line("after")].concat();
    let mut reader = JsonLinesReader::<_, Event>::with_max_line_len(scripted([&input[..]]), 1000);
    let bad = bad_of(within("a frame", reader.next_frame()).await.unwrap());
    assert!(matches!(bad.problem, LineProblem::TooLong { max: 1000, .. }), "{bad}");
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "after");
}

#[tokio::test]
async fn a_line_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() {
    let exact = message_line("abc");
    let limit = exact.len() - 1;
    let over = message_line("abcd");
    let input = [exact.clone(), over].concat();
    let mut reader =
        JsonLinesReader::<_, Event>::with_max_line_len(scripted(input.chunks(7)), limit);
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "abc");
    let bad = bad_of(within("a frame", reader.next_frame()).await.unwrap());
    assert_eq!(bad.problem, LineProblem::TooLong { len: limit as u64 + 1, max: limit });
}

#[tokio::test]
async fn invalid_utf8_becomes_a_warning_naming_the_line_and_offset() {
    let input = [
        message_line("before"),
        b"{\"id\":\"t\",\"msg\":{\"type\":\"agent_message\",\"message\":\"\xff\"}}\n".to_vec(),
        message_line("after"),
    ]
    .concat();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted([&input[..]]));
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "before");
    let bad = bad_of(within("a frame", reader.next_frame()).await.unwrap());
    assert_eq!(bad.line, 2);
    assert_eq!(bad.problem, LineProblem::InvalidUtf8 { valid_up_to: 51 });
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "after");
}

#[tokio::test]
async fn invalid_utf8_in_a_value_serde_would_ignore_is_still_reported() {
    // `shutdown_complete` ignores its fields, so serde alone would accept these bytes.
    let input = b"{\"id\":\"s\",\"msg\":{\"type\":\"shutdown_complete\",\"x\":\"\xc3\x28\"}}\n";
    let mut reader = JsonLinesReader::<_, Event>::new(scripted([&input[..]]));
    let bad = bad_of(within("a frame", reader.next_frame()).await.unwrap());
    assert!(matches!(bad.problem, LineProblem::InvalidUtf8 { .. }), "{bad}");
}

#[tokio::test]
async fn malformed_lines_become_warning_events_naming_line_field_and_column() {
    let input = [
        message_line("first"),
        br#"{"id":"1","msg":{"type":"agent_message"}}"#.to_vec(),
        b"\n".to_vec(),
        b"not json at all\n".to_vec(),
        message_line("last"),
    ]
    .concat();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted([&input[..]]));
    let events: Vec<Event> = {
        let mut events = Vec::new();
        while let Some(event) = within("an event", reader.next_event()).await.unwrap() {
            events.push(event);
        }
        events
    };
    assert_eq!(events.len(), 4);
    let EventMsg::Warning(missing) = &events[1].msg else { panic!("{:?}", events[1]) };
    assert!(missing.message.starts_with("line 2 of the event stream was skipped"), "{missing:?}");
    assert!(missing.message.contains("missing field `message`"), "{missing:?}");
    assert!(missing.message.contains("field `msg`"), "{missing:?}");
    assert!(missing.message.contains("column"), "{missing:?}");
    let EventMsg::Warning(garbage) = &events[2].msg else { panic!("{:?}", events[2]) };
    assert!(garbage.message.starts_with("line 3 of the event stream"), "{garbage:?}");
    assert!(garbage.message.contains("\"not json at all\""), "{garbage:?}");
    assert!(matches!(&events[3].msg, EventMsg::AgentMessage(m) if m.message == "last"));
}

#[tokio::test]
async fn blank_lines_and_crlf_are_skipped_but_counted() {
    let input =
        [b"\n\r\n   \n".to_vec(), message_line("x"), b"\r\n".to_vec(), b"oops\r\n".to_vec()]
            .concat();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted(input.chunks(5)));
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "x");
    assert_eq!(bad_of(within("a frame", reader.next_frame()).await.unwrap()).line, 6);
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_last_line_without_a_newline_is_read() {
    let mut line = message_line("no newline");
    line.pop();
    let mut reader = JsonLinesReader::<_, Event>::new(scripted(line.chunks(10)));
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "no newline");
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_stream_cut_mid_line_reports_the_truncated_line() {
    let line = message_line("cut short");
    let mut reader = JsonLinesReader::<_, Event>::new(scripted([&line[..20]]));
    let bad = bad_of(within("a frame", reader.next_frame()).await.unwrap());
    assert!(matches!(bad.problem, LineProblem::Malformed(_)), "{bad}");
    assert!(bad.to_string().contains("EOF"), "{bad}");
    assert!(within("a frame", reader.next_frame()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_read_error_is_returned_after_the_lines_before_it() {
    let line = message_line("fine");
    let mock = Builder::new()
        .read(&line)
        .read_error(io::Error::new(io::ErrorKind::ConnectionReset, "peer vanished"))
        .build();
    let mut reader = JsonLinesReader::<_, Event>::new(mock);
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "fine");
    let err = within("a frame", reader.next_frame()).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[tokio::test(start_paused = true)]
async fn next_frame_is_cancel_safe_mid_line() {
    let line = message_line("patience");
    let (first, second) = line.split_at(15);
    let mock = Builder::new().read(first).wait(Duration::from_millis(100)).read(second).build();
    let mut reader = JsonLinesReader::<_, Event>::new(mock);
    // The first call reads half the line, then is dropped while waiting for the rest.
    let early = tokio::time::timeout(Duration::from_millis(10), reader.next_frame()).await;
    assert!(early.is_err(), "the line cannot be complete yet");
    assert_eq!(message_of(within("a frame", reader.next_frame()).await.unwrap()), "patience");
}

#[tokio::test]
async fn submissions_decode_with_the_same_framing() {
    let input = b"{\"id\":\"s1\",\"op\":{\"type\":\"interrupt\"}}\n{\"op\":{}}\n";
    let mut reader = JsonLinesReader::<_, Submission>::new(scripted([&input[..]]));
    let Some(Frame::Message(submission)) = within("a frame", reader.next_frame()).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(submission, Submission::new("s1", Op::Interrupt));
    let Some(Frame::Bad(bad)) = within("a frame", reader.next_frame()).await.unwrap() else {
        panic!()
    };
    assert!(bad.to_string().starts_with("line 2 of the submission stream"), "{bad}");
}

#[test]
fn decode_line_skips_blank_lines_and_names_problems() {
    assert_eq!(decode_line::<Event>(b"  \r", 1), Ok(None));
    let err = decode_line::<Event>(b"{", 9).unwrap_err();
    assert_eq!(err.line, 9);
    assert_eq!(err.stream, "event");
}

// ---- the writer ----

/// Records every write and flush.
#[derive(Clone, Default)]
struct RecordingWriter {
    log: Arc<Mutex<WriteLog>>,
}

#[derive(Default)]
struct WriteLog {
    bytes: Vec<u8>,
    writes: usize,
    flushes: usize,
    shutdowns: usize,
}

impl AsyncWrite for RecordingWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut log = self.log.lock().unwrap();
        log.bytes.extend_from_slice(buf);
        log.writes += 1;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.log.lock().unwrap().flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.log.lock().unwrap().shutdowns += 1;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_burst_is_written_in_few_writes_and_flushed_once_the_queue_drains() {
    let output = RecordingWriter::default();
    let writer = JsonLinesWriter::<Submission>::spawn(output.clone());
    // On this single-threaded runtime the writer task does not run until we yield, so all 100
    // messages are queued before it wakes: a burst.
    for i in 0..100 {
        within("a send", writer.send(Submission::new(format!("s{i}"), Op::Interrupt)))
            .await
            .unwrap();
    }
    within("the writer to close", writer.close()).await.unwrap();
    let log = output.log.lock().unwrap();
    assert!(log.writes <= 2, "100 queued messages took {} writes", log.writes);
    assert!(log.flushes <= 2, "100 queued messages took {} flushes", log.flushes);
    assert_eq!(log.shutdowns, 1);
    let lines: Vec<Submission> = log
        .bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| Submission::from_json_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 100);
    assert!(lines.iter().enumerate().all(|(i, s)| s.id == format!("s{i}")));
}

#[tokio::test]
async fn each_message_is_one_json_line() {
    let expected = b"{\"id\":\"s1\",\"op\":{\"type\":\"shutdown\"}}\n";
    let mock = Builder::new().write(expected).build();
    let writer = JsonLinesWriter::<Submission>::spawn(mock);
    within("a send", writer.send(Submission::new("s1", Op::Shutdown))).await.unwrap();
    within("the writer to close", writer.close()).await.unwrap();
}

#[tokio::test]
async fn a_write_error_stops_the_writer_and_later_sends_say_why() {
    let mock = Builder::new()
        .write_error(io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"))
        .build();
    let writer = JsonLinesWriter::<Submission>::spawn(mock);
    within("a send", writer.send(Submission::new("s1", Op::Interrupt))).await.unwrap();
    let closed = within("the writer to close", writer.close()).await.unwrap_err();
    assert!(closed.to_string().contains("reader gone"), "{closed}");
    let TransportError::Closed { reason } =
        within("a send", writer.send(Submission::new("s2", Op::Interrupt))).await.unwrap_err()
    else {
        panic!("expected Closed")
    };
    assert!(reason.contains("writing failed") && reason.contains("reader gone"), "{reason}");
    assert!(writer.stopped().is_some());
}

#[tokio::test]
async fn sending_after_close_fails_and_closing_twice_is_fine() {
    let writer = JsonLinesWriter::<Submission>::spawn(RecordingWriter::default());
    assert!(writer.stopped().is_none());
    within("the writer to close", writer.close()).await.unwrap();
    within("the writer to close again", writer.close()).await.unwrap();
    let err =
        within("a send", writer.send(Submission::new("late", Op::Interrupt))).await.unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}
