//! `delegate-bench`: the benchmark suite behind `cargo xtask bench` (issue 8, DESIGN §7).
//!
//! One run, on this machine, of every figure of DESIGN §7 next to its baseline, measured in the
//! same run and reported as a ratio with the target and whether it is met: in-process
//! forwarding and cancellation, many idle delegates, events/s and round trips over stdio
//! against a raw loop, rmcp and the Agent Client Protocol SDK, child-process shutdown,
//! `delegate exec`, and the Codex adapter's turn latency. It prints the table and writes
//! BENCHMARKS.md. It reports; it never fails because a target is missed.
//!
//! ```text
//! delegate-bench [--quick] [--out FILE] [--delegate-bin PATH]
//! delegate-bench fresh memory|pairs|teardown N [multi]   (one measurement in a fresh process)
//! delegate-bench profile approvals|echo|child-flood|raw-flood|served-flood N   (one method alone, for callgrind)
//! ```
//!
//! The peers it starts (`peer-raw`, `peer-serve` from this crate; `peer-rmcp`, `peer-acp` and
//! the `delegate-bench-rivals` worker that drives rmcp and ACP, from `rivals/`) are found next to
//! this binary. rmcp and the ACP SDK never link into this process: their serde_json features
//! would make delegate's `Event` larger and its decoding slower than in a real build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod codex;
mod inprocess;
mod process;
mod report;
mod stdio;

use std::path::PathBuf;
use std::time::Instant;

use report::Section;

/// How much of everything to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub quick: bool,
    /// Runs of each throughput figure.
    pub rounds: usize,
    /// Events per in-process forwarding run.
    pub forward_events: u64,
    /// Seconds each stdio throughput run should take (batch sizes are calibrated to it).
    pub sample_seconds: f64,
    /// Runs of each latency figure (each gives one p50 and one p99).
    pub latency_runs: usize,
    /// Cancel → shutdown samples per run.
    pub latency_samples: usize,
    /// Round trips per run.
    pub round_trips: u64,
    /// Runs of each round-trip figure: many short ones, interleaved, because on a shared
    /// two-core VM a whole run can land in a slow scheduling mode (see BENCHMARKS.md).
    pub round_trip_runs: usize,
    /// Fresh processes per memory / teardown figure.
    pub fresh_runs: usize,
    /// Runs of the child-process and `delegate exec` figures.
    pub process_runs: usize,
    /// Interleaved rounds of Codex turns.
    pub codex_rounds: usize,
}

impl Config {
    fn new(quick: bool) -> Config {
        if quick {
            Config {
                quick,
                rounds: 5,
                forward_events: 100_000,
                sample_seconds: 0.15,
                latency_runs: 5,
                latency_samples: 1_000,
                round_trips: 300,
                round_trip_runs: 7,
                fresh_runs: 1,
                process_runs: 5,
                codex_rounds: 20,
            }
        } else {
            Config {
                quick,
                rounds: 11,
                forward_events: 200_000,
                sample_seconds: 0.4,
                latency_runs: 5,
                latency_samples: 5_000,
                round_trips: 1_000,
                round_trip_runs: 11,
                fresh_runs: 3,
                process_runs: 11,
                codex_rounds: 100,
            }
        }
    }
}

/// With `DELEGATE_BENCH_VERBOSE=1`, print every run's value of a figure on stderr.
pub fn verbose(label: &str, values: &[f64]) {
    if std::env::var_os("DELEGATE_BENCH_VERBOSE").is_some_and(|v| v != "0") {
        let shown: Vec<String> = values.iter().map(|v| format!("{v:.4e}")).collect();
        eprintln!("  {label}: {}", shown.join(" "));
    }
}

struct Args {
    quick: bool,
    /// Only these sections (for profiling one of them); all when empty.
    only: Vec<String>,
    out: Option<PathBuf>,
    delegate_bin: Option<PathBuf>,
}

/// The sections, in the order they run.
const SECTIONS: [&str; 6] = ["inprocess", "many", "throughput", "roundtrips", "lifecycle", "codex"];

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args { quick: false, only: Vec::new(), out: None, delegate_bin: None };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--only" => {
                let list = it.next().ok_or("--only needs a list of sections")?;
                parsed.only.extend(list.split(',').map(String::from));
            }
            "--out" => parsed.out = Some(it.next().ok_or("--out needs a file")?.into()),
            "--delegate-bin" => {
                parsed.delegate_bin = Some(it.next().ok_or("--delegate-bin needs a path")?.into())
            }
            "-h" | "--help" => {
                println!(
                    "usage: delegate-bench [--quick] [--only SECTION,…] [--out FILE] [--delegate-bin PATH]\n\
                     sections: {}",
                    SECTIONS.join(", ")
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(bad) = parsed.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
        return Err(format!("unknown section {bad:?}; sections: {}", SECTIONS.join(", ")));
    }
    Ok(parsed)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fresh") {
        let count = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(inprocess::MANY);
        let multi = args.get(3).map(String::as_str) == Some("multi");
        match args.get(1).map(String::as_str) {
            Some("memory") => inprocess::fresh_memory(count, false),
            Some("pairs") => inprocess::fresh_memory(count, true),
            Some("teardown") => inprocess::fresh_teardown(count, multi),
            other => {
                eprintln!("delegate-bench: unknown fresh measurement {other:?}");
                std::process::exit(2);
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("profile") {
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        if let Err(err) = stdio::profile(args.get(1).map(String::as_str).unwrap_or(""), n) {
            eprintln!("delegate-bench: {err}");
            std::process::exit(2);
        }
        return;
    }
    let args = match parse_args(&args) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("delegate-bench: {err}");
            std::process::exit(2);
        }
    };
    let config = Config::new(args.quick);
    let started = Instant::now();
    let load_before = report::load_average();
    let date = report::now_utc();
    let machine = report::machine();
    eprintln!(
        "delegate-bench: {} mode on {}",
        if config.quick { "quick" } else { "full" },
        machine[0]
    );

    let mut sections: Vec<Section> = Vec::new();
    let step =
        |name: &str| eprintln!("delegate-bench: {name} ({:.0} s)", started.elapsed().as_secs_f64());

    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|s| s == name);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    if wanted("inprocess") {
        step("in-process forwarding and cancellation");
        sections.push(inprocess::forwarding(&config));
    }
    if wanted("many") {
        step("100 000 delegates, in fresh processes");
        sections.push(inprocess::many(&config));
    }
    if wanted("throughput") {
        step("events/s over stdio");
        sections.push(stdio::throughput(&config, &rt));
    }
    if wanted("roundtrips") {
        step("round trips over stdio");
        sections.push(stdio::round_trips(&config, &rt));
    }
    if wanted("lifecycle") {
        step("process lifecycle");
        let mut lifecycle = process::child_shutdown(&config, &rt);
        lifecycle.rows.push(process::exec(&config, args.delegate_bin.as_deref()));
        sections.push(lifecycle);
    }
    if wanted("codex") {
        step("Codex adapter");
        sections.push(Section {
            title: "Codex adapter (delegate-adapter-codex)".into(),
            rows: vec![codex::turn_latency(&config, &rt)],
            notes: vec![format!(
                "A real Codex `app-server` (the pinned binary of adapter-codex/install-codex.sh) answering from the adapter's mock model server; a turn is `user_input` → `task_complete` through `delegate()` (AllowAll, default options) and `CodexAgent`, against `turn/start` → `turn/completed` written and read directly, each its own Codex process; {} interleaved rounds after 2 warm-up rounds.",
                config.codex_rounds
            )],
        });
    }
    drop(rt);

    let took = started.elapsed();
    let load_after = report::load_average();
    let table = report::plain(&sections);
    println!("\n{table}");
    let missed: Vec<String> = sections
        .iter()
        .flat_map(|s| s.rows.iter())
        .filter(|r| r.verdict == report::Verdict::Missed)
        .map(|r| r.name.clone())
        .collect();
    println!(
        "{} in {}; load average {load_before} before, {load_after} after",
        if missed.is_empty() {
            "all targets met".to_string()
        } else {
            format!("{} target(s) missed", missed.len())
        },
        report::elapsed(took)
    );

    if let Some(out) = &args.out {
        let markdown =
            document(&config, &date, &machine, &sections, took, &load_before, &load_after);
        match std::fs::write(out, markdown) {
            Ok(()) => eprintln!("delegate-bench: wrote {}", out.display()),
            Err(err) => eprintln!("delegate-bench: cannot write {}: {err}", out.display()),
        }
    }
}

fn document(
    config: &Config,
    date: &str,
    machine: &[String],
    sections: &[Section],
    took: std::time::Duration,
    load_before: &str,
    load_after: &str,
) -> String {
    let mode = if config.quick { "`--quick`" } else { "full" };
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let machine: String = machine.iter().map(|l| format!("- {l}\n")).collect();
    format!(
        "# Benchmarks\n\n\
         Produced by `cargo xtask bench` ({mode} mode) — do not edit by hand; run it again.\n\n\
         - date: {date}\n\
         - commit: {commit}\n\
         - toolchain: {rustc}, release profile\n\
         {machine}\
         - load average (1 min): {load_before} at the start, {load_after} at the end (a shared machine: absolute figures swing, ratios within one run are what DESIGN §7 targets)\n\
         - took {took:.0} s\n\n\
         Each figure is the median of several runs, with [min–max]; each ratio divides two medians taken in the same run, \
         with the methods interleaved run by run. \"met\" compares the median ratio (or figure) with the target of \
         DESIGN §7; \"—\" marks a baseline or a figure without a target.\n\n\
         Reading the numbers: this is a shared two-core VM. Throughput runs swing by ±30 % from run to run, and a \
         whole round-trip run can land in a slow scheduling mode (parent and child woken across CPUs: p50 ≈ 100 µs \
         instead of 10–30 µs), which is why round trips are many short interleaved runs and the median is reported. \
         Ratios near a target (within ≈ 10 %) can flip between runs; instruction counts (`delegate-bench profile …` \
         under callgrind) are the stable evidence.\n\n\
         {}\
         ## How to reproduce\n\n\
         ```sh\n\
         cargo xtask bench            # full run, a few minutes; rewrites BENCHMARKS.md\n\
         cargo xtask bench --quick    # fewer and shorter runs, under 2 minutes after the first build\n\
         ```\n\n\
         The suite is `bench/`, a workspace of its own with its own Cargo.lock, excluded from the main workspace so CI \
         never compiles rmcp or the ACP SDK: package `delegate-bench` (the driver, delegate's peers) and package \
         `delegate-bench-rivals` (`bench/rivals/`: the rmcp and ACP peers and the worker that measures them on the \
         driver's command), built by separate cargo invocations so that rmcp's and ACP's serde_json features do not \
         leak into the delegate crates. `cargo xtask bench` builds both and the `delegate` command in release mode \
         into `target/bench/` and runs `target/bench/release/delegate-bench --out BENCHMARKS.md --delegate-bin \
         target/bench/release/delegate`. `--only SECTION,…` runs some sections; `DELEGATE_BENCH_VERBOSE=1` prints \
         every run's value; `delegate-bench profile approvals|echo|child-flood|raw-flood|served-flood N` runs one \
         method alone for `valgrind --tool=callgrind`. The Codex row needs the pinned Codex binary \
         (`adapter-codex/install-codex.sh`); without it the row says so.\n",
        report::markdown(sections),
        took = took.as_secs_f64(),
    )
}
