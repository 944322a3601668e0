//! The TOML rules file: its raw shape, validation with line numbers, and the compiled [`Rules`].
//!
//! The format is documented in the crate docs (`lib.rs`); matching lives in `matching.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use delegate_protocol::ApprovalKind;
use serde::Deserialize;
use serde::de;
use toml::Spanned;

use crate::Action;
use crate::Deadlines;
use crate::Error;
use crate::glob::Glob;
use crate::glob::GlobMode;
use crate::shell;

/// Longest timeout a rules file may set (one day): beyond that a sub-agent is simply stuck.
pub const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// Largest rules file read, in bytes; a policy is written by people and a bound keeps a wrong
/// path (a log, a binary) from being slurped.
pub const MAX_RULES_FILE_LEN: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Raw shape, as deserialised.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default: Option<Action>,
    defaults: Option<RawDefaults>,
    timeouts: Option<RawTimeouts>,
    #[serde(default)]
    exec: Vec<Spanned<RawExec>>,
    #[serde(default)]
    patch: Vec<Spanned<RawPatch>>,
    #[serde(default)]
    permissions: Vec<Spanned<RawPermissions>>,
    #[serde(default)]
    user_input: Vec<Spanned<RawUserInput>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    exec: Option<Action>,
    patch: Option<Action>,
    permissions: Option<Action>,
    user_input: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    default: Option<Spanned<u64>>,
    exec: Option<Spanned<u64>>,
    patch: Option<Spanned<u64>>,
    permissions: Option<Spanned<u64>>,
    user_input: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExec {
    id: Option<Spanned<String>>,
    description: Option<String>,
    decision: Action,
    prefix: Option<Spanned<Strings>>,
    glob: Option<Spanned<Strings>>,
    cwd: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatch {
    id: Option<Spanned<String>>,
    description: Option<String>,
    decision: Action,
    paths: Option<Spanned<Strings>>,
    change: Option<Spanned<Strings>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPermissions {
    id: Option<Spanned<String>>,
    description: Option<String>,
    decision: Action,
    network: Option<Spanned<bool>>,
    read: Option<Spanned<Strings>>,
    write: Option<Spanned<Strings>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUserInput {
    id: Option<Spanned<String>>,
    description: Option<String>,
    decision: Action,
    question_id: Option<Spanned<String>>,
    header: Option<Spanned<String>>,
    answers: Option<Spanned<Vec<String>>>,
}

/// A string or an array of strings.
enum Strings {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings::One(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Strings::Many(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled rules.

/// What every rule has: where it is, what it is called, what it decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The kind of request the rule is about.
    pub kind: ApprovalKind,
    /// Its `id`, when it has one.
    pub id: Option<String>,
    /// The line of its `[[kind]]` header (1-based).
    pub line: usize,
    /// Its decision.
    pub decision: Action,
    /// Its `description`, when it has one.
    pub description: Option<String>,
    /// Its matchers, as one readable line (`prefix "git status", cwd /repo`).
    pub matcher: String,
}

impl RuleInfo {
    /// The [`crate::Source`] of a ruling by this rule.
    pub fn source(&self) -> crate::Source {
        crate::Source::Rule { id: self.id.clone(), line: self.line }
    }
}

impl fmt::Display for RuleInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {:<4} {:<11} {:<5}", self.line, self.kind.as_str(), self.decision)?;
        match &self.id {
            Some(id) => write!(f, " {id:<16}")?,
            None => write!(f, " {:<16}", "-")?,
        }
        write!(f, " {}", self.matcher)?;
        if let Some(d) = &self.description {
            write!(f, "  # {d}")?;
        }
        Ok(())
    }
}

/// One word pattern of an exec `glob`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WordPattern {
    /// `**`: any number of words.
    AnyWords,
    Word(Glob),
}

#[derive(Debug, Clone)]
pub(crate) struct ExecRule {
    pub info: RuleInfo,
    pub prefix: Option<Vec<String>>,
    pub glob: Option<Vec<WordPattern>>,
    pub cwd: Option<PathBuf>,
}

/// A patch change type, as rules name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// A new file.
    Add,
    /// A removed file.
    Delete,
    /// A changed (maybe moved) file.
    Update,
}

impl ChangeKind {
    /// `add`, `delete` or `update`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Delete => "delete",
            ChangeKind::Update => "update",
        }
    }

    pub(crate) fn of(change: &delegate_protocol::FileChange) -> Self {
        match change.kind_str() {
            "add" => ChangeKind::Add,
            "delete" => ChangeKind::Delete,
            // Update, and any future kind: treated as the most general change.
            _ => ChangeKind::Update,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PatchRule {
    pub info: RuleInfo,
    pub paths: Option<Vec<Glob>>,
    pub change: Option<Vec<ChangeKind>>,
}

#[derive(Debug, Clone)]
pub(crate) struct PermissionsRule {
    pub info: RuleInfo,
    pub network: bool,
    pub read: Option<Vec<Glob>>,
    pub write: Option<Vec<Glob>>,
}

#[derive(Debug, Clone)]
pub(crate) struct UserInputRule {
    pub info: RuleInfo,
    pub question_id: Option<Glob>,
    pub header: Option<Glob>,
    pub answers: Option<Vec<String>>,
}

/// A validated rules file. Cheap to clone behind an `Arc`; evaluate with
/// [`Policy::evaluate`](crate::Policy::evaluate) or [`Rules::rule`].
#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) file: Option<PathBuf>,
    pub(crate) default: Option<Action>,
    pub(crate) defaults: BTreeMap<ApprovalKind, Action>,
    pub(crate) deadlines: Deadlines,
    pub(crate) exec: Vec<ExecRule>,
    pub(crate) patch: Vec<PatchRule>,
    pub(crate) permissions: Vec<PermissionsRule>,
    pub(crate) user_input: Vec<UserInputRule>,
    pub(crate) root: Option<PathBuf>,
}

impl Rules {
    /// Parse and validate rules from TOML text. Any problem is an [`Error::InvalidRules`] naming
    /// the line; nothing of an invalid file is used.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        compile(text, None)
    }

    /// Read, parse and validate a rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let read_err = |source| Error::ReadRules { path: path.to_path_buf(), source };
        let metadata = std::fs::metadata(path).map_err(read_err)?;
        if metadata.len() > MAX_RULES_FILE_LEN {
            return Err(Error::InvalidRules {
                file: Some(path.to_path_buf()),
                line: 1,
                column: 1,
                message: format!(
                    "the file is {} bytes, more than the {MAX_RULES_FILE_LEN} a rules file may have; is this the right file?",
                    metadata.len()
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        compile(&text, Some(path))
    }

    /// These rules with a working root: relative patch and permission paths are resolved
    /// against it, and a patch may only be allowed inside it. Without a root, patches can at
    /// most be asked about.
    pub fn with_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(crate::paths::normalize(&root.into()));
        self
    }

    /// The working root, if set.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The file the rules came from, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The default for requests of `kind` no rule matches: the `[defaults]` entry, else the
    /// file-level `default`, else `None` (no opinion: a person is asked).
    pub fn default_for(&self, kind: ApprovalKind) -> Option<Action> {
        self.defaults.get(&kind).copied().or(self.default)
    }

    /// The deadlines the file sets (`[timeouts]`), the defaults otherwise.
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    /// Every rule, in file order per kind (exec, patch, permissions, user input).
    pub fn rules(&self) -> impl Iterator<Item = &RuleInfo> {
        self.exec
            .iter()
            .map(|r| &r.info)
            .chain(self.patch.iter().map(|r| &r.info))
            .chain(self.permissions.iter().map(|r| &r.info))
            .chain(self.user_input.iter().map(|r| &r.info))
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

struct Ctx<'a> {
    text: &'a str,
    file: Option<&'a Path>,
}

impl Ctx<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> Error {
        let (line, column) = line_column(self.text, span.start);
        Error::InvalidRules {
            file: self.file.map(Path::to_path_buf),
            line,
            column,
            message: message.into(),
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn compile(text: &str, file: Option<&Path>) -> Result<Rules, Error> {
    let ctx = Ctx { text, file };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        ctx.error(span, e.message().trim_end().to_string())
    })?;

    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut check_id = |id: &Option<Spanned<String>>| -> Result<Option<String>, Error> {
        let Some(id) = id else { return Ok(None) };
        let value = id.get_ref();
        if value.is_empty()
            || !value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ctx.error(
                id.span(),
                format!(
                    "rule id {value:?} must be non-empty and use only letters, digits, `-`, `_` and `.`"
                ),
            ));
        }
        let line = ctx.line(&id.span());
        if let Some(first) = ids.insert(value.clone(), line) {
            return Err(ctx.error(
                id.span(),
                format!(
                    "duplicate rule id {value:?} (first used on line {first}); ids must be unique"
                ),
            ));
        }
        Ok(Some(value.clone()))
    };

    let mut defaults = BTreeMap::new();
    if let Some(d) = raw.defaults {
        for (kind, action) in [
            (ApprovalKind::Exec, d.exec),
            (ApprovalKind::Patch, d.patch),
            (ApprovalKind::Permissions, d.permissions),
            (ApprovalKind::UserInput, d.user_input),
        ] {
            if let Some(action) = action {
                defaults.insert(kind, action);
            }
        }
    }

    let mut deadlines = Deadlines::default();
    if let Some(t) = raw.timeouts {
        let secs = |v: &Spanned<u64>| -> Result<Duration, Error> {
            let s = *v.get_ref();
            if s == 0 || s > MAX_TIMEOUT_SECS {
                return Err(ctx.error(
                    v.span(),
                    format!("a timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds, not {s}"),
                ));
            }
            Ok(Duration::from_secs(s))
        };
        if let Some(v) = &t.default {
            deadlines = Deadlines::uniform(secs(v)?);
        }
        for (kind, v) in [
            (ApprovalKind::Exec, &t.exec),
            (ApprovalKind::Patch, &t.patch),
            (ApprovalKind::Permissions, &t.permissions),
            (ApprovalKind::UserInput, &t.user_input),
        ] {
            if let Some(v) = v {
                deadlines = deadlines.with(kind, secs(v)?);
            }
        }
    }

    let mut exec = Vec::new();
    for rule in &raw.exec {
        let span = rule.span();
        let r = rule.get_ref();
        let id = check_id(&r.id)?;
        let mut matcher = Vec::new();
        let prefix = match &r.prefix {
            Some(p) => {
                let words = words(&ctx, p)?;
                if words.is_empty() {
                    return Err(ctx.error(p.span(), "`prefix` is empty; name at least the program"));
                }
                let words = normalize_rule_argv(&ctx, p.span(), words)?;
                matcher.push(format!("prefix {:?}", crate::shell_join(&words)));
                Some(words)
            }
            None => None,
        };
        let glob = match &r.glob {
            Some(g) => {
                let list = words(&ctx, g)?;
                if list.is_empty() {
                    return Err(ctx.error(g.span(), "`glob` is empty; name at least the program"));
                }
                let list = normalize_rule_argv(&ctx, g.span(), list)?;
                let mut patterns = Vec::new();
                for w in &list {
                    if w == "**" {
                        if patterns.last() != Some(&WordPattern::AnyWords) {
                            patterns.push(WordPattern::AnyWords);
                        }
                    } else {
                        let glob = Glob::new(w, GlobMode::Word)
                            .map_err(|e| ctx.error(g.span(), e.message))?;
                        patterns.push(WordPattern::Word(glob));
                    }
                }
                matcher.push(format!("glob {:?}", list.join(" ")));
                Some(patterns)
            }
            None => None,
        };
        let cwd = match &r.cwd {
            Some(c) => {
                let path = Path::new(c.get_ref());
                if !path.is_absolute() {
                    return Err(ctx.error(
                        c.span(),
                        format!("`cwd` must be an absolute path, not {:?}", c.get_ref()),
                    ));
                }
                let path = crate::paths::normalize(path);
                matcher.push(format!("cwd under {}", path.display()));
                Some(path)
            }
            None => None,
        };
        if matcher.is_empty() {
            return Err(ctx.error(
                span,
                "this exec rule has no matcher: give it `prefix`, `glob` or `cwd` (to decide every command, set `[defaults] exec`)",
            ));
        }
        exec.push(ExecRule {
            info: RuleInfo {
                kind: ApprovalKind::Exec,
                id,
                line: ctx.line(&span),
                decision: r.decision,
                description: r.description.clone(),
                matcher: matcher.join(", "),
            },
            prefix,
            glob,
            cwd,
        });
    }

    let mut patch = Vec::new();
    for rule in &raw.patch {
        let span = rule.span();
        let r = rule.get_ref();
        let id = check_id(&r.id)?;
        let mut matcher = Vec::new();
        let paths = match &r.paths {
            Some(p) => Some(path_globs(&ctx, p, "paths", &mut matcher)?),
            None => None,
        };
        let change = match &r.change {
            Some(c) => {
                let list = match c.get_ref() {
                    Strings::One(s) => vec![s.clone()],
                    Strings::Many(v) => v.clone(),
                };
                if list.is_empty() {
                    return Err(ctx
                        .error(c.span(), "`change` is empty; leave it out to match every change"));
                }
                let mut kinds = Vec::new();
                for s in &list {
                    kinds.push(match s.as_str() {
                        "add" => ChangeKind::Add,
                        "delete" => ChangeKind::Delete,
                        "update" => ChangeKind::Update,
                        other => {
                            return Err(ctx.error(
                                c.span(),
                                format!("unknown change type {other:?}: expected \"add\", \"delete\" or \"update\""),
                            ));
                        }
                    });
                }
                matcher.push(format!("change {}", list.join("|")));
                Some(kinds)
            }
            None => None,
        };
        if matcher.is_empty() {
            return Err(ctx.error(
                span,
                "this patch rule has no matcher: give it `paths` or `change` (to decide every patch, set `[defaults] patch`)",
            ));
        }
        patch.push(PatchRule {
            info: RuleInfo {
                kind: ApprovalKind::Patch,
                id,
                line: ctx.line(&span),
                decision: r.decision,
                description: r.description.clone(),
                matcher: matcher.join(", "),
            },
            paths,
            change,
        });
    }

    let mut permissions = Vec::new();
    for rule in &raw.permissions {
        let span = rule.span();
        let r = rule.get_ref();
        let id = check_id(&r.id)?;
        let mut matcher = Vec::new();
        let network = match &r.network {
            Some(n) if !*n.get_ref() => {
                return Err(ctx.error(
                    n.span(),
                    "`network = false` matches nothing; leave it out, or write `network = true` to match requests for network access",
                ));
            }
            Some(_) => {
                matcher.push("network".to_string());
                true
            }
            None => false,
        };
        let read = match &r.read {
            Some(p) => Some(path_globs(&ctx, p, "read", &mut matcher)?),
            None => None,
        };
        let write = match &r.write {
            Some(p) => Some(path_globs(&ctx, p, "write", &mut matcher)?),
            None => None,
        };
        if matcher.is_empty() {
            return Err(ctx.error(
                span,
                "this permissions rule has no matcher: give it `network = true`, `read` or `write`",
            ));
        }
        permissions.push(PermissionsRule {
            info: RuleInfo {
                kind: ApprovalKind::Permissions,
                id,
                line: ctx.line(&span),
                decision: r.decision,
                description: r.description.clone(),
                matcher: matcher.join(", "),
            },
            network,
            read,
            write,
        });
    }

    let mut user_input = Vec::new();
    for rule in &raw.user_input {
        let span = rule.span();
        let r = rule.get_ref();
        let id = check_id(&r.id)?;
        let mut matcher = Vec::new();
        let text_glob = |g: &Spanned<String>, name: &str, matcher: &mut Vec<String>| {
            let glob = Glob::new(g.get_ref(), GlobMode::Text)
                .map_err(|e| ctx.error(g.span(), e.message))?;
            matcher.push(format!("{name} {:?}", g.get_ref()));
            Ok::<_, Error>(glob)
        };
        let question_id = match &r.question_id {
            Some(g) => Some(text_glob(g, "question_id", &mut matcher)?),
            None => None,
        };
        let header = match &r.header {
            Some(g) => Some(text_glob(g, "header", &mut matcher)?),
            None => None,
        };
        if matcher.is_empty() {
            return Err(ctx.error(
                span,
                "this user_input rule has no matcher: give it `question_id` or `header`",
            ));
        }
        let answers = match &r.answers {
            Some(a) => {
                if r.decision != Action::Allow {
                    return Err(
                        ctx.error(a.span(), "`answers` only make sense with decision = \"allow\"")
                    );
                }
                if a.get_ref().is_empty() {
                    return Err(ctx.error(a.span(), "`answers` is empty; give at least one answer"));
                }
                matcher.push(format!("answers {:?}", a.get_ref()));
                Some(a.get_ref().clone())
            }
            None => None,
        };
        user_input.push(UserInputRule {
            info: RuleInfo {
                kind: ApprovalKind::UserInput,
                id,
                line: ctx.line(&span),
                decision: r.decision,
                description: r.description.clone(),
                matcher: matcher.join(", "),
            },
            question_id,
            header,
            answers,
        });
    }

    Ok(Rules {
        file: file.map(Path::to_path_buf),
        default: raw.default,
        defaults,
        deadlines,
        exec,
        patch,
        permissions,
        user_input,
        root: None,
    })
}

fn path_globs(
    ctx: &Ctx<'_>,
    value: &Spanned<Strings>,
    name: &str,
    matcher: &mut Vec<String>,
) -> Result<Vec<Glob>, Error> {
    let list = match value.get_ref() {
        Strings::One(s) => vec![s.clone()],
        Strings::Many(v) => v.clone(),
    };
    if list.is_empty() {
        return Err(ctx.error(value.span(), format!("`{name}` is empty; give at least one glob")));
    }
    let mut globs = Vec::new();
    for s in &list {
        globs.push(Glob::new(s, GlobMode::Path).map_err(|e| ctx.error(value.span(), e.message))?);
    }
    matcher.push(format!("{name} {}", list.join(" ")));
    Ok(globs)
}

/// The words of a `prefix` or `glob`: an array as is, a string split on blanks with `'…'` and
/// `"…"` grouping.
fn words(ctx: &Ctx<'_>, value: &Spanned<Strings>) -> Result<Vec<String>, Error> {
    match value.get_ref() {
        Strings::Many(v) => Ok(v.clone()),
        Strings::One(s) => split_words(s)
            .ok_or_else(|| ctx.error(value.span(), format!("unbalanced quote in {s:?}"))),
    }
}

/// Split on blanks; `'…'` and `"…"` group (no escapes). `None` on an unbalanced quote.
pub(crate) fn split_words(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                c => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        out.push(word);
    }
    Some(out)
}

/// Check the words of a `prefix`/`glob` and normalise the program as requests are.
fn normalize_rule_argv(
    ctx: &Ctx<'_>,
    span: Range<usize>,
    mut words: Vec<String>,
) -> Result<Vec<String>, Error> {
    if let Some(w) = words.iter().find(|w| w.chars().any(char::is_control)) {
        return Err(ctx.error(span.clone(), format!("the word {w:?} holds a control character")));
    }
    if words[0].is_empty() {
        return Err(ctx.error(span, "the program name is empty"));
    }
    words[0] = shell::normalize_program(&words[0]);
    if shell::POSIX_SHELLS.contains(&words[0].as_str())
        && words
            .get(1)
            .is_some_and(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('c'))
    {
        return Err(ctx.error(
            span,
            "rules match the commands inside shell wrappers: write `git status`, not `bash -lc 'git status'`",
        ));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a\nbc\nd";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 2));
        assert_eq!(line_column(text, 5), (3, 1));
        assert_eq!(line_column(text, 999), (3, 2));
    }

    #[test]
    fn split_words_groups_quotes() {
        assert_eq!(split_words("git  log '**'").unwrap(), vec!["git", "log", "**"]);
        assert_eq!(split_words("echo 'a b' \"c\"").unwrap(), vec!["echo", "a b", "c"]);
        assert_eq!(split_words("echo ''").unwrap(), vec!["echo", ""]);
        assert!(split_words("echo 'a").is_none());
    }
}
