//! `check` and `explain`: the logic behind `delegate policy check FILE` and
//! `delegate policy explain FILE --exec 'CMD' | --patch PATH [--cwd DIR]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::path::PathBuf;

use delegate_protocol::ApplyPatchApprovalRequestEvent;
use delegate_protocol::ApprovalKind;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::Extra;
use delegate_protocol::FileChange;

use crate::Action;
use crate::ApprovalRequest;
use crate::ChangeKind;
use crate::Deadlines;
use crate::Error;
use crate::Request;
use crate::RuleInfo;
use crate::Rules;
use crate::Ruling;

/// What `policy check` reports about a valid rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The file, when the rules came from one.
    pub file: Option<PathBuf>,
    /// Every rule, in file order per kind.
    pub rules: Vec<RuleInfo>,
    /// The file-level default (`None`: not set, a person is asked).
    pub default: Option<Action>,
    /// The per-kind defaults the file sets (`[defaults]`).
    pub defaults: BTreeMap<ApprovalKind, Action>,
    /// The deadlines for people.
    pub deadlines: Deadlines,
}

/// Summarise validated rules.
pub fn check(rules: &Rules) -> CheckReport {
    CheckReport {
        file: rules.file().map(Path::to_path_buf),
        rules: rules.rules().cloned().collect(),
        default: rules.default,
        defaults: rules.defaults.clone(),
        deadlines: rules.deadlines(),
    }
}

/// Load, validate and summarise a rules file; the error names the line of any problem.
pub fn check_file(path: impl AsRef<Path>) -> Result<CheckReport, Error> {
    Rules::load(path).map(|rules| check(&rules))
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.file.as_ref().map_or("rules".to_string(), |p| p.display().to_string());
        let count = self.rules.len();
        write!(f, "ok: {name}: {count} rule{}", if count == 1 { "" } else { "s" })?;
        match self.default {
            Some(action) => write!(f, ", default {}", action.as_str())?,
            None => f.write_str(", no default (unmatched requests are asked)")?,
        }
        for (kind, action) in &self.defaults {
            write!(f, "\ndefault for {kind}: {}", action.as_str())?;
        }
        let d = self.deadlines;
        write!(
            f,
            "\ntimeouts: exec {}s, patch {}s, permissions {}s, user_input {}s",
            d.exec.as_secs(),
            d.patch.as_secs(),
            d.permissions.as_secs(),
            d.user_input.as_secs()
        )?;
        for rule in &self.rules {
            write!(f, "\n{rule}")?;
        }
        Ok(())
    }
}

/// What to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Query {
    /// A command line, as a shell would run it (it is looked at as `sh -c COMMAND`).
    Exec {
        /// The command line.
        command: String,
        /// Where it runs; also the working root. Without it, rules with `cwd` cannot allow.
        cwd: Option<PathBuf>,
    },
    /// One changed path.
    Patch {
        /// The path, relative to `cwd` or absolute.
        path: PathBuf,
        /// The change type (`update` unless set).
        change: ChangeKind,
        /// The working root. Without it, no patch can be allowed.
        cwd: Option<PathBuf>,
    },
}

impl Query {
    /// Explain running `command`.
    pub fn exec(command: impl Into<String>) -> Self {
        Query::Exec { command: command.into(), cwd: None }
    }

    /// Explain an update of `path`.
    pub fn patch(path: impl Into<PathBuf>) -> Self {
        Query::Patch { path: path.into(), change: ChangeKind::Update, cwd: None }
    }

    /// Set the working directory (and root).
    pub fn with_cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        match &mut self {
            Query::Exec { cwd, .. } | Query::Patch { cwd, .. } => *cwd = Some(dir.into()),
        }
        self
    }

    /// Set the change type of a patch query (ignored for exec).
    pub fn with_change(mut self, kind: ChangeKind) -> Self {
        if let Query::Patch { change, .. } = &mut self {
            *change = kind;
        }
        self
    }

    /// The request this query stands for.
    pub fn to_request(&self) -> ApprovalRequest {
        let request = match self {
            Query::Exec { command, cwd } => Request::Exec(ExecApprovalRequestEvent {
                call_id: "explain".into(),
                approval_id: None,
                turn_id: "explain".into(),
                command: vec!["sh".into(), "-c".into(), command.clone()],
                cwd: cwd.clone().unwrap_or_default(),
                reason: None,
                extra: Extra::new(),
            }),
            Query::Patch { path, change, .. } => {
                let change = match change {
                    ChangeKind::Add => FileChange::Add { content: String::new() },
                    ChangeKind::Delete => FileChange::Delete { content: None },
                    ChangeKind::Update => {
                        FileChange::Update { unified_diff: String::new(), move_path: None }
                    }
                };
                Request::Patch(ApplyPatchApprovalRequestEvent {
                    call_id: "explain".into(),
                    turn_id: "explain".into(),
                    changes: [(path.clone(), change)].into_iter().collect(),
                    reason: None,
                    grant_root: None,
                    extra: Extra::new(),
                })
            }
        };
        ApprovalRequest::new(request, vec!["explain".into()], "explain")
    }

    fn cwd(&self) -> Option<&Path> {
        match self {
            Query::Exec { cwd, .. } | Query::Patch { cwd, .. } => cwd.as_deref(),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_dir = |f: &mut fmt::Formatter<'_>, cwd: &Option<PathBuf>| match cwd {
            Some(dir) => write!(f, " in {}", dir.display()),
            None => f.write_str(" (no --cwd)"),
        };
        match self {
            Query::Exec { command, cwd } => {
                write!(f, "run `{command}`")?;
                in_dir(f, cwd)
            }
            Query::Patch { path, change, cwd } => {
                write!(f, "{} {}", change.as_str(), path.display())?;
                in_dir(f, cwd)
            }
        }
    }
}

/// The answer of `policy explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What was asked.
    pub query: Query,
    /// The ruling, with its reasons.
    pub ruling: Ruling,
}

/// How `rules` rule on `query`. With a `cwd`, it is also the working root.
pub fn explain(rules: &Rules, query: &Query) -> Explanation {
    let rules = match query.cwd() {
        Some(cwd) => rules.clone().with_root(cwd),
        None => rules.clone(),
    };
    let ruling = rules.rule(&query.to_request());
    Explanation { query: query.clone(), ruling }
}

impl fmt::Display for Explanation {
    /// First line: `allow`, `ask` or `deny`, then what decided it (`deny  rule no-push (line
    /// 12)`); then the request and why, one indented line each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<5} {}", self.ruling.action, self.ruling.source)?;
        write!(f, "\n  request: {}", self.query)?;
        for reason in &self.ruling.reasons {
            write!(f, "\n  {reason}")?;
        }
        if self.ruling.action == Action::Ask {
            f.write_str("\n  ask: a person decides (denied when nobody can be asked)")?;
        }
        Ok(())
    }
}
