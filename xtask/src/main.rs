//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask ci`: everything CI checks — fmt, clippy `-D warnings`, nextest, doctests,
//!   `cargo doc` with warnings denied. The tidy checks (dependency direction, `//!` headers, no
//!   ignored tests) are ordinary tests of this crate, so nextest runs them.
//! - `cargo xtask fuzz [--seconds N]`: a bounded libFuzzer run of the line decoder (stable Rust).
//! - `cargo xtask bench [--quick]`: the benchmark suite, in release mode.

use std::process::Command;
use std::process::ExitCode;
use std::time::Instant;

mod fuzz;
#[cfg(test)]
mod tidy;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            println!("usage: cargo xtask <ci | fuzz [--seconds N] | bench [--quick]>");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Run one step, printing its name and duration; fail with the step's name.
pub(crate) fn step(name: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("==> {name}: {cmd:?}");
    let started = Instant::now();
    let status = cmd.status().map_err(|e| format!("{name}: could not start {cmd:?}: {e}"))?;
    eprintln!(
        "==> {name}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if status.success() { Ok(()) } else { Err(format!("step `{name}` failed ({status})")) }
}

/// The workspace root, one level above xtask's manifest directory. Cargo sets
/// `CARGO_MANIFEST_DIR` when it runs xtask or its tests; the value compiled in is only a
/// fallback, because a shared target directory can hold a binary built from another checkout.
pub(crate) fn workspace_root() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    dir.parent().map(std::path::Path::to_path_buf)
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

fn ci() -> Result<(), String> {
    let started = Instant::now();
    step("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "nextest",
        cargo().args([
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--profile",
            "ci",
            "--no-tests",
            "fail",
        ]),
    )?;
    step("doctests", cargo().args(["test", "--workspace", "--doc", "--locked"]))?;
    step(
        "doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("==> ci: all steps passed in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `cargo xtask bench [--quick]`: build the benchmark crates (`bench/`, a workspace of its own,
/// so the main workspace never compiles rmcp or the ACP SDK) and the `delegate` command in
/// release mode into `target/bench/`, then run the driver, which prints the table and writes
/// BENCHMARKS.md.
/// A missed target is reported, never an error; only a failed build or a crashed run is.
fn bench(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => return Err(format!("bench: unknown argument {other:?}; try `--quick`")),
        }
    }
    let root = workspace_root().ok_or("bench: cannot find the workspace root")?;
    // One target directory for both builds, away from the debug/bench artifacts others use, so
    // rebuilds are incremental and never wait on another build's lock.
    let target = root.join("target").join("bench");
    step(
        "build delegate (release)",
        cargo()
            .current_dir(&root)
            .args(["build", "--release", "--locked", "--package", "delegate-cli", "--target-dir"])
            .arg(&target),
    )?;
    // Two cargo invocations, so that the features rmcp and the ACP SDK turn on in serde_json
    // (`preserve_order`, `raw_value`) are not unified into the delegate crates measured.
    for package in ["delegate-bench", "delegate-bench-rivals"] {
        step(
            &format!("build {package} (release)"),
            cargo()
                .current_dir(root.join("bench"))
                .args(["build", "--release", "--locked", "--package", package, "--target-dir"])
                .arg(&target),
        )?;
    }
    let release = target.join("release");
    let mut run = Command::new(release.join("delegate-bench"));
    run.current_dir(&root)
        .arg("--out")
        .arg(root.join("BENCHMARKS.md"))
        .arg("--delegate-bin")
        .arg(release.join("delegate"));
    if quick {
        run.arg("--quick");
    }
    step("bench", &mut run)
}
