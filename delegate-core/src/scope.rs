//! Delegation trees: [`DelegationScope`] gives each delegation its path from the root and
//! enforces the tree's depth and concurrency limits.

use std::sync::Arc;

use delegate_approval::Approver;
use delegate_protocol::Submission;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::Agent;
use crate::Delegate;
use crate::DelegateError;
use crate::DelegateOptions;
use crate::engine::start;

/// Default deepest level of a delegation tree (the root's own delegations are level 1): deep
/// enough for a planner → worker → helper chain, shallow enough to stop runaway recursion.
pub const DEFAULT_MAX_DEPTH: usize = 4;

/// Default number of delegations of one tree alive at once: far above what a person can follow,
/// low enough that a loop spawning sub-agents hits a wall instead of the machine's limits.
pub const DEFAULT_MAX_CONCURRENT: usize = 64;

/// A node of a delegation tree: the root (the parent session) or a sub-agent that delegates
/// further. Cheap to clone; clones share the tree's concurrency budget.
#[derive(Debug, Clone)]
pub struct DelegationScope {
    path: Vec<String>,
    max_depth: usize,
    max_concurrent: usize,
    budget: Arc<Semaphore>,
}

impl DelegationScope {
    /// The root of a tree, named `name`, with the default limits.
    pub fn root(name: impl Into<String>) -> Self {
        Self::root_with_limits(name, DEFAULT_MAX_DEPTH, DEFAULT_MAX_CONCURRENT)
    }

    /// The root of a tree with explicit limits.
    pub fn root_with_limits(
        name: impl Into<String>,
        max_depth: usize,
        max_concurrent: usize,
    ) -> Self {
        Self {
            path: vec![name.into()],
            max_depth,
            max_concurrent,
            budget: Arc::new(Semaphore::new(max_concurrent)),
        }
    }

    /// This node's path from the root.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// This node's depth: 0 for the root.
    pub fn depth(&self) -> usize {
        self.path.len() - 1
    }

    /// The scope of a sub-agent named `name` under this node, for it to delegate further.
    pub fn child(&self, name: impl Into<String>) -> Result<DelegationScope, DelegateError> {
        if self.depth() + 1 > self.max_depth {
            return Err(DelegateError::DepthLimit {
                path: self.path.join("/"),
                max_depth: self.max_depth,
            });
        }
        let mut path = self.path.clone();
        path.push(name.into());
        Ok(DelegationScope { path, ..self.clone() })
    }

    /// Delegations of this tree alive right now.
    pub fn active(&self) -> usize {
        self.max_concurrent - self.budget.available_permits()
    }

    fn prepare(
        &self,
        name: &str,
        options: &mut DelegateOptions,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, DelegateError> {
        let child = self.child(name)?;
        let permit = Arc::clone(&self.budget).try_acquire_owned().map_err(|_| {
            DelegateError::ConcurrencyLimit {
                path: child.path.join("/"),
                max_concurrent: self.max_concurrent,
            }
        })?;
        options.agent_path = child.path;
        Ok(permit)
    }

    /// Start an interactive delegation of `agent` as the sub-agent `name` of this node: its
    /// approval requests carry this node's path plus `name`, and it counts against the tree's
    /// concurrency limit until it has shut down.
    pub fn delegate(
        &self,
        name: &str,
        agent: Arc<dyn Agent>,
        approver: Arc<dyn Approver>,
        cancel: CancellationToken,
        mut options: DelegateOptions,
    ) -> Result<Delegate, DelegateError> {
        let permit = self.prepare(name, &mut options)?;
        Ok(start(agent, approver, cancel.child_token(), options, false, Some(permit)))
    }

    /// Like [`DelegationScope::delegate`], for one task: see [`one_shot`](crate::one_shot).
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped after the delegation started, the delegation is cancelled.
    pub async fn one_shot(
        &self,
        name: &str,
        agent: Arc<dyn Agent>,
        approver: Arc<dyn Approver>,
        cancel: CancellationToken,
        mut options: DelegateOptions,
        input: Submission,
    ) -> Result<Delegate, DelegateError> {
        let permit = self.prepare(name, &mut options)?;
        crate::one_shot::start_one_shot(agent, approver, cancel, options, input, Some(permit)).await
    }
}
