//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::Parser;
use clap::Subcommand;

/// Put an agent to work under a policy: every approval it asks for comes back to you (or to your
/// policy file), its events stream out, and nothing is left running when `delegate` returns.
///
/// Without an agent command, the built-in demo agent does the work. It understands one step per
/// line: `run: CMD`, `edit: PATH`, `ask: QUESTION`, `net:`, anything else is echoed. It asks for
/// approval, reports what was decided, and never executes anything itself.
///
/// Exit status: 0 the turn completed; 1 the agent failed; 2 bad usage or configuration; 3 the
/// turn was aborted; 124 --timeout ran out; 130 interrupted by the user (Ctrl-C); 129 or 143
/// stopped by SIGHUP or SIGTERM (the agent is shut down first).
#[derive(Debug, Parser)]
#[command(name = "delegate", version, about, long_about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  delegate exec 'run: git status'                      one task with the demo agent; approve at the terminal
  delegate exec --policy examples/policy.toml --json 'run: cargo test'
  delegate exec 'edit: src/main.rs' -- my-agent --flag  use your own agent (JSON lines on stdin/stdout)
  delegate run --record session.jsonl                   interactive session, transcript to a file
  delegate policy explain examples/policy.toml --exec 'git push origin main'";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one task, then exit.
    Exec(ExecArgs),
    /// Start an interactive session: each line you type is a turn.
    Run(RunArgs),
    /// Serve the built-in demo agent on stdin/stdout (JSON lines).
    DemoAgent,
    /// Check or explain a policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The task for the agent.
    pub prompt: String,
    #[command(flatten)]
    pub common: CommonArgs,
    /// The agent to run instead of the demo agent: a program and its arguments, speaking
    /// delegate's JSON lines on stdin/stdout. Put it after `--`.
    #[arg(last = true, value_name = "AGENT_COMMAND")]
    pub agent_command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The agent to run instead of the demo agent (after `--`).
    #[arg(last = true, value_name = "AGENT_COMMAND")]
    pub agent_command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Rules file deciding approvals (see `delegate policy check`). Without it, approvals are
    /// asked at the terminal, and denied when stdin is not a terminal.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Append every approval decision to FILE as one JSON line (time, agent, request, decision,
    /// who decided, trace id), synced to disk; a decision that cannot be recorded is refused.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Print one JSON event per line on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a JSON-lines transcript of every submission and event, with timestamps, to FILE.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// W3C traceparent to continue (default: $TRACEPARENT, else a new trace).
    #[arg(long, value_name = "TRACEPARENT", env = "TRACEPARENT")]
    pub trace_parent: Option<String>,
    /// Give up after this long (e.g. 30s, 5m, 1h30m); exit status 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// How long an approval may wait for a decision before it times out (treated as denied).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub approval_timeout: Option<Duration>,
    /// Drive a Codex binary's app-server instead of the demo agent.
    #[arg(long, conflicts_with = "agent")]
    pub codex: bool,
    /// Which agent to drive: `demo` (the default) or `codex`.
    #[arg(long, value_name = "NAME", value_parser = ["demo", "codex"])]
    pub agent: Option<String>,
    /// The Codex binary (default: `codex` on PATH).
    #[arg(long, value_name = "PATH")]
    pub codex_bin: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a rules file and list its rules.
    Check {
        /// The rules file.
        file: PathBuf,
    },
    /// Say what a rules file decides for a command or a patch, and why.
    Explain {
        /// The rules file.
        file: PathBuf,
        /// A command line, e.g. 'git push origin main'.
        #[arg(
            long,
            value_name = "CMD",
            conflicts_with = "patch",
            required_unless_present = "patch"
        )]
        exec: Option<String>,
        /// A path the patch would touch.
        #[arg(long, value_name = "PATH")]
        patch: Option<PathBuf>,
        /// The working directory of the request (default: the current directory).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
    },
}

/// The longest duration accepted: a year is longer than any task should be left alone, and
/// keeps deadlines far from the clock's limits.
const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// `30s`, `500ms`, `5m`, `1h30m`, or a bare number of seconds; at most a year.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration_unbounded(text)?;
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is longer than a year"));
    }
    Ok(duration)
}

fn seconds(value: f64, text: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{text:?} is not a duration"))
}

fn parse_duration_unbounded(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; try 30s, 500ms, 5m or 1h".into());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return seconds(secs, text);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{text:?} is not a duration; try 30s, 500ms, 5m or 1h"));
        }
        let value: f64 =
            rest[..digits].parse().map_err(|_| format!("{text:?} has a bad number"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} in {text:?}; use ms, s, m or h")),
        };
        rest = &rest[unit_len..];
        total = total
            .checked_add(seconds(value * scale, text)?)
            .ok_or_else(|| format!("{text:?} is too long"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").unwrap_err().contains("not a duration"));
        assert!(parse_duration("5y").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("1e300").is_err());
        assert!(parse_duration("18446744073709551615h").is_err());
        assert!(parse_duration("5000000000000000h").unwrap_err().contains("longer than a year"));
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("inf").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
