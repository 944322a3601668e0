//! Path normalisation for matching: lexical clean-up, "is it under the root", and symlink
//! resolution through the file system.
//!
//! A path is matched in up to two forms: its *lexical* form (`.` removed, `..` folded, as the
//! request wrote it) and its *canonical* form (symlinks resolved on the longest existing prefix,
//! as the kernel would follow them). An `allow` must hold for both forms; a `deny` or `ask`
//! holds when either matches. A form that cannot be worked out (a relative path without a root, a
//! dangling symlink, `..` after a component that does not exist, a path that is not UTF-8) is
//! missing, and a missing form never satisfies an `allow`.

use std::path::Component;
use std::path::Path;
use std::path::PathBuf;

/// `path` with `.` removed and `..` folded into the component before it, without touching the
/// file system. On an absolute path `..` at the root stays at the root (as POSIX says); on a
/// relative path a leading `..` is kept, which marks an escape.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// Whether a normalised relative path climbs out of where it starts (`..` first).
pub fn escapes(normalized: &Path) -> bool {
    matches!(normalized.components().next(), Some(Component::ParentDir))
}

/// A normalised path as `/`-separated text for glob matching; `None` when it is not UTF-8.
pub fn to_text(path: &Path) -> Option<String> {
    let s = path.to_str()?;
    if s == "." {
        return Some(String::new());
    }
    Some(s.to_string())
}

/// `path` relative to `root`, both normalised and absolute; `None` when it is not under root.
pub fn relative_to(path: &Path, root: &Path) -> Option<PathBuf> {
    path.strip_prefix(root).ok().map(Path::to_path_buf)
}

/// Resolve symlinks the way the kernel would when opening `raw` (an absolute, unnormalised
/// path): canonicalise the longest prefix that exists and append the rest.
///
/// `None` when that cannot be done with certainty: the remainder holds `..` (it would be resolved
/// against a directory that does not exist yet), a component of the remainder is a dangling
/// symlink (writing through it would create its target elsewhere), or nothing exists at all.
pub fn canonicalize_existing(raw: &Path) -> Option<PathBuf> {
    if !raw.is_absolute() {
        return None;
    }
    let components: Vec<Component<'_>> = raw.components().collect();
    for keep in (1..=components.len()).rev() {
        let prefix: PathBuf = components[..keep].iter().collect();
        match std::fs::canonicalize(&prefix) {
            Ok(mut canonical) => {
                for component in &components[keep..] {
                    match component {
                        Component::Normal(name) => canonical.push(name),
                        Component::CurDir => {}
                        _ => return None,
                    }
                }
                return Some(canonical);
            }
            Err(_) => {
                // A dangling symlink exists but cannot be canonicalised: refuse to guess.
                if std::fs::symlink_metadata(&prefix).is_ok() {
                    return None;
                }
            }
        }
    }
    None
}

/// The forms in which a path is matched; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathForms {
    /// Absolute, lexically normalised.
    pub lexical: Option<String>,
    /// Absolute, symlinks resolved.
    pub canonical: Option<String>,
    /// Relative to the root, lexically normalised (when under the root).
    pub rel_lexical: Option<String>,
    /// Relative to the canonical root, symlinks resolved (when under it).
    pub rel_canonical: Option<String>,
    /// For relative paths seen without a root: the normalised relative text, matched by relative
    /// globs only for `deny`/`ask`.
    pub unrooted: Option<String>,
    /// Why the path is not under the root (lexically or through a symlink), when it is not.
    pub outside: Option<String>,
    /// Why the path cannot be resolved with certainty, when it cannot.
    pub unresolved: Option<String>,
}

impl PathForms {
    /// Work out the forms of `path` (as a request wrote it) against an optional root (absolute).
    pub fn resolve(path: &Path, root: Option<&Path>) -> Self {
        let mut forms = PathForms::default();
        let raw_abs = if path.is_absolute() {
            path.to_path_buf()
        } else if let Some(root) = root {
            root.join(path)
        } else {
            let n = normalize(path);
            if escapes(&n) {
                forms.outside = Some(format!("{} climbs out of the working root", path.display()));
            } else {
                forms.unrooted = to_text(&n);
            }
            forms.unresolved =
                Some(format!("{} is relative and no working root is configured", path.display()));
            return forms;
        };
        let lexical = normalize(&raw_abs);
        forms.lexical = to_text(&lexical);
        let canonical = canonicalize_existing(&raw_abs);
        forms.canonical = canonical.as_deref().and_then(to_text);
        if forms.lexical.is_none() {
            forms.unresolved = Some(format!("{} is not valid UTF-8", path.display()));
        } else if canonical.is_none() {
            forms.unresolved = Some(format!(
                "{} cannot be resolved with certainty (a dangling symlink, or `..` after a directory that does not exist)",
                path.display()
            ));
        }
        if let Some(root) = root {
            let root_lexical = normalize(root);
            match relative_to(&lexical, &root_lexical) {
                Some(rel) => forms.rel_lexical = to_text(&rel),
                None => {
                    forms.outside = Some(format!(
                        "{} is outside the working root {}",
                        path.display(),
                        root.display()
                    ));
                }
            }
            let root_canonical = canonicalize_existing(&root_lexical);
            if let (Some(c), Some(rc)) = (&canonical, &root_canonical) {
                match relative_to(c, rc) {
                    Some(rel) => forms.rel_canonical = to_text(&rel),
                    None => {
                        forms.outside.get_or_insert_with(|| {
                            format!(
                                "{} resolves through a symlink to {}, outside the working root",
                                path.display(),
                                c.display()
                            )
                        });
                    }
                }
            }
        }
        forms
    }

    /// The forms a glob of this kind (absolute or relative) is matched against.
    fn candidates(&self, absolute_glob: bool) -> [Option<&str>; 2] {
        if absolute_glob {
            [self.lexical.as_deref(), self.canonical.as_deref()]
        } else if self.unrooted.is_some() {
            [self.unrooted.as_deref(), None]
        } else {
            [self.rel_lexical.as_deref(), self.rel_canonical.as_deref()]
        }
    }

    /// Whether the glob matches: for `strict` (an allow) every form must exist and match; else
    /// any form that exists may match.
    pub fn matched_by(&self, glob: &crate::glob::Glob, strict: bool) -> bool {
        let [a, b] = self.candidates(glob.is_absolute());
        if strict {
            if self.unrooted.is_some() {
                return false;
            }
            matches!((a, b), (Some(a), Some(b)) if glob.matches(a) && glob.matches(b))
        } else {
            a.is_some_and(|a| glob.matches(a)) || b.is_some_and(|b| glob.matches(b))
        }
    }

    /// The path for display: relative to the root when under it, else absolute.
    pub fn display(&self) -> String {
        self.rel_lexical
            .clone()
            .map(|r| if r.is_empty() { ".".to_string() } else { r })
            .or_else(|| self.lexical.clone())
            .or_else(|| self.unrooted.clone())
            .unwrap_or_else(|| "?".to_string())
    }
}

/// Whether directory `dir` (forms) lies under directory `base`; for `strict` both the lexical and
/// the canonical forms must be under, else either.
pub fn dir_under(dir: &PathForms, base: &Path, strict: bool) -> bool {
    let base_lexical = normalize(base);
    let base_canonical = canonicalize_existing(&base_lexical);
    let lexical = dir.lexical.as_deref().map(|d| Path::new(d).starts_with(&base_lexical));
    let canonical = match (&dir.canonical, &base_canonical) {
        (Some(d), Some(b)) => Some(Path::new(d).starts_with(b)),
        _ => None,
    };
    if strict {
        lexical == Some(true) && canonical == Some(true)
    } else {
        // A cwd we cannot place at all might be anywhere, including under base.
        lexical.unwrap_or(true) || canonical == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_dots() {
        let table = [
            ("src/../.git/config", ".git/config"),
            ("./a/./b", "a/b"),
            ("a/../../b", "../b"),
            ("/a/../../b", "/b"),
            ("/..", "/"),
            ("", "."),
            ("a/..", "."),
            ("a//b/", "a/b"),
        ];
        for (input, expected) in table {
            assert_eq!(normalize(Path::new(input)), PathBuf::from(expected), "{input}");
        }
        assert!(escapes(&normalize(Path::new("a/../../b"))));
        assert!(!escapes(&normalize(Path::new("a/../b"))));
    }

    #[test]
    fn relative_paths_resolve_under_the_root() {
        let f = PathForms::resolve(Path::new("src/../.git/config"), Some(Path::new("/")));
        assert_eq!(f.rel_lexical.as_deref(), Some(".git/config"));
        let f = PathForms::resolve(Path::new("../x"), Some(Path::new("/nonexistent-root-xyz")));
        assert!(f.rel_lexical.is_none());
        assert!(f.outside.unwrap().contains("outside"));
    }

    #[test]
    fn without_a_root_relative_paths_never_satisfy_an_allow() {
        let f = PathForms::resolve(Path::new("src/a.rs"), None);
        let g = crate::glob::Glob::new("src/**", crate::glob::GlobMode::Path).unwrap();
        assert!(!f.matched_by(&g, true));
        assert!(f.matched_by(&g, false));
    }
}
