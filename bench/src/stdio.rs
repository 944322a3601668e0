//! Over a pipe to a child process: events/s and round trips, ours against a raw loop, rmcp and
//! the Agent Client Protocol SDK, all in one current-thread runtime (the child gets the other
//! core), the methods interleaved round by round.

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
use delegate_approval::AllowAll;
use delegate_bench::PAYLOAD;
use delegate_bench::Task;
use delegate_bench::json_line;
use delegate_core::Agent;
use delegate_core::Delegate;
use delegate_core::DelegateOptions;
use delegate_core::delegate;
use delegate_protocol::Decision;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_transport_stdio::ChildProcessAgent;
use delegate_transport_stdio::Frame;
use delegate_transport_stdio::JsonLinesReader;
use delegate_transport_stdio::StderrMode;
use rmcp::ClientHandler;
use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::NotificationContext;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::process::ChildStdin;
use tokio::process::ChildStdout;
use tokio::sync::Notify;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::report::Figure;
use crate::report::Row;
use crate::report::Section;
use crate::report::micros;
use crate::report::percentile;
use crate::report::rate;
use crate::report::ratio;

/// Where the peer binaries are: next to this one.
pub fn peer(name: &str) -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().unwrap_or(Path::new(".")).join(name)
}

fn user_input(turn: u64, task: Task) -> Submission {
    Submission::new(format!("t{turn}"), Op::user_text(task.text()))
}

// ---------------------------------------------------------------------------------------------
// The methods

/// A child with nothing between us and its pipes: `read_until` + `serde_json::from_slice`.
struct RawChild {
    _child: tokio::process::Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    buf: Vec<u8>,
}

fn spawn_piped(program: &Path, mode: &str) -> (tokio::process::Child, ChildStdin, ChildStdout) {
    let mut child = tokio::process::Command::new(program)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    (child, stdin, stdout)
}

impl RawChild {
    fn spawn(mode: &str) -> RawChild {
        let (child, stdin, stdout) = spawn_piped(&peer("peer-raw"), mode);
        // The same 64 KiB a `JsonLinesReader` reads with.
        RawChild {
            _child: child,
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, submission: &Submission) {
        self.stdin.write_all(&json_line(submission)).await.expect("writes");
        self.stdin.flush().await.expect("flushes");
    }

    async fn next(&mut self) -> Event {
        self.buf.clear();
        self.stdout.read_until(b'\n', &mut self.buf).await.expect("reads");
        serde_json::from_slice::<Event>(&self.buf).expect("an event")
    }
}

/// Our framing alone over the same pipe: `JsonLinesReader::next_frame` + `try_next_frame`.
struct ReaderChild {
    _child: tokio::process::Child,
    stdin: ChildStdin,
    reader: JsonLinesReader<ChildStdout, Event>,
}

fn is_turn_end(frame: Option<Frame<Event>>) -> bool {
    match frame {
        Some(Frame::Message(event)) => matches!(event.msg, EventMsg::TaskComplete(_)),
        Some(Frame::Bad(bad)) => panic!("a bad line: {bad}"),
        None => panic!("the child's stdout ended"),
    }
}

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
                eprintln!("delegate-bench: the ACP connection ended: {err}");
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

fn intervals(times: &[Instant]) -> Vec<f64> {
    times.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect()
}

fn spawn_agent(program: &Path, mode: Option<&str>) -> ChildProcessAgent {
    ChildProcessAgent::builder(program)
        .args(mode)
        .stderr(StderrMode::Discard)
        .spawn()
        .expect("the peer starts")
}

/// Read one turn from a `ChildProcessAgent` as the engine does: `next_event`, then the burst
/// `try_next_event` has ready.
async fn until_turn_end(agent: &ChildProcessAgent) {
    loop {
        let mut event = agent.next_event().await.expect("an event");
        loop {
            if matches!(event.msg, EventMsg::TaskComplete(_)) {
                return;
            }
            match agent.try_next_event() {
                Some(next) => event = next,
                None => break,
            }
        }
    }
}

enum Flooder {
    Raw(RawChild),
    Reader(ReaderChild),
    Child(ChildProcessAgent),
    Rmcp(RmcpClient),
    Acp(AcpClient),
}

impl Flooder {
    /// One turn of `n` events; the time from asking to the last event.
    async fn flood(&mut self, n: u64, turn: u64) -> Duration {
        let start = Instant::now();
        match self {
            Flooder::Raw(raw) => {
                raw.send(&user_input(turn, Task::Flood(n))).await;
                while !matches!(raw.next().await.msg, EventMsg::TaskComplete(_)) {}
            }
            Flooder::Reader(child) => {
                let line = json_line(&user_input(turn, Task::Flood(n)));
                child.stdin.write_all(&line).await.expect("writes");
                child.stdin.flush().await.expect("flushes");
                'turn: loop {
                    let mut frame = child.reader.next_frame().await.expect("reads");
                    loop {
                        if matches!(&frame, Some(Frame::Message(e)) if !matches!(e.msg, EventMsg::TaskComplete(_)))
                        {
                            frame = child.reader.try_next_frame();
                            if frame.is_none() {
                                break;
                            }
                            continue;
                        }
                        if is_turn_end(frame) {
                            break 'turn;
                        }
                        break;
                    }
                }
            }
            Flooder::Child(agent) => {
                agent.submit(user_input(turn, Task::Flood(n))).await.expect("submits");
                until_turn_end(agent).await;
            }
            Flooder::Rmcp(client) => client.flood(n).await,
            Flooder::Acp(client) => client.flood(n).await,
        }
        start.elapsed()
    }

    async fn stop(self) {
        match self {
            Flooder::Child(agent) => {
                let _ = agent.shutdown().await;
            }
            Flooder::Rmcp(client) => {
                let _ = client.service.cancel().await;
            }
            Flooder::Acp(client) => client.stop().await,
            Flooder::Raw(_) | Flooder::Reader(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// profiling

/// `delegate-bench profile WHAT N`: one method alone, for `valgrind --tool=callgrind` (see
/// BENCHMARKS.md). `approvals`: N approval round trips through `ChildProcessAgent` + `delegate()`
/// with a raw child; `echo`: N raw echo round trips; `child-flood` / `raw-flood` / `served-flood`:
/// one turn of N events read by `ChildProcessAgent` / the raw loop / `ChildProcessAgent` from a
/// `serve` child.
pub fn profile(what: &str, n: u64) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    rt.block_on(async {
        match what {
            "approvals" => {
                let mut d = engine_over(&peer("peer-raw"), Some("approvals"));
                approval_intervals(&mut d, n, 1).await;
                d.cancel();
                d.finished().await;
            }
            "echo" => {
                let mut raw = RawChild::spawn("echo");
                let answer = Submission::new(
                    "approval-c1",
                    Op::ExecApproval {
                        id: "c1".into(),
                        turn_id: Some("t1".into()),
                        decision: Decision::Approved,
                    },
                );
                for _ in 0..n {
                    raw.send(&answer).await;
                    raw.next().await;
                }
            }
            "child-flood" => {
                let mut m = Flooder::Child(spawn_agent(&peer("peer-raw"), Some("flood")));
                m.flood(n, 1).await;
                m.stop().await;
            }
            "served-flood" => {
                let mut m = Flooder::Child(spawn_agent(&peer("peer-serve"), None));
                m.flood(n, 1).await;
                m.stop().await;
            }
            "raw-flood" => {
                Flooder::Raw(RawChild::spawn("flood")).flood(n, 1).await;
            }
            other => return Err(format!("nothing to profile called {other:?}")),
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// events/s

const RAW: usize = 0;
const READER: usize = 1;
const CHILD: usize = 2;
const SERVED: usize = 3;
const RMCP: usize = 4;
const ACP: usize = 5;

pub fn throughput(config: &Config, rt: &tokio::runtime::Runtime) -> Section {
    let mut methods = rt.block_on(async {
        let (child, stdin, stdout) = spawn_piped(&peer("peer-raw"), "flood");
        vec![
            Flooder::Raw(RawChild::spawn("flood")),
            Flooder::Reader(ReaderChild {
                _child: child,
                stdin,
                reader: JsonLinesReader::new(stdout),
            }),
            Flooder::Child(spawn_agent(&peer("peer-raw"), Some("flood"))),
            Flooder::Child(spawn_agent(&peer("peer-serve"), None)),
            Flooder::Rmcp(RmcpClient::start().await),
            Flooder::Acp(AcpClient::start().await),
        ]
    });
    let mut turn = 0u64;
    // Calibrate: each method gets a batch size that takes about `sample_seconds`.
    let sizes: Vec<u64> = rt.block_on(async {
        let mut sizes = Vec::new();
        for method in &mut methods {
            turn += 1;
            let probe = 20_000;
            let took = method.flood(probe, turn).await;
            let per_second = probe as f64 / took.as_secs_f64();
            let n = (per_second * config.sample_seconds) as u64;
            sizes.push(n.clamp(10_000, 2_000_000) / 1000 * 1000);
        }
        sizes
    });
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); methods.len()];
    rt.block_on(async {
        for round in 0..config.rounds {
            for k in 0..methods.len() {
                // Rotate the order each round so load drifts hit every method alike.
                let i = (round + k) % methods.len();
                turn += 1;
                let took = methods[i].flood(sizes[i], turn).await;
                rates[i].push(sizes[i] as f64 / took.as_secs_f64());
            }
        }
        for method in methods {
            method.stop().await;
        }
    });
    for (name, r) in ["raw", "reader", "child", "served", "rmcp", "acp"].iter().zip(&rates) {
        crate::verbose(&format!("events/s {name}"), r);
    }
    let f: Vec<Figure> = rates.iter().map(|r| Figure::of(r)).collect();
    let vs = |i: usize, j: usize| f[i].median / f[j].median;
    let line = |event: &Event| json_line(event).len();
    let delta_line = line(&delegate_bench::delta_event("t12"));
    let rows = vec![
        Row::new("raw `read_until` + `from_slice::<Event>` (baseline)", f[RAW].show(rate)),
        Row::new("ours: `JsonLinesReader` over the child's stdout", f[READER].show(rate))
            .baseline("raw")
            .ratio(ratio(vs(READER, RAW))),
        Row::new("ours: `ChildProcessAgent`", f[CHILD].show(rate))
            .baseline(format!("raw {}", f[RAW].show(rate)))
            .ratio(ratio(vs(CHILD, RAW)))
            .target("≥ 0.5×", vs(CHILD, RAW) >= 0.5),
        Row::new("ours end to end: `serve` child → `ChildProcessAgent`", f[SERVED].show(rate)),
        Row::new("ours end to end vs rmcp child-process stdio", f[SERVED].show(rate))
            .baseline(format!("rmcp {}", f[RMCP].show(rate)))
            .ratio(ratio(vs(SERVED, RMCP)))
            .target("≥ 5×", vs(SERVED, RMCP) >= 5.0),
        Row::new("ours end to end vs agent-client-protocol", f[SERVED].show(rate))
            .baseline(format!("ACP {}", f[ACP].show(rate)))
            .ratio(ratio(vs(SERVED, ACP)))
            .target("≥ 10×", vs(SERVED, ACP) >= 10.0),
    ];
    let acp_line = serde_json::json!({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s1","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":PAYLOAD}}}}).to_string().len() + 1;
    let rmcp_line = serde_json::json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":12345.0,"message":PAYLOAD}}).to_string().len() + 1;
    Section {
        title: "events/s from a child process over stdio".into(),
        rows,
        notes: vec![
            format!(
                "Every event carries the same {}-byte string: ours an `agent_message_delta` ({delta_line}-byte line), rmcp a `notifications/progress` message (≈ {rmcp_line} bytes), ACP a `session/update` `agent_message_chunk` (≈ {acp_line} bytes).",
                PAYLOAD.len()
            ),
            format!(
                "Raw, `JsonLinesReader` and `ChildProcessAgent` read the same child (`peer-raw flood`: pre-encoded lines from blocking std I/O), so they compare the parent side alone. \"End to end\" is a `serve`d in-process agent (`peer-serve`) → `ChildProcessAgent`, our stack on both sides, compared with rmcp (`peer-rmcp`: `notify_progress` from a tool call, read by a `TokioChildProcess` client) and ACP (`peer-acp`: `session/update` notifications from a prompt, read by a `Client.v1()` over `AcpAgent`)."
            ),
            format!(
                "Events per run (calibrated to ≈ {:.2} s each): raw {}, reader {}, ChildProcessAgent {}, end to end {}, rmcp {}, ACP {}; {} runs per method, interleaved.",
                config.sample_seconds,
                sizes[RAW],
                sizes[READER],
                sizes[CHILD],
                sizes[SERVED],
                sizes[RMCP],
                sizes[ACP],
                config.rounds
            ),
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// round trips

/// Seconds between consecutive `approval_pending` events the caller sees: one whole approval
/// round trip each (request → engine → approver → reply → child → next request).
async fn approval_intervals(d: &mut Delegate, n: u64, turn: u64) -> Vec<f64> {
    d.submit(user_input(turn, Task::Approvals(n))).await.expect("submits");
    let mut times = Vec::with_capacity(n as usize);
    loop {
        let event = d.next_event().await.expect("an event");
        match event.msg {
            EventMsg::ApprovalPending(_) => times.push(Instant::now()),
            EventMsg::TaskComplete(_) => break,
            _ => {}
        }
    }
    intervals(&times)
}

fn engine_over(program: &Path, mode: Option<&str>) -> Delegate {
    delegate(
        Arc::new(spawn_agent(program, mode)),
        Arc::new(AllowAll),
        CancellationToken::new(),
        DelegateOptions::default(),
    )
}

pub fn round_trips(config: &Config, rt: &tokio::runtime::Runtime) -> Section {
    let n = config.round_trips;
    let (mut raw, mut ours, mut served, rmcp, acp) = rt.block_on(async {
        (
            RawChild::spawn("echo"),
            engine_over(&peer("peer-raw"), Some("approvals")),
            engine_over(&peer("peer-serve"), None),
            RmcpClient::start().await,
            AcpClient::start().await,
        )
    });
    let answer = Submission::new(
        "approval-c1",
        Op::ExecApproval {
            id: "c1".into(),
            turn_id: Some("t1".into()),
            decision: Decision::Approved,
        },
    );
    // p50 and p99 of each run, per method.
    let mut p50: Vec<Vec<f64>> = vec![Vec::new(); 5];
    let mut p99: Vec<Vec<f64>> = vec![Vec::new(); 5];
    let mut turn = 1_000_000u64;
    rt.block_on(async {
        // Warm-up turn of each.
        for _ in 0..2 {
            for _ in 0..n / 10 {
                raw.send(&answer).await;
                raw.next().await;
            }
            turn += 1;
            approval_intervals(&mut ours, n / 10, turn).await;
            turn += 1;
            approval_intervals(&mut served, n / 10, turn).await;
            for _ in 0..n / 10 {
                rmcp.echo().await;
            }
            acp.approvals(n / 10).await;
        }
        for round in 0..config.latency_runs {
            for k in 0..5 {
                let i = (round + k) % 5;
                turn += 1;
                let mut samples = match i {
                    0 => {
                        let mut s = Vec::with_capacity(n as usize);
                        for _ in 0..n {
                            let start = Instant::now();
                            raw.send(&answer).await;
                            let event = raw.next().await;
                            s.push(start.elapsed().as_secs_f64());
                            assert!(matches!(event.msg, EventMsg::ExecApprovalRequest(_)));
                        }
                        s
                    }
                    1 => approval_intervals(&mut ours, n, turn).await,
                    2 => approval_intervals(&mut served, n, turn).await,
                    3 => {
                        let mut s = Vec::with_capacity(n as usize);
                        for _ in 0..n {
                            let start = Instant::now();
                            rmcp.echo().await;
                            s.push(start.elapsed().as_secs_f64());
                        }
                        s
                    }
                    _ => acp.approvals(n).await,
                };
                crate::verbose(
                    &format!("round trip {i} p50,p99,n"),
                    &[
                        percentile(&mut samples, 0.5),
                        percentile(&mut samples, 0.99),
                        samples.len() as f64,
                    ],
                );
                p50[i].push(percentile(&mut samples, 0.5));
                p99[i].push(percentile(&mut samples, 0.99));
            }
        }
        ours.cancel();
        served.cancel();
        ours.finished().await;
        served.finished().await;
        let _ = rmcp.service.cancel().await;
        acp.stop().await;
    });
    let p50: Vec<Figure> = p50.iter().map(|v| Figure::of(v)).collect();
    let p99: Vec<Figure> = p99.iter().map(|v| Figure::of(v)).collect();
    let both = |i: usize| format!("p50 {} / p99 {}", p50[i].show(micros), p99[i].show(micros));
    let r = |i: usize, j: usize| p50[i].median / p50[j].median;
    let rows = vec![
        Row::new("raw JSON echo (baseline)", both(0)),
        Row::new("approval via the engine (AllowAll), raw child", both(1))
            .baseline(format!("raw echo p50 {}", micros(p50[0].median)))
            .ratio(format!("p50 {}, p99 {}", ratio(r(1, 0)), ratio(p99[1].median / p99[0].median)))
            .target("p50 ≤ 2×", r(1, 0) <= 2.0),
        Row::new("approval via the engine, `serve` child (end to end)", both(2))
            .baseline(format!("raw echo p50 {}", micros(p50[0].median)))
            .ratio(format!("p50 {}", ratio(r(2, 0)))),
        Row::new("rmcp `tools/call` echo", both(3))
            .baseline(format!("ours end to end p50 {}", micros(p50[2].median)))
            .ratio(format!("ours is {} faster", ratio(1.0 / r(2, 3)))),
        Row::new("ACP `session/request_permission`", both(4))
            .baseline(format!("ours end to end p50 {}", micros(p50[2].median)))
            .ratio(format!("ours is {} faster", ratio(1.0 / r(2, 4)))),
    ];
    Section {
        title: "round trips over stdio".into(),
        rows,
        notes: vec![
            format!(
                "Raw echo: the parent writes an `exec_approval` submission line and reads back one `exec_approval_request` line (`peer-raw echo`), timed per round trip. Approval: the child sends an `exec_approval_request` (command `echo` + the {}-byte payload) and the next one only after it read the answer; `ChildProcessAgent` → `delegate()` with `AllowAll` → reply; one round trip is the time between two consecutive `approval_pending` events the caller sees.",
                PAYLOAD.len()
            ),
            "rmcp: one `tools/call` of an `echo` tool with the payload as argument and result, timed at the client. ACP: the agent asks `session/request_permission` (a tool call titled with the payload) after each answer; one round trip is the time between two requests arriving at the client.".into(),
            format!("{n} round trips per run, {} runs per method, interleaved; each figure is the median of the runs' p50 (or p99) with min–max.", config.latency_runs),
        ],
    }
}
