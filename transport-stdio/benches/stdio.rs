//! Benchmarks of the stdio transport against raw baselines over the same kind of pipe, in the
//! same run, reported as ratios (DESIGN §7):
//!
//! - events/s from a child (`delegate-fake-agent flood N`) read through [`ChildProcessAgent`]
//!   vs a raw `read_until` + `serde_json::from_slice::<Event>` loop (target ≥ 0.5×);
//! - approval round trip (`approvals` mode: request event → `exec_approval` submission → next
//!   request) vs a raw JSON echo (`echo` mode: submission line → event line), p50 and p99
//!   (target p50 ≤ 2×).
//!
//! Both sides run on a current-thread runtime, so each gets one core and the child the other.
//! The transport is read the way the delegation engine reads it: `next_event`, then the burst
//! that `try_next_event` has ready.

// A benchmark has no one to report an error to: it stops with the reason.
#![allow(clippy::expect_used)]

use std::cell::RefCell;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use criterion::Criterion;
use criterion::Throughput;
use delegate_core::Agent;
use delegate_protocol::Decision;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_transport_stdio::ChildProcessAgent;
use delegate_transport_stdio::StderrMode;
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::process::ChildStdin;
use tokio::process::ChildStdout;

const FAKE_AGENT: &str = env!("CARGO_BIN_EXE_delegate-fake-agent");

/// Events per flood turn: large enough that a turn's fixed costs vanish.
const FLOOD: u64 = 100_000;

/// Round trips per approval turn.
const ROUND_TRIPS: u64 = 2_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

fn line(submission: &Submission) -> Vec<u8> {
    let mut line = serde_json::to_vec(submission).expect("encodes");
    line.push(b'\n');
    line
}

/// A child behind no transport: its stdin and stdout.
struct RawChild {
    _child: tokio::process::Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    buf: Vec<u8>,
}

impl RawChild {
    fn spawn(mode: &str, arg: Option<&str>) -> Self {
        let mut command = tokio::process::Command::new(FAKE_AGENT);
        command.arg(mode).args(arg).kill_on_drop(true);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the fake agent starts");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped"));
        Self { _child: child, stdin, stdout, buf: Vec::new() }
    }

    async fn send(&mut self, submission: &Submission) {
        self.stdin.write_all(&line(submission)).await.expect("writes");
        self.stdin.flush().await.expect("flushes");
    }

    async fn next(&mut self) -> Event {
        self.buf.clear();
        self.stdout.read_until(b'\n', &mut self.buf).await.expect("reads");
        serde_json::from_slice::<Event>(&self.buf).expect("decodes")
    }
}

fn spawn_agent(args: &[&str]) -> ChildProcessAgent {
    ChildProcessAgent::builder(FAKE_AGENT)
        .args(args)
        .stderr(StderrMode::Discard)
        .spawn()
        .expect("the fake agent starts")
}

/// Seconds per event of each measured batch.
#[derive(Default)]
struct Samples {
    transport: Vec<f64>,
    raw: Vec<f64>,
}

fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let index = ((values.len() - 1) as f64 * p).round() as usize;
    values[index]
}

fn bench_throughput(c: &mut Criterion) {
    let rt = runtime();
    let samples = RefCell::new(Samples::default());
    let mut group = c.benchmark_group("events from a child");
    group.throughput(Throughput::Elements(FLOOD));
    group.sample_size(20).measurement_time(Duration::from_secs(8));

    let agent = rt.block_on(async { spawn_agent(&["flood", &FLOOD.to_string()]) });
    let mut turn = 0u64;
    group.bench_function("ChildProcessAgent", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    turn += 1;
                    let id = format!("t{turn}");
                    agent.submit(Submission::new(id, Op::user_text("go"))).await.expect("submits");
                    // As the delegation engine reads: wait for one event, then take the burst
                    // that is ready without waiting.
                    'turn: loop {
                        let mut event = agent.next_event().await.expect("an event");
                        loop {
                            if let EventMsg::TaskComplete(_) = event.msg {
                                break 'turn;
                            }
                            match agent.try_next_event() {
                                Some(next) => event = next,
                                None => break,
                            }
                        }
                    }
                }
                let took = start.elapsed();
                samples.borrow_mut().transport.push(took.as_secs_f64() / (iters * FLOOD) as f64);
                took
            })
        });
    });
    rt.block_on(agent.shutdown()).expect("shuts down");

    let mut raw = rt.block_on(async { RawChild::spawn("flood", Some(&FLOOD.to_string())) });
    group.bench_function("raw read_until + from_slice", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    turn += 1;
                    raw.send(&Submission::new(format!("t{turn}"), Op::user_text("go"))).await;
                    loop {
                        if let EventMsg::TaskComplete(_) = raw.next().await.msg {
                            break;
                        }
                    }
                }
                let took = start.elapsed();
                samples.borrow_mut().raw.push(took.as_secs_f64() / (iters * FLOOD) as f64);
                took
            })
        });
    });
    group.finish();

    let mut samples = samples.into_inner();
    let transport = 1.0 / median(&mut samples.transport);
    let raw = 1.0 / median(&mut samples.raw);
    println!(
        "\nevents/s from a child: transport {:.0}, raw {:.0}, ratio {:.2}× (target ≥ 0.5×)\n",
        transport,
        raw,
        transport / raw
    );
}

fn bench_round_trip(c: &mut Criterion) {
    let rt = runtime();
    let samples = RefCell::new(Samples::default());
    let mut group = c.benchmark_group("approval round trip");
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    group.sample_size(10).measurement_time(Duration::from_secs(8));

    let agent = rt.block_on(async { spawn_agent(&["approvals"]) });
    let mut turn = 0u64;
    group.bench_function("ChildProcessAgent", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    turn += 1;
                    let id = format!("t{turn}");
                    let input = Submission::new(id, Op::user_text(ROUND_TRIPS.to_string()));
                    agent.submit(input).await.expect("submits");
                    let mut asked: Option<Instant> = None;
                    loop {
                        let event = agent.next_event().await.expect("an event");
                        let now = Instant::now();
                        if let Some(asked) = asked.take() {
                            let took = now - asked;
                            total += took;
                            samples.borrow_mut().transport.push(took.as_secs_f64());
                        }
                        match event.msg {
                            EventMsg::ExecApprovalRequest(request) => {
                                let answer = Op::ExecApproval {
                                    id: request.call_id,
                                    turn_id: Some(event.id),
                                    decision: Decision::Approved,
                                };
                                asked = Some(Instant::now());
                                agent.submit(Submission::new("a", answer)).await.expect("submits");
                            }
                            EventMsg::TaskComplete(_) => break,
                            _ => {}
                        }
                    }
                }
                total
            })
        });
    });
    rt.block_on(agent.shutdown()).expect("shuts down");

    let mut raw = rt.block_on(async { RawChild::spawn("echo", None) });
    group.bench_function("raw JSON echo", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters * ROUND_TRIPS {
                    let answer = Op::ExecApproval {
                        id: "c".into(),
                        turn_id: Some("t".into()),
                        decision: Decision::Approved,
                    };
                    let start = Instant::now();
                    raw.send(&Submission::new("a", answer)).await;
                    let event = raw.next().await;
                    let took = start.elapsed();
                    assert!(matches!(event.msg, EventMsg::ExecApprovalRequest(_)));
                    total += took;
                    samples.borrow_mut().raw.push(took.as_secs_f64());
                }
                total
            })
        });
    });
    group.finish();

    let mut samples = samples.into_inner();
    let (t50, t99) = (median(&mut samples.transport), percentile(&mut samples.transport, 0.99));
    let (r50, r99) = (median(&mut samples.raw), percentile(&mut samples.raw, 0.99));
    println!(
        "\napproval round trip: transport p50 {:.1} µs p99 {:.1} µs; raw echo p50 {:.1} µs p99 {:.1} µs; \
         ratio p50 {:.2}× (target ≤ 2×), p99 {:.2}×\n",
        t50 * 1e6,
        t99 * 1e6,
        r50 * 1e6,
        r99 * 1e6,
        t50 / r50,
        t99 / r99
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_throughput(&mut criterion);
    bench_round_trip(&mut criterion);
    criterion.final_summary();
}
