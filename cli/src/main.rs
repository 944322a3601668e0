//! The `delegate` command: put an agent to work under a policy.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod demo_agent;
mod policy;
mod prompt;
mod record;
mod render;
mod session;

/// Exit statuses (DESIGN §6).
mod exit {
    pub const OK: i32 = 0;
    pub const AGENT_FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const ABORTED: i32 = 3;
    pub const TIMEOUT: i32 = 124;
    pub const INTERRUPTED: i32 = 130;
    /// SIGHUP (the terminal went away): 128 + 1, as shells report it.
    pub const HANGUP: i32 = 129;
    /// SIGTERM: 128 + 15, as shells report it.
    pub const TERMINATED: i32 = 143;
}

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = err.print();
            return ExitCode::from(code as u8);
        }
    };
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(err) => {
                eprintln!("delegate: cannot start the async runtime: {err}");
                return ExitCode::from(exit::AGENT_FAILED as u8);
            }
        };
    let result = runtime.block_on(async move {
        match cli.command {
            args::Command::Exec(a) => session::exec(a.prompt, a.common, a.agent_command).await,
            args::Command::Run(a) => session::run(a.common, a.agent_command).await,
            args::Command::DemoAgent => serve_demo_agent().await,
            args::Command::Policy(command) => policy::command(command),
        }
    });
    // Do not wait for stray blocking reads (stdin) when leaving.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            let code = if err.downcast_ref::<session::ConfigError>().is_some() {
                exit::USAGE
            } else {
                exit::AGENT_FAILED
            };
            eprintln!("delegate: {err:#}");
            ExitCode::from(code as u8)
        }
    }
}

async fn serve_demo_agent() -> anyhow::Result<i32> {
    let agent = demo_agent::spawn();
    delegate_transport_stdio::serve_stdio(&agent).await?;
    Ok(exit::OK)
}
