//! Property tests: a deny rule is never overridden by any combination of allow (and ask) rules,
//! in any order, through any honest spelling of the command; the tokenizer never panics; and
//! unparseable fragments never reach `allow`.

use delegate_approval::Action;
use delegate_approval::Rules;
use proptest::prelude::*;

use super::support::*;

const WORDS: &[&str] = &["git", "push", "status", "-f", "origin", "main", "rm", "x", "--all"];

fn command() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(WORDS), 1..6)
        .prop_map(|ws| ws.into_iter().map(str::to_string).collect())
}

/// A rule (as TOML) that matches `cmd`, in one of several shapes.
fn matching_rule(cmd: &[String], shape: u8, cut: usize, decision: &str, n: usize) -> String {
    let cut = 1 + cut % cmd.len();
    let quoted = |ws: &[String]| ws.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(", ");
    let matcher = match shape % 5 {
        0 => format!("prefix = [{}]", quoted(&cmd[..cut])),
        1 => format!("glob = [{}, \"**\"]", quoted(&cmd[..cut])),
        2 => format!("glob = [{}]", quoted(cmd)),
        3 => "glob = \"**\"".to_string(),
        _ => "cwd = \"/\"".to_string(),
    };
    format!("[[exec]]\nid = \"r{n}\"\n{matcher}\ndecision = \"{decision}\"\n\n")
}

fn spellings(cmd: &[String]) -> Vec<Vec<String>> {
    let script = delegate_approval::shell_join(cmd);
    let mut with_path = cmd.to_vec();
    with_path[0] = format!("/usr/bin/{}", cmd[0]);
    vec![
        cmd.to_vec(),
        with_path,
        strings(&["bash", "-lc", &script]),
        strings(&["sh", "-c", &format!("git status && {script}")]),
        strings(&["zsh", "-lc", &format!("{script} | cat")]),
        strings(&["bash", "-c", &format!("true; {script} 2>&1")]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_deny_rule_is_never_overridden(
        cmd in command(),
        deny_shape in 0u8..5,
        deny_cut in 0usize..6,
        others in prop::collection::vec((0u8..5, 0usize..6, prop::bool::ANY), 0..8),
        position in 0usize..9,
        default in prop::sample::select(&["allow", "ask", "deny"][..]),
    ) {
        let mut rules: Vec<String> = others
            .iter()
            .enumerate()
            .map(|(i, (shape, cut, ask))| {
                matching_rule(&cmd, *shape, *cut, if *ask { "ask" } else { "allow" }, i + 1)
            })
            .collect();
        let deny = matching_rule(&cmd, deny_shape, deny_cut, "deny", 0);
        rules.insert(position.min(rules.len()), deny);
        let text = format!("default = \"{default}\"\n[[exec]]\nprefix = \"true\"\ndecision = \"allow\"\n[[exec]]\nprefix = \"cat\"\ndecision = \"allow\"\n[[exec]]\nprefix = \"git status\"\ndecision = \"allow\"\n{}", rules.concat());
        let rules = Rules::from_toml(&text).unwrap().with_root("/");
        for argv in spellings(&cmd) {
            let ruling = rules.rule(&exec_argv(argv.clone(), "/repo"));
            prop_assert_eq!(ruling.action, Action::Deny, "{:?}\n{}\n{}", argv, ruling, text);
        }
    }

    #[test]
    fn a_deny_path_rule_is_never_overridden(
        dirs in prop::collection::vec(prop::sample::select(&["src", "a", ".git", "b"][..]), 1..5),
        allows in prop::collection::vec(prop::sample::select(&["**", "src/**", "*/**", "**/*", "a/**/b/**"][..]), 0..6),
        position in 0usize..7,
    ) {
        let path = dirs.join("/");
        let mut rules: Vec<String> = allows
            .iter()
            .map(|g| format!("[[patch]]\npaths = \"{g}\"\ndecision = \"allow\"\n"))
            .collect();
        rules.insert(position.min(rules.len()), format!("[[patch]]\nid = \"no\"\npaths = \"{path}/**\"\ndecision = \"deny\"\n"));
        let rules = Rules::from_toml(&format!("default = \"allow\"\n{}", rules.concat())).unwrap().with_root("/repo");
        for spelled in [path.clone(), format!("./{path}"), format!("/repo/{path}"), format!("src/../{path}"), format!("{path}/x/../y")] {
            let ruling = rules.rule(&patch(vec![(spelled.as_str(), update())], None));
            prop_assert_eq!(ruling.action, Action::Deny, "{}: {}", spelled, ruling);
        }
    }

    #[test]
    fn the_tokenizer_never_panics(script in ".{0,80}") {
        let rules = rules("[[exec]]\nglob = \"**\"\ndecision = \"allow\"\n");
        let _ = rules.rule(&bash(&script, "/"));
    }

    #[test]
    fn unparseable_fragments_are_never_allowed(
        before in prop::sample::select(&["git status", "ls -la", "echo hi"][..]),
        fragment in prop::sample::select(&[
            "$(id)", "`id`", "$HOME", "${X}", "> f", ">> f", "< f", "<<EOF", "&", "*", "?", "[a]",
            "{a,b}", "(x)", "~", "#c", "!", "'open", "\"open", "\\\n", "\r", "\u{202E}", "|&",
        ][..]),
        joiner in prop::sample::select(&[" ", "; ", " && ", " | "][..]),
    ) {
        let allow_all = rules("default = \"allow\"\n[[exec]]\nglob = \"**\"\ndecision = \"allow\"\n");
        let script = format!("{before}{joiner}{fragment}");
        let ruling = allow_all.rule(&bash(&script, "/"));
        prop_assert_ne!(ruling.action, Action::Allow, "{:?}: {}", script, ruling);
    }
}
