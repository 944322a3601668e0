//! Helpers shared by the engine tests: bounded waits, a person-like approver the test plays, and
//! event builders.

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::Verdict;
use delegate_protocol::*;
use tokio::sync::mpsc;
use tokio::sync::oneshot;

/// Every wait in these tests is bounded: a hang fails in seconds.
pub const LIMIT: Duration = Duration::from_secs(5);

pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// An approver the test answers by hand, like a person at a prompt.
pub struct HandApprover {
    requests: mpsc::UnboundedSender<(ApprovalRequest, oneshot::Sender<Verdict>)>,
    pub resolved: Mutex<Vec<(String, Verdict)>>,
}

impl HandApprover {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<(ApprovalRequest, oneshot::Sender<Verdict>)>)
    {
        let (tx, rx) = mpsc::unbounded_channel();
        (Arc::new(Self { requests: tx, resolved: Mutex::new(Vec::new()) }), rx)
    }
}

#[async_trait]
impl Approver for HandApprover {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        let (tx, rx) = oneshot::channel();
        if self.requests.send((request.clone(), tx)).is_err() {
            return request.refusal(Decision::Denied, DecidedBy::User);
        }
        rx.await.unwrap_or_else(|_| request.refusal(Decision::Denied, DecidedBy::User))
    }

    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        self.resolved.lock().unwrap().push((request.request_id().to_string(), verdict.clone()));
    }
}

pub fn exec_request(call_id: &str, approval_id: Option<&str>, command: &[&str]) -> EventMsg {
    EventMsg::ExecApprovalRequest(Box::new(ExecApprovalRequestEvent {
        call_id: call_id.into(),
        approval_id: approval_id.map(Into::into),
        turn_id: "sub-turn".into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        cwd: "/repo".into(),
        reason: None,
        extra: Extra::new(),
    }))
}

pub fn patch_request(call_id: &str) -> EventMsg {
    let mut changes = std::collections::BTreeMap::new();
    changes.insert("src/lib.rs".into(), FileChange::Add { content: "x".into() });
    EventMsg::ApplyPatchApprovalRequest(Box::new(ApplyPatchApprovalRequestEvent {
        call_id: call_id.into(),
        turn_id: "sub-turn".into(),
        changes,
        reason: None,
        grant_root: None,
        extra: Extra::new(),
    }))
}

pub fn permissions_request(call_id: &str) -> EventMsg {
    EventMsg::RequestPermissions(Box::new(RequestPermissionsEvent {
        call_id: call_id.into(),
        turn_id: "sub-turn".into(),
        reason: Some("need access".into()),
        permissions: PermissionProfile {
            network: Some(NetworkPermissions { enabled: Some(true) }),
            file_system: None,
        },
        extra: Extra::new(),
    }))
}

pub fn user_input_request(call_id: &str) -> EventMsg {
    EventMsg::RequestUserInput(Box::new(RequestUserInputEvent {
        call_id: call_id.into(),
        turn_id: "sub-turn".into(),
        questions: vec![Question {
            id: "q1".into(),
            header: None,
            question: "which?".into(),
            options: None,
        }],
        extra: Extra::new(),
    }))
}

pub fn message(text: &str) -> EventMsg {
    EventMsg::AgentMessage(AgentMessageEvent { message: text.into() })
}

pub fn task_complete(turn: &str, last: Option<&str>) -> EventMsg {
    EventMsg::TaskComplete(TaskCompleteEvent {
        turn_id: turn.into(),
        last_agent_message: last.map(Into::into),
        extra: Extra::new(),
    })
}

pub fn turn_aborted(turn: &str) -> EventMsg {
    EventMsg::TurnAborted(TurnAbortedEvent {
        turn_id: Some(turn.into()),
        reason: TurnAbortReason::Interrupted,
        extra: Extra::new(),
    })
}

/// Read submissions until one matches, bounded.
pub async fn expect_op(
    rx: &mut delegate_core::SubmissionReceiver,
    what: &str,
    pred: impl Fn(&Op) -> bool,
) -> Submission {
    within(what, async {
        loop {
            let s = rx.recv().await.unwrap_or_else(|| panic!("submissions ended before {what}"));
            if pred(&s.op) {
                return s;
            }
        }
    })
    .await
}

/// Every op the sub-agent received until its channel is empty and closed or `LIMIT` passes.
pub async fn drain_ops(rx: &mut delegate_core::SubmissionReceiver) -> Vec<Op> {
    let mut ops = Vec::new();
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
        ops.push(s.op);
    }
    ops
}
