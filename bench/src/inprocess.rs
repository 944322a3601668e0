//! In-process figures: forwarding throughput through a delegate vs a raw two-hop forwarder,
//! cancel → `shutdown` latency, and (each in a fresh process) memory per idle delegate and
//! create + tear down of 100 000.

use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use delegate_approval::AllowAll;
use delegate_core::AgentEndpoint;
use delegate_core::ChannelAgent;
use delegate_core::DEFAULT_CHANNEL_CAPACITY;
use delegate_core::DEFAULT_EVENT_CAPACITY;
use delegate_core::Delegate;
use delegate_core::DelegateOptions;
use delegate_core::delegate;
use delegate_protocol::AgentMessageEvent;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::report::Figure;
use crate::report::Row;
use crate::report::Section;
use crate::report::kib;
use crate::report::micros;
use crate::report::percentile;
use crate::report::rate;
use crate::report::ratio;
use crate::report::secs;

/// Delegates alive at once for the memory and create/teardown figures (DESIGN §7).
pub const MANY: usize = 100_000;

/// The in-process event: an `agent_message` (which the default filter lets through, unlike the
/// deltas) carrying the 100-byte payload.
fn message() -> Event {
    Event::new(
        delegate_bench::TURN,
        EventMsg::AgentMessage(AgentMessageEvent { message: delegate_bench::PAYLOAD.into() }),
    )
}

pub fn runtime(multi_thread: bool) -> Runtime {
    if multi_thread {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }
    .expect("a tokio runtime")
}

fn new_delegate() -> (Delegate, AgentEndpoint) {
    let (agent, sub) = ChannelAgent::pair();
    let d = delegate(
        Arc::new(agent),
        Arc::new(AllowAll),
        CancellationToken::new(),
        DelegateOptions::default(),
    );
    (d, sub)
}

/// producer → mpsc → forwarding task → mpsc → consumer, with the capacities a delegate uses.
async fn raw_two_hop(n: u64) -> Duration {
    let (in_tx, mut in_rx) = mpsc::channel::<Event>(DEFAULT_CHANNEL_CAPACITY);
    let (out_tx, mut out_rx) = mpsc::channel::<Event>(DEFAULT_EVENT_CAPACITY);
    let forwarder = tokio::spawn(async move {
        while let Some(event) = in_rx.recv().await {
            if out_tx.send(event).await.is_err() {
                break;
            }
        }
    });
    let event = message();
    let start = Instant::now();
    let producer = tokio::spawn(async move {
        for _ in 0..n {
            in_tx.send(event.clone()).await.expect("the forwarder runs");
        }
    });
    let consumer = tokio::spawn(async move {
        for _ in 0..n {
            out_rx.recv().await.expect("an event");
        }
    });
    consumer.await.expect("the consumer ran");
    let took = start.elapsed();
    producer.await.expect("the producer ran");
    forwarder.await.expect("the forwarder ran");
    took
}

/// producer → `ChannelAgent` endpoint → engine → `Delegate::next_event`.
async fn through_delegate(n: u64) -> Duration {
    let (d, sub) = new_delegate();
    let event = message();
    let start = Instant::now();
    let producer = tokio::spawn(async move {
        for _ in 0..n {
            sub.events.send(event.clone()).await.expect("the engine runs");
        }
        sub
    });
    let consumer = tokio::spawn(async move {
        let mut d = d;
        for _ in 0..n {
            d.next_event().await.expect("an event");
        }
        d
    });
    let d = consumer.await.expect("the consumer ran");
    let took = start.elapsed();
    drop(producer.await.expect("the producer ran"));
    d.finished().await;
    took
}

pub fn forwarding(config: &Config) -> Section {
    let n = config.forward_events;
    let mut rows = Vec::new();
    for multi_thread in [false, true] {
        let flavour = if multi_thread { "multi_thread(2)" } else { "current_thread" };
        let rt = runtime(multi_thread);
        // Warm-up: allocator, runtime, lazily built statics.
        rt.block_on(async {
            raw_two_hop(n / 10).await;
            through_delegate(n / 10).await;
        });
        let (mut raw, mut ours) = (Vec::new(), Vec::new());
        for round in 0..config.rounds {
            // Alternate the order so that drifts in the machine's load hit both alike.
            let (a, b) = rt.block_on(async {
                if round % 2 == 0 {
                    (raw_two_hop(n).await, through_delegate(n).await)
                } else {
                    let b = through_delegate(n).await;
                    (raw_two_hop(n).await, b)
                }
            });
            raw.push(n as f64 / a.as_secs_f64());
            ours.push(n as f64 / b.as_secs_f64());
        }
        let (raw, ours) = (Figure::of(&raw), Figure::of(&ours));
        let r = ours.median / raw.median;
        rows.push(
            Row::new(format!("events/s through a delegate, {flavour}"), ours.show(rate))
                .baseline(format!("raw two-hop mpsc forwarder {}", raw.show(rate)))
                .ratio(ratio(r))
                .target("≥ 0.8×", r >= 0.8),
        );
    }
    let latency = cancel_latency(config);
    rows.push(latency);
    Section {
        title: "in-process (delegate-core)".into(),
        rows,
        notes: vec![format!(
            "Forwarding: {n} `agent_message` events of a {}-byte message per run, producer → `ChannelAgent` → engine (default options: filter, approval routing) → consumer, against producer → mpsc({DEFAULT_CHANNEL_CAPACITY}) → task → mpsc({DEFAULT_EVENT_CAPACITY}) → consumer; runs alternate between the two.",
            delegate_bench::PAYLOAD.len()
        )],
    }
}

/// Cancel → the sub-agent receives `shutdown`: p50 and p99 of each run.
fn cancel_latency(config: &Config) -> Row {
    let rt = runtime(false);
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    for _ in 0..config.latency_runs {
        let mut samples = rt.block_on(async {
            let mut out = Vec::with_capacity(config.latency_samples);
            for i in 0..config.latency_samples {
                let (d, mut sub) = new_delegate();
                // A round trip first, so the engine is running and idle when the clock starts.
                d.submit(Submission::new(format!("s{i}"), Op::Interrupt)).await.expect("submits");
                sub.submissions.recv().await.expect("the interrupt");
                let start = Instant::now();
                d.cancel();
                while let Some(s) = sub.submissions.recv().await {
                    if matches!(s.op, Op::Shutdown) {
                        break;
                    }
                }
                out.push(start.elapsed().as_secs_f64());
                drop(sub);
                d.finished().await;
            }
            out
        });
        p50s.push(percentile(&mut samples, 0.5));
        p99s.push(percentile(&mut samples, 0.99));
    }
    let (p50, p99) = (Figure::of(&p50s), Figure::of(&p99s));
    Row::new("cancel → `shutdown` received, p99 (current_thread)", p99.show(micros))
        .baseline(format!(
            "p50 {}; {} × {} samples",
            p50.show(micros),
            config.latency_runs,
            config.latency_samples
        ))
        .target("p99 ≤ 100 µs", p99.median <= 100e-6)
}

/// Resident set size from /proc/self/statm.
fn rss_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    pages * 4096.0
}

/// Lets every spawned engine task run until it parks.
async fn settle() {
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// In a fresh process: RSS growth per idle delegate (engine + its `ChannelAgent` pair + the
/// handles kept), or per `ChannelAgent` pair alone with `pairs_only`. Prints bytes per item.
pub fn fresh_memory(count: usize, pairs_only: bool) {
    let rt = runtime(false);
    rt.block_on(async {
        // One delegate first: lazily allocated runtime, tracing and filter state.
        let (d, sub) = new_delegate();
        settle().await;
        drop(sub);
        d.finished().await;
        drop(d);
        let before = rss_bytes();
        if pairs_only {
            let pairs: Vec<_> = (0..count).map(|_| ChannelAgent::pair()).collect();
            let after = rss_bytes();
            println!("{}", (after - before) / count as f64);
            drop(pairs);
            return;
        }
        let alive: Vec<_> = (0..count).map(|_| new_delegate()).collect();
        settle().await;
        let after = rss_bytes();
        println!("{}", (after - before) / count as f64);
        drop(alive);
    });
    // Do not spend time tearing down 100 000 delegates: the process ends here.
    std::process::exit(0);
}

/// Create `count` delegates, cancel all, let every sub-agent see `interrupt` and `shutdown` and
/// go, and wait until every engine has finished.
async fn create_and_tear_down(count: usize) -> Duration {
    let start = Instant::now();
    let alive: Vec<_> = (0..count).map(|_| new_delegate()).collect();
    for (d, _) in &alive {
        d.cancel();
    }
    let mut finished = Vec::with_capacity(count);
    for (d, mut sub) in alive {
        let interrupt = sub.submissions.recv().await.expect("interrupt");
        assert!(matches!(interrupt.op, Op::Interrupt));
        let shutdown = sub.submissions.recv().await.expect("shutdown");
        assert!(matches!(shutdown.op, Op::Shutdown));
        drop(sub);
        finished.push(d);
    }
    for d in &finished {
        d.finished().await;
    }
    drop(finished);
    start.elapsed()
}

/// In a fresh process: [`create_and_tear_down`] twice — first with a heap the kernel must
/// still supply page by page (cold), then again with the heap the first round grew (warm).
/// Prints both times in seconds.
pub fn fresh_teardown(count: usize, multi_thread: bool) {
    let rt = runtime(multi_thread);
    let (cold, warm) = rt
        .block_on(async { (create_and_tear_down(count).await, create_and_tear_down(count).await) });
    println!("{} {}", cold.as_secs_f64(), warm.as_secs_f64());
}

/// Runs `delegate-bench fresh ARGS…` and reads the numbers it prints.
fn fresh(args: &[&str]) -> Result<Vec<f64>, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(me)
        .arg("fresh")
        .args(args)
        .output()
        .map_err(|e| format!("cannot start a fresh process: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "fresh {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let numbers: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    if numbers.is_empty() {
        return Err(format!("fresh {args:?} printed no number"));
    }
    Ok(numbers)
}

pub fn many(config: &Config) -> Section {
    let count = MANY.to_string();
    let mut rows = Vec::new();
    // Each run in a fresh process; column `i` of what it prints, over the runs.
    let runs = |args: &[&str], n: usize| -> Result<Vec<Vec<f64>>, String> {
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for _ in 0..n {
            for (i, value) in fresh(args)?.into_iter().enumerate() {
                if columns.len() <= i {
                    columns.push(Vec::new());
                }
                columns[i].push(value);
            }
        }
        crate::verbose(&format!("fresh {args:?}"), &columns.concat());
        Ok(columns)
    };
    match (
        runs(&["memory", &count], config.fresh_runs),
        runs(&["pairs", &count], config.fresh_runs),
    ) {
        (Ok(per), Ok(pair)) => {
            let (per, pair) = (Figure::of(&per[0]), Figure::of(&pair[0]));
            rows.push(
                Row::new(format!("memory per idle delegate ({MANY} alive)"), per.show(kib))
                    .baseline(format!(
                        "of which its ChannelAgent sub-agent {}; the engine's own {}",
                        pair.show(kib),
                        kib(per.median - pair.median)
                    ))
                    .target("≤ 16 KiB", per.median <= 16.0 * 1024.0),
            )
        }
        (Err(e), _) | (_, Err(e)) => {
            rows.push(Row::not_measured("memory per idle delegate", "≤ 16 KiB", e))
        }
    }
    for multi_thread in [false, true] {
        let flavour = if multi_thread { "multi_thread(2)" } else { "current_thread" };
        let mut args = vec!["teardown", count.as_str()];
        if multi_thread {
            args.push("multi");
        }
        match runs(&args, config.fresh_runs) {
            Ok(took) if took.len() == 2 => {
                let (cold, warm) = (Figure::of(&took[0]), Figure::of(&took[1]));
                rows.push(
                    Row::new(format!("create + tear down {MANY}, {flavour}"), cold.show(secs))
                        .baseline(format!(
                            "{:.1} µs per delegate; again in the same process (warm heap) {}",
                            cold.median * 1e6 / MANY as f64,
                            warm.show(secs)
                        ))
                        .target("< 2 s", cold.median < 2.0),
                );
            }
            Ok(_) => {
                rows.push(Row::not_measured("create + tear down", "< 2 s", "odd output".into()))
            }
            Err(e) => rows.push(Row::not_measured("create + tear down", "< 2 s", e)),
        }
    }
    let sizes = format!(
        "size_of: Event {} B, Submission {} B; tokio's mpsc allocates a first block of 32 slots when a channel is created, so an idle `ChannelAgent` pair holds 32 × Submission + 32 × Event and the engine another 32 × Event (its caller's channel) and 32 boxed ops",
        std::mem::size_of::<Event>(),
        std::mem::size_of::<Submission>()
    );
    let notes = vec![
        format!(
            "Memory: RSS growth (/proc/self/statm) in a fresh process per run while {MANY} delegates (each a `ChannelAgent` pair, the engine task, and the handles the caller keeps) sit idle, divided by {MANY}; the pair alone is measured the same way in another fresh process. {sizes}."
        ),
        format!(
            "Create + tear down: create {MANY}, cancel all, each sub-agent receives `interrupt` and `shutdown` and goes away, wait for every engine to finish. The figure is the first round in a fresh process (cold: the kernel supplies the heap page by page); the same again in that process reuses the heap (warm). The target is judged on the cold round."
        ),
    ];
    Section { title: "many delegates (delegate-core)".into(), rows, notes }
}
