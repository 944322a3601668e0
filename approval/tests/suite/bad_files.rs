//! Invalid rules files: every class of problem is an error naming its line, never a silent
//! allow.

use delegate_approval::Error;
use delegate_approval::Rules;

use super::support::*;

/// (what, file text, line, words the message must contain)
const CASES: &[(&str, &str, usize, &[&str])] = &[
    ("bad toml", "default = \"ask\"\n\n[[exec]\nprefix = \"ls\"\n", 3, &["table header"]),
    ("unterminated string", "default = \"ask\n", 1, &["string"]),
    (
        "unknown top-level key",
        "default = \"ask\"\nallow_everything = true\n",
        2,
        &["unknown field", "allow_everything"],
    ),
    (
        "unknown rule key",
        "[[exec]]\nprefix = \"ls\"\ndecision = \"allow\"\ncommand = \"ls\"\n",
        4,
        &["unknown field", "command"],
    ),
    (
        "unknown decision",
        "[[exec]]\nprefix = \"ls\"\ndecision = \"yes\"\n",
        3,
        &["unknown variant", "yes", "allow"],
    ),
    ("unknown default", "default = \"permit\"\n", 1, &["unknown variant", "permit"]),
    (
        "unknown per-kind default key",
        "[defaults]\nshell = \"deny\"\n",
        2,
        &["unknown field", "shell"],
    ),
    ("missing decision", "\n[[exec]]\nprefix = \"ls\"\n", 2, &["missing field", "decision"]),
    (
        "wrong type",
        "[[exec]]\nprefix = 42\ndecision = \"allow\"\n",
        2,
        &["a string or an array of strings"],
    ),
    (
        "bad glob",
        "[[patch]]\ndecision = \"allow\"\n\npaths = [\"src/[abc\"]\n",
        4,
        &["invalid glob", "not closed"],
    ),
    (
        "double star inside a segment",
        "[[patch]]\npaths = \"src**\"\ndecision = \"allow\"\n",
        2,
        &["whole path segment"],
    ),
    (
        "dot-dot in a glob",
        "[[permissions]]\nwrite = \"target/../src/**\"\ndecision = \"allow\"\n",
        2,
        &["`..`"],
    ),
    (
        "bad exec glob word",
        "[[exec]]\nglob = \"git [z-a]\"\ndecision = \"allow\"\n",
        2,
        &["reversed"],
    ),
    (
        "bad text glob",
        "[[user_input]]\nquestion_id = \"a[\"\ndecision = \"deny\"\n",
        2,
        &["not closed"],
    ),
    (
        "empty exec matcher",
        "default = \"ask\"\n\n[[exec]]\ndecision = \"allow\"\n",
        3,
        &["no matcher"],
    ),
    ("empty patch matcher", "[[patch]]\nid = \"p\"\ndecision = \"allow\"\n", 1, &["no matcher"]),
    ("empty permissions matcher", "[[permissions]]\ndecision = \"allow\"\n", 1, &["no matcher"]),
    ("empty user_input matcher", "[[user_input]]\ndecision = \"deny\"\n", 1, &["no matcher"]),
    ("empty prefix", "[[exec]]\nprefix = []\ndecision = \"allow\"\n", 2, &["empty"]),
    ("blank prefix", "[[exec]]\nprefix = \"  \"\ndecision = \"allow\"\n", 2, &["empty"]),
    ("empty paths", "[[patch]]\npaths = []\ndecision = \"allow\"\n", 2, &["empty"]),
    ("empty glob pattern", "[[patch]]\npaths = [\"\"]\ndecision = \"allow\"\n", 2, &["empty"]),
    (
        "unknown change type",
        "[[patch]]\nchange = [\"add\", \"rename\"]\ndecision = \"allow\"\n",
        2,
        &["unknown change type", "rename"],
    ),
    ("relative cwd", "[[exec]]\ncwd = \"src\"\ndecision = \"allow\"\n", 2, &["absolute"]),
    (
        "network false",
        "[[permissions]]\nnetwork = false\ndecision = \"deny\"\n",
        2,
        &["network = false"],
    ),
    (
        "answers on a deny",
        "[[user_input]]\nquestion_id = \"x\"\nanswers = [\"y\"]\ndecision = \"deny\"\n",
        3,
        &["answers", "allow"],
    ),
    (
        "duplicate id",
        "[[exec]]\nid = \"a\"\nprefix = \"ls\"\ndecision = \"allow\"\n\n[[patch]]\nid = \"a\"\npaths = \"x\"\ndecision = \"deny\"\n",
        7,
        &["duplicate", "line 2"],
    ),
    (
        "bad id",
        "[[exec]]\nid = \"no push\"\nprefix = \"ls\"\ndecision = \"allow\"\n",
        2,
        &["rule id"],
    ),
    ("timeout zero", "[timeouts]\nexec = 0\n", 2, &["between 1 and"]),
    ("timeout too long", "[timeouts]\ndefault = 999999\n", 2, &["between 1 and"]),
    (
        "shell wrapper in a rule",
        "[[exec]]\nprefix = [\"bash\", \"-lc\", \"git status\"]\ndecision = \"allow\"\n",
        2,
        &["inside shell wrappers"],
    ),
    (
        "unbalanced quote in a word list",
        "[[exec]]\nglob = \"git 'log\"\ndecision = \"allow\"\n",
        2,
        &["unbalanced quote"],
    ),
    (
        "tilde in a path glob",
        "[[permissions]]\nread = \"~/x/**\"\ndecision = \"allow\"\n",
        2,
        &["`~`"],
    ),
    ("duplicate key", "default = \"ask\"\ndefault = \"allow\"\n", 2, &["duplicate"]),
];

#[test]
fn every_invalid_file_is_an_error_naming_the_line() {
    for (what, text, line, words) in CASES {
        match Rules::from_toml(text) {
            Ok(_) => panic!("{what}: the file should be rejected:\n{text}"),
            Err(e) => {
                assert_eq!(e.line(), Some(*line), "{what}: wrong line in {e}");
                let message = e.to_string();
                assert!(message.contains(&format!("line {line}")), "{what}: {message}");
                for word in *words {
                    assert!(message.contains(word), "{what}: {message:?} lacks {word:?}");
                }
            }
        }
    }
}

#[test]
fn an_error_in_a_file_names_the_file() {
    let scratch = Scratch::new("bad-file");
    let path = scratch.join("policy.toml");
    std::fs::write(&path, "default = \"ask\"\n[[exec]]\ndecision = \"allow\"\n").unwrap();
    let e = Rules::load(&path).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("policy.toml"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(matches!(e, Error::InvalidRules { .. }));
}

#[test]
fn a_missing_file_is_a_read_error() {
    let scratch = Scratch::new("missing-file");
    let e = Rules::load(scratch.join("nope.toml")).unwrap_err();
    assert!(matches!(e, Error::ReadRules { .. }), "{e}");
    assert!(e.to_string().contains("nope.toml"));
}

#[test]
fn an_oversized_file_is_refused_before_it_is_read() {
    let scratch = Scratch::new("big-file");
    let path = scratch.join("huge.toml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(delegate_approval::MAX_RULES_FILE_LEN + 1).unwrap();
    let e = Rules::load(&path).unwrap_err();
    assert!(e.to_string().contains("right file"), "{e}");
}

#[test]
fn an_empty_file_is_valid_and_has_no_opinion() {
    let rules = rules("");
    assert_eq!(rules.rules().count(), 0);
    assert!(delegate_approval::Policy::evaluate(&rules, &exec(&["ls"], "/")).is_none());
}
