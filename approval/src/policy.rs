//! Policies that rule on a request without asking anyone, and how they compose: a [`Chain`]
//! (first opinion wins), [`stricter`] (a child never looser than its parent), and
//! [`PolicyApprover`], which turns a policy into an [`Approver`] that hands `ask` to a person.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::RequestUserInputResponse;
use serde::Deserialize;
use serde::Serialize;

use crate::ApprovalRequest;
use crate::Approver;
use crate::Request;
use crate::Verdict;

/// What a rule says to do. Ordered by strictness: `Allow < Ask < Deny`, so the strictest of
/// several is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Approve without asking.
    Allow,
    /// Hand the request to a person (the inner approver).
    Ask,
    /// Refuse.
    Deny,
}

impl Action {
    /// `allow`, `ask` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Ask => "ask",
            Action::Deny => "deny",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Pad so that `explain` output lines up (`allow`, `ask  `, `deny `).
        f.pad(self.as_str())
    }
}

/// What produced a [`Ruling`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// A rule of a rules file.
    Rule {
        /// Its `id`, when it has one.
        id: Option<String>,
        /// The line of its table header.
        line: usize,
    },
    /// No rule matched; the file's `default` (or per-kind default) applied.
    Default,
    /// No rule matched and the file sets no default: no opinion, so a person is asked.
    Unmatched,
    /// The request could not be matched with certainty (a script that does not parse, a path
    /// outside the root, …), so it can at most be asked about.
    Uncertain,
    /// A whole policy, by name (`deny_all`, `stricter`, …).
    Policy(String),
}

impl Source {
    /// The protocol's [`DecidedBy`] for this source.
    pub fn decided_by(&self) -> DecidedBy {
        match self {
            Source::Rule { id: Some(id), .. } => DecidedBy::Rule(id.clone()),
            Source::Rule { id: None, line } => DecidedBy::Rule(format!("line {line}")),
            Source::Default => DecidedBy::Default,
            Source::Unmatched => DecidedBy::Policy("unmatched".into()),
            Source::Uncertain => DecidedBy::Policy("uncertain".into()),
            Source::Policy(name) => DecidedBy::Policy(name.clone()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Rule { id: Some(id), line } => write!(f, "rule {id} (line {line})"),
            Source::Rule { id: None, line } => write!(f, "rule at line {line}"),
            Source::Default => f.write_str("default (no rule matched)"),
            Source::Unmatched => f.write_str("no rule matched and the file sets no default"),
            Source::Uncertain => f.write_str("uncertain (cannot be matched with certainty)"),
            Source::Policy(name) => write!(f, "policy {name}"),
        }
    }
}

/// A policy's answer to one request: what to do, what said so, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    /// What to do.
    pub action: Action,
    /// What decided it.
    pub source: Source,
    /// Why, one line per step (each command part, each path, each uncertainty).
    pub reasons: Vec<String>,
    /// For an `allow` of a user-input request: the canned answers.
    pub answers: Option<RequestUserInputResponse>,
}

impl Ruling {
    /// A ruling with no reasons and no answers.
    pub fn new(action: Action, source: Source) -> Self {
        Self { action, source, reasons: Vec::new(), answers: None }
    }

    /// Who decided, for the protocol.
    pub fn decided_by(&self) -> DecidedBy {
        self.source.decided_by()
    }

    /// The verdict this ruling gives by itself: `allow` → a grant (user input: the canned
    /// answers), `deny` → a refusal. `None` for `ask`, and for an `allow` of user input without
    /// answers (which can only be asked).
    pub fn verdict(&self, request: &ApprovalRequest) -> Option<Verdict> {
        match self.action {
            Action::Deny => Some(request.refusal(Decision::Denied, self.decided_by())),
            Action::Ask => None,
            Action::Allow => match &request.request {
                Request::UserInput(_) => {
                    let answers = self.answers.clone()?;
                    let verdict = Verdict::user_input(answers, self.decided_by());
                    verdict.stays_within(request).then_some(verdict)
                }
                _ => Some(request.grant(Decision::Approved, self.decided_by())),
            },
        }
    }
}

impl fmt::Display for Ruling {
    /// The `explain` format: `ACTION SOURCE` on the first line, then one indented line per
    /// reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<5} {}", self.action, self.source)?;
        for reason in &self.reasons {
            write!(f, "\n  {reason}")?;
        }
        Ok(())
    }
}

/// Rules on requests without asking anyone. `None` means no opinion (the next policy of a
/// [`Chain`] decides; at the end, a person is asked).
pub trait Policy: Send + Sync {
    /// The ruling on `request`, if this policy has one. Must not block for long: it runs on
    /// the approval path (rules files may look at the file system to resolve symlinks).
    fn evaluate(&self, request: &ApprovalRequest) -> Option<Ruling>;
}

impl<T: Policy + ?Sized> Policy for Arc<T> {
    fn evaluate(&self, request: &ApprovalRequest) -> Option<Ruling> {
        (**self).evaluate(request)
    }
}

/// The same ruling for every request: `Fixed::new(Action::Deny, "read_only")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    action: Action,
    name: String,
}

impl Fixed {
    /// A policy that always rules `action`, decided by `Policy(name)`.
    pub fn new(action: Action, name: impl Into<String>) -> Self {
        Self { action, name: name.into() }
    }
}

impl Policy for Fixed {
    fn evaluate(&self, _request: &ApprovalRequest) -> Option<Ruling> {
        Some(Ruling::new(self.action, Source::Policy(self.name.clone())))
    }
}

/// Policies in order; the first with an opinion (`allow`, `ask` or `deny`) wins.
///
/// A chain is for overrides (a session's own rules before the project's, the project's before
/// a site-wide file). To combine policies so that neither can loosen the other, use
/// [`stricter`].
#[derive(Clone, Default)]
pub struct Chain {
    policies: Vec<Arc<dyn Policy>>,
}

impl Chain {
    /// A chain of these policies, first first.
    pub fn new(policies: Vec<Arc<dyn Policy>>) -> Self {
        Self { policies }
    }

    /// This chain with `policy` appended.
    pub fn then(mut self, policy: Arc<dyn Policy>) -> Self {
        self.policies.push(policy);
        self
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chain({} policies)", self.policies.len())
    }
}

impl Policy for Chain {
    fn evaluate(&self, request: &ApprovalRequest) -> Option<Ruling> {
        self.policies.iter().find_map(|p| p.evaluate(request))
    }
}

/// A child's effective policy: the stricter of its own and its parent's, never looser.
///
/// Both are evaluated; `deny` beats `ask` beats `allow`. A side with no opinion counts as `ask`
/// (that is what no opinion ends in), so a child's `allow` cannot open what its parent would
/// have asked about, and a child's silence cannot open what its parent would have asked about
/// either. On a tie the parent's ruling (and reasons) is kept; two `allow`s of a user-input
/// request with different canned answers become `ask`.
pub fn stricter(parent: Arc<dyn Policy>, child: Arc<dyn Policy>) -> Stricter {
    Stricter { parent, child }
}

/// See [`stricter`].
#[derive(Clone)]
pub struct Stricter {
    parent: Arc<dyn Policy>,
    child: Arc<dyn Policy>,
}

impl fmt::Debug for Stricter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stricter(..)")
    }
}

impl Policy for Stricter {
    fn evaluate(&self, request: &ApprovalRequest) -> Option<Ruling> {
        let parent = self.parent.evaluate(request);
        let child = self.child.evaluate(request);
        match (parent, child) {
            (None, None) => None,
            (Some(only), None) | (None, Some(only)) => {
                if only.action == Action::Allow {
                    let mut ruling = Ruling::new(Action::Ask, Source::Policy("stricter".into()));
                    ruling.reasons = only.reasons;
                    ruling.reasons.push(format!(
                        "one side would allow ({}), the other has no opinion, so it is asked: a child is never looser than its parent",
                        only.source
                    ));
                    Some(ruling)
                } else {
                    Some(only)
                }
            }
            (Some(parent), Some(child)) => {
                if child.action > parent.action {
                    Some(child)
                } else if parent.action == Action::Allow
                    && child.action == Action::Allow
                    && parent.answers != child.answers
                {
                    let mut ruling = Ruling::new(Action::Ask, Source::Policy("stricter".into()));
                    ruling.reasons.push(
                        "parent and child would answer differently, so a person is asked".into(),
                    );
                    Some(ruling)
                } else {
                    Some(parent)
                }
            }
        }
    }
}

/// An [`Approver`] that applies a [`Policy`]: `allow` grants (decided by the rule), `deny`
/// refuses (decided by the rule), `ask` and no opinion go to `inner` (usually a person).
///
/// A verdict from `inner` that does not fit the request, or grants more than was asked (extra
/// permissions, answers to questions nobody asked), is refused with
/// `decided_by = policy:invalid_verdict`.
#[derive(Clone)]
pub struct PolicyApprover {
    policy: Arc<dyn Policy>,
    inner: Arc<dyn Approver>,
}

impl PolicyApprover {
    /// Apply `policy`; ask `inner` when it says `ask` or has no opinion.
    pub fn new(policy: Arc<dyn Policy>, inner: Arc<dyn Approver>) -> Self {
        Self { policy, inner }
    }
}

impl fmt::Debug for PolicyApprover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PolicyApprover(..)")
    }
}

/// Ask `inner` and refuse any verdict that does not stay within the request.
pub(crate) async fn ask_within(inner: &dyn Approver, request: &ApprovalRequest) -> Verdict {
    let verdict = inner.decide(request).await;
    if verdict.stays_within(request) {
        verdict
    } else {
        request.refusal(Decision::Denied, DecidedBy::Policy("invalid_verdict".into()))
    }
}

#[async_trait]
impl Approver for PolicyApprover {
    /// # Cancel safety
    ///
    /// Evaluating the policy is synchronous; dropping the future while `inner` is deciding
    /// drops `inner`'s future, as the engine expects.
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        if let Some(verdict) = self.policy.evaluate(request).and_then(|r| r.verdict(request)) {
            return verdict;
        }
        ask_within(self.inner.as_ref(), request).await
    }

    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        self.inner.resolved(request, verdict);
    }
}
