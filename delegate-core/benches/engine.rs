//! Engine benchmarks (DESIGN §7): each figure is printed next to a baseline measured in the same
//! run, as a ratio, with the target and whether it is met.
//!
//! 1. In-process forwarding: events/s through a delegate (`ChannelAgent` pair → engine →
//!    consumer) vs a raw two-hop tokio mpsc forwarder with the same event type and capacities,
//!    on a current-thread runtime and on a multi-thread runtime with 2 workers. Criterion
//!    measures both; the ratio is the median of paired rounds run back to back (see
//!    `forwarding`), since this machine is shared and its load drifts within seconds.
//! 2. Memory per idle delegate with 100 000 alive at once: heap bytes allocated minus freed (a
//!    counting global allocator, `stats_alloc`) and, as a cross-check, the growth of the RSS.
//! 3. Create and tear down 100 000 delegates: create, cancel all, the sub-agents see `interrupt`
//!    and `shutdown` and exit, wait for every `finished()`.
//! 4. Cancel → `shutdown` received by the sub-agent: p50/p99 over 10 000 samples.
//!
//! 2–4 are plain timing loops (criterion's model does not fit them). Run with
//! `cargo bench -p delegate-core --bench engine [-- --quick]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use criterion::Criterion;
use criterion::Throughput;
use delegate_approval::DenyAll;
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
use stats_alloc::INSTRUMENTED_SYSTEM;
use stats_alloc::Region;
use stats_alloc::StatsAlloc;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Delegates alive at once for the memory and create/teardown figures (DESIGN §7).
const MANY: usize = 100_000;
/// Cancel → shutdown samples.
const LATENCY_SAMPLES: usize = 10_000;
/// Events per run in the paired rounds of the forwarding ratio.
const PAIRED_EVENTS: u64 = 200_000;
/// Paired rounds (raw, then delegate, or the other way round) of the forwarding ratio.
const PAIRED_ROUNDS: usize = 7;
/// Samples of the throughput benchmarks with fewer events than this are warm-up noise (a
/// pipeline set up for a handful of events measures the setup).
const MIN_EVENTS_PER_SAMPLE: u64 = 1_000;

fn message() -> Event {
    Event::new("t1", EventMsg::AgentMessage(AgentMessageEvent { message: "hello".into() }))
}

fn runtime(flavour: Flavour) -> Runtime {
    match flavour {
        Flavour::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavour::MultiThread => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }
    }
    .enable_all()
    .build()
    .unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Flavour {
    CurrentThread,
    MultiThread,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::CurrentThread => "current_thread",
            Flavour::MultiThread => "multi_thread(2)",
        }
    }
}

fn new_delegate() -> (Delegate, AgentEndpoint) {
    let (agent, sub) = ChannelAgent::pair();
    let d = delegate(
        Arc::new(agent),
        Arc::new(DenyAll),
        CancellationToken::new(),
        DelegateOptions::default(),
    );
    (d, sub)
}

// ---------------------------------------------------------------------------------------------
// 1. forwarding throughput

/// `n` events: producer → mpsc → forwarding task → mpsc → consumer. Returns the time from the
/// producer's start to the consumer's last event.
async fn raw_forwarder(n: u64) -> Duration {
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
            in_tx.send(event.clone()).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        for _ in 0..n {
            out_rx.recv().await.unwrap();
        }
    });
    consumer.await.unwrap();
    let elapsed = start.elapsed();
    producer.await.unwrap();
    forwarder.await.unwrap();
    elapsed
}

/// `n` events: the sub-agent side of a `ChannelAgent` pair → engine → consumer.
async fn through_delegate(n: u64) -> Duration {
    let (d, sub) = new_delegate();
    let event = message();
    let start = Instant::now();
    let producer = tokio::spawn(async move {
        for _ in 0..n {
            sub.events.send(event.clone()).await.unwrap();
        }
        sub
    });
    let consumer = tokio::spawn(async move {
        let mut d = d;
        for _ in 0..n {
            d.next_event().await.unwrap();
        }
        d
    });
    let d = consumer.await.unwrap();
    let elapsed = start.elapsed();
    // The sub-agent goes away; the engine ends at once (no drain timeout to wait for).
    drop(producer.await.unwrap());
    d.finished().await;
    elapsed
}

/// Events/s samples recorded from inside criterion's measurement (`iter_custom`), so the ratio
/// is taken from the very runs criterion reports.
type Samples = Rc<RefCell<Vec<(u64, Duration)>>>;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn events_per_second(samples: &Samples) -> f64 {
    let samples = samples.borrow();
    let big: Vec<&(u64, Duration)> =
        samples.iter().filter(|(n, _)| *n >= MIN_EVENTS_PER_SAMPLE).collect();
    let used = if big.is_empty() { samples.iter().collect() } else { big };
    let events: u64 = used.iter().map(|(n, _)| n).sum();
    let secs: f64 = used.iter().map(|(_, d)| d.as_secs_f64()).sum();
    events as f64 / secs.max(1e-9)
}

fn forwarding(c: &mut Criterion, flavour: Flavour, smoke: bool, table: &mut Vec<Row>) {
    let rt = runtime(flavour);
    let raw: Samples = Rc::default();
    let ours: Samples = Rc::default();
    let mut group = c.benchmark_group(format!("forwarding/{}", flavour.name()));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    {
        let raw = Rc::clone(&raw);
        group.bench_function("raw_two_hop", |b| {
            b.iter_custom(|n| {
                let d = rt.block_on(raw_forwarder(n));
                raw.borrow_mut().push((n, d));
                d
            })
        });
    }
    {
        let ours = Rc::clone(&ours);
        group.bench_function("delegate", |b| {
            b.iter_custom(|n| {
                let d = rt.block_on(through_delegate(n));
                ours.borrow_mut().push((n, d));
                d
            })
        });
    }
    group.finish();
    let (raw_criterion, ours_criterion) = (events_per_second(&raw), events_per_second(&ours));

    // The ratio itself comes from paired rounds: raw and delegate back to back, alternating
    // which goes first, so that load from other processes on this shared machine hits both
    // sides of each ratio alike. Criterion's figures, taken seconds apart, are shown beside it.
    let rounds = if smoke { 1 } else { PAIRED_ROUNDS };
    let events = if smoke { 1_000 } else { PAIRED_EVENTS };
    let (mut raw_rates, mut our_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let rate = |d: Duration| events as f64 / d.as_secs_f64();
        let (r, o) = if round % 2 == 0 {
            let r = rate(rt.block_on(raw_forwarder(events)));
            (r, rate(rt.block_on(through_delegate(events))))
        } else {
            let o = rate(rt.block_on(through_delegate(events)));
            (rate(rt.block_on(raw_forwarder(events))), o)
        };
        raw_rates.push(r);
        our_rates.push(o);
        ratios.push(o / r);
    }
    let ratio = median(&mut ratios);
    table.push(Row {
        name: format!("forwarding, {}", flavour.name()),
        value: format!("{:.2} M ev/s", median(&mut our_rates) / 1e6),
        baseline: format!(
            "raw two-hop {:.2} M ev/s; criterion: {:.2} vs {:.2} M ev/s ({:.2}×)",
            median(&mut raw_rates) / 1e6,
            ours_criterion / 1e6,
            raw_criterion / 1e6,
            ours_criterion / raw_criterion
        ),
        ratio: format!(
            "{ratio:.2}× ({:.2}–{:.2}, {rounds} rounds)",
            ratios.first().copied().unwrap_or(f64::NAN),
            ratios.last().copied().unwrap_or(f64::NAN)
        ),
        target: "≥ 0.8×".into(),
        met: ratio >= 0.8,
    });
}

// ---------------------------------------------------------------------------------------------
// 2. memory per idle delegate

/// Resident set size of this process, from /proc/self/statm (pages × page size); 0 where
/// unavailable.
fn rss_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Lets every spawned engine task run until it is parked (each polls once and waits).
async fn settle() {
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn memory(count: usize, table: &mut Vec<Row>) {
    let rt = runtime(Flavour::CurrentThread);
    rt.block_on(async {
        // A first delegate warms up lazily allocated runtime and tracing state.
        let (d, sub) = new_delegate();
        settle().await;
        drop(sub);
        d.finished().await;
        drop(d);

        // The sub-agent side alone (the pair's two channels), to tell it from the engine's share.
        let region = Region::new(GLOBAL);
        let pairs: Vec<_> = (0..count).map(|_| ChannelAgent::pair()).collect();
        let stats = region.change();
        let pair_per = (stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
            + stats.bytes_reallocated as i64) as f64
            / count as f64;
        drop(pairs);

        let rss_before = rss_bytes();
        let region = Region::new(GLOBAL);
        let mut alive = Vec::with_capacity(count);
        for _ in 0..count {
            alive.push(new_delegate());
        }
        settle().await;
        let stats = region.change();
        let rss_after = rss_bytes();
        let heap = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
            + stats.bytes_reallocated as i64;
        let per = heap as f64 / count as f64;
        let rss_per = rss_after.saturating_sub(rss_before) as f64 / count as f64;
        table.push(Row {
            name: format!("memory per idle delegate ({count} alive)"),
            value: format!("{:.2} KiB heap", per / 1024.0),
            baseline: format!(
                "of which ChannelAgent pair {:.2} KiB; RSS +{:.2} KiB; {} allocs/delegate",
                pair_per / 1024.0,
                rss_per / 1024.0,
                (stats.allocations as f64 / count as f64).round()
            ),
            ratio: "".into(),
            target: "≤ 16 KiB".into(),
            met: per <= 16.0 * 1024.0,
        });
        for (d, sub) in &alive {
            d.cancel();
            let _ = sub;
        }
        for (d, sub) in alive {
            drop(sub);
            d.finished().await;
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 3. create + tear down

/// Create `count` delegates, cancel all, let each sub-agent see `interrupt` and `shutdown` and
/// exit, and wait until every engine has finished.
async fn create_and_tear_down(count: usize) -> Duration {
    let start = Instant::now();
    let mut alive = Vec::with_capacity(count);
    for _ in 0..count {
        alive.push(new_delegate());
    }
    for (d, _) in &alive {
        d.cancel();
    }
    let mut finished = Vec::with_capacity(count);
    for (d, mut sub) in alive {
        assert!(matches!(sub.submissions.recv().await.unwrap().op, Op::Interrupt));
        assert!(matches!(sub.submissions.recv().await.unwrap().op, Op::Shutdown));
        drop(sub);
        finished.push(d);
    }
    for d in &finished {
        d.finished().await;
    }
    drop(finished);
    start.elapsed()
}

fn create_teardown(count: usize, flavour: Flavour, table: &mut Vec<Row>) {
    let rt = runtime(flavour);
    let elapsed = rt.block_on(create_and_tear_down(count));
    let secs = elapsed.as_secs_f64();
    table.push(Row {
        name: format!("create + tear down {count}, {}", flavour.name()),
        value: format!("{secs:.3} s"),
        baseline: format!("{:.2} µs per delegate", secs * 1e6 / count as f64),
        ratio: "".into(),
        target: "< 2 s".into(),
        met: secs < 2.0,
    });
}

// ---------------------------------------------------------------------------------------------
// 4. cancel → shutdown latency

async fn cancel_latency(samples: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let (d, mut sub) = new_delegate();
        // A round trip makes sure the engine is running and idle before the clock starts.
        d.submit(Submission::new(format!("s{i}"), Op::Interrupt)).await.unwrap();
        sub.submissions.recv().await.unwrap();
        let start = Instant::now();
        d.cancel();
        loop {
            let s = sub.submissions.recv().await.unwrap();
            if matches!(s.op, Op::Shutdown) {
                break;
            }
        }
        out.push(start.elapsed());
        drop(sub);
        d.finished().await;
    }
    out
}

fn latency(samples: usize, flavour: Flavour, table: &mut Vec<Row>) {
    let rt = runtime(flavour);
    let mut lat = rt.block_on(cancel_latency(samples));
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    let (p50, p99) = (pct(0.50), pct(0.99));
    table.push(Row {
        name: format!("cancel → shutdown received, {}", flavour.name()),
        value: format!("p99 {:.1} µs", p99.as_secs_f64() * 1e6),
        baseline: format!(
            "p50 {:.1} µs, max {:.1} µs, n={samples}",
            p50.as_secs_f64() * 1e6,
            lat[lat.len() - 1].as_secs_f64() * 1e6
        ),
        ratio: "".into(),
        target: "p99 ≤ 100 µs".into(),
        met: p99 <= Duration::from_micros(100),
    });
}

// ---------------------------------------------------------------------------------------------

struct Row {
    name: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
    met: bool,
}

fn print_table(rows: &[Row], smoke: bool) {
    let w = |f: fn(&Row) -> &str, h: &str| {
        rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0).max(h.chars().count())
    };
    let widths = [
        w(|r| &r.name, "benchmark"),
        w(|r| &r.value, "measured"),
        w(|r| &r.baseline, "baseline / detail"),
        w(|r| &r.ratio, "ratio"),
        w(|r| &r.target, "target"),
    ];
    let line = |cells: [&str; 6]| {
        let mut s = String::from("|");
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(3);
            let pad = width.saturating_sub(cell.chars().count());
            s.push_str(&format!(" {cell}{} |", " ".repeat(pad)));
        }
        println!("{s}");
    };
    println!();
    println!("delegate-core engine benchmarks (DESIGN §7)");
    if smoke {
        println!("(smoke run: small counts, no measurement; run `cargo bench` for figures)");
    }
    line(["benchmark", "measured", "baseline / detail", "ratio", "target", "met"]);
    let dashes: Vec<String> = widths.iter().chain([3].iter()).map(|w| "-".repeat(*w)).collect();
    println!("|{}|", dashes.iter().map(|d| format!("-{d}-")).collect::<Vec<_>>().join("|"));
    for r in rows {
        line([
            &r.name,
            &r.value,
            &r.baseline,
            &r.ratio,
            &r.target,
            if r.met { "yes" } else { "NO" },
        ]);
    }
    println!(
        "size_of::<Event>() = {} B, size_of::<Submission>() = {} B",
        std::mem::size_of::<Event>(),
        std::mem::size_of::<Submission>()
    );
}

/// The benchmark name filter given on the command line, as criterion reads it; the plain loops
/// below honour it too, as a substring (criterion takes a regex), so `-- memory` runs only the
/// memory figure.
fn name_filter() -> Option<String> {
    const TAKES_VALUE: &[&str] = &[
        "--profile-time",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--plotting-backend",
        "--output-format",
        "--color",
        "--format",
        "--logfile",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter()
        .enumerate()
        .filter(|(i, a)| {
            !a.starts_with('-') && (*i == 0 || !TAKES_VALUE.contains(&args[i - 1].as_str()))
        })
        .map(|(_, a)| a.clone())
        .next_back()
}

fn main() {
    // As criterion does: `cargo test --benches` (no `--bench`) or `-- --test` runs everything
    // once, small, as a smoke test; `-- --list` only lists.
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let smoke = has("--test") || !has("--bench");
    let list = has("--list");
    let (many, samples) = if smoke { (100, 100) } else { (MANY, LATENCY_SAMPLES) };
    let filter = name_filter();
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let mut c = Criterion::default().configure_from_args();
    let mut table = Vec::new();
    for flavour in [Flavour::CurrentThread, Flavour::MultiThread] {
        if wanted(&format!("forwarding/{}", flavour.name())) {
            forwarding(&mut c, flavour, smoke, &mut table);
        }
    }
    c.final_summary();
    if list {
        return;
    }
    if wanted("memory") {
        memory(many, &mut table);
    }
    for flavour in [Flavour::CurrentThread, Flavour::MultiThread] {
        if wanted(&format!("create_teardown/{}", flavour.name())) {
            create_teardown(many, flavour, &mut table);
        }
    }
    for flavour in [Flavour::CurrentThread, Flavour::MultiThread] {
        if wanted(&format!("cancel_latency/{}", flavour.name())) {
            latency(samples, flavour, &mut table);
        }
    }
    print_table(&table, smoke);
}
