//! Splitting a command line into words with POSIX shell quoting rules, and nothing more: no
//! expansion, globbing or operators. Used where a one-string command must become argv (the Codex
//! adapter, the demo agent); the rules matcher has its own, stricter tokenizer for scripts.

/// Split `command` into words with POSIX shell quoting rules: single quotes keep everything,
/// double quotes keep everything but `\` before `$`, `` ` ``, `"`, `\` or a newline, and a `\`
/// outside quotes escapes the next character. `None` when a quote is left open.
pub fn split_shell_words(command: &str) -> Option<Vec<String>> {
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
            split_shell_words("/bin/bash -lc 'touch approved.txt'"),
            s(&["/bin/bash", "-lc", "touch approved.txt"])
        );
    }

    #[test]
    fn single_quote_inside_single_quotes_round_trips() {
        assert_eq!(
            split_shell_words(r#"bash -lc 'echo '\''hi'\'''"#),
            s(&["bash", "-lc", "echo 'hi'"])
        );
    }

    #[test]
    fn double_quotes_keep_only_their_escapes() {
        assert_eq!(split_shell_words(r#"echo "a \"b\" \$c \n""#), s(&["echo", r#"a "b" $c \n"#]));
    }

    #[test]
    fn backslash_outside_quotes_escapes_one_character() {
        assert_eq!(split_shell_words(r"touch a\ b.txt"), s(&["touch", "a b.txt"]));
    }

    #[test]
    fn empty_quotes_are_an_empty_word_and_runs_of_spaces_are_one_break() {
        assert_eq!(split_shell_words("a  ''\t b"), s(&["a", "", "b"]));
        assert_eq!(split_shell_words("   "), s(&[]));
    }

    #[test]
    fn adjacent_quoted_parts_form_one_word() {
        assert_eq!(split_shell_words(r#"a'b'"c"d"#), s(&["abcd"]));
    }

    #[test]
    fn an_open_quote_does_not_split() {
        assert_eq!(split_shell_words("echo 'oops"), None);
        assert_eq!(split_shell_words("echo \"oops"), None);
    }
}
