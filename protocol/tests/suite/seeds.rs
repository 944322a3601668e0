//! Fuzz smoke test without a fuzzer: every seed line of `fuzz/seeds/` and every golden file
//! goes through the same oracle as the libFuzzer target — decoding never panics, and what
//! decodes re-encodes to one line that decodes to an equal value.

use std::path::Path;

use delegate_protocol::Event;
use delegate_protocol::Submission;

fn oracle(bytes: &[u8]) -> bool {
    let mut decoded = false;
    if let Ok(event) = Event::from_json_slice(bytes) {
        let line = serde_json::to_vec(&event).unwrap();
        assert!(!line.contains(&b'\n'));
        assert_eq!(
            Event::from_json_slice(&line).unwrap(),
            event,
            "event round trip of {}",
            String::from_utf8_lossy(bytes)
        );
        decoded = true;
    }
    if let Ok(submission) = Submission::from_json_slice(bytes) {
        let line = serde_json::to_vec(&submission).unwrap();
        assert!(!line.contains(&b'\n'));
        assert_eq!(Submission::from_json_slice(&line).unwrap(), submission);
        decoded = true;
    }
    decoded
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_seed_passes_the_oracle() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let files = files(&seeds);
    assert!(files.len() >= 10, "expected the committed seeds in {}", seeds.display());
    let mut decoded = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        decoded += usize::from(oracle(line));
    }
    assert!(decoded > 0 && decoded < files.len(), "seeds cover both valid and invalid lines");
}

#[test]
fn every_golden_file_passes_the_oracle_as_one_line() {
    for file in files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")) {
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let line = serde_json::to_vec(&value).unwrap();
        assert!(oracle(&line), "{} does not decode", file.display());
    }
}
