//! What the benchmark driver (`delegate-bench`) and its peer binaries share: the payload every
//! comparison sends, the wire lines built from it, and the small trigger protocol the peers
//! understand.
//!
//! Every stdio comparison moves the same 100-byte string ([`PAYLOAD`]): in a delegate
//! `agent_message_delta`, in an MCP `notifications/progress` message, in an ACP
//! `session/update` `agent_message_chunk`, and in the approval / echo / tool-call round trips.
//! The envelopes around it differ by protocol; the driver reports each line's size.
//!
//! A peer is told what to do by a `user_input` submission (delegate peers), a tool call (rmcp)
//! or a prompt (ACP) whose text is `flood N` (send N events, then end the turn) or `approvals N`
//! (ask N approvals one after the other, each after the previous answer, then end the turn).

use delegate_protocol::AgentMessageDeltaEvent;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::Extra;
use delegate_protocol::InputItem;
use delegate_protocol::Op;
use delegate_protocol::TaskCompleteEvent;

/// The string every event, notification and request carries: 100 bytes of plain ASCII text, so
/// no protocol pays for escaping.
pub const PAYLOAD: &str = "streaming text of an agent message, one hundred bytes of it, to weigh what each event costs. 0123456";

const _: () = assert!(PAYLOAD.len() == 100);

/// The turn id the peers use for the events of a turn when none is given.
pub const TURN: &str = "t1";

/// What a peer is asked to do in one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Send this many events (deltas, notifications, session updates), then end the turn.
    Flood(u64),
    /// Ask this many approvals, each after the previous one was answered, then end the turn.
    Approvals(u64),
}

impl Task {
    /// `flood N` / `approvals N`.
    pub fn parse(text: &str) -> Option<Task> {
        let (verb, count) = text.trim().split_once(' ')?;
        let count = count.trim().parse().ok()?;
        match verb {
            "flood" => Some(Task::Flood(count)),
            "approvals" => Some(Task::Approvals(count)),
            _ => None,
        }
    }

    /// The text that [`Task::parse`] reads back.
    pub fn text(self) -> String {
        match self {
            Task::Flood(n) => format!("flood {n}"),
            Task::Approvals(n) => format!("approvals {n}"),
        }
    }
}

/// The text of a `user_input` op, if it is one.
pub fn input_text(op: &Op) -> Option<&str> {
    match op {
        Op::UserInput { items, .. } => items.iter().find_map(|item| match item {
            InputItem::Text { text } => Some(text.as_str()),
            _ => None,
        }),
        _ => None,
    }
}

/// The streaming event: an `agent_message_delta` carrying [`PAYLOAD`].
pub fn delta_event(turn: &str) -> Event {
    Event::new(turn, EventMsg::AgentMessageDelta(AgentMessageDeltaEvent { delta: PAYLOAD.into() }))
}

/// The approval request of the round trips: `echo PAYLOAD` in `/tmp`.
pub fn approval_request(turn: &str, call_id: &str) -> Event {
    Event::new(
        turn,
        EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
            call_id: call_id.into(),
            approval_id: None,
            turn_id: turn.into(),
            command: vec!["echo".into(), PAYLOAD.into()],
            cwd: "/tmp".into(),
            reason: None,
            extra: Extra::new(),
        })),
    )
}

/// The end of a turn.
pub fn turn_complete(turn: &str) -> Event {
    Event::new(
        turn,
        EventMsg::TaskComplete(TaskCompleteEvent {
            turn_id: turn.into(),
            last_agent_message: Some("done".into()),
            extra: Extra::new(),
        }),
    )
}

/// One JSON line (with its newline) of any serialisable message.
pub fn json_line<T: serde::Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_read_back_what_they_write() {
        for task in [Task::Flood(3), Task::Approvals(100_000)] {
            assert_eq!(Task::parse(&task.text()), Some(task));
        }
        assert_eq!(Task::parse("hello"), None);
    }
}
