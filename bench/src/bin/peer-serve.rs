//! `peer-serve`: a delegate sub-agent written the way the libraries intend — the in-process
//! agent is a [`ChannelAgent`] whose endpoint a task plays, exposed on stdin/stdout with
//! [`serve_stdio`] — so that measuring against it measures our stack on both sides of the pipe
//! (the counterpart of the rmcp and ACP peers, which use their SDKs' servers).
//!
//! A `user_input` `flood N` → N `agent_message_delta` events then `task_complete`; `approvals N`
//! → N `exec_approval_request`s, each after the previous one was answered, then
//! `task_complete`; `shutdown` (after the turn in progress) → `shutdown_complete`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use delegate_bench::Task;
use delegate_bench::approval_request;
use delegate_bench::delta_event;
use delegate_bench::input_text;
use delegate_bench::turn_complete;
use delegate_core::AgentEndpoint;
use delegate_core::ChannelAgent;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_transport_stdio::serve_stdio;

/// The agent's logic: one turn at a time, in the order the submissions arrive.
async fn play(mut endpoint: AgentEndpoint) {
    let _ = endpoint.status.send(AgentStatus::Running);
    while let Some(submission) = endpoint.submissions.recv().await {
        let turn = submission.id;
        match &submission.op {
            Op::Shutdown => {
                let _ = endpoint.events.send(Event::new(turn, EventMsg::ShutdownComplete)).await;
                return;
            }
            op => match input_text(op).and_then(Task::parse) {
                Some(Task::Flood(n)) => {
                    for _ in 0..n {
                        if endpoint.events.send(delta_event(&turn)).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Task::Approvals(n)) => {
                    for i in 0..n {
                        let call_id = format!("c{i}");
                        if endpoint.events.send(approval_request(&turn, &call_id)).await.is_err() {
                            return;
                        }
                        loop {
                            match endpoint.submissions.recv().await.map(|s| s.op) {
                                Some(Op::ExecApproval { id, .. }) if id == call_id => break,
                                Some(_) => {}
                                None => return,
                            }
                        }
                    }
                }
                None => continue,
            },
        }
        if endpoint.events.send(turn_complete(&turn)).await.is_err() {
            return;
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (agent, endpoint) = ChannelAgent::pair();
        tokio::spawn(play(endpoint));
        serve_stdio(&agent).await.expect("serving");
    });
    // Do not wait for the stdin thread.
    runtime.shutdown_background();
}
