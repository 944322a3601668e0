//! Splitting Codex's one-string commands (`/bin/bash -lc 'touch a.txt'`) back into argv.
//!
//! Codex builds its command strings by shell-quoting argv (single quotes, `'\''` for a quote
//! inside), so POSIX shell word rules undo it exactly
//! ([`delegate_approval::split_shell_words`]). Only quoting and escapes are interpreted: no
//! expansion, globbing or operators, which is what an approval policy needs to see.

use delegate_approval::split_shell_words;

/// Codex's command string as argv: the shell words, or the whole string as one word when it
/// does not split (an open quote), so nothing is lost or guessed.
pub(crate) fn to_argv(command: &str) -> Vec<String> {
    match split_shell_words(command) {
        Some(words) if !words.is_empty() => words,
        _ => vec![command.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn codex_bash_wrapper_becomes_three_words() {
        assert_eq!(
            to_argv("/bin/bash -lc 'touch approved.txt'"),
            ["/bin/bash", "-lc", "touch approved.txt"]
        );
    }

    #[test]
    fn an_open_quote_keeps_the_whole_string() {
        assert_eq!(to_argv("echo 'oops"), vec!["echo 'oops".to_string()]);
        assert_eq!(to_argv(""), vec![String::new()]);
    }
}
