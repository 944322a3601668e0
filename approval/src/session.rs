//! The session cache: `approved_for_session` answers remembered under a canonical key, so the
//! same request is not asked again — and a different one never rides on it.
//!
//! The key ([`SessionKey`]) is canonical JSON text; see the crate documentation for its exact
//! shape. It holds the asking agent's path, so an approval for one sub-agent never applies to
//! another, and:
//! - exec: the normalised commands (shell wrapper looked through, `/usr/bin/git` → `git`, the
//!   separators between commands kept) plus the working directory, both lexically normalised
//!   and with symlinks resolved; a command that cannot be parsed with certainty is keyed by its
//!   exact argv instead;
//! - patch: the set of (change type, path, move target) with every path lexically normalised
//!   and resolved, plus the grant root;
//! - permissions: the exact grant (network, read paths, write paths, each normalised and
//!   resolved), and only when the person granted exactly what was asked.
//!
//! User-input requests are never cached: an answer is for one question at one moment.
//!
//! A hit answers `approved` (exec, patch) or the same grant for the turn (permissions) — the
//! narrowest answer that lets the sub-agent go on — decided by [`DecidedBy::Session`].

use std::collections::BTreeSet;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::FileChange;
use delegate_protocol::PermissionGrantScope;
use delegate_protocol::RequestPermissionsResponse;
use serde_json::Value;
use serde_json::json;

use crate::Answer;
use crate::ApprovalRequest;
use crate::Approver;
use crate::Request;
use crate::Verdict;
use crate::paths;
use crate::shell;

/// Most approvals one cache remembers. Past it, new `approved_for_session` answers are not
/// remembered (the person is asked again): a bound on memory that fails towards asking.
pub const MAX_SESSION_APPROVALS: usize = 10_000;

/// The canonical key of a request in the session cache; its text is documented in the crate
/// docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(String);

impl SessionKey {
    /// The key of `request`, with relative paths resolved against `root`. `None` for requests
    /// that are never cached (user input) or cannot be keyed with certainty (a path that is not
    /// UTF-8, a relative working directory without a root).
    pub fn for_request(request: &ApprovalRequest, root: Option<&Path>) -> Option<Self> {
        let agent = &request.agent_path;
        let value = match &request.request {
            Request::Exec(r) => {
                let cwd = path_key(&r.cwd, root)?;
                match shell::parse_argv(&r.command) {
                    shell::Parsed::Commands(parts) => {
                        let mut commands: Vec<Value> = Vec::new();
                        for part in &parts {
                            if let Some(sep) = part.after {
                                commands.push(json!(sep.as_str()));
                            }
                            commands.push(json!(part.argv));
                        }
                        json!({"kind": "exec", "agent": agent, "cwd": cwd, "commands": commands})
                    }
                    shell::Parsed::Uncertain { .. } => {
                        let mut argv = r.command.clone();
                        if let Some(first) = argv.first_mut() {
                            *first = shell::normalize_program(first);
                        }
                        json!({"kind": "exec", "agent": agent, "cwd": cwd, "argv": argv})
                    }
                }
            }
            Request::Patch(r) => {
                if r.changes.is_empty() && r.grant_root.is_none() {
                    // A patch that names nothing has no canonical key: every such patch would
                    // share it, and one "for the session" would approve unknown writes.
                    return None;
                }
                let mut changes = BTreeSet::new();
                for (path, change) in &r.changes {
                    let to = match change {
                        FileChange::Update { move_path: Some(to), .. } => Some(path_key(to, root)?),
                        _ => None,
                    };
                    changes.insert((change.kind_str(), path_key(path, root)?, to));
                }
                let grant_root = match &r.grant_root {
                    Some(g) => Some(path_key(g, root)?),
                    None => None,
                };
                json!({"kind": "patch", "agent": agent, "changes": changes, "grant_root": grant_root})
            }
            Request::Permissions(r) => {
                let network =
                    r.permissions.network.as_ref().is_some_and(|n| n.enabled == Some(true));
                let set = |paths: Option<&Vec<PathBuf>>| -> Option<BTreeSet<PathKey>> {
                    paths.into_iter().flatten().map(|p| path_key(p, root)).collect()
                };
                let fs = r.permissions.file_system.as_ref();
                let read = set(fs.and_then(|f| f.read.as_ref()))?;
                let write = set(fs.and_then(|f| f.write.as_ref()))?;
                json!({"kind": "permissions", "agent": agent, "network": network, "read": read, "write": write})
            }
            Request::UserInput(_) => return None,
        };
        Some(SessionKey(value.to_string()))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path as keyed: `[lexical, canonical]`, canonical `null` when it cannot be resolved.
type PathKey = (String, Option<String>);

fn path_key(path: &Path, root: Option<&Path>) -> Option<PathKey> {
    let joined = if path.is_absolute() { path.to_path_buf() } else { root?.join(path) };
    let lexical = paths::to_text(&paths::normalize(&joined))?;
    let canonical = paths::canonicalize_existing(&joined).and_then(|c| paths::to_text(&c));
    Some((lexical, canonical))
}

/// Remembered `approved_for_session` answers, shared by the [`Session`] approvers of one
/// session.
#[derive(Debug, Default)]
pub struct SessionCache {
    keys: Mutex<HashSet<SessionKey>>,
}

impl SessionCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` was approved for the session. A poisoned lock reads as "no" (ask again).
    pub fn contains(&self, key: &SessionKey) -> bool {
        self.keys.lock().map(|keys| keys.contains(key)).unwrap_or(false)
    }

    /// Remember `key`; `false` when the cache is full (or its lock poisoned) and it was not.
    pub fn insert(&self, key: SessionKey) -> bool {
        let Ok(mut keys) = self.keys.lock() else { return false };
        if keys.len() >= MAX_SESSION_APPROVALS && !keys.contains(&key) {
            return false;
        }
        keys.insert(key);
        true
    }

    /// How many approvals are remembered.
    pub fn len(&self) -> usize {
        self.keys.lock().map(|keys| keys.len()).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget everything (a new session).
    pub fn clear(&self) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.clear();
        }
    }
}

/// Consults the [`SessionCache`] before `inner`, and remembers `inner`'s `approved_for_session`
/// answers. Put it between the rules and the person, so that a `deny` rule is always checked
/// first and the cache only saves asking again.
#[derive(Debug, Clone)]
pub struct Session<A> {
    inner: A,
    cache: Arc<SessionCache>,
    root: Option<PathBuf>,
}

impl<A> Session<A> {
    /// Wrap `inner` with `cache`.
    pub fn new(inner: A, cache: Arc<SessionCache>) -> Self {
        Self { inner, cache, root: None }
    }

    /// Resolve relative paths in keys against `root` (the agent's working directory).
    pub fn with_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<SessionCache> {
        &self.cache
    }
}

#[async_trait]
impl<A: Approver> Approver for Session<A> {
    /// # Cancel safety
    ///
    /// An answer is remembered only after `inner` returns; dropping the future remembers nothing.
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        let key = SessionKey::for_request(request, self.root.as_deref());
        if let Some(key) = &key
            && self.cache.contains(key)
        {
            return match &request.request {
                Request::Permissions(r) => Verdict::permissions(
                    RequestPermissionsResponse {
                        permissions: r.permissions.clone(),
                        scope: PermissionGrantScope::Turn,
                    },
                    DecidedBy::Session,
                ),
                _ => Verdict::decision(Decision::Approved, DecidedBy::Session),
            };
        }
        let verdict = self.inner.decide(request).await;
        if let Some(key) = key
            && verdict.stays_within(request)
            && verdict.summary_decision() == Decision::ApprovedForSession
        {
            let exact = match (&verdict.answer, &request.request) {
                (Answer::Permissions(granted), Request::Permissions(asked)) => {
                    granted.permissions == asked.permissions
                }
                _ => true,
            };
            if exact {
                self.cache.insert(key);
            }
        }
        verdict
    }

    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        self.inner.resolved(request, verdict);
    }
}
