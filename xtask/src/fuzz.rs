//! `cargo xtask fuzz [--seconds N] [--jobs J]`: a bounded libFuzzer run of the line decoder, on
//! stable Rust.
//!
//! cargo-fuzz needs nightly only for `-Zsanitizer`; the coverage instrumentation libFuzzer
//! feeds on is plain LLVM `sancov`, which stable rustc turns on with `-Cpasses` and
//! `-Cllvm-args`. So this task does what `cargo fuzz run` does, by hand:
//!
//! 1. build `fuzz/` (its own workspace, outside ours) in release mode for the host triple, with
//!    [`RUSTFLAGS`], into `fuzz/target` so the workspace's own build is left alone; naming the
//!    target keeps the flags off build scripts and proc macros, which would not link with them;
//! 2. seed `fuzz/corpus/decode_line` from the golden files (compacted to one line each) and the
//!    hand-written lines in `fuzz/seeds/`;
//! 3. run the libFuzzer binary for `--seconds` (fork mode with `--jobs` workers when J > 1) and
//!    fail, naming the artifact and how to replay it, when it crashes.

use std::io::BufRead;
use std::io::BufReader;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::time::Instant;

/// The one fuzz target.
const TARGET: &str = "decode_line";

/// Seconds of fuzzing when `--seconds` is not given: long enough to get past the seeds, short
/// enough to run before a commit.
const DEFAULT_SECONDS: u64 = 30;

/// Longest input tried. A wire line is capped far higher in production, but the decoder's logic
/// is all in the first few kilobytes; 64 KiB leaves room for deep nesting and long strings
/// without slowing the search down.
const MAX_LEN: usize = 65_536;

/// Seconds one input may take before libFuzzer reports it as a hang. Decoding a 64 KiB line
/// takes well under a millisecond; anything near this is a bug, and the default (1200 s) would
/// outlast the whole run.
const TIMEOUT_SECONDS: u64 = 10;

/// Codegen flags that instrument for libFuzzer on stable rustc (what cargo-fuzz passes, minus
/// the nightly-only `-Zsanitizer`): inline 8-bit edge counters, the PC table libFuzzer uses to
/// report new coverage, and comparison tracing so it can solve `==` against constants.
/// `--cfg fuzzing` lets code under test know; assertions and overflow checks stay on.
pub(crate) const RUSTFLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    seconds: u64,
    jobs: u32,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options { seconds: DEFAULT_SECONDS, jobs: 1 };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "--seconds" => {
                options.seconds = value()?
                    .parse()
                    .map_err(|e| format!("--seconds wants a whole number of seconds: {e}"))?;
            }
            "--jobs" => {
                options.jobs = value()?
                    .parse()
                    .map_err(|e| format!("--jobs wants a whole number of workers: {e}"))?;
                if options.jobs == 0 {
                    return Err("--jobs must be at least 1".into());
                }
            }
            other => {
                return Err(format!(
                    "unknown fuzz option {other:?}; usage: cargo xtask fuzz [--seconds N] [--jobs J]"
                ));
            }
        }
    }
    if options.seconds == 0 {
        return Err("--seconds must be at least 1 (libFuzzer reads 0 as \"forever\")".into());
    }
    Ok(options)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = parse_args(args)?;
    let started = Instant::now();
    let root = workspace_root()?;
    let fuzz_dir = root.join("fuzz");
    let host = host_triple()?;

    crate::step(
        "fuzz build",
        crate::cargo()
            .current_dir(&fuzz_dir)
            .args(["build", "--release", "--locked", "--bin", TARGET, "--target", &host])
            .arg("--target-dir")
            .arg(fuzz_dir.join("target"))
            // The encoded form wins over RUSTFLAGS and every config file, so nothing inherited
            // can drop the instrumentation.
            .env("CARGO_ENCODED_RUSTFLAGS", encoded_rustflags())
            .env_remove("RUSTFLAGS"),
    )?;
    let built_in = started.elapsed().as_secs_f64();

    let corpus = fuzz_dir.join("corpus").join(TARGET);
    let seeded = seed_corpus(&root, &corpus)?;
    eprintln!("==> fuzz corpus: {} seed lines written to {}", seeded, rel(&root, &corpus));

    let artifacts = fuzz_dir.join("artifacts").join(TARGET);
    std::fs::create_dir_all(&artifacts)
        .map_err(|e| format!("cannot create {}: {e}", artifacts.display()))?;
    let before = list_files(&artifacts);

    let binary = fuzz_dir.join("target").join(&host).join("release").join(TARGET);
    let mut cmd = Command::new(&binary);
    cmd.current_dir(&root)
        .arg(rel(&root, &corpus))
        .arg(format!("-max_total_time={}", options.seconds))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg(format!("-timeout={TIMEOUT_SECONDS}"))
        .arg(format!("-dict={}", rel(&root, &fuzz_dir.join(format!("{TARGET}.dict")))))
        // libFuzzer concatenates prefix and file name, so the prefix ends in a separator.
        .arg(format!("-artifact_prefix={}/", rel(&root, &artifacts)))
        .arg("-print_final_stats=1");
    if options.jobs > 1 {
        cmd.arg(format!("-fork={}", options.jobs));
    }
    eprintln!("==> fuzz run: {cmd:?}");
    let fuzz_started = Instant::now();
    let (status, stats) = run_streaming(&mut cmd)?;
    let fuzzed_for = fuzz_started.elapsed().as_secs_f64();

    let new_artifacts: Vec<PathBuf> =
        list_files(&artifacts).into_iter().filter(|p| !before.contains(p)).collect();
    let execs =
        stats.executions.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string());
    let rate = match stats.executions {
        Some(n) if fuzzed_for > 0.0 => format!(", {:.0} exec/s", n as f64 / fuzzed_for),
        _ => String::new(),
    };
    eprintln!(
        "==> fuzz summary: {execs} executions in {fuzzed_for:.1}s of fuzzing{rate}; \
         build {built_in:.1}s, total {:.1}s; coverage {} edges, corpus {} inputs",
        started.elapsed().as_secs_f64(),
        stats.coverage.map_or_else(|| "?".to_string(), |n| n.to_string()),
        stats.corpus.map_or_else(|| "?".to_string(), |n| n.to_string()),
    );

    if !new_artifacts.is_empty() || !status.success() {
        let mut message = format!("the fuzzer found a failing input ({status})");
        for artifact in &new_artifacts {
            message.push_str(&format!(
                "\n  artifact: {}\n  replay:   {} {}",
                rel(&root, artifact),
                rel(&root, &binary),
                rel(&root, artifact)
            ));
        }
        if new_artifacts.is_empty() {
            message.push_str(&format!(
                "\n  no new file in {}; see the libFuzzer output above",
                rel(&root, &artifacts)
            ));
        }
        return Err(message);
    }
    Ok(())
}

/// The workspace root: xtask's manifest directory is one level down.
fn workspace_root() -> Result<PathBuf, String> {
    crate::workspace_root().ok_or_else(|| "xtask is not inside a workspace directory".to_string())
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("could not run `{rustc} -vV` to learn the host triple: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| format!("`{rustc} -vV` printed no `host:` line"))
}

/// [`RUSTFLAGS`] in cargo's `CARGO_ENCODED_RUSTFLAGS` form (0x1f-separated).
fn encoded_rustflags() -> String {
    RUSTFLAGS.join("\u{1f}")
}

/// Write the golden files (one line each) and `fuzz/seeds/*` into `corpus`; return how many.
/// Files are rewritten only when their content changed, so libFuzzer's own additions and
/// timestamps are left alone.
fn seed_corpus(root: &Path, corpus: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(corpus)
        .map_err(|e| format!("cannot create corpus {}: {e}", corpus.display()))?;
    let mut count = 0;
    let sources = [
        (root.join("protocol").join("tests").join("golden"), "golden-", true),
        (root.join("fuzz").join("seeds"), "seed-", false),
    ];
    for (dir, prefix, compact) in sources {
        let mut files = list_files(&dir);
        files.sort();
        if files.is_empty() {
            return Err(format!("no seed files in {}", dir.display()));
        }
        for file in files {
            let bytes =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let line = if compact { compact_json(&bytes) } else { strip_one_newline(bytes) };
            let name = file.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
            let dest = corpus.join(format!("{prefix}{name}"));
            if std::fs::read(&dest).ok().as_deref() != Some(line.as_slice()) {
                std::fs::write(&dest, &line)
                    .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
            }
            count += 1;
        }
    }
    Ok(count)
}

/// Remove whitespace outside strings, turning pretty JSON into one wire line. Byte-wise is
/// enough: JSON's structural characters and whitespace are ASCII, and inside a string only `\`
/// and `"` matter.
fn compact_json(pretty: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pretty.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in pretty {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(b);
        }
    }
    out
}

/// A seed file is one line; an editor's final newline is not part of it.
fn strip_one_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}

/// Regular files directly in `dir` (none when it does not exist).
fn list_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect()
}

/// `path` relative to the workspace root when it is inside it, for short, clickable messages.
fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Figures libFuzzer printed, the last seen of each.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stats {
    executions: Option<u64>,
    coverage: Option<u64>,
    corpus: Option<u64>,
}

impl Stats {
    /// Learn from one line of libFuzzer output: status lines (`#4096 pulse cov: 312 ft: 980
    /// corp: 57/2103b ...`, in fork mode `#12: cov: ...`) and `-print_final_stats` lines
    /// (`stat::number_of_executed_units: 123456`), which are exact and so win.
    fn observe(&mut self, line: &str) {
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            self.executions = n.trim().parse().ok().or(self.executions);
            return;
        }
        let Some(rest) = line.strip_prefix('#') else { return };
        let mut words = rest.split_whitespace();
        let Some(Ok(n)) = words.next().map(|w| w.trim_end_matches(':').parse::<u64>()) else {
            return;
        };
        self.executions = Some(n);
        while let Some(word) = words.next() {
            let field = match word {
                "cov:" => &mut self.coverage,
                "corp:" => &mut self.corpus,
                _ => continue,
            };
            if let Some(value) = words.next() {
                let number = value.split('/').next().unwrap_or(value);
                if let Ok(n) = number.parse() {
                    *field = Some(n);
                }
            }
        }
    }
}

/// Run the fuzzer, passing its output (libFuzzer writes it all to stderr) through line by line
/// while reading the figures for the summary.
fn run_streaming(cmd: &mut Command) -> Result<(std::process::ExitStatus, Stats), String> {
    let mut child = cmd.stderr(Stdio::piped()).spawn().map_err(|e| {
        format!("could not start the fuzzer {cmd:?}: {e}; did the build step produce it?")
    })?;
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        // Lines may hold the raw bytes of a crashing input, so read bytes, not UTF-8.
        while reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("reading fuzzer output: {e}"))?
            > 0
        {
            let line = String::from_utf8_lossy(&buf);
            eprint!("{line}");
            stats.observe(line.trim_end());
            buf.clear();
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for the fuzzer: {e}"))?;
    Ok((status, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_default_to_thirty_seconds_and_one_job() {
        assert_eq!(parse_args(&[]), Ok(Options { seconds: 30, jobs: 1 }));
    }

    #[test]
    fn options_accept_separate_and_inline_values() {
        assert_eq!(
            parse_args(&args(&["--seconds", "5", "--jobs=2"])),
            Ok(Options { seconds: 5, jobs: 2 })
        );
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        assert!(parse_args(&args(&["--seconds"])).unwrap_err().contains("needs a value"));
        assert!(parse_args(&args(&["--seconds", "x"])).unwrap_err().contains("whole number"));
        assert!(parse_args(&args(&["--seconds", "0"])).unwrap_err().contains("at least 1"));
        assert!(parse_args(&args(&["--jobs", "0"])).unwrap_err().contains("at least 1"));
        assert!(parse_args(&args(&["--fast"])).unwrap_err().contains("unknown fuzz option"));
    }

    #[test]
    fn compacting_keeps_whitespace_and_escapes_inside_strings() {
        let pretty = b"{\n  \"a b\": \"x \\\" y\\\\\",\n  \"c\": [ 1, 2 ]\n}\n";
        assert_eq!(compact_json(pretty), b"{\"a b\":\"x \\\" y\\\\\",\"c\":[1,2]}".to_vec());
    }

    #[test]
    fn every_golden_file_compacts_to_a_single_line() {
        let root = workspace_root().unwrap();
        let golden = list_files(&root.join("protocol/tests/golden"));
        assert!(!golden.is_empty());
        for file in golden {
            let line = compact_json(&std::fs::read(&file).unwrap());
            assert!(!line.contains(&b'\n'), "{}", file.display());
            assert!(line.starts_with(b"{") && line.ends_with(b"}"), "{}", file.display());
        }
    }

    #[test]
    fn stats_come_from_status_lines_and_final_stats() {
        let mut stats = Stats::default();
        stats.observe("#2\tINITED cov: 10 ft: 11 corp: 3/120b exec/s: 0 rss: 30Mb");
        assert_eq!(stats, Stats { executions: Some(2), coverage: Some(10), corpus: Some(3) });
        stats.observe("#65536\tpulse  cov: 312 ft: 980 corp: 57/2103b lim: 4 exec/s: 21845");
        assert_eq!(stats, Stats { executions: Some(65536), coverage: Some(312), corpus: Some(57) });
        stats.observe("#7: cov: 400 ft: 1200 corp: 80 exec/s: 9000 oom/timeout/crash: 0/0/0");
        assert_eq!(stats.coverage, Some(400));
        stats.observe("stat::number_of_executed_units: 70000");
        assert_eq!(stats.executions, Some(70000));
        stats.observe("INFO: Seed: 1234");
        assert_eq!(stats.executions, Some(70000));
    }

    #[test]
    fn the_flags_keep_cfg_and_its_value_as_two_arguments() {
        let encoded = encoded_rustflags();
        let parts: Vec<&str> = encoded.split('\u{1f}').collect();
        assert_eq!(parts.len(), RUSTFLAGS.len());
        assert!(parts.windows(2).any(|w| w == ["--cfg", "fuzzing"]));
    }
}
