//! Delegation trees: paths, depth and concurrency limits.

use std::sync::Arc;

use delegate_approval::DenyAll;
use delegate_core::*;
use delegate_protocol::*;
use tokio_util::sync::CancellationToken;

use super::support::*;

#[test]
fn depth_is_limited() {
    let root = DelegationScope::root_with_limits("root", 2, 10);
    let a = root.child("a").unwrap();
    let b = a.child("b").unwrap();
    assert_eq!(b.path(), ["root", "a", "b"]);
    assert_eq!(b.depth(), 2);
    let err = b.child("c").unwrap_err();
    assert!(matches!(err, DelegateError::DepthLimit { max_depth: 2, .. }));
    assert!(err.to_string().contains("root/a/b"), "{err}");
}

#[tokio::test]
async fn concurrency_is_limited_and_released_on_shutdown() {
    let root = DelegationScope::root_with_limits("root", 3, 2);
    let cancel = CancellationToken::new();
    let mut endpoints = Vec::new();
    let mut delegates = Vec::new();
    for name in ["w1", "w2"] {
        let (agent, sub) = ChannelAgent::pair();
        endpoints.push(sub);
        delegates.push(
            root.delegate(
                name,
                Arc::new(agent),
                Arc::new(DenyAll),
                cancel.clone(),
                DelegateOptions::default(),
            )
            .unwrap(),
        );
    }
    assert_eq!(root.active(), 2);
    let (agent, _sub) = ChannelAgent::pair();
    let err = root
        .delegate(
            "w3",
            Arc::new(agent),
            Arc::new(DenyAll),
            cancel.clone(),
            DelegateOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, DelegateError::ConcurrencyLimit { max_concurrent: 2, .. }), "{err}");
    // A child scope shares the tree's budget.
    let child = root.child("w1").unwrap();
    let (agent, _sub) = ChannelAgent::pair();
    assert!(
        child
            .delegate(
                "h",
                Arc::new(agent),
                Arc::new(DenyAll),
                cancel.clone(),
                DelegateOptions::default()
            )
            .is_err()
    );
    // One finishes; its slot frees.
    delegates[0].cancel();
    within("the first delegate to finish", delegates[0].finished()).await;
    assert_eq!(root.active(), 1);
    let (agent, _sub) = ChannelAgent::pair();
    assert!(
        root.delegate(
            "w3",
            Arc::new(agent),
            Arc::new(DenyAll),
            cancel.clone(),
            DelegateOptions::default()
        )
        .is_ok()
    );
    cancel.cancel();
}

#[tokio::test]
async fn a_nested_delegation_reports_its_full_path() {
    let root = DelegationScope::root("root");
    let worker = root.child("worker").unwrap();
    let (approver, mut requests) = HandApprover::new();
    let (agent, sub) = ChannelAgent::pair();
    let _d = worker
        .delegate(
            "helper",
            Arc::new(agent),
            approver,
            CancellationToken::new(),
            DelegateOptions::default(),
        )
        .unwrap();
    sub.emit("t", exec_request("c", None, &["ls"])).await;
    let (request, _answer) = within("the request", requests.recv()).await.unwrap();
    assert_eq!(request.agent_path, ["root", "worker", "helper"]);
    assert_eq!(request.kind(), ApprovalKind::Exec);
}
