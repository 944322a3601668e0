//! Over a pipe to a child process: events/s and round trips, ours against a raw loop, rmcp and
//! the Agent Client Protocol SDK, all in one current-thread runtime (the child gets the other
//! core), the methods interleaved round by round.

use std::path::Path;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

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
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::process::ChildStdin;
use tokio::process::ChildStdout;
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

/// The rmcp and ACP clients, in a worker process of their own (`delegate-bench-rivals`, see
/// its docs): this process never links them, so their serde_json features cannot change the
/// size or the decoding of delegate's types measured here.
pub struct Rivals {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl Rivals {
    pub fn start() -> Rivals {
        let program = peer("delegate-bench-rivals");
        let mut child = std::process::Command::new(&program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let input = child.stdin.take().expect("piped");
        let output = std::io::BufReader::new(child.stdout.take().expect("piped"));
        Rivals { child, input, output }
    }

    /// One command, one answer: the numbers it printed.
    pub fn ask(&mut self, command: &str) -> Vec<f64> {
        use std::io::BufRead;
        use std::io::Write;
        writeln!(self.input, "{command}").expect("the rivals worker reads");
        self.input.flush().expect("the rivals worker reads");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("the rivals worker answers");
        let numbers: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert!(!numbers.is_empty(), "the rivals worker failed on {command:?} (answered {line:?})");
        numbers
    }
}

impl Drop for Rivals {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = writeln!(self.input, "quit");
        let _ = self.input.flush();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    /// `rmcp` or `acp`, in the rivals worker.
    Rival(std::rc::Rc<std::cell::RefCell<Rivals>>, &'static str),
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
            Flooder::Rival(rivals, which) => {
                // Timed by the worker, around its own client only.
                let secs = rivals.borrow_mut().ask(&format!("flood {which} {n}"))[0];
                return Duration::from_secs_f64(secs);
            }
        }
        start.elapsed()
    }

    async fn stop(self) {
        match self {
            Flooder::Child(agent) => {
                let _ = agent.shutdown().await;
            }
            Flooder::Raw(_) | Flooder::Reader(_) | Flooder::Rival(..) => {}
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
    let rivals = std::rc::Rc::new(std::cell::RefCell::new(Rivals::start()));
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
            Flooder::Rival(std::rc::Rc::clone(&rivals), "rmcp"),
            Flooder::Rival(std::rc::Rc::clone(&rivals), "acp"),
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
    let mut rivals = Rivals::start();
    let (mut raw, mut ours, mut served) = rt.block_on(async {
        (
            RawChild::spawn("echo"),
            engine_over(&peer("peer-raw"), Some("approvals")),
            engine_over(&peer("peer-serve"), None),
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
            rivals.ask(&format!("echo rmcp {}", n / 10));
            rivals.ask(&format!("approvals acp {}", n / 10));
        }
        for round in 0..config.round_trip_runs {
            for k in 0..5 {
                let i = (round + k) % 5;
                turn += 1;
                let (run_p50, run_p99) = match i {
                    3 | 4 => {
                        // Measured by the rivals worker: p50 and p99 of its run.
                        let command = if i == 3 { "echo rmcp" } else { "approvals acp" };
                        let answer = rivals.ask(&format!("{command} {n}"));
                        (answer[0], answer.get(1).copied().unwrap_or(f64::NAN))
                    }
                    _ => {
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
                            _ => approval_intervals(&mut served, n, turn).await,
                        };
                        (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99))
                    }
                };
                crate::verbose(&format!("round trip {i} p50,p99"), &[run_p50, run_p99]);
                p50[i].push(run_p50);
                p99[i].push(run_p99);
            }
        }
        ours.cancel();
        served.cancel();
        ours.finished().await;
        served.finished().await;
    });
    drop(rivals);
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
            .ratio(format!("p50 {} of ours", ratio(r(3, 2)))),
        Row::new("ACP `session/request_permission`", both(4))
            .baseline(format!("ours end to end p50 {}", micros(p50[2].median)))
            .ratio(format!("p50 {} of ours", ratio(r(4, 2)))),
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
            format!("{n} round trips per run, {} runs per method, interleaved; each figure is the median of the runs' p50 (or p99) with min–max.", config.round_trip_runs),
        ],
    }
}
