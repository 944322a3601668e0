//! `cargo xtask fuzz`: not yet wired up.

pub(crate) fn run(_args: &[String]) -> Result<(), String> {
    Err("fuzzing is not set up yet".into())
}
