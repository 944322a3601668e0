//! Tidy checks, run as ordinary tests: the layering of DESIGN §1 and the source conventions.

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    crate::workspace_root().expect("xtask lives in the workspace")
}

/// The normal (non-dev, non-build) dependency closure of a package, as package names.
fn normal_deps(package: &str) -> Vec<String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
            package,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn workspace_packages() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("root manifest");
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("members list");
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|dir| {
            let text = std::fs::read_to_string(root().join(dir).join("Cargo.toml"))
                .expect("member manifest");
            text.lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .map(|n| n.trim_end_matches('"').to_string())
                .expect("package name")
        })
        .collect()
}

/// Crates that mean an async runtime, futures machinery or process handling.
const RUNTIME_CRATES: &[&str] = &[
    "tokio",
    "tokio-util",
    "futures",
    "futures-util",
    "async-trait",
    "mio",
    "rustix",
    "libc",
    "nix",
    "async-channel",
];

#[test]
fn protocol_has_no_runtime_or_process_dependencies() {
    check_protocol_deps(&normal_deps("delegate-protocol"));
}

fn check_protocol_deps(deps: &[String]) {
    let bad: Vec<&String> = deps.iter().filter(|d| RUNTIME_CRATES.contains(&d.as_str())).collect();
    assert!(bad.is_empty(), "delegate-protocol must stay pure data, but depends on {bad:?}");
}

#[test]
fn the_protocol_check_would_catch_tokio() {
    let deps = vec!["delegate-protocol".to_string(), "serde".to_string(), "tokio".to_string()];
    let caught = std::panic::catch_unwind(|| check_protocol_deps(&deps));
    assert!(caught.is_err(), "a protocol crate depending on tokio must fail the check");
}

/// Which internal crates each layer may depend on (DESIGN §1). Nothing may depend on the CLI.
fn allowed_internal(package: &str) -> Option<&'static [&'static str]> {
    Some(match package {
        "delegate-protocol" => &[],
        "delegate-approval" => &["delegate-protocol"],
        "delegate-core" => &["delegate-protocol", "delegate-approval"],
        "delegate-transport-stdio" => &["delegate-protocol", "delegate-approval", "delegate-core"],
        p if p.starts_with("delegate-adapter-") => {
            &["delegate-protocol", "delegate-approval", "delegate-core", "delegate-transport-stdio"]
        }
        _ => return None,
    })
}

#[test]
fn layers_depend_only_downwards() {
    for package in workspace_packages() {
        let Some(allowed) = allowed_internal(&package) else { continue };
        for dep in normal_deps(&package) {
            if dep == package || !dep.starts_with("delegate-") {
                continue;
            }
            assert!(
                allowed.contains(&dep.as_str()),
                "{package} may not depend on {dep} (DESIGN §1 layering)"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    files
}

#[test]
fn every_source_file_starts_with_module_docs() {
    let missing: Vec<_> = all_sources()
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap_or_default().starts_with("//!"))
        .collect();
    assert!(missing.is_empty(), "files without a leading `//!` doc comment: {missing:?}");
}

#[test]
fn no_test_is_ignored_or_expects_a_panic() {
    let needles = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    for path in all_sources() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for needle in needles {
            assert!(
                !text.contains(needle),
                "{} uses {needle}]: tests must run and assert",
                path.display()
            );
        }
    }
}

/// Only transport and adapter crates start processes (DESIGN §1); the CLI goes through them.
#[test]
fn only_transport_and_adapter_crates_spawn_processes() {
    let needles = [concat!("Command", "::new"), concat!("process", "::Command")];
    for path in all_sources() {
        let rel = path.strip_prefix(root()).unwrap_or(&path).to_string_lossy().to_string();
        // xtask and the benchmark harness are tools, not libraries: they may start processes.
        let in_library_src =
            rel.contains("/src/") && !rel.starts_with("xtask/") && !rel.starts_with("bench/");
        let allowed = rel.starts_with("transport-stdio/") || rel.starts_with("adapter-");
        if !in_library_src || allowed {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // Test modules may start helper processes.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for needle in needles {
            assert!(
                !code.contains(needle),
                "{rel} starts a process ({needle}); only transport/adapter crates may"
            );
        }
    }
}
