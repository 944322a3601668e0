//! Turn latency of a real Codex app-server (`@openai/codex@0.169.0`, see `install-codex.sh`)
//! against the same mock model server, in the same run, three ways:
//!
//! - direct: a minimal JSON-RPC client writing `turn/start` and reading lines until
//!   `turn/completed` (the baseline);
//! - `CodexAgent`: the adapter as an `Agent`, `user_input` → `task_complete`;
//! - through `delegate()`: the engine in front of the adapter (allow-all approver, default
//!   event filter), as the `delegate` command drives it.
//!
//! Criterion measures each way on its own; the ratios printed at the end come from a second,
//! interleaved phase (one turn of each way per round, the order rotating), so drifts in the load
//! of a shared machine hit all three alike (issue 7's target: the adapter adds ≤ 5 %). Each way
//! drives its own Codex process; a turn is one model request answered with one message, so what
//! is measured is Codex plus whatever the adapter adds on top.

// A benchmark has no one to report an error to: it stops with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use criterion::Criterion;
use delegate_adapter_codex::CodexAgent;
use delegate_adapter_codex::test_util::CodexSandbox;
use delegate_adapter_codex::test_util::MockResponsesServer;
use delegate_adapter_codex::test_util::codex_binary;
use delegate_approval::AllowAll;
use delegate_core::Agent;
use delegate_core::DelegateOptions;
use delegate_core::delegate;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use serde_json::Value;
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::process::ChildStdin;
use tokio::process::ChildStdout;
use tokio_util::sync::CancellationToken;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

/// Codex behind nothing but a line reader: the baseline.
struct Direct {
    _child: tokio::process::Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    thread_id: String,
    next_id: i64,
    buf: Vec<u8>,
}

impl Direct {
    async fn start(sandbox: &CodexSandbox) -> Self {
        let mut child = tokio::process::Command::new(codex_binary().expect("codex is installed"))
            .arg("app-server")
            .current_dir(&sandbox.repo)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &sandbox.home)
            .env("CODEX_HOME", &sandbox.codex_home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("codex starts");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped"));
        let mut direct = Direct {
            _child: child,
            stdin,
            stdout,
            thread_id: String::new(),
            next_id: 1,
            buf: Vec::new(),
        };
        let init = json!({"clientInfo": {"name": "bench", "title": null, "version": "0"}, "capabilities": null});
        direct.request("initialize", init).await;
        direct.until_response(1).await;
        direct.send(&json!({"method": "initialized"})).await;
        let params = json!({"cwd": sandbox.repo, "approvalPolicy": "untrusted", "sandbox": "read-only", "ephemeral": true});
        direct.request("thread/start", params).await;
        let started = direct.until_response(2).await;
        direct.thread_id =
            started["result"]["thread"]["id"].as_str().expect("a thread id").to_string();
        direct
    }

    async fn send(&mut self, message: &Value) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).await.expect("writes");
        self.stdin.flush().await.expect("flushes");
    }

    async fn request(&mut self, method: &str, params: Value) {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"id": id, "method": method, "params": params})).await;
    }

    async fn next(&mut self) -> Value {
        self.buf.clear();
        let n = self.stdout.read_until(b'\n', &mut self.buf).await.expect("reads");
        assert!(n > 0, "codex exited");
        serde_json::from_slice(&self.buf).expect("JSON")
    }

    async fn until_response(&mut self, id: i64) -> Value {
        loop {
            let message = self.next().await;
            if message.get("method").is_none() && message["id"] == id {
                return message;
            }
        }
    }

    async fn turn(&mut self) {
        let params = json!({"threadId": self.thread_id, "input": [{"type": "text", "text": "hi", "text_elements": []}]});
        self.request("turn/start", params).await;
        loop {
            if self.next().await["method"] == "turn/completed" {
                return;
            }
        }
    }
}

/// Rounds of the interleaved phase: 3 × 60 turns of ≈ 35 ms, a few seconds in all.
const ROUNDS: usize = 60;

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len().saturating_sub(1)) as f64 * p).round() as usize;
    values.get(index).copied().unwrap_or(f64::NAN)
}

/// One timed turn through the adapter, alone or behind the engine.
async fn adapter_turn(agent: &CodexAgent, id: String) {
    agent.submit(Submission::new(id, Op::user_text("hi"))).await.unwrap();
    while !matches!(agent.next_event().await.expect("an event").msg, EventMsg::TaskComplete(_)) {}
}

async fn engine_turn(engine: &mut delegate_core::Delegate, id: String) {
    engine.submit(Submission::new(id, Op::user_text("hi"))).await.unwrap();
    while !matches!(engine.next_event().await.expect("an event").msg, EventMsg::TaskComplete(_)) {}
}

fn bench_turn_latency(c: &mut Criterion) {
    let rt = runtime();
    // An empty script: every request is answered with one message.
    let mock = rt.block_on(MockResponsesServer::start(Vec::new())).expect("the mock starts");
    let sandboxes: Vec<CodexSandbox> =
        (0..3).map(|_| CodexSandbox::new(&mock.base_url()).expect("a sandbox")).collect();
    let mut group = c.benchmark_group("codex turn latency");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));

    let mut direct = rt.block_on(Direct::start(&sandboxes[0]));
    group.bench_function("direct JSON-RPC", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    direct.turn().await;
                }
                start.elapsed()
            })
        })
    });

    let agent = rt
        .block_on(CodexAgent::spawn(sandboxes[1].options(codex_binary().unwrap())))
        .expect("codex starts");
    let mut turn = 0u64;
    group.bench_function("CodexAgent", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    turn += 1;
                    adapter_turn(&agent, format!("t{turn}")).await;
                }
                start.elapsed()
            })
        })
    });

    let mut engine = rt.block_on(async {
        let agent = CodexAgent::spawn(sandboxes[2].options(codex_binary().unwrap()))
            .await
            .expect("codex starts");
        delegate(
            Arc::new(agent),
            Arc::new(AllowAll),
            CancellationToken::new(),
            DelegateOptions::default(),
        )
    });
    group.bench_function("CodexAgent through delegate()", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    turn += 1;
                    engine_turn(&mut engine, format!("t{turn}")).await;
                }
                start.elapsed()
            })
        })
    });
    group.finish();

    let mut times: [Vec<f64>; 3] = Default::default();
    rt.block_on(async {
        for round in 0..ROUNDS {
            for k in 0..3 {
                let way = (round + k) % 3;
                turn += 1;
                let id = format!("t{turn}");
                let start = Instant::now();
                match way {
                    0 => direct.turn().await,
                    1 => adapter_turn(&agent, id).await,
                    _ => engine_turn(&mut engine, id).await,
                }
                times[way].push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    });
    engine.cancel();
    rt.block_on(engine.finished());

    let [mut direct, mut adapter, mut through] = times;
    let p50 = [
        percentile(&mut direct, 0.5),
        percentile(&mut adapter, 0.5),
        percentile(&mut through, 0.5),
    ];
    let p90 = [
        percentile(&mut direct, 0.9),
        percentile(&mut adapter, 0.9),
        percentile(&mut through, 0.9),
    ];
    println!(
        "\ncodex turn latency, {ROUNDS} interleaved rounds (p50 / p90):\n  \
         direct JSON-RPC      {:6.1} / {:6.1} ms\n  \
         CodexAgent           {:6.1} / {:6.1} ms   p50 ratio {:.3}×\n  \
         through delegate()   {:6.1} / {:6.1} ms   p50 ratio {:.3}×   (target ≤ 1.05×)\n",
        p50[0],
        p90[0],
        p50[1],
        p90[1],
        p50[1] / p50[0],
        p50[2],
        p90[2],
        p50[2] / p50[0],
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_turn_latency(&mut criterion);
    criterion.final_summary();
}
