//! Normalising a command's argv for matching: executable paths, shell wrappers, and a small,
//! conservative shell-word tokenizer.
//!
//! The tokenizer understands exactly this much POSIX shell: words separated by blanks; single
//! quotes; double quotes with `\"`, `\\`, `` \` `` and `\$` escapes; backslash escapes outside
//! quotes; the separators `;`, newline, `&&`, `||` and `|`; and the redirections `2>&1`, `1>&2`,
//! `>&2` and `>/dev/null`, `2>/dev/null`, `</dev/null` (which only route output and are dropped).
//! Everything else it refuses, so that what it returns is exactly the argv the shell would run:
//! `$` (variables, `$(…)`, `$'…'`), backticks, other redirections and heredocs, unquoted glob
//! characters `* ? [`, braces, parentheses, `~` expansion, comments, `!`, a lone `&`, shell
//! keywords (`if`, `for`, `time`, …), environment assignments before a command (`FOO=1 git`),
//! unbalanced quotes, line continuations, and control or invisible formatting characters. A
//! script it refuses is [`Parsed::Uncertain`], which a policy may at most ask about.

use std::fmt;

/// How deep shell wrappers are looked through (`bash -lc "sh -c '…'"`); beyond, uncertain.
pub const MAX_WRAPPER_DEPTH: usize = 4;

/// Directories whose programs are the system's own: `/usr/bin/git` is matched as `git`. A
/// program anywhere else keeps its full path and never matches a bare-name rule.
pub const SYSTEM_BIN_DIRS: &[&str] =
    &["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];

/// Shells whose `-c SCRIPT` form is looked through.
pub const POSIX_SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash"];

/// Programs that run other programs or code given to them, hiding it from the matcher: shells,
/// privilege changes, and exec-style wrappers. When no rule names them explicitly, the file's
/// default cannot allow them; at most it asks.
pub const INDIRECT_PROGRAMS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox", "sudo",
    "doas", "su", "pkexec", "runuser", "env", "eval", "exec", "command", "builtin", "source", ".",
    "xargs", "nohup", "nice", "ionice", "timeout", "time", "stdbuf", "setsid", "chroot", "unshare",
    "nsenter", "watch", "strace", "ltrace", "flock", "parallel", "script",
];

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do",
    "done", "in", "function", "time", "coproc", "[[", "]]", "{", "}", "!",
];

/// How two commands of a script are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Separator {
    /// `;` or a newline.
    Then,
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// `|`.
    Pipe,
}

impl Separator {
    /// The separator as written in canonical form.
    pub fn as_str(self) -> &'static str {
        match self {
            Separator::Then => ";",
            Separator::And => "&&",
            Separator::Or => "||",
            Separator::Pipe => "|",
        }
    }
}

/// One simple command of a script: its normalised argv and the separator before it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    /// How this command is joined to the one before (`None` for the first).
    pub after: Option<Separator>,
    /// Program (normalised) and arguments.
    pub argv: Vec<String>,
}

/// What an exec request's argv amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Certain: these commands, joined so.
    Commands(Vec<Part>),
    /// Not certain. `before` holds the commands known for certain — those complete before the
    /// point of doubt, and, when the doubt is inside one command of a script that tokenized, the
    /// script's other commands (they may run, so a `deny` among them still applies) — and
    /// `partial` the words of the command the doubt is in that were complete before it (`rm -rf`
    /// of `rm -rf ~`): a `deny` rule that matches every command starting so still applies.
    Uncertain {
        /// Why.
        reason: String,
        /// Commands known for certain.
        before: Vec<Part>,
        /// Leading words of the command the doubt is in (program normalised); may be empty.
        partial: Vec<String>,
    },
}

impl Parsed {
    /// The commands known for certain.
    pub fn parts(&self) -> &[Part] {
        match self {
            Parsed::Commands(parts) => parts,
            Parsed::Uncertain { before, .. } => before,
        }
    }
}

/// `argv[0]` normalised: `/usr/bin/git` → `git` for the [`SYSTEM_BIN_DIRS`]; any other path is
/// kept as written, so `/tmp/evil/git` or `./git` never match a rule for `git`.
pub fn normalize_program(program: &str) -> String {
    if let Some((dir, name)) = program.rsplit_once('/')
        && !name.is_empty()
        && SYSTEM_BIN_DIRS.contains(&dir)
        && name != "."
        && name != ".."
    {
        return name.to_string();
    }
    program.to_string()
}

/// Whether `c` may not appear in a command we approve: control characters other than tab and
/// newline (newline is a separator inside scripts and refused in plain argv), and invisible
/// formatting characters that make a command read differently than it runs.
fn is_suspicious(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// If `argv` is a recognised shell wrapper (`bash -c S`, `bash -lc S`, `bash -cl S`,
/// `bash -l -c S`, with the shell's path normalised), the script `S`.
fn wrapper_script(argv: &[String]) -> Option<&str> {
    let shell = normalize_program(argv.first()?);
    if !POSIX_SHELLS.contains(&shell.as_str()) {
        return None;
    }
    match argv.iter().skip(1).map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["-c" | "-lc" | "-cl", script] | ["-l", "-c", script] | ["--login", "-c", script] => {
            Some(script)
        }
        _ => None,
    }
}

/// Every shell we know of, looked through or not.
const SHELLS: &[&str] =
    &["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox"];

/// The last path component of a program: what it is called wherever it lives. Used only to be
/// *more* careful (`/opt/homebrew/bin/bash` is still a shell), never to match an allow.
pub fn program_basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Whether `program` (by its basename) runs other commands or code: see [`INDIRECT_PROGRAMS`].
pub fn is_indirect(program: &str) -> bool {
    INDIRECT_PROGRAMS.contains(&program_basename(program))
}

/// Whether `argv` invokes a shell (by basename, wherever it lives) with a `-c`-like option in a
/// form we do not look through (`bash -xc …`, `bash -c S extra`, `sh -e -c …`,
/// `/opt/homebrew/bin/bash -lc …`).
fn unrecognised_shell_command(argv: &[String]) -> bool {
    let Some(first) = argv.first() else { return false };
    if !SHELLS.contains(&program_basename(first)) {
        return false;
    }
    argv.iter().skip(1).any(|a| {
        a == "--command"
            || a.starts_with("--init-command")
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
    })
}

/// Normalise an exec request's argv: executable path, shell wrappers looked through.
pub fn parse_argv(argv: &[String]) -> Parsed {
    parse_argv_at(argv, 0)
}

fn uncertain(reason: impl Into<String>, before: Vec<Part>) -> Parsed {
    Parsed::Uncertain { reason: reason.into(), before, partial: Vec::new() }
}

fn parse_argv_at(argv: &[String], depth: usize) -> Parsed {
    if argv.is_empty() || argv[0].is_empty() {
        return uncertain("the command is empty", Vec::new());
    }
    if let Some(word) = argv.iter().find(|w| w.chars().any(is_suspicious)) {
        return uncertain(
            format!("the argument {word:?} holds a control or invisible formatting character"),
            Vec::new(),
        );
    }
    if let Some(script) = wrapper_script(argv) {
        if depth >= MAX_WRAPPER_DEPTH {
            return uncertain("shell wrappers are nested too deeply", Vec::new());
        }
        // Newlines in the script are separators, which the tokenizer handles.
        return parse_script(script, depth + 1);
    }
    // Outside a script a newline is no separator, but it makes a command read as two lines.
    if let Some(word) = argv.iter().find(|w| w.contains('\n')) {
        return uncertain(format!("the argument {word:?} holds a newline"), Vec::new());
    }
    if unrecognised_shell_command(argv) {
        return uncertain(
            format!(
                "`{}` runs a shell script in a form that is not looked through (only `-c`, `-lc`, `-cl` and `-l -c` with the script last are)",
                crate::shell_join(argv)
            ),
            Vec::new(),
        );
    }
    let mut normalized = argv.to_vec();
    normalized[0] = normalize_program(&argv[0]);
    Parsed::Commands(vec![Part { after: None, argv: normalized }])
}

/// Tokenize and normalise a shell script; nested wrappers are looked through.
pub fn parse_script(script: &str, depth: usize) -> Parsed {
    let commands = match tokenize(script) {
        Ok(commands) => commands,
        Err(Doubt { reason, complete, mut partial }) => {
            let before = complete
                .into_iter()
                .map(|(after, argv)| {
                    let mut argv = argv;
                    if let Some(first) = argv.first_mut() {
                        *first = normalize_program(first);
                    }
                    Part { after, argv }
                })
                .collect();
            if let Some(first) = partial.first_mut() {
                *first = normalize_program(first);
            }
            return Parsed::Uncertain { reason, before, partial };
        }
    };
    let single = commands.len() == 1;
    let mut parts = Vec::new();
    let mut doubt: Option<String> = None;
    for (after, argv) in commands {
        match parse_argv_at(&argv, depth) {
            Parsed::Commands(inner) if inner.len() > 1 && !single => {
                // Its commands run in a shell of their own, joined among themselves: not parts
                // of ours. The outer commands around it are still certain.
                doubt.get_or_insert_with(|| {
                    "a compound script nested inside another compound script".to_string()
                });
            }
            Parsed::Commands(inner) => {
                for (i, mut part) in inner.into_iter().enumerate() {
                    if i == 0 {
                        part.after = after;
                    }
                    parts.push(part);
                }
            }
            Parsed::Uncertain { reason, before, partial } => {
                if single {
                    return Parsed::Uncertain { reason, before, partial };
                }
                // A doubt inside one command of ours (a nested wrapper we cannot look through):
                // the others are still certain, and may run.
                doubt.get_or_insert(reason);
            }
        }
    }
    match doubt {
        Some(reason) => Parsed::Uncertain { reason, before: parts, partial: Vec::new() },
        None => Parsed::Commands(parts),
    }
}

/// A command as tokenized: the separator before it and its words.
type RawCommand = (Option<Separator>, Vec<String>);

struct Doubt {
    reason: String,
    complete: Vec<RawCommand>,
    /// The complete words of the command the doubt is in.
    partial: Vec<String>,
}

struct Tokenizer {
    chars: Vec<char>,
    pos: usize,
    word: String,
    /// Whether the current word has started (an empty quoted word `''` counts).
    in_word: bool,
    /// Raw text of the current word, to spot assignments (`NAME=…` unquoted).
    raw_unquoted_prefix: String,
    quoted_seen: bool,
    argv: Vec<String>,
    first_word_assignment: bool,
    sep_before: Option<Separator>,
    complete: Vec<RawCommand>,
}

fn is_name_assignment(raw: &str) -> bool {
    let Some((name, _)) = raw.split_once('=') else { return false };
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl Tokenizer {
    fn doubt(&mut self, reason: impl Into<String>) -> Doubt {
        Doubt {
            reason: reason.into(),
            complete: std::mem::take(&mut self.complete),
            partial: std::mem::take(&mut self.argv),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn end_word(&mut self) {
        if self.in_word {
            if self.argv.is_empty() {
                self.first_word_assignment = is_name_assignment(&self.raw_unquoted_prefix);
            }
            self.argv.push(std::mem::take(&mut self.word));
            self.raw_unquoted_prefix.clear();
            self.quoted_seen = false;
            self.in_word = false;
        }
    }

    /// Take `c` literally (quoted or escaped) and move past `len` characters, unless it is a
    /// control or invisible formatting character, which makes the script uncertain.
    fn push_quoted(&mut self, c: char, len: usize) -> Result<(), Doubt> {
        if is_suspicious(c) {
            return Err(self.doubt(format!("the control or invisible formatting character {c:?}")));
        }
        self.push_char(c, true);
        self.pos += len;
        Ok(())
    }

    fn push_char(&mut self, c: char, quoted: bool) {
        self.in_word = true;
        self.word.push(c);
        if quoted {
            self.quoted_seen = true;
        } else if !self.quoted_seen {
            self.raw_unquoted_prefix.push(c);
        }
    }

    fn end_command(&mut self, sep: Option<Separator>) -> Result<(), Doubt> {
        self.end_word();
        if self.argv.is_empty() {
            return Err(self.doubt(match sep {
                Some(s) => format!("`{}` with no command before it", s.as_str()),
                None => "an empty command".to_string(),
            }));
        }
        if self.first_word_assignment {
            return Err(self.doubt(format!(
                "`{}` sets an environment variable before the command",
                self.argv[0]
            )));
        }
        if KEYWORDS.contains(&self.argv[0].as_str()) {
            return Err(self.doubt(format!("the shell keyword `{}`", self.argv[0])));
        }
        let argv = std::mem::take(&mut self.argv);
        self.complete.push((self.sep_before, argv));
        self.sep_before = sep;
        self.first_word_assignment = false;
        Ok(())
    }

    /// At an unquoted `<` or `>`: accept the forms that only route output (`>&1`, `>&2` after
    /// no fd, `1` or `2`; `>`, `>>` or `<` to `/dev/null`), refuse every other.
    fn redirection(&mut self) -> Result<(), Doubt> {
        let fd_word = self.in_word && !self.quoted_seen && (self.word == "1" || self.word == "2");
        if self.in_word && !fd_word {
            // `word>x`: the word ends here and the redirection is the command's.
            self.end_word();
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut consumed = 0;
        if rest.starts_with(">&1") || rest.starts_with(">&2") {
            consumed = 3;
        } else {
            let op_len = if rest.starts_with(">>") { 2 } else { 1 };
            let after = &rest[op_len..];
            let trimmed = after.trim_start_matches([' ', '\t']);
            if let Some(tail) = trimmed.strip_prefix("/dev/null")
                && tail.chars().next().is_none_or(|n| " \t\n;&|".contains(n))
            {
                consumed = op_len + (after.len() - trimmed.len()) + "/dev/null".len();
            }
        }
        if consumed == 0 {
            return Err(self.doubt("a redirection to or from a file"));
        }
        if fd_word {
            self.word.clear();
            self.raw_unquoted_prefix.clear();
            self.in_word = false;
        }
        // Every consumed character is ASCII, so bytes and chars agree.
        self.pos += consumed;
        match self.peek(0) {
            None | Some(' ' | '\t' | '\n' | ';' | '&' | '|') => Ok(()),
            Some(_) => Err(self.doubt("a redirection to or from a file")),
        }
    }

    fn run(mut self) -> Result<Vec<RawCommand>, Doubt> {
        while let Some(c) = self.peek(0) {
            if is_suspicious(c) {
                return Err(
                    self.doubt(format!("the control or invisible formatting character {c:?}"))
                );
            }
            match c {
                ' ' | '\t' => {
                    self.end_word();
                    self.pos += 1;
                }
                '\n' | ';' => {
                    if c == ';' && matches!(self.peek(1), Some(';' | '&')) {
                        return Err(self.doubt("`;;` or `;&` outside a case statement"));
                    }
                    self.pos += 1;
                    // A trailing separator (or newline) ends the script cleanly.
                    let rest_blank =
                        self.chars[self.pos..].iter().all(|c| matches!(c, ' ' | '\t' | '\n'));
                    self.end_word();
                    if self.argv.is_empty() && c == '\n' {
                        // Blank line between commands.
                        continue;
                    }
                    self.end_command(Some(Separator::Then))?;
                    if rest_blank {
                        self.pos = self.chars.len();
                        self.sep_before = None;
                        return Ok(std::mem::take(&mut self.complete));
                    }
                }
                '&' => {
                    if self.peek(1) == Some('&') {
                        self.pos += 2;
                        self.end_command(Some(Separator::And))?;
                    } else {
                        return Err(self.doubt("`&` (a background job or redirection)"));
                    }
                }
                '|' => match self.peek(1) {
                    Some('|') => {
                        self.pos += 2;
                        self.end_command(Some(Separator::Or))?;
                    }
                    Some('&') => return Err(self.doubt("`|&`")),
                    _ => {
                        self.pos += 1;
                        self.end_command(Some(Separator::Pipe))?;
                    }
                },
                '\'' => {
                    self.in_word = true;
                    self.quoted_seen = true;
                    self.pos += 1;
                    loop {
                        match self.peek(0) {
                            None => return Err(self.doubt("an unbalanced single quote")),
                            Some('\'') => {
                                self.pos += 1;
                                break;
                            }
                            Some(ch) => self.push_quoted(ch, 1)?,
                        }
                    }
                }
                '"' => {
                    self.in_word = true;
                    self.quoted_seen = true;
                    self.pos += 1;
                    loop {
                        match self.peek(0) {
                            None => return Err(self.doubt("an unbalanced double quote")),
                            Some('"') => {
                                self.pos += 1;
                                break;
                            }
                            Some('$') => {
                                return Err(self.doubt(
                                    "`$` inside double quotes (a variable or command substitution)",
                                ));
                            }
                            Some('`') => {
                                return Err(self.doubt("a command substitution in backticks"));
                            }
                            Some('\\') => match self.peek(1) {
                                Some(e @ ('"' | '\\' | '$' | '`')) => {
                                    self.push_char(e, true);
                                    self.pos += 2;
                                }
                                Some('\n') | None => {
                                    return Err(self.doubt("a line continuation"));
                                }
                                Some(_) => {
                                    self.push_char('\\', true);
                                    self.pos += 1;
                                }
                            },
                            Some(ch) => self.push_quoted(ch, 1)?,
                        }
                    }
                }
                '\\' => match self.peek(1) {
                    None => return Err(self.doubt("a trailing backslash")),
                    Some('\n') => return Err(self.doubt("a line continuation")),
                    Some(e) => self.push_quoted(e, 2)?,
                },
                '$' => {
                    return Err(self
                        .doubt("`$` (a variable, `$(…)` command substitution or `$'…'` string)"));
                }
                '`' => return Err(self.doubt("a command substitution in backticks")),
                '<' | '>' => self.redirection()?,
                '(' | ')' => return Err(self.doubt("a subshell or grouping parenthesis")),
                '{' | '}' => return Err(self.doubt("a brace expansion or command group")),
                '*' | '?' | '[' => {
                    return Err(self.doubt(format!("the unquoted glob character `{c}`")));
                }
                '!' => return Err(self.doubt("`!` (history expansion or negation)")),
                '#' if !self.in_word => return Err(self.doubt("a comment")),
                '=' if !self.in_word => {
                    return Err(self.doubt("a word starting with `=` (zsh expands it to a path)"));
                }
                '~' if !self.in_word || self.word.ends_with(['=', ':']) => {
                    return Err(self.doubt("`~` (home directory expansion)"));
                }
                c => {
                    self.push_char(c, false);
                    self.pos += 1;
                }
            }
        }
        self.end_word();
        if self.argv.is_empty() {
            return Err(self.doubt(match self.sep_before {
                Some(sep) if sep != Separator::Then => {
                    format!("the script ends with `{}`", sep.as_str())
                }
                _ => "an empty script".to_string(),
            }));
        }
        self.end_command(None)?;
        Ok(self.complete)
    }
}

fn tokenize(script: &str) -> Result<Vec<RawCommand>, Doubt> {
    Tokenizer {
        chars: script.chars().collect(),
        pos: 0,
        word: String::new(),
        in_word: false,
        raw_unquoted_prefix: String::new(),
        quoted_seen: false,
        argv: Vec::new(),
        first_word_assignment: false,
        sep_before: None,
        complete: Vec::new(),
    }
    .run()
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::shell_join(&self.argv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn script(s: &str) -> Parsed {
        parse_argv(&argv(&["bash", "-lc", s]))
    }

    fn certain(s: &str) -> Vec<Vec<String>> {
        match script(s) {
            Parsed::Commands(parts) => parts.into_iter().map(|p| p.argv).collect(),
            other => panic!("{s:?} should parse: {other:?}"),
        }
    }

    #[test]
    fn scripts_that_parse_with_certainty() {
        let table: &[(&str, &[&[&str]])] = &[
            ("git status", &[&["git", "status"]]),
            ("  git   status  ", &[&["git", "status"]]),
            ("git status;", &[&["git", "status"]]),
            ("git status\n", &[&["git", "status"]]),
            ("'git' \"status\"", &[&["git", "status"]]),
            ("g''it st\"\"atus", &[&["git", "status"]]),
            ("echo 'a b' \"c d\"", &[&["echo", "a b", "c d"]]),
            ("echo \"a\\\"b\"", &[&["echo", "a\"b"]]),
            ("echo a\\ b", &[&["echo", "a b"]]),
            ("echo ''", &[&["echo", ""]]),
            ("git status && cargo test", &[&["git", "status"], &["cargo", "test"]]),
            ("a; b || c | d", &[&["a"], &["b"], &["c"], &["d"]]),
            ("a\nb", &[&["a"], &["b"]]),
            ("/usr/bin/git status", &[&["git", "status"]]),
            ("cargo test 2>&1", &[&["cargo", "test"]]),
            ("cargo test 2>/dev/null", &[&["cargo", "test"]]),
            ("cargo test > /dev/null", &[&["cargo", "test"]]),
            ("git diff HEAD~1", &[&["git", "diff", "HEAD~1"]]),
            ("sh -c 'git status'", &[&["git", "status"]]),
            ("echo a=b", &[&["echo", "a=b"]]),
            ("echo '$HOME' '*'", &[&["echo", "$HOME", "*"]]),
        ];
        for (s, expected) in table {
            let expected: Vec<Vec<String>> = expected.iter().map(|w| argv(w)).collect();
            assert_eq!(certain(s), expected, "{s:?}");
        }
    }

    #[test]
    fn scripts_that_are_uncertain() {
        let table = [
            "git status $(rm -rf ~)",
            "git status `rm -rf ~`",
            "echo $HOME",
            "echo \"$HOME\"",
            "echo $'\\x41'",
            "git status > out.txt",
            "git status >> ~/.bashrc",
            "cat < /etc/passwd",
            "cat <<EOF\nx\nEOF",
            "FOO=1 git status",
            "LD_PRELOAD=/tmp/x.so git status",
            "git status &",
            "git status & rm -rf ~",
            "(git status)",
            "{ git status; }",
            "ls *",
            "ls ?",
            "ls [ab]",
            "cat ~/.ssh/id_rsa",
            "git status # comment",
            "! git status",
            "if true; then rm -rf ~; fi",
            "time git status",
            "git status 'unbalanced",
            "git status \"unbalanced",
            "git status \\\nrm",
            "git status\r",
            "git status\u{202E}",
            "git status\u{200B}",
            "git status |& tee",
            "git status &&",
            "; git status",
            "git status && && ls",
            "",
            "   ",
            "echo a{b,c}",
            "git status 2>&1x",
            "=git push",
        ];
        for s in table {
            assert!(matches!(script(s), Parsed::Uncertain { .. }), "{s:?} should be uncertain");
        }
    }

    #[test]
    fn commands_before_the_doubt_are_kept() {
        let Parsed::Uncertain { before, .. } = script("rm -rf / ; echo $(id)") else {
            panic!("uncertain expected")
        };
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].argv, argv(&["rm", "-rf", "/"]));
    }

    #[test]
    fn executable_paths_normalise_only_for_system_dirs() {
        assert_eq!(normalize_program("/usr/bin/git"), "git");
        assert_eq!(normalize_program("/bin/bash"), "bash");
        assert_eq!(normalize_program("/tmp/evil/git"), "/tmp/evil/git");
        assert_eq!(normalize_program("./git"), "./git");
        assert_eq!(normalize_program("/usr/bin/../../tmp/git"), "/usr/bin/../../tmp/git");
        assert_eq!(normalize_program("//usr/bin/git"), "//usr/bin/git");
        assert_eq!(normalize_program("/usr/bin/"), "/usr/bin/");
    }

    #[test]
    fn wrapper_forms() {
        for w in [
            &["bash", "-c", "ls"][..],
            &["bash", "-lc", "ls"],
            &["/bin/bash", "-lc", "ls"],
            &["zsh", "-lc", "ls"],
            &["sh", "-l", "-c", "ls"],
        ] {
            assert_eq!(parse_argv(&argv(w)).parts()[0].argv, argv(&["ls"]), "{w:?}");
        }
        for w in [
            &["bash", "-xc", "ls"][..],
            &["bash", "-c", "ls", "extra"],
            &["bash", "-e", "-c", "ls"],
            &["fish", "-c", "ls"],
        ] {
            assert!(matches!(parse_argv(&argv(w)), Parsed::Uncertain { .. }), "{w:?}");
        }
        assert!(matches!(parse_argv(&argv(&["git", "status\nrm"])), Parsed::Uncertain { .. }));
        assert!(matches!(parse_argv(&[]), Parsed::Uncertain { .. }));
    }

    #[test]
    fn nested_wrappers_are_bounded() {
        let mut s = "ls".to_string();
        for _ in 0..MAX_WRAPPER_DEPTH + 1 {
            s = format!("sh -c {}", crate::shell_join(&[s]));
        }
        assert!(matches!(parse_script(&s, 0), Parsed::Uncertain { .. }));
    }
}
