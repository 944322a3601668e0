//! Tier 2: writer and reader joined by an in-memory duplex stream.

use std::time::Duration;

use delegate_protocol::AgentMessageDeltaEvent;
use delegate_protocol::AgentMessageEvent;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_transport_stdio::Frame;
use delegate_transport_stdio::JsonLinesReader;
use delegate_transport_stdio::JsonLinesWriter;
use pretty_assertions::assert_eq;
use tokio::io::AsyncWriteExt;

use super::support::within;

fn event(i: usize) -> Event {
    let msg = match i % 3 {
        0 => EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta: format!("δ{i} ✓") }),
        1 => EventMsg::AgentMessage(AgentMessageEvent { message: "line\nbreak \"quoted\"".into() }),
        _ => EventMsg::warning(format!("w{i}")),
    };
    Event::new(format!("turn-{i}"), msg)
}

#[tokio::test]
async fn events_round_trip_through_a_tiny_duplex_buffer() {
    // 37 bytes: every line straddles many reads and writes.
    let (ours, theirs) = tokio::io::duplex(37);
    let writer = JsonLinesWriter::<Event>::spawn(ours);
    let sent: Vec<Event> = (0..300)
        .map(event)
        .chain([Event::new(
            "big",
            EventMsg::AgentMessage(AgentMessageEvent { message: "z".repeat(1 << 20) }),
        )])
        .collect();
    let to_send = sent.clone();
    let sending = tokio::spawn(async move {
        for event in to_send {
            writer.send(event).await.unwrap();
        }
        writer.close().await.unwrap();
    });
    let mut reader = JsonLinesReader::<_, Event>::new(theirs);
    let received = within("all events", async {
        let mut received = Vec::new();
        while let Some(frame) = reader.next_frame().await.unwrap() {
            match frame {
                Frame::Message(event) => received.push(event),
                Frame::Bad(bad) => panic!("{bad}"),
            }
        }
        received
    })
    .await;
    within("the sender", sending).await.unwrap();
    assert_eq!(received.len(), sent.len());
    assert!(received == sent, "events changed on the way");
}

#[tokio::test]
async fn a_reader_that_stops_reading_pushes_back_on_the_sender() {
    let (ours, theirs) = tokio::io::duplex(256);
    let writer = JsonLinesWriter::<Event>::spawn_with_capacity(ours, 2);
    // Nobody reads: the pipe, the writer's buffer and the queue fill, then send waits.
    let filled = tokio::time::timeout(Duration::from_millis(300), async {
        for i in 0.. {
            writer.send(event(i)).await.unwrap();
        }
    })
    .await;
    assert!(filled.is_err(), "send should wait when nobody reads");
    // Reading again lets everything through.
    let mut reader = JsonLinesReader::<_, Event>::new(theirs);
    let first = within("the first event", reader.next_event()).await.unwrap().unwrap();
    assert_eq!(first, event(0));
    within("a send after reading resumed", writer.send(event(9999))).await.unwrap();
}

#[tokio::test]
async fn raw_garbage_between_good_lines_is_reported_and_skipped() {
    let (mut ours, theirs) = tokio::io::duplex(64);
    let writing = tokio::spawn(async move {
        let good = serde_json::to_vec(&event(0)).unwrap();
        for chunk in [&good[..], b"\n{]\n", b"\xfe\xff\n", &good[..], b"\n"] {
            ours.write_all(chunk).await.unwrap();
        }
    });
    let mut reader = JsonLinesReader::<_, Event>::new(theirs);
    let mut events = Vec::new();
    while let Some(event) = within("an event", reader.next_event()).await.unwrap() {
        events.push(event);
    }
    within("the writer", writing).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.msg.kind()).collect();
    assert_eq!(kinds, ["agent_message_delta", "warning", "warning", "agent_message_delta"]);
    let EventMsg::Warning(utf8) = &events[2].msg else { unreachable!() };
    assert!(utf8.message.contains("line 3") && utf8.message.contains("UTF-8"), "{utf8:?}");
}
