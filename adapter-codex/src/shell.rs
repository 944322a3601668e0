//! Splitting Codex's one-string commands (`/bin/bash -lc 'touch a.txt'`) back into argv.
//!
//! Codex builds its command strings by shell-quoting argv (single quotes, `'\''` for a quote
//! inside), so POSIX shell word rules undo it exactly. Only quoting and escapes are interpreted:
//! no expansion, globbing or operators, which is what an approval policy needs to see.

/// Split `command` into words with POSIX shell quoting rules: single quotes keep everything,
/// double quotes keep everything but `\` before `$`, `` ` ``, `"`, `\` or a newline, and a `\`
/// outside quotes escapes the next character. `None` when a quote is left open.
pub(crate) fn split(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    // Whether a word has started, so `''` yields an empty word.
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('$' | '`' | '"' | '\\') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => word.push('\\'),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Codex's command string as argv: the shell words, or the whole string as one word when it
/// does not split (an open quote), so nothing is lost or guessed.
pub(crate) fn to_argv(command: &str) -> Vec<String> {
    match split(command) {
        Some(words) if !words.is_empty() => words,
        _ => vec![command.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn s(words: &[&str]) -> Option<Vec<String>> {
        Some(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn codex_bash_wrapper_splits_into_three_words() {
        assert_eq!(
            split("/bin/bash -lc 'touch approved.txt'"),
            s(&["/bin/bash", "-lc", "touch approved.txt"])
        );
    }

    #[test]
    fn single_quote_inside_single_quotes_round_trips() {
        assert_eq!(split(r#"bash -lc 'echo '\''hi'\'''"#), s(&["bash", "-lc", "echo 'hi'"]));
    }

    #[test]
    fn double_quotes_keep_only_their_escapes() {
        assert_eq!(split(r#"echo "a \"b\" \$c \n""#), s(&["echo", r#"a "b" $c \n"#]));
    }

    #[test]
    fn backslash_outside_quotes_escapes_one_character() {
        assert_eq!(split(r"touch a\ b.txt"), s(&["touch", "a b.txt"]));
    }

    #[test]
    fn empty_quotes_are_an_empty_word_and_runs_of_spaces_are_one_break() {
        assert_eq!(split("a  ''\t b"), s(&["a", "", "b"]));
        assert_eq!(split("   "), s(&[]));
    }

    #[test]
    fn adjacent_quoted_parts_form_one_word() {
        assert_eq!(split(r#"a'b'"c"d"#), s(&["abcd"]));
    }

    #[test]
    fn an_open_quote_does_not_split_and_argv_keeps_the_whole_string() {
        assert_eq!(split("echo 'oops"), None);
        assert_eq!(split("echo \"oops"), None);
        assert_eq!(to_argv("echo 'oops"), vec!["echo 'oops".to_string()]);
        assert_eq!(to_argv(""), vec![String::new()]);
    }
}
