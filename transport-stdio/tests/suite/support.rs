//! Shared test helpers: bounded waits, the fake agent, a scripted in-process agent, and the
//! process table.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use delegate_core::Agent;
use delegate_core::AgentError;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Submission;
use delegate_transport_stdio::ChildProcessAgent;
use delegate_transport_stdio::ChildProcessAgentBuilder;
use delegate_transport_stdio::ShutdownTimeouts;
use delegate_transport_stdio::StderrMode;
use tokio::sync::Mutex;
use tokio::sync::mpsc;
use tokio::sync::watch;

/// The longest any single wait in a test may take: a hung test fails in seconds.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Each step of the stop sequence in tests: short, so a child that ignores everything costs
/// well under a second.
pub const STEP: Duration = Duration::from_millis(200);

/// Await `future`, failing the test if it takes longer than [`TEST_TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    within_for(TEST_TIMEOUT, what, future).await
}

/// Await `future`, failing the test if it takes longer than `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Poll `condition` every 10 ms until it holds, for at most [`TEST_TIMEOUT`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// [`eventually`] without a runtime.
pub fn eventually_blocking(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + TEST_TIMEOUT;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out after {TEST_TIMEOUT:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The fake agent in `mode`, with short stop steps and stderr discarded.
pub fn fake_agent(mode: &str) -> ChildProcessAgentBuilder {
    ChildProcessAgent::builder(env!("CARGO_BIN_EXE_delegate-fake-agent"))
        .arg(mode)
        .shutdown_timeouts(ShutdownTimeouts::uniform(STEP))
        .stderr(StderrMode::Discard)
}

/// Every event until the stream ends.
pub async fn drain(agent: &dyn Agent) -> Vec<Event> {
    within("the end of the event stream", async {
        let mut events = Vec::new();
        while let Some(event) = agent.next_event().await {
            events.push(event);
        }
        events
    })
    .await
}

/// Events until (and including) the first one `stop` accepts.
pub async fn events_until(agent: &dyn Agent, stop: impl Fn(&EventMsg) -> bool) -> Vec<Event> {
    within("an awaited event", async {
        let mut events = Vec::new();
        while let Some(event) = agent.next_event().await {
            let done = stop(&event.msg);
            events.push(event);
            if done {
                return events;
            }
        }
        panic!("the stream ended before the awaited event; got {events:#?}")
    })
    .await
}

/// The messages of `agent_message` events.
pub fn messages(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::AgentMessage(m) => Some(m.message.as_str()),
            _ => None,
        })
        .collect()
}

/// The messages of `warning` events.
pub fn warnings(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::Warning(w) => Some(w.message.as_str()),
            _ => None,
        })
        .collect()
}

/// The messages of `error` events.
pub fn errors(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::Error(w) => Some(w.message.as_str()),
            _ => None,
        })
        .collect()
}

/// Wait until the status is final and return it.
pub async fn final_status(agent: &dyn Agent) -> AgentStatus {
    let mut status = agent.status();
    let status = within("a final status", status.wait_for(AgentStatus::is_final)).await;
    status.expect("the status sender is alive").clone()
}

/// A temporary path unique to this test process and `name`.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("delegate-transport-stdio-{}-{name}", std::process::id()))
}

// ---- the process table ----

/// One line of `/proc/PID/stat`: state, parent, process group.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub pgid: i32,
}

/// `/proc/PID/stat`, or `None` if there is no such process.
pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything; the fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(ProcStat { state, ppid, pgid })
}

/// Whether `pid` is gone: no such process, or a zombie that is not ours to reap. (The init
/// process of some containers never reaps the orphans it inherits; such a zombie runs nothing
/// and holds nothing but its pid.) A zombie child of this test process is *not* gone.
pub fn is_gone(pid: i32) -> bool {
    match proc_stat(pid) {
        None => true,
        Some(stat) => stat.state == 'Z' && stat.ppid != std::process::id() as i32,
    }
}

/// Processes of process group `pgid` that are not gone (see [`is_gone`]).
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.pgid == pgid) && !is_gone(pid))
        .collect()
}

/// The child is reaped (no zombie of ours) and nothing of its process group is left.
pub async fn assert_no_leftovers(pid: u32) {
    let pid = pid as i32;
    eventually(&format!("process {pid} to be reaped"), || proc_stat(pid).is_none()).await;
    eventually(&format!("process group {pid} to be empty"), || group_members(pid).is_empty()).await;
}

// ---- a scripted in-process agent ----

/// The test's side of a [`ScriptedAgent`]: what it was sent, and a way to make it emit.
pub struct Script {
    pub submissions: mpsc::UnboundedReceiver<Submission>,
    pub events: mpsc::Sender<Event>,
}

/// An in-process agent the test plays: submissions go to [`Script::submissions`], events come
/// from [`Script::events`]. Dropping `Script::submissions` makes `submit` fail.
pub struct ScriptedAgent {
    submissions: mpsc::UnboundedSender<Submission>,
    events: Mutex<mpsc::Receiver<Event>>,
    status: watch::Sender<AgentStatus>,
}

pub fn scripted_agent() -> (ScriptedAgent, Script) {
    let (submissions_tx, submissions) = mpsc::unbounded_channel();
    let (events, events_rx) = mpsc::channel(16);
    let agent = ScriptedAgent {
        submissions: submissions_tx,
        events: Mutex::new(events_rx),
        status: watch::channel(AgentStatus::Running).0,
    };
    (agent, Script { submissions, events })
}

#[async_trait]
impl Agent for ScriptedAgent {
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        self.submissions.send(submission).map_err(|_| AgentError::closed("the script stopped"))
    }

    async fn next_event(&self) -> Option<Event> {
        self.events.lock().await.recv().await
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.subscribe()
    }
}
