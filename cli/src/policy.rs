//! `--policy FILE`, `--approval-timeout`, and `delegate policy check|explain`.
//!
//! The approver stack of a session, outermost first (as `delegate-approval` recommends): the
//! rules file (a `deny` rule is always checked), then the session cache (an
//! `approved_for_session` answer is not asked again), then the deadline, then the person (the
//! terminal prompt, or a refusal when there is no terminal). `--audit FILE` wraps the whole stack,
//! so the trail sees every outcome.

use std::path::PathBuf;
use std::sync::Arc;

use delegate_approval::Approver;
use delegate_approval::AuditLog;
use delegate_approval::Audited;
use delegate_approval::Deadlines;
use delegate_approval::PolicyApprover;
use delegate_approval::Query;
use delegate_approval::Rules;
use delegate_approval::Session;
use delegate_approval::SessionCache;
use delegate_approval::Timeout;

use crate::args::CommonArgs;
use crate::args::PolicyCommand;
use crate::exit;
use crate::session::ConfigError;

fn load(path: &std::path::Path) -> anyhow::Result<Rules> {
    Rules::load(path)
        .map_err(|err| ConfigError(format!("policy file {}: {err}", path.display())).into())
}

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// The approver for a session.
pub fn build(common: &CommonArgs, person: Arc<dyn Approver>) -> anyhow::Result<Arc<dyn Approver>> {
    let rules = common.policy.as_deref().map(load).transpose()?.map(|rules| rules.with_root(cwd()));
    let deadlines = match (common.approval_timeout, &rules) {
        (Some(deadline), _) => Deadlines::uniform(deadline),
        (None, Some(rules)) => rules.deadlines(),
        (None, None) => Deadlines::default(),
    };
    let person = Session::new(Timeout::new(person, deadlines), Arc::new(SessionCache::new()))
        .with_root(cwd());
    let approver: Arc<dyn Approver> = match rules {
        Some(rules) => Arc::new(PolicyApprover::new(Arc::new(rules), Arc::new(person))),
        None => Arc::new(person),
    };
    let Some(path) = &common.audit else { return Ok(approver) };
    let log = AuditLog::open(path)
        .map_err(|err| ConfigError(format!("--audit {}: {err}", path.display())))?;
    let audited = Audited::new(approver, Arc::new(log))
        .on_error(|err| eprintln!("delegate: audit trail: {err}; the decision was refused"));
    Ok(Arc::new(audited))
}

/// `delegate policy check|explain`.
pub fn command(command: PolicyCommand) -> anyhow::Result<i32> {
    match command {
        PolicyCommand::Check { file } => {
            let report = delegate_approval::check(&load(&file)?);
            println!("{report}");
        }
        PolicyCommand::Explain { file, exec, patch, cwd: dir } => {
            let rules = load(&file)?;
            let query = match (exec, patch) {
                (Some(command), _) => Query::exec(command),
                (None, Some(path)) => Query::patch(path),
                (None, None) => {
                    return Err(
                        ConfigError("explain needs --exec CMD or --patch PATH".into()).into()
                    );
                }
            };
            let query = query.with_cwd(dir.unwrap_or_else(cwd));
            println!("{}", delegate_approval::explain(&rules, &query));
        }
    }
    Ok(exit::OK)
}
