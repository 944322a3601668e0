//! `delegate-approval`: who says yes.
//!
//! Every request a sub-agent makes that needs a decision — run a command, apply a patch, grant
//! permissions, answer questions — reaches an [`Approver`] as an [`ApprovalRequest`], and comes
//! back as a [`Verdict`]: the answer, shaped for the request's kind, and who decided
//! ([`DecidedBy`](delegate_protocol::DecidedBy)).
//!
//! Policies fail closed: on doubt, timeout, cancellation or a bad rules file, nothing is
//! approved. [`ApprovalRequest::refusal`] builds the fail-closed answer for any kind.
//!
//! What this crate is not: it does not route requests or talk to sub-agents (that is
//! `delegate-core`), and it starts no processes.
//!
//! Features: `test-util` exposes `MockApprover` (mockall) for downstream unit tests.
//!
//! # The pieces
//!
//! - [`AllowAll`], [`DenyAll`], [`Ask`]: the simplest approvers.
//! - [`Rules`]: a TOML rules file (below), a [`Policy`]. [`PolicyApprover`] applies any policy:
//!   `allow` grants, `deny` refuses, `ask` (or no opinion) goes to an inner approver — a person.
//! - [`Chain`] (first policy with an opinion wins) and [`stricter`] (a child's policy is the
//!   stricter of its own and its parent's, never looser).
//! - [`Session`] + [`SessionCache`]: `approved_for_session` remembered under a [`SessionKey`].
//! - [`Timeout`]: a deadline per request kind ([`DEFAULT_DEADLINE`], five minutes, for people);
//!   the outcome is `timed_out`, decided by the timeout — never a person's denial.
//! - [`Audited`] + [`AuditLog`]: every decision appended as one durable JSON line.
//! - [`check`] and [`explain`]: what `delegate policy check` and `delegate policy explain`
//!   print.
//!
//! The recommended stack, outermost first: audit → rules → session cache → timeout → person.
//! Rules come before the cache so that a `deny` rule is always checked; the cache only saves
//! asking a person again; the deadline only applies to people; the audit sees every outcome.
//!
//! ```
//! use std::sync::Arc;
//! use delegate_approval::{
//!     ApprovalRequest, Approver, Ask, Deadlines, PolicyApprover, Request, Rules, Session,
//!     SessionCache, Timeout,
//! };
//! use delegate_protocol::{DecidedBy, Decision, ExecApprovalRequestEvent, Extra};
//!
//! let rules = Rules::from_toml(r#"
//!     default = "ask"
//!
//!     [[exec]]
//!     id = "git-read"
//!     prefix = "git status"
//!     decision = "allow"
//!
//!     [[exec]]
//!     id = "no-push"
//!     glob = "git push **"
//!     decision = "deny"
//! "#)?
//! .with_root("/repo");
//!
//! // The person: here, someone who always says no.
//! let person = Ask::new(|request: ApprovalRequest| async move {
//!     request.refusal(Decision::Denied, DecidedBy::User)
//! });
//! let approver = PolicyApprover::new(
//!     Arc::new(rules),
//!     Arc::new(Session::new(Timeout::new(person, Deadlines::default()), Arc::new(SessionCache::new()))),
//! );
//!
//! let exec = |argv: &[&str]| ApprovalRequest::new(
//!     Request::Exec(ExecApprovalRequestEvent {
//!         call_id: "c1".into(),
//!         approval_id: None,
//!         turn_id: "t1".into(),
//!         command: argv.iter().map(|s| s.to_string()).collect(),
//!         cwd: "/repo".into(),
//!         reason: None,
//!         extra: Extra::new(),
//!     }),
//!     vec!["root".into()],
//!     "t1",
//! );
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let allowed = approver.decide(&exec(&["bash", "-lc", "git status"])).await;
//! assert_eq!(allowed.decided_by, DecidedBy::Rule("git-read".into()));
//! let sneaky = approver.decide(&exec(&["bash", "-lc", "git status; rm -rf ~"])).await;
//! assert!(!sneaky.approves());
//! let push = approver.decide(&exec(&["git", "push", "origin", "main"])).await;
//! assert_eq!(push.decided_by, DecidedBy::Rule("no-push".into()));
//! # });
//! # Ok::<(), delegate_approval::Error>(())
//! ```
//!
//! # The rules file
//!
//! ```toml
//! # What happens when no rule matches: "allow", "ask" or "deny". Optional; without it (and
//! # without a per-kind default) an unmatched request has no opinion from this file and a
//! # person is asked.
//! default = "ask"
//!
//! [defaults]            # optional, per kind; overrides `default`
//! exec = "ask"
//! patch = "ask"
//! permissions = "deny"
//! user_input = "ask"
//!
//! [timeouts]            # optional, seconds a person gets (1 ..= 86400); default 300
//! default = 300
//! user_input = 900
//!
//! [[exec]]
//! id = "git-read"                  # optional; letters, digits, - _ . ; unique
//! description = "read-only git"    # optional; shown by check and explain
//! prefix = ["git", "status"]       # argv starts with these words (a string is split on blanks)
//! decision = "allow"
//!
//! [[exec]]
//! id = "tests"
//! glob = "cargo test **"           # one glob per word; a word `**` is any number of words
//! cwd = "/home/me/src"             # the command runs in this directory or below
//! decision = "allow"
//!
//! [[exec]]
//! id = "no-push"
//! glob = ["git", "push", "**"]
//! decision = "deny"
//!
//! [[patch]]
//! id = "sources"
//! paths = ["src/**", "tests/**/*.rs"]  # relative to the working root; `/…` is absolute
//! change = ["add", "update"]           # optional: add, delete, update
//! decision = "allow"
//!
//! [[patch]]
//! paths = [".git/**", "**/.env"]
//! decision = "deny"
//!
//! [[permissions]]
//! network = true                   # matches a request for network access
//! decision = "deny"
//!
//! [[permissions]]
//! read = ["/usr/share/**"]         # every path asked must match one glob
//! write = ["target/**"]
//! decision = "allow"
//!
//! [[user_input]]
//! question_id = "confirm_*"        # glob on the question id
//! header = "Continue?"             # glob on the header
//! answers = ["yes"]                # canned answer; only with allow
//! decision = "allow"
//! ```
//!
//! Every key is checked: an unknown key, an unknown decision or change type, a bad glob, a rule
//! with no matcher, an empty list, a relative `cwd`, `network = false`, `answers` on a rule that
//! does not allow, a duplicate id — each is an [`Error::InvalidRules`] naming the line, and
//! nothing of the file is used. An invalid file never degrades to allow.
//!
//! ## How a request is matched
//!
//! Within one rule all matchers must hold. Among the rules that match, **deny beats ask beats
//! allow**, in any order; on a tie the first in the file decides. A request is split into items
//! and gets the strictest item's ruling; when no rule matches an item, the default applies. A
//! rule is named in `decided_by` by its id, or as `line N`.
//!
//! **exec.** The argv is normalised first:
//! - `argv[0]` in a system directory ([`SYSTEM_BIN_DIRS`]: `/bin`, `/usr/bin`, `/usr/local/bin`,
//!   and the `sbin`s) is matched by its bare name: `/usr/bin/git` is `git`. Any other path is
//!   kept whole, so `/tmp/evil/git`, `./git` or `/usr/bin/../../tmp/git` never match an `allow`
//!   for `git`. `deny` and `ask` rules also match by basename, so a `deny` for `git` holds for
//!   `/usr/lib/git-core/git` as well. Rules' program names are normalised the same way.
//! - Shell wrappers (`bash`, `sh`, `zsh`, `dash`, `ksh`, … with `-c`, `-lc`, `-cl` or `-l -c`,
//!   the script last) are looked through, also nested (up to [`MAX_WRAPPER_DEPTH`]). The script
//!   is split by a small, conservative tokenizer into commands joined by `;`, newline, `&&`,
//!   `||` and `|`; **every** command must be allowed for the script to be. Anything it cannot
//!   parse with certainty — `$`, `$(…)`, backticks, redirections other than `2>&1`-style and
//!   `/dev/null`, heredocs, unquoted `* ? [`, braces, parentheses, `~`, a leading `=` (zsh),
//!   comments, `!`, `&`,
//!   keywords such as `if`/`for`/`time`, `FOO=1 cmd` assignments, unbalanced quotes, control or
//!   invisible formatting characters — makes the request at most `ask` (a `deny` among the
//!   commands before the doubt still applies). A shell with an option form we do not look
//!   through (`bash -xc …`) is uncertain too.
//! - When no rule names it, a program that runs other code ([`INDIRECT_PROGRAMS`]: shells,
//!   `sudo`, `env`, `eval`, `exec`, `xargs`, `nohup`, `timeout`, …, recognised by name wherever
//!   it lives) cannot be allowed by the default: at most `ask`. A shell outside the system
//!   directories (`/opt/homebrew/bin/bash -lc …`) is not looked through, and is uncertain.
//! - `cd DIR` with one literal directory needs no rule: the commands joined to it by `&&` are
//!   matched in the new directory; after any other separator the directory is unknown, and a
//!   rule with `cwd` can no longer allow (but still denies).
//! - `prefix` compares whole words; `glob` matches every word (`*`, `?`, `[…]` within a word,
//!   never across `/` and never matching `.` or `..`). `cwd` holds when the directory is that
//!   path or below, both as written (normalised) and with symlinks resolved. A `deny` is only
//!   as wide as its matcher: `prefix = "git push"` misses `git -C dir push`, `glob = "git **
//!   push **"` does not.
//! - A `deny` (or `ask`) also holds for the command a doubt is in when the words before the
//!   doubt already match it whatever follows: `rm -rf $HOME` is denied by `prefix = "rm"`.
//!
//! **patch.** Each changed path (and a move's target, and `grant_root`) is an item. Paths are
//! resolved against the working root ([`Rules::with_root`]; the agent's cwd) and normalised
//! lexically — `src/../.git/config` is `.git/config` and does not match `src/**`. An `allow`
//! needs the path inside the root both lexically and with symlinks resolved (the longest
//! existing prefix is canonicalised; a dangling symlink or `..` past a missing directory is
//! uncertain), and the rule's globs must match both forms. A path outside the root, or any path
//! when no root is set, can at most be asked about. A `grant_root` (write access under it for
//! the session) is only allowed by a rule without `change`.
//!
//! **permissions.** Network access, each read path and each write path are items; `network =
//! true` rules match the first, `read`/`write` globs the paths (both forms, as for patches;
//! absolute globs may name places outside the root).
//!
//! **user_input.** Each question is an item. `allow` needs `answers` (the canned answer for a
//! matching question; when the question offers options, every answer must be one of their
//! labels): `allow` without answers, or a default of `allow`, means *ask* — only a person can
//! answer a question nobody wrote an answer for.
//!
//! # The session cache key
//!
//! [`SessionKey`] is canonical JSON text (keys sorted), one of:
//!
//! ```json
//! {"agent":["root"],"commands":[["git","status"],"&&",["cargo","test"]],"cwd":["/repo","/repo"],"kind":"exec"}
//! {"agent":["root"],"argv":["bash","-lc","echo $HOME"],"cwd":["/repo","/repo"],"kind":"exec"}
//! {"agent":["root"],"changes":[["update",["/repo/src/a.rs","/repo/src/a.rs"],null]],"grant_root":null,"kind":"patch"}
//! {"agent":["root"],"kind":"permissions","network":true,"read":[],"write":[["/repo/target","/repo/target"]]}
//! ```
//!
//! Paths are `[lexical, canonical]` (canonical `null` when it cannot be resolved). `commands`
//! holds the normalised argv of each command with the separators between them (`bash -lc 'git
//! status'` and `/usr/bin/git status` share a key with `git status`); a script that does not
//! parse with certainty is keyed by its exact `argv`. The asking agent's path is part of every
//! key. So a cached approval never widens to a different command, directory, agent, path set,
//! change type or grant.

mod approver;
mod audit;
mod error;
mod explain;
mod glob;
mod matching;
mod paths;
mod policy;
mod request;
mod rules;
mod session;
mod shell;
mod timeout;
mod words;

pub use approver::AllowAll;
pub use approver::Approver;
pub use approver::Ask;
pub use approver::DenyAll;
#[cfg(any(test, feature = "test-util"))]
pub use approver::MockApprover;
pub use audit::AuditLog;
pub use audit::AuditRecord;
pub use audit::Audited;
pub use audit::rfc3339_utc;
pub use error::Error;
pub use explain::CheckReport;
pub use explain::Explanation;
pub use explain::Query;
pub use explain::check;
pub use explain::check_file;
pub use explain::explain;
pub use glob::MAX_GLOB_LEN;
pub use policy::Action;
pub use policy::Chain;
pub use policy::Fixed;
pub use policy::Policy;
pub use policy::PolicyApprover;
pub use policy::Ruling;
pub use policy::Source;
pub use policy::Stricter;
pub use policy::stricter;
pub use request::Answer;
pub use request::ApprovalRequest;
pub use request::Request;
pub use request::Verdict;
pub use request::display_safe;
pub use request::shell_join;
pub use rules::ChangeKind;
pub use rules::MAX_RULES_FILE_LEN;
pub use rules::MAX_TIMEOUT_SECS;
pub use rules::RuleInfo;
pub use rules::Rules;
pub use session::MAX_SESSION_APPROVALS;
pub use session::Session;
pub use session::SessionCache;
pub use session::SessionKey;
pub use shell::INDIRECT_PROGRAMS;
pub use shell::MAX_WRAPPER_DEPTH;
pub use shell::POSIX_SHELLS;
pub use shell::SYSTEM_BIN_DIRS;
pub use timeout::DEFAULT_DEADLINE;
pub use timeout::Deadlines;
pub use timeout::Timeout;
pub use words::split_shell_words;
