//! One Codex session under test: mock model server, throwaway sandbox, the adapter driven as an
//! [`Agent`], and checks that nothing is left running.

use std::time::Duration;
use std::time::Instant;

use delegate_adapter_codex::CodexAgent;
use delegate_adapter_codex::CodexOptions;
use delegate_adapter_codex::test_util::CodexSandbox;
use delegate_adapter_codex::test_util::MockResponsesServer;
use delegate_adapter_codex::test_util::ScriptedResponse;
use delegate_adapter_codex::test_util::codex_binary;
use delegate_adapter_codex::test_util::process_is_gone;
use delegate_adapter_codex::test_util::processes_with_env;
use delegate_core::Agent;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;

/// Bound on each wait for an event. Codex answers in well under a second on a loaded 2-core
/// machine; 20 s fails a wedged test long before the runner's 60 s limit.
pub const EVENT_WAIT: Duration = Duration::from_secs(20);

/// Bound on the wait for the Codex process (and anything it started) to be gone and reaped.
pub const GONE_WAIT: Duration = Duration::from_secs(10);

pub struct Session {
    pub mock: MockResponsesServer,
    pub sandbox: CodexSandbox,
    pub agent: CodexAgent,
    pub pid: u32,
    /// Every event read so far, for failure messages.
    pub seen: Vec<String>,
}

impl Session {
    /// Start a mock with `script`, a sandbox, and Codex.
    pub async fn start(script: Vec<ScriptedResponse>) -> Session {
        Self::start_with(script, |options| options).await
    }

    /// As [`Session::start`], with `adjust` applied to the options.
    pub async fn start_with(
        script: Vec<ScriptedResponse>,
        adjust: impl FnOnce(CodexOptions) -> CodexOptions,
    ) -> Session {
        let codex = codex_binary().unwrap_or_else(|e| panic!("{e}"));
        let mock = MockResponsesServer::start(script).await.expect("mock model server starts");
        let sandbox = CodexSandbox::new(&mock.base_url()).expect("sandbox is created");
        let options = adjust(sandbox.options(codex));
        let agent = tokio::time::timeout(EVENT_WAIT, CodexAgent::spawn(options))
            .await
            .expect("codex starts within the bound")
            .unwrap_or_else(|e| panic!("codex starts: {e}\n{}", sandbox.codex_log()));
        let pid = agent.pid().expect("a spawned agent has a pid");
        Session { mock, sandbox, agent, pid, seen: Vec::new() }
    }

    pub async fn submit(&self, id: &str, op: Op) {
        self.agent.submit(Submission::new(id, op)).await.expect("codex takes the submission");
    }

    /// The next event, or `None` at the end; panics after [`EVENT_WAIT`].
    pub async fn next(&mut self) -> Option<Event> {
        match tokio::time::timeout(EVENT_WAIT, self.agent.next_event()).await {
            Ok(event) => {
                if let Some(e) = &event {
                    self.seen.push(format!("{}:{}", e.id, e.msg.kind()));
                }
                event
            }
            Err(_) => panic!(
                "no event within {EVENT_WAIT:?}; seen {:?}\ncodex log:\n{}",
                self.seen,
                self.sandbox.codex_log()
            ),
        }
    }

    /// Read events until one that `pick` matches; panics if the stream ends first.
    pub async fn until(&mut self, what: &str, pick: impl Fn(&EventMsg) -> bool) -> Event {
        loop {
            match self.next().await {
                Some(event) if pick(&event.msg) => return event,
                Some(_) => {}
                None => panic!(
                    "the event stream ended before {what}; seen {:?}\ncodex log:\n{}",
                    self.seen,
                    self.sandbox.codex_log()
                ),
            }
        }
    }

    /// Read events until the current turn ends (`task_complete` or `turn_aborted`).
    pub async fn until_turn_ends(&mut self) -> Event {
        self.until("the end of the turn", EventMsg::ends_turn).await
    }

    /// `shutdown`, then read to the end: `shutdown_complete` must come, then nothing; then
    /// nothing may be left running.
    pub async fn shutdown(mut self) {
        self.submit("shutdown", Op::Shutdown).await;
        let done = self.until("shutdown_complete", |m| *m == EventMsg::ShutdownComplete).await;
        assert_eq!(done.id, "shutdown");
        assert!(self.next().await.is_none(), "nothing after shutdown_complete");
        self.assert_nothing_left().await;
    }

    /// The Codex process is reaped and no process with this sandbox's `CODEX_HOME` is alive.
    pub async fn assert_nothing_left(&self) {
        assert_nothing_left(self.pid, &self.sandbox).await;
    }
}

/// Poll `/proc` until `pid` is reaped and nothing runs with the sandbox's `CODEX_HOME`.
pub async fn assert_nothing_left(pid: u32, sandbox: &CodexSandbox) {
    let started = Instant::now();
    loop {
        let leftovers = processes_with_env("CODEX_HOME", sandbox.codex_home.as_os_str());
        let gone = process_is_gone(pid);
        if gone && leftovers.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < GONE_WAIT,
            "after {GONE_WAIT:?}: codex pid {pid} gone (reaped): {gone}; processes still running \
             with this CODEX_HOME: {leftovers:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
