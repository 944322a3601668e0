//! `delegate-bench-rivals`: measures rmcp and the Agent Client Protocol SDK on the benchmark
//! driver's command, so that the driver can interleave their runs with delegate's while its own
//! process never links them (their serde_json features would change delegate's types).
//!
//! It reads one command per line on stdin and answers one line on stdout:
//!
//! | command | does | answers |
//! |---|---|---|
//! | `flood rmcp N` | a `flood` tool call: N `notifications/progress` from `peer-rmcp` | seconds |
//! | `flood acp N` | a prompt `flood N`: N `session/update` notifications from `peer-acp` | seconds |
//! | `echo rmcp N` | N `tools/call` round trips of an `echo` tool, each timed | p50 p99 (seconds) |
//! | `approvals acp N` | a prompt `approvals N`: N `session/request_permission` round trips | p50 p99 (seconds) |
//! | `quit` | stops both peers and exits | — |
//!
//! Both clients run on one current-thread tokio runtime, like delegate's side in the driver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;
use std::time::Instant;

use agent_client_protocol::AcpAgent;
use agent_client_protocol::AcpAgentConfig;
use agent_client_protocol::Client;
use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::ContentBlock as AcpContent;
use agent_client_protocol::v1::schema::InitializeRequest;
use agent_client_protocol::v1::schema::NewSessionRequest;
use agent_client_protocol::v1::schema::PromptRequest;
use agent_client_protocol::v1::schema::RequestPermissionOutcome;
use agent_client_protocol::v1::schema::RequestPermissionRequest;
use agent_client_protocol::v1::schema::RequestPermissionResponse;
use agent_client_protocol::v1::schema::SelectedPermissionOutcome;
use agent_client_protocol::v1::schema::SessionId;
use agent_client_protocol::v1::schema::SessionNotification;
use agent_client_protocol::v1::schema::TextContent;
use delegate_bench::PAYLOAD;
use delegate_bench::Task;
use rmcp::ClientHandler;
use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::NotificationContext;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use tokio::sync::Notify;
use tokio::sync::oneshot;

/// Longest one flood may take before it counts as failed (a run takes well under a second).
const FLOOD_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the peer binaries are: next to this one.
fn peer(name: &str) -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().unwrap_or(Path::new(".")).join(name)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn intervals(times: &[Instant]) -> Vec<f64> {
    times.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect()
}

/// An rmcp client of `peer-rmcp` over rmcp's child-process stdio transport.
struct RmcpClient {
    service: RunningService<RoleClient, RmcpCounter>,
    count: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    done: Arc<Notify>,
}

/// Counts `notifications/progress`; rmcp hands each to the handler in a task of its own.
struct RmcpCounter {
    count: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    done: Arc<Notify>,
}

impl ClientHandler for RmcpCounter {
    async fn on_progress(
        &self,
        _params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if self.count.fetch_add(1, Ordering::Relaxed) + 1 == self.target.load(Ordering::Relaxed) {
            self.done.notify_one();
        }
    }
}

impl RmcpClient {
    async fn start() -> RmcpClient {
        let command = tokio::process::Command::new(peer("peer-rmcp"));
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(Stdio::null())
            .spawn()
            .expect("the rmcp peer starts");
        let count = Arc::new(AtomicU64::new(0));
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let done = Arc::new(Notify::new());
        let handler = RmcpCounter {
            count: Arc::clone(&count),
            target: Arc::clone(&target),
            done: Arc::clone(&done),
        };
        let service = handler.serve(transport).await.expect("the rmcp handshake");
        RmcpClient { service, count, target, done }
    }

    /// Ask for `n` notifications; return when the tool call answered and all were handled.
    async fn flood(&self, n: u64) {
        self.count.store(0, Ordering::Relaxed);
        self.target.store(n, Ordering::Relaxed);
        let mut arguments = serde_json::Map::new();
        arguments.insert("n".into(), n.into());
        self.service
            .call_tool(CallToolRequestParams::new("flood").with_arguments(arguments))
            .await
            .expect("the flood tool");
        if n > 0 {
            self.done.notified().await;
        }
    }

    async fn echo(&self) {
        let mut arguments = serde_json::Map::new();
        arguments.insert("text".into(), PAYLOAD.into());
        self.service
            .call_tool(CallToolRequestParams::new("echo").with_arguments(arguments))
            .await
            .expect("the echo tool");
    }
}

/// An ACP client (`Client.v1()`) of `peer-acp`, started through the SDK's `AcpAgent`.
struct AcpClient {
    connection: agent_client_protocol::v1::ConnectionTo<agent_client_protocol::Agent>,
    session: SessionId,
    count: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    done: Arc<Notify>,
    asked: Arc<Mutex<Vec<Instant>>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl AcpClient {
    async fn start() -> AcpClient {
        let count = Arc::new(AtomicU64::new(0));
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let done = Arc::new(Notify::new());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let agent = AcpAgent::new(AcpAgentConfig::new(peer("peer-acp")));
        let (c, t, d, a) = (count.clone(), target.clone(), done.clone(), asked.clone());
        // The connection runs until told to stop; the benchmark uses it from outside.
        let task = tokio::spawn(async move {
            let result = Client
                .v1()
                .name("delegate-bench")
                .on_receive_notification(
                    async move |_update: SessionNotification, _cx| {
                        if c.fetch_add(1, Ordering::Relaxed) + 1 == t.load(Ordering::Relaxed) {
                            d.notify_one();
                        }
                        Ok(())
                    },
                    agent_client_protocol::on_receive_notification!(),
                )
                .on_receive_request(
                    async move |_request: RequestPermissionRequest, responder, _cx| {
                        a.lock().expect("not poisoned").push(Instant::now());
                        responder.respond(RequestPermissionResponse::new(
                            RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(
                                "allow",
                            )),
                        ))
                    },
                    agent_client_protocol::on_receive_request!(),
                )
                .connect_with(agent, async move |connection| {
                    connection
                        .send_request(InitializeRequest::new(ProtocolVersion::V1))
                        .block_task()
                        .await?;
                    let session = connection
                        .send_request(NewSessionRequest::new(std::env::temp_dir()))
                        .block_task()
                        .await?
                        .session_id;
                    let _ = ready_tx.send((connection.clone(), session));
                    let _ = stopped.await;
                    Ok(())
                })
                .await;
            if let Err(err) = result {
                eprintln!("delegate-bench-rivals: the ACP connection ended: {err}");
            }
        });
        let (connection, session) = ready.await.expect("the ACP handshake");
        AcpClient { connection, session, count, target, done, asked, stop: Some(stop), task }
    }

    async fn prompt(&self, task: Task) {
        let prompt = PromptRequest::new(
            self.session.clone(),
            vec![AcpContent::Text(TextContent::new(task.text()))],
        );
        self.connection.send_request(prompt).block_task().await.expect("the prompt");
    }

    /// A prompt answered with `n` notifications; return when all were handled.
    async fn flood(&self, n: u64) {
        self.count.store(0, Ordering::Relaxed);
        self.target.store(n, Ordering::Relaxed);
        self.prompt(Task::Flood(n)).await;
        if n > 0 {
            self.done.notified().await;
        }
    }

    /// Seconds between consecutive permission requests: one round trip each.
    async fn approvals(&self, n: u64) -> Vec<f64> {
        self.asked.lock().expect("not poisoned").clear();
        self.prompt(Task::Approvals(n)).await;
        intervals(&self.asked.lock().expect("not poisoned"))
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (rmcp, acp) =
        runtime.block_on(async { (RmcpClient::start().await, AcpClient::start().await) });
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        let n: u64 = words.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
        let answer = runtime.block_on(async {
            match (words.first().copied(), words.get(1).copied()) {
                (Some("flood"), Some(which)) => {
                    let start = Instant::now();
                    // Bounded: a lost notification must not hang the whole benchmark.
                    let flood = async {
                        match which {
                            "rmcp" => rmcp.flood(n).await,
                            _ => acp.flood(n).await,
                        }
                    };
                    match tokio::time::timeout(FLOOD_TIMEOUT, flood).await {
                        Ok(()) => format!("{}", start.elapsed().as_secs_f64()),
                        Err(_) => {
                            eprintln!("delegate-bench-rivals: {which} flood of {n} timed out");
                            "NaN".to_string()
                        }
                    }
                }
                (Some("echo"), _) => {
                    let mut samples = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        let start = Instant::now();
                        rmcp.echo().await;
                        samples.push(start.elapsed().as_secs_f64());
                    }
                    format!("{} {}", percentile(&mut samples, 0.5), percentile(&mut samples, 0.99))
                }
                (Some("approvals"), _) => {
                    let mut samples = acp.approvals(n).await;
                    format!("{} {}", percentile(&mut samples, 0.5), percentile(&mut samples, 0.99))
                }
                _ => "quit".to_string(),
            }
        });
        if answer == "quit" {
            break;
        }
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
    runtime.block_on(async {
        let _ = rmcp.service.cancel().await;
        acp.stop().await;
    });
}
