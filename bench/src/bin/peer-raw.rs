//! `peer-raw MODE`: a sub-agent with no framework at all — blocking std I/O, pre-encoded lines —
//! so that whatever is measured against it is the parent's side.
//!
//! | mode | behaviour |
//! |---|---|
//! | `flood` | a `user_input` `flood N` → N `agent_message_delta` lines (written as fast as the pipe takes them), then `task_complete` |
//! | `approvals` | a `user_input` `approvals N` → N `exec_approval_request`s, each after the `exec_approval` of the previous one arrived, then `task_complete` |
//! | `echo` | every submission line is answered with one `exec_approval_request` line (the raw round-trip baseline) |
//! | `hang` | reads and ignores everything, and stays alive after stdin ends (a sub-agent that never answers `shutdown`) |
//!
//! Every mode but `hang` answers `shutdown` with `shutdown_complete` and exits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::io::Write;

use delegate_bench::Task;
use delegate_bench::approval_request;
use delegate_bench::delta_event;
use delegate_bench::input_text;
use delegate_bench::json_line;
use delegate_bench::turn_complete;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    if mode == "hang" {
        let mut line = Vec::new();
        while input.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            line.clear();
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    let echo_reply = json_line(&approval_request(delegate_bench::TURN, "c1"));
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).expect("stdin") == 0 {
            return;
        }
        let Ok(submission) = serde_json::from_slice::<Submission>(&line) else { continue };
        if matches!(submission.op, Op::Shutdown) {
            out.write_all(&json_line(&Event::new(&submission.id, EventMsg::ShutdownComplete)))
                .unwrap();
            out.flush().unwrap();
            return;
        }
        if mode == "echo" {
            out.write_all(&echo_reply).unwrap();
            out.flush().unwrap();
            continue;
        }
        let turn = submission.id.as_str();
        match input_text(&submission.op).and_then(Task::parse) {
            Some(Task::Flood(n)) => {
                let delta = json_line(&delta_event(turn));
                for _ in 0..n {
                    out.write_all(&delta).unwrap();
                }
            }
            Some(Task::Approvals(n)) => {
                for i in 0..n {
                    let call_id = format!("c{i}");
                    out.write_all(&json_line(&approval_request(turn, &call_id))).unwrap();
                    out.flush().unwrap();
                    wait_for_answer(&mut input, &call_id);
                }
            }
            None => continue,
        }
        out.write_all(&json_line(&turn_complete(turn))).unwrap();
        out.flush().unwrap();
    }
}

/// Read submissions until the `exec_approval` for `call_id` arrives.
fn wait_for_answer(input: &mut impl BufRead, call_id: &str) {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).expect("stdin") == 0 {
            std::process::exit(0);
        }
        if let Ok(Submission { op: Op::ExecApproval { id, .. }, .. }) =
            serde_json::from_slice(&line)
            && id == call_id
        {
            return;
        }
    }
}
