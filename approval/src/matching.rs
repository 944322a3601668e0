//! Matching requests against [`Rules`]: every request is split into items (the commands of a
//! script, the paths of a patch, the permissions asked, the questions), each item is ruled by the
//! strictest rule that matches it (or the default), and the request gets the strictest item's
//! ruling. Doubt (a script that does not parse, a path outside the root, …) caps the result at
//! `ask`.

use std::path::Path;
use std::path::PathBuf;

use delegate_protocol::ApplyPatchApprovalRequestEvent;
use delegate_protocol::ApprovalKind;
use delegate_protocol::ExecApprovalRequestEvent;
use delegate_protocol::FileChange;
use delegate_protocol::RequestPermissionsEvent;
use delegate_protocol::RequestUserInputEvent;
use delegate_protocol::RequestUserInputResponse;
use delegate_protocol::UserInputAnswer;

use crate::Action;
use crate::ApprovalRequest;
use crate::Policy;
use crate::Request;
use crate::Ruling;
use crate::Source;
use crate::paths;
use crate::paths::PathForms;
use crate::rules::ChangeKind;
use crate::rules::ExecRule;
use crate::rules::PatchRule;
use crate::rules::RuleInfo;
use crate::rules::Rules;
use crate::rules::WordPattern;
use crate::shell;
use crate::shell::Parsed;
use crate::shell::Separator;

struct Item {
    what: String,
    action: Action,
    source: Source,
    note: Option<String>,
}

#[derive(Default)]
struct Tally {
    items: Vec<Item>,
    doubts: Vec<String>,
}

fn source_rank(source: &Source) -> u8 {
    match source {
        Source::Rule { .. } => 0,
        Source::Default => 1,
        Source::Policy(_) => 2,
        Source::Uncertain => 3,
        Source::Unmatched => 4,
    }
}

impl Tally {
    fn finish(mut self, rules: &Rules, kind: ApprovalKind) -> Ruling {
        if self.items.is_empty() {
            let (action, source) = rules.unmatched(kind);
            self.items.push(Item {
                what: "the request as a whole (nothing in it to match)".into(),
                action,
                source,
                note: None,
            });
        }
        let action = self.items.iter().map(|i| i.action).fold(Action::Allow, Action::max);
        let mut source = self
            .items
            .iter()
            .filter(|i| i.action == action)
            .min_by_key(|i| source_rank(&i.source))
            .map_or(Source::Unmatched, |i| i.source.clone());
        let mut action = action;
        // Doubt caps an allow at ask; an ask that no `ask` rule asked for is then the doubt's.
        let ask_rule = matches!(source, Source::Rule { .. }) && action == Action::Ask;
        if !self.doubts.is_empty()
            && (action == Action::Allow || (action == Action::Ask && !ask_rule))
        {
            action = Action::Ask;
            source = Source::Uncertain;
        }
        let mut reasons: Vec<String> = self
            .items
            .iter()
            .map(|i| {
                let mut line = format!("{}: {} by {}", i.what, i.action.as_str(), i.source);
                if let Some(note) = &i.note {
                    line.push_str("; ");
                    line.push_str(note);
                }
                line
            })
            .collect();
        reasons.extend(self.doubts.iter().map(|d| format!("uncertain: {d}")));
        Ruling { action, source, reasons, answers: None }
    }
}

/// The first matching rule with the strictest decision. `allow` rules are matched strictly
/// (every form of every path must match), `ask`/`deny` rules loosely (any form).
fn strictest<R>(
    rules: &[R],
    info: impl Fn(&R) -> &RuleInfo,
    matches: impl Fn(&R, bool) -> bool,
) -> Option<&R> {
    let mut best: Option<&R> = None;
    for rule in rules {
        let decision = info(rule).decision;
        if best.is_some_and(|b| info(b).decision >= decision) {
            continue;
        }
        if matches(rule, decision == Action::Allow) {
            best = Some(rule);
        }
    }
    best
}

/// Whether word patterns match argv entirely; `**` spans any number of words.
fn words_match(patterns: &[WordPattern], argv: &[String]) -> bool {
    let n = argv.len();
    let mut next = vec![false; n + 1];
    next[n] = true;
    for pattern in patterns.iter().rev() {
        let mut cur = vec![false; n + 1];
        match pattern {
            WordPattern::AnyWords => {
                for j in (0..=n).rev() {
                    cur[j] = next[j] || (j < n && cur[j + 1]);
                }
            }
            WordPattern::Word(glob) => {
                for j in 0..n {
                    cur[j] = next[j + 1] && glob.matches(&argv[j]);
                }
            }
        }
        next = cur;
    }
    next[0]
}

/// The directory a command runs in, as far as we know.
#[derive(Clone)]
enum Cwd {
    Known { raw: PathBuf, forms: PathForms },
    Unknown,
}

impl Cwd {
    fn known(raw: PathBuf) -> Self {
        let forms = PathForms::resolve(&raw, None);
        Cwd::Known { raw, forms }
    }

    fn display(&self) -> String {
        match self {
            Cwd::Known { forms, raw } => {
                forms.lexical.clone().unwrap_or_else(|| raw.display().to_string())
            }
            Cwd::Unknown => "an unknown directory".into(),
        }
    }
}

/// Whether an exec rule matches. `deny`/`ask` rules (not `strict`) also match the command with
/// its program reduced to its basename, so a deny for `git` holds for `/opt/x/git` too; an
/// `allow` needs the exact normalised program.
fn exec_rule_matches(rule: &ExecRule, argv: &[String], cwd: &Cwd, strict: bool) -> bool {
    exec_rule_matches_exactly(rule, argv, cwd, strict)
        || (!strict
            && with_basename(argv)
                .is_some_and(|a| exec_rule_matches_exactly(rule, &a, cwd, strict)))
}

/// `argv` with its program reduced to its basename, when that differs.
fn with_basename(argv: &[String]) -> Option<Vec<String>> {
    let program = argv.first()?;
    let base = shell::program_basename(program);
    if base == program || base.is_empty() {
        return None;
    }
    let mut out = argv.to_vec();
    out[0] = base.to_string();
    Some(out)
}

fn exec_rule_matches_exactly(rule: &ExecRule, argv: &[String], cwd: &Cwd, strict: bool) -> bool {
    if let Some(prefix) = &rule.prefix
        && !(argv.len() >= prefix.len() && argv.iter().zip(prefix).all(|(a, p)| a == p))
    {
        return false;
    }
    if let Some(patterns) = &rule.glob
        && !words_match(patterns, argv)
    {
        return false;
    }
    if let Some(base) = &rule.cwd {
        return match cwd {
            Cwd::Known { forms, .. } => paths::dir_under(forms, base, strict),
            // A command whose directory we cannot tell may be anywhere: deny and ask rules
            // hold, allow rules do not.
            Cwd::Unknown => !strict,
        };
    }
    true
}

/// Whether `rule` matches every command that starts with `words`, whatever follows: its prefix
/// is among them, its glob ends in `**` and matches them. Used for `deny`/`ask` only.
fn matches_every_extension(rule: &ExecRule, words: &[String], cwd: &Cwd) -> bool {
    matches_every_extension_exactly(rule, words, cwd)
        || with_basename(words).is_some_and(|w| matches_every_extension_exactly(rule, &w, cwd))
}

fn matches_every_extension_exactly(rule: &ExecRule, words: &[String], cwd: &Cwd) -> bool {
    if let Some(prefix) = &rule.prefix
        && !(words.len() >= prefix.len() && words.iter().zip(prefix).all(|(a, p)| a == p))
    {
        return false;
    }
    if let Some(patterns) = &rule.glob
        && !(patterns.last() == Some(&WordPattern::AnyWords) && words_match(patterns, words))
    {
        return false;
    }
    if let Some(base) = &rule.cwd {
        return match cwd {
            Cwd::Known { forms, .. } => paths::dir_under(forms, base, false),
            Cwd::Unknown => true,
        };
    }
    true
}

/// `cd DIR` with one literal directory: the only form whose effect we can follow.
fn simple_cd(argv: &[String]) -> Option<&str> {
    match argv {
        [cd, dir] if cd == "cd" && !dir.is_empty() && dir != "-" && !dir.starts_with('-') => {
            Some(dir)
        }
        _ => None,
    }
}

impl Rules {
    /// What no rule matching means for `kind`: the default, or no opinion.
    /// The item a matching rule decides, or the file's default for `kind` when none matched.
    fn item(&self, what: String, rule: Option<&RuleInfo>, kind: ApprovalKind) -> Item {
        let (action, source) = match rule {
            Some(info) => (info.decision, info.source()),
            None => self.unmatched(kind),
        };
        Item { what, action, source, note: None }
    }

    pub(crate) fn unmatched(&self, kind: ApprovalKind) -> (Action, Source) {
        match self.default_for(kind) {
            Some(action) => (action, Source::Default),
            None => (Action::Ask, Source::Unmatched),
        }
    }

    /// The ruling on `request`, always: when no rule matched and the file sets no default, an
    /// `ask` whose source is [`Source::Unmatched`]. As a [`Policy`] the same ruling is returned,
    /// except that "unmatched" is no opinion (`None`).
    pub fn rule(&self, request: &ApprovalRequest) -> Ruling {
        match &request.request {
            Request::Exec(r) => self.rule_exec(r),
            Request::Patch(r) => self.rule_patch(r),
            Request::Permissions(r) => self.rule_permissions(r),
            Request::UserInput(r) => self.rule_user_input(r),
        }
    }

    fn rule_exec(&self, r: &ExecApprovalRequestEvent) -> Ruling {
        let parsed = shell::parse_argv(&r.command);
        let mut tally = Tally::default();
        let start = if r.cwd.is_absolute() {
            Some(r.cwd.clone())
        } else {
            self.root.as_ref().map(|root| root.join(&r.cwd))
        };
        let mut cwd = match start {
            Some(raw) => Cwd::known(raw),
            None => Cwd::Unknown,
        };
        let parts = parsed.parts();
        let mut cd_seen = false;
        for (i, part) in parts.iter().enumerate() {
            // After a `cd`, only commands joined to it by `&&` surely run in its directory.
            if cd_seen && part.after != Some(Separator::And) {
                cwd = Cwd::Unknown;
            }
            let what = if parts.len() == 1 {
                format!("`{part}` in {}", cwd.display())
            } else {
                format!("part {} of {}, `{part}` in {}", i + 1, parts.len(), cwd.display())
            };
            let rule = strictest(
                &self.exec,
                |r| &r.info,
                |rule, strict| exec_rule_matches(rule, &part.argv, &cwd, strict),
            );
            let item = match rule {
                Some(rule) => Item {
                    what,
                    action: rule.info.decision,
                    source: rule.info.source(),
                    note: None,
                },
                None if simple_cd(&part.argv).is_some() => Item {
                    what,
                    action: Action::Allow,
                    source: Source::Policy("cd".into()),
                    note: Some("`cd` only moves the commands after it, which are matched in the new directory".into()),
                },
                None => {
                    let (action, source) = self.unmatched(ApprovalKind::Exec);
                    let program = part.argv.first().map(String::as_str).unwrap_or("");
                    if action == Action::Allow && shell::is_indirect(program) {
                        tally.doubts.push(format!(
                            "`{program}` runs other commands or code, which the default cannot allow; name it in a rule to decide it"
                        ));
                        Item { what, action: Action::Ask, source: Source::Uncertain, note: None }
                    } else {
                        Item { what, action, source, note: None }
                    }
                }
            };
            tally.items.push(item);
            if part.argv.first().is_some_and(|p| p == "cd") {
                cd_seen = true;
                let in_pipeline = part.after == Some(Separator::Pipe)
                    || parts.get(i + 1).is_some_and(|n| n.after == Some(Separator::Pipe));
                cwd = match (simple_cd(&part.argv), &cwd) {
                    (Some(dir), _) if in_pipeline => {
                        let _ = dir;
                        Cwd::Unknown
                    }
                    (Some(dir), _) if Path::new(dir).is_absolute() => {
                        Cwd::known(PathBuf::from(dir))
                    }
                    (Some(dir), Cwd::Known { raw, .. }) => Cwd::known(raw.join(dir)),
                    _ => Cwd::Unknown,
                };
            }
        }
        if let Parsed::Uncertain { reason, partial, .. } = &parsed {
            if cd_seen {
                cwd = Cwd::Unknown;
            }
            // The command the doubt is in: a deny or ask rule that matches whatever follows its
            // certain words still applies (`rm -rf ~` is still `rm -rf`).
            if !partial.is_empty() {
                let rule = strictest(
                    &self.exec,
                    |r| &r.info,
                    |rule, strict| !strict && matches_every_extension(rule, partial, &cwd),
                );
                if let Some(rule) = rule {
                    tally.items.push(Item {
                        what: format!(
                            "`{} …` (up to the point of doubt) in {}",
                            crate::shell_join(partial),
                            cwd.display()
                        ),
                        action: rule.info.decision,
                        source: rule.info.source(),
                        note: None,
                    });
                }
            }
            tally.doubts.push(format!("{reason}; the command cannot be matched with certainty"));
            if tally.items.is_empty() {
                tally.items.push(Item {
                    what: format!("`{}`", crate::shell_join(&r.command)),
                    action: Action::Ask,
                    source: Source::Uncertain,
                    note: None,
                });
            }
        }
        tally.finish(self, ApprovalKind::Exec)
    }

    fn rule_patch(&self, r: &ApplyPatchApprovalRequestEvent) -> Ruling {
        let mut tally = Tally::default();
        let root = self.root.as_deref();
        if root.is_none() {
            tally.doubts.push("no working root is configured, so no patch can be allowed".into());
        }
        if r.changes.is_empty() && r.grant_root.is_none() {
            // Nothing to check is not nothing to fear: the agent did not say what it will write.
            tally.doubts.push("the patch names no changes, so what it writes is unknown".into());
        }
        let mut targets: Vec<(&Path, Option<ChangeKind>, String)> = Vec::new();
        for (path, change) in &r.changes {
            let kind = ChangeKind::of(change);
            targets.push((path, Some(kind), format!("{} {}", kind.as_str(), path.display())));
            if let FileChange::Update { move_path: Some(to), .. } = change {
                targets.push((
                    to,
                    Some(kind),
                    format!("move {} to {}", path.display(), to.display()),
                ));
            }
        }
        if let Some(g) = &r.grant_root {
            targets.push((g, None, format!("write access under {} for the session", g.display())));
        }
        for (path, kind, what) in targets {
            let forms = PathForms::resolve(path, root);
            let doubtful = forms.outside.is_some() || forms.unresolved.is_some();
            for problem in forms.outside.iter().chain(forms.unresolved.iter()) {
                tally.doubts.push(problem.clone());
            }
            let rule = strictest(
                &self.patch,
                |r| &r.info,
                |rule, strict| {
                    !(strict && doubtful) && patch_rule_matches(rule, &forms, kind, strict)
                },
            );
            let what = format!("{what} (as {})", forms.display());
            tally.items.push(self.item(what, rule.map(|rule| &rule.info), ApprovalKind::Patch));
        }
        tally.finish(self, ApprovalKind::Patch)
    }

    fn rule_permissions(&self, r: &RequestPermissionsEvent) -> Ruling {
        #[derive(Clone, Copy)]
        enum Asked {
            Network,
            Read,
            Write,
        }
        let mut tally = Tally::default();
        let root = self.root.as_deref();
        let mut asked: Vec<(Asked, Option<&Path>)> = Vec::new();
        if r.permissions.network.as_ref().is_some_and(|n| n.enabled == Some(true)) {
            asked.push((Asked::Network, None));
        }
        if let Some(fs) = &r.permissions.file_system {
            for p in fs.read.iter().flatten() {
                asked.push((Asked::Read, Some(p)));
            }
            for p in fs.write.iter().flatten() {
                asked.push((Asked::Write, Some(p)));
            }
        }
        for (what_kind, path) in asked {
            let forms = path.map(|p| PathForms::resolve(p, root));
            if let Some(problem) = forms.as_ref().and_then(|f| f.unresolved.clone()) {
                tally.doubts.push(problem);
            }
            let rule = strictest(
                &self.permissions,
                |r| &r.info,
                |rule, strict| {
                    let globs = match what_kind {
                        Asked::Network => return rule.network,
                        Asked::Read => &rule.read,
                        Asked::Write => &rule.write,
                    };
                    let Some(forms) = &forms else { return false };
                    globs.iter().flatten().any(|g| forms.matched_by(g, strict))
                },
            );
            let what = match (what_kind, path) {
                (Asked::Network, _) => "network access".to_string(),
                (Asked::Read, Some(p)) => format!("read {}", p.display()),
                (Asked::Write, Some(p)) => format!("write {}", p.display()),
                _ => "?".to_string(),
            };
            tally.items.push(self.item(
                what,
                rule.map(|rule| &rule.info),
                ApprovalKind::Permissions,
            ));
        }
        tally.finish(self, ApprovalKind::Permissions)
    }

    fn rule_user_input(&self, r: &RequestUserInputEvent) -> Ruling {
        let mut tally = Tally::default();
        let mut answers = RequestUserInputResponse::default();
        for q in &r.questions {
            let rule = strictest(
                &self.user_input,
                |r| &r.info,
                |rule, _strict| {
                    rule.question_id.as_ref().is_none_or(|g| g.matches(&q.id))
                        && rule
                            .header
                            .as_ref()
                            .is_none_or(|g| q.header.as_deref().is_some_and(|h| g.matches(h)))
                },
            );
            let what = format!("question {:?} ({})", q.id, q.question);
            let item = match rule {
                Some(rule) if rule.info.decision == Action::Allow => match &rule.answers {
                    None => Item {
                        what,
                        action: Action::Ask,
                        source: rule.info.source(),
                        note: Some(
                            "`allow` without `answers` means ask: only a person can answer".into(),
                        ),
                    },
                    Some(canned) => {
                        let labels_ok = q.options.as_ref().is_none_or(|options| {
                            canned.iter().all(|a| options.iter().any(|o| &o.label == a))
                        });
                        if labels_ok {
                            answers
                                .answers
                                .insert(q.id.clone(), UserInputAnswer { answers: canned.clone() });
                            Item {
                                what,
                                action: Action::Allow,
                                source: rule.info.source(),
                                note: Some(format!("answered {canned:?}")),
                            }
                        } else {
                            Item {
                                what,
                                action: Action::Ask,
                                source: rule.info.source(),
                                note: Some(
                                    "the canned answers are not among the question's options"
                                        .into(),
                                ),
                            }
                        }
                    }
                },
                Some(rule) => Item {
                    what,
                    action: rule.info.decision,
                    source: rule.info.source(),
                    note: None,
                },
                None => {
                    let (action, source) = self.unmatched(ApprovalKind::UserInput);
                    if action == Action::Allow {
                        Item {
                            what,
                            action: Action::Ask,
                            source,
                            note: Some(
                                "a default cannot answer questions; a person is asked".into(),
                            ),
                        }
                    } else {
                        Item { what, action, source, note: None }
                    }
                }
            };
            tally.items.push(item);
        }
        let mut ruling = tally.finish(self, ApprovalKind::UserInput);
        if ruling.action == Action::Allow {
            ruling.answers = Some(answers);
        }
        ruling
    }
}

fn patch_rule_matches(
    rule: &PatchRule,
    forms: &PathForms,
    kind: Option<ChangeKind>,
    strict: bool,
) -> bool {
    let path_ok =
        rule.paths.as_ref().is_none_or(|globs| globs.iter().any(|g| forms.matched_by(g, strict)));
    let change_ok = match (&rule.change, kind) {
        (None, _) => true,
        (Some(kinds), Some(kind)) => kinds.contains(&kind),
        // A grant root covers every kind of change: only a rule without a `change` list allows
        // it, while a `deny`/`ask` rule about any kind holds.
        (Some(_), None) => !strict,
    };
    path_ok && change_ok
}

impl Policy for Rules {
    fn evaluate(&self, request: &ApprovalRequest) -> Option<Ruling> {
        let ruling = self.rule(request);
        (ruling.source != Source::Unmatched).then_some(ruling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Glob;
    use crate::glob::GlobMode;

    fn pats(words: &[&str]) -> Vec<WordPattern> {
        words
            .iter()
            .map(|w| {
                if *w == "**" {
                    WordPattern::AnyWords
                } else {
                    WordPattern::Word(Glob::new(w, GlobMode::Word).unwrap())
                }
            })
            .collect()
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn word_patterns_match_whole_argv() {
        let table: &[(&[&str], &[&str], bool)] = &[
            (&["git", "log", "**"], &["git", "log"], true),
            (&["git", "log", "**"], &["git", "log", "-p", "x"], true),
            (&["git", "log"], &["git", "log", "-p"], false),
            (&["git", "*"], &["git", "push"], true),
            (&["git", "*"], &["git", "push", "origin"], false),
            (&["**", "--force", "**"], &["git", "push", "--force"], true),
            (&["**", "--force", "**"], &["git", "push", "-f"], false),
            (
                &["cargo", "test", "-p", "delegate-*"],
                &["cargo", "test", "-p", "delegate-core"],
                true,
            ),
        ];
        for (p, a, expected) in table {
            assert_eq!(words_match(&pats(p), &argv(a)), *expected, "{p:?} vs {a:?}");
        }
    }

    #[test]
    fn simple_cd_needs_one_literal_directory() {
        assert_eq!(simple_cd(&argv(&["cd", "src"])), Some("src"));
        assert_eq!(simple_cd(&argv(&["cd"])), None);
        assert_eq!(simple_cd(&argv(&["cd", "-"])), None);
        assert_eq!(simple_cd(&argv(&["cd", "-P", "x"])), None);
    }
}
