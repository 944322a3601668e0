//! Shared helpers: building requests, loading rules, scratch directories, scripted people.

use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use delegate_approval::Action;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::Request;
use delegate_approval::Rules;
use delegate_approval::Verdict;
use delegate_protocol::ApplyPatchApprovalRequestEvent;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::Extra;
use delegate_protocol::FileChange;
use delegate_protocol::FileSystemPermissions;
use delegate_protocol::NetworkPermissions;
use delegate_protocol::PermissionProfile;
use delegate_protocol::Question;
use delegate_protocol::QuestionOption;
use delegate_protocol::RequestPermissionsEvent;
use delegate_protocol::RequestUserInputEvent;

pub fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

pub fn exec(argv: &[&str], cwd: impl AsRef<Path>) -> ApprovalRequest {
    exec_argv(strings(argv), cwd)
}

pub fn exec_argv(command: Vec<String>, cwd: impl AsRef<Path>) -> ApprovalRequest {
    ApprovalRequest::new(
        Request::Exec(ExecApprovalRequestEvent {
            call_id: "call-1".into(),
            approval_id: None,
            turn_id: "turn-1".into(),
            command,
            cwd: cwd.as_ref().to_path_buf(),
            reason: None,
            extra: Extra::new(),
        }),
        strings(&["root"]),
        "turn-1",
    )
}

/// `bash -lc SCRIPT` in `cwd`.
pub fn bash(script: &str, cwd: impl AsRef<Path>) -> ApprovalRequest {
    exec(&["bash", "-lc", script], cwd)
}

pub fn update() -> FileChange {
    FileChange::Update { unified_diff: "@@ -1 +1 @@\n-a\n+b\n".into(), move_path: None }
}

pub fn add() -> FileChange {
    FileChange::Add { content: "new\n".into() }
}

pub fn delete() -> FileChange {
    FileChange::Delete { content: None }
}

pub fn moved(to: &str) -> FileChange {
    FileChange::Update { unified_diff: String::new(), move_path: Some(PathBuf::from(to)) }
}

pub fn patch(changes: Vec<(&str, FileChange)>, grant_root: Option<&str>) -> ApprovalRequest {
    ApprovalRequest::new(
        Request::Patch(ApplyPatchApprovalRequestEvent {
            call_id: "call-1".into(),
            turn_id: "turn-1".into(),
            changes: changes.into_iter().map(|(p, c)| (PathBuf::from(p), c)).collect(),
            reason: None,
            grant_root: grant_root.map(PathBuf::from),
            extra: Extra::new(),
        }),
        strings(&["root"]),
        "turn-1",
    )
}

pub fn profile(network: bool, read: &[&str], write: &[&str]) -> PermissionProfile {
    let paths = |ps: &[&str]| {
        if ps.is_empty() { None } else { Some(ps.iter().map(PathBuf::from).collect()) }
    };
    PermissionProfile {
        network: network.then_some(NetworkPermissions { enabled: Some(true) }),
        file_system: if read.is_empty() && write.is_empty() {
            None
        } else {
            Some(FileSystemPermissions { read: paths(read), write: paths(write) })
        },
    }
}

pub fn permissions(network: bool, read: &[&str], write: &[&str]) -> ApprovalRequest {
    ApprovalRequest::new(
        Request::Permissions(RequestPermissionsEvent {
            call_id: "call-1".into(),
            turn_id: "turn-1".into(),
            reason: None,
            permissions: profile(network, read, write),
            extra: Extra::new(),
        }),
        strings(&["root"]),
        "turn-1",
    )
}

/// A question as (id, header, option labels).
pub type Q<'a> = (&'a str, Option<&'a str>, Option<&'a [&'a str]>);

/// Questions as (id, header, options).
pub fn questions(qs: &[Q<'_>]) -> ApprovalRequest {
    ApprovalRequest::new(
        Request::UserInput(RequestUserInputEvent {
            call_id: "call-1".into(),
            turn_id: "turn-1".into(),
            questions: qs
                .iter()
                .map(|(id, header, options)| Question {
                    id: id.to_string(),
                    header: header.map(str::to_string),
                    question: format!("what about {id}?"),
                    options: options.map(|os| {
                        os.iter()
                            .map(|l| QuestionOption { label: l.to_string(), description: None })
                            .collect()
                    }),
                })
                .collect(),
            extra: Extra::new(),
        }),
        strings(&["root"]),
        "turn-1",
    )
}

pub fn rules(text: &str) -> Rules {
    match Rules::from_toml(text) {
        Ok(rules) => rules,
        Err(e) => panic!("rules should parse: {e}\n{text}"),
    }
}

pub fn action(rules: &Rules, request: &ApprovalRequest) -> Action {
    rules.rule(request).action
}

/// A scratch directory under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir()
            .join(format!("delegate-approval-{name}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        // Canonical, so tests compare against what symlink resolution yields (macOS /tmp).
        let path = std::fs::canonicalize(&path).unwrap();
        Self { path }
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.join(rel);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A person who answers with a fixed decision (grants for approving ones), counting the times
/// asked and remembering every `resolved` call.
#[derive(Clone)]
pub struct Person {
    decision: Decision,
    pub asked: Arc<AtomicUsize>,
    pub resolved: Arc<Mutex<Vec<Verdict>>>,
}

impl Person {
    pub fn answering(decision: Decision) -> Self {
        Self {
            decision,
            asked: Arc::new(AtomicUsize::new(0)),
            resolved: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn times_asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Approver for Person {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.decision.is_approved() {
            request.grant(self.decision, DecidedBy::User)
        } else {
            request.refusal(self.decision, DecidedBy::User)
        }
    }

    fn resolved(&self, _request: &ApprovalRequest, verdict: &Verdict) {
        self.resolved.lock().unwrap().push(verdict.clone());
    }
}

/// A person who answers `verdict` whatever is asked.
pub struct Scripted(pub Verdict);

#[async_trait]
impl Approver for Scripted {
    async fn decide(&self, _request: &ApprovalRequest) -> Verdict {
        self.0.clone()
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
}
