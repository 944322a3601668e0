//! A small glob matcher for rules files: `*`, `**`, `?`, `[...]` classes and `\` escapes.
//!
//! Written here rather than taken from `globset` to keep the crate lean and the semantics exactly
//! what the rules format documents:
//!
//! - [`GlobMode::Path`] (patch and permission paths): the pattern and the subject are split on
//!   `/`. `*`, `?` and classes match within one segment; a segment that is exactly `**` matches
//!   zero or more whole segments. A pattern that starts with `/` only matches absolute paths, one
//!   that does not only matches relative paths. `.` and `..` segments, empty segments and a
//!   trailing `/` are errors: globs are matched against normalised paths, which have none.
//! - [`GlobMode::Word`] (one word of a command line): like `Path`, but empty, `.` and `..`
//!   segments may be written literally (URLs, `cd ..`).
//! - [`GlobMode::Text`] (question ids and headers): `/` is an ordinary character and `*` matches
//!   anything.
//!
//! In every mode a wildcard never matches a `.` or `..` segment: `src/*` does not match
//! `src/..`, and `src/**` does not match `src/../etc/passwd`. Dot files are matched (`src/**`
//! matches `src/.env`): a rule about a directory is about everything in it.

use std::fmt;

/// Longest glob accepted, in bytes; rules are written by people, and a bound keeps matching cheap.
pub const MAX_GLOB_LEN: usize = 4096;

/// How a [`Glob`] treats `/`; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobMode {
    /// Paths: `/` separates segments; `**` spans segments.
    Path,
    /// One command-line word: like `Path`, with literal `.`, `..` and empty segments allowed.
    Word,
    /// Free text: `/` is ordinary, `*` matches anything.
    Text,
}

/// A compiled glob pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    mode: GlobMode,
    absolute: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more whole segments.
    AnyDepth,
    Pattern(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    Star,
    Question,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// Why a pattern is not a valid glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GlobError {}

fn err(pattern: &str, why: impl fmt::Display) -> GlobError {
    GlobError { message: format!("invalid glob {pattern:?}: {why}") }
}

impl Glob {
    /// Compile `pattern` for `mode`.
    pub fn new(pattern: &str, mode: GlobMode) -> Result<Self, GlobError> {
        if pattern.is_empty() {
            return Err(err(pattern, "it is empty"));
        }
        if pattern.len() > MAX_GLOB_LEN {
            return Err(err(pattern, format_args!("it is longer than {MAX_GLOB_LEN} bytes")));
        }
        if let Some(c) = pattern.chars().find(|c| c.is_control()) {
            return Err(err(pattern, format_args!("it contains the control character {c:?}")));
        }
        if mode == GlobMode::Text {
            let tokens = parse_segment(pattern, pattern, mode)?;
            return Ok(Self {
                source: pattern.to_string(),
                mode,
                absolute: false,
                segments: vec![Segment::Pattern(tokens)],
            });
        }
        if mode == GlobMode::Path && pattern.starts_with('~') {
            return Err(err(pattern, "`~` is not expanded; write the absolute path"));
        }
        let absolute = pattern.starts_with('/');
        let body = if absolute { &pattern[1..] } else { pattern };
        let mut segments = Vec::new();
        if body.is_empty() {
            if mode == GlobMode::Path {
                return Err(err(pattern, "`/` alone matches only the root; write `/**`"));
            }
        } else {
            for part in body.split('/') {
                if mode == GlobMode::Path {
                    if part.is_empty() {
                        return Err(err(
                            pattern,
                            "it has an empty path segment (`//` or a trailing `/`); use `dir/**` for everything under dir",
                        ));
                    }
                    if part == "." || part == ".." {
                        return Err(err(
                            pattern,
                            "`.` and `..` never appear in normalised paths; write the path without them",
                        ));
                    }
                }
                if part == "**" {
                    // Consecutive `**` mean the same as one.
                    if segments.last() != Some(&Segment::AnyDepth) {
                        segments.push(Segment::AnyDepth);
                    }
                } else if part.contains("**") {
                    return Err(err(
                        pattern,
                        "`**` must be a whole path segment, as in `src/**/*.rs`; use `*` within a segment",
                    ));
                } else {
                    segments.push(Segment::Pattern(parse_segment(pattern, part, mode)?));
                }
            }
        }
        Ok(Self { source: pattern.to_string(), mode, absolute, segments })
    }

    /// Whether the pattern starts with `/` (matches absolute paths only).
    pub fn is_absolute(&self) -> bool {
        self.absolute
    }

    /// Whether `subject` matches the whole pattern.
    pub fn matches(&self, subject: &str) -> bool {
        if self.mode == GlobMode::Text {
            let Some(Segment::Pattern(tokens)) = self.segments.first() else { return false };
            return match_segment(tokens, subject, true);
        }
        let subject_absolute = subject.starts_with('/');
        if subject_absolute != self.absolute {
            return false;
        }
        let body = if subject_absolute { &subject[1..] } else { subject };
        let parts: Vec<&str> = if body.is_empty() { Vec::new() } else { body.split('/').collect() };
        match_segments(&self.segments, &parts)
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.source)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_segment(pattern: &str, part: &str, mode: GlobMode) -> Result<Vec<Token>, GlobError> {
    let mut tokens = Vec::new();
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => tokens.push(Token::Char(escaped)),
                None => return Err(err(pattern, "it ends with a lone `\\`")),
            },
            '*' => {
                // `**` inside a Text glob is the same as `*`.
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::Question),
            '[' => {
                let mut negated = false;
                if matches!(chars.peek(), Some('!') | Some('^')) {
                    negated = true;
                    chars.next();
                }
                let mut ranges = Vec::new();
                let mut first = true;
                let mut closed = false;
                while let Some(c) = chars.next() {
                    let lo = match c {
                        ']' if !first => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some(e) => e,
                            None => return Err(err(pattern, "it ends with a lone `\\`")),
                        },
                        '/' if mode != GlobMode::Text => {
                            return Err(err(pattern, "a character class cannot contain `/`"));
                        }
                        c => c,
                    };
                    first = false;
                    let mut hi = lo;
                    if chars.peek() == Some(&'-') {
                        let mut ahead = chars.clone();
                        ahead.next();
                        match ahead.peek() {
                            Some(']') | None => {}
                            Some(_) => {
                                chars.next();
                                hi = match chars.next() {
                                    Some('\\') => match chars.next() {
                                        Some(e) => e,
                                        None => {
                                            return Err(err(pattern, "it ends with a lone `\\`"));
                                        }
                                    },
                                    Some(h) => h,
                                    None => break,
                                };
                                if hi < lo {
                                    return Err(err(
                                        pattern,
                                        format_args!("the range `{lo}-{hi}` is reversed"),
                                    ));
                                }
                            }
                        }
                    }
                    ranges.push((lo, hi));
                }
                if !closed {
                    return Err(err(pattern, "a character class `[` is not closed by `]`"));
                }
                tokens.push(Token::Class { negated, ranges });
            }
            c => tokens.push(Token::Char(c)),
        }
    }
    Ok(tokens)
}

fn is_dot_segment(s: &str) -> bool {
    s == "." || s == ".."
}

/// Segment-list matching by dynamic programming, so `**` never backtracks exponentially.
fn match_segments(pattern: &[Segment], parts: &[&str]) -> bool {
    let n = parts.len();
    // can[j]: the pattern suffix starting at the current segment matches parts[j..].
    let mut next = vec![false; n + 1];
    next[n] = true;
    for segment in pattern.iter().rev() {
        let mut cur = vec![false; n + 1];
        match segment {
            Segment::AnyDepth => {
                // Zero segments, or one non-dot segment and then `**` again.
                for j in (0..=n).rev() {
                    cur[j] = next[j] || (j < n && !is_dot_segment(parts[j]) && cur[j + 1]);
                }
            }
            Segment::Pattern(tokens) => {
                for j in 0..n {
                    cur[j] = next[j + 1] && match_segment(tokens, parts[j], false);
                }
            }
        }
        next = cur;
    }
    next[0]
}

fn class_matches(negated: bool, ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negated
}

fn literal_only(tokens: &[Token]) -> Option<String> {
    tokens.iter().map(|t| if let Token::Char(c) = t { Some(*c) } else { None }).collect()
}

/// One segment (or a whole Text subject) against its tokens.
fn match_segment(tokens: &[Token], subject: &str, text: bool) -> bool {
    if !text && is_dot_segment(subject) {
        // Only a literal `.` / `..` matches a dot segment; wildcards never do.
        return literal_only(tokens).is_some_and(|l| l == subject);
    }
    let chars: Vec<char> = subject.chars().collect();
    // Classic wildcard matching with a single backtrack point; correct because every token
    // except `*` consumes exactly one character.
    let (mut t, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while s < chars.len() {
        let step = match tokens.get(t) {
            Some(Token::Char(c)) => *c == chars[s],
            Some(Token::Question) => true,
            Some(Token::Class { negated, ranges }) => class_matches(*negated, ranges, chars[s]),
            Some(Token::Star) => {
                star = Some((t, s));
                t += 1;
                continue;
            }
            None => false,
        };
        if step {
            t += 1;
            s += 1;
        } else if let Some((st, ss)) = star {
            t = st + 1;
            s = ss + 1;
            star = Some((st, ss + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Glob {
        Glob::new(p, GlobMode::Path).unwrap()
    }

    #[test]
    fn path_globs_match_the_table() {
        let table: &[(&str, &str, bool)] = &[
            ("src/**", "src/main.rs", true),
            ("src/**", "src/a/b/c.rs", true),
            ("src/**", "src", true),
            ("src/**", "srcx/a", false),
            ("src/**", "src/../.git/config", false),
            ("src/**", "src/./a", false),
            ("src/**", "src/.env", true),
            ("src/*.rs", "src/main.rs", true),
            ("src/*.rs", "src/a/main.rs", false),
            ("src/*", "src/..", false),
            ("src/**/*.rs", "src/main.rs", true),
            ("src/**/*.rs", "src/a/b/main.rs", true),
            ("src/**/*.rs", "src/a/b/main.rc", false),
            ("**/*.md", "README.md", true),
            ("**/*.md", "docs/x/README.md", true),
            ("**", "anything/at/all", true),
            ("**", "../escape", false),
            ("**", "/abs", false),
            ("/etc/**", "/etc/passwd", true),
            ("/etc/**", "etc/passwd", false),
            ("file?.txt", "file1.txt", true),
            ("file?.txt", "file10.txt", false),
            ("file[0-9].txt", "file7.txt", true),
            ("file[!0-9].txt", "file7.txt", false),
            ("file[!0-9].txt", "filex.txt", true),
            ("file[^0-9].txt", "filex.txt", true),
            ("[]]", "]", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("*", "", false),
            ("Cargo.toml", "Cargo.toml", true),
            ("Cargo.toml", "cargo.toml", false),
            ("a/**/b/**/c", "a/x/b/y/z/c", true),
            ("a/**/b/**/c", "a/x/c", false),
        ];
        for (pattern, subject, expected) in table {
            assert_eq!(path(pattern).matches(subject), *expected, "{pattern} vs {subject}");
        }
    }

    #[test]
    fn text_globs_treat_slash_as_ordinary() {
        let g = Glob::new("confirm_*", GlobMode::Text).unwrap();
        assert!(g.matches("confirm_delete"));
        assert!(g.matches("confirm_a/b"));
        assert!(!g.matches("deny_confirm_x"));
        let g = Glob::new("Deploy ** now", GlobMode::Text).unwrap();
        assert!(g.matches("Deploy to prod now"));
    }

    #[test]
    fn word_globs_allow_literal_dots_and_urls_but_wildcards_skip_dot_segments() {
        let g = Glob::new("https://example.com/*", GlobMode::Word).unwrap();
        assert!(g.matches("https://example.com/x"));
        assert!(!g.matches("https://evil.com/x"));
        assert!(Glob::new("..", GlobMode::Word).unwrap().matches(".."));
        assert!(!Glob::new("*", GlobMode::Word).unwrap().matches(".."));
        assert!(!Glob::new("*", GlobMode::Word).unwrap().matches("a/b"));
        assert!(!Glob::new("src/**", GlobMode::Word).unwrap().matches("src/../../etc/passwd"));
    }

    #[test]
    fn bad_globs_are_errors_that_say_why() {
        let table: &[(&str, GlobMode, &str)] = &[
            ("", GlobMode::Path, "empty"),
            ("src/", GlobMode::Path, "empty path segment"),
            ("a//b", GlobMode::Path, "empty path segment"),
            ("src/../x", GlobMode::Path, "`..`"),
            ("src**", GlobMode::Path, "whole path segment"),
            ("[abc", GlobMode::Path, "not closed"),
            ("[z-a]", GlobMode::Path, "reversed"),
            ("a\\", GlobMode::Path, "lone"),
            ("~/x", GlobMode::Path, "`~`"),
            ("/", GlobMode::Path, "root"),
            ("a\nb", GlobMode::Text, "control"),
        ];
        for (pattern, mode, needle) in table {
            let e = Glob::new(pattern, *mode).unwrap_err();
            assert!(e.message.contains(needle), "{pattern:?}: {e}");
        }
    }

    #[test]
    fn many_double_stars_stay_fast() {
        let pattern = "**/a/**/a/**/a/**/a/**/a/**/b";
        let subject = vec!["a"; 200].join("/");
        assert!(!path(pattern).matches(&subject));
        let g = Glob::new("*a*a*a*a*a*a*b", GlobMode::Text).unwrap();
        assert!(!g.matches(&"a".repeat(2000)));
    }
}
