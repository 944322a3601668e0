//! Figures (median with min–max), the result table, and BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Duration;
use std::time::SystemTime;

/// Several runs of one measurement: the median is the figure, min–max its spread.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Figure {
    pub fn of(values: &[f64]) -> Figure {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return Figure { median: f64::NAN, min: f64::NAN, max: f64::NAN, runs: 0 };
        }
        let n = sorted.len();
        let median =
            if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        Figure { median, min: sorted[0], max: sorted[n - 1], runs: n }
    }

    /// `1.23 M/s [1.10–1.31]`-style text with `unit` formatting each value.
    pub fn show(&self, unit: fn(f64) -> String) -> String {
        if self.runs <= 1 {
            return unit(self.median);
        }
        format!("{} [{}–{}]", unit(self.median), unit(self.min), unit(self.max))
    }
}

/// The `p`-quantile (0..=1) of `values` (nearest rank).
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    values[((values.len() - 1) as f64 * p).round() as usize]
}

pub fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.0} k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0}/s")
    }
}

pub fn micros(seconds: f64) -> String {
    let us = seconds * 1e6;
    if us >= 1e4 {
        format!("{:.1} ms", us / 1e3)
    } else if us >= 100.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

pub fn millis(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1e3)
}

pub fn secs(seconds: f64) -> String {
    format!("{seconds:.2} s")
}

pub fn kib(bytes: f64) -> String {
    format!("{:.2} KiB", bytes / 1024.0)
}

pub fn ratio(value: f64) -> String {
    if value >= 10.0 { format!("{value:.1}×") } else { format!("{value:.2}×") }
}

/// Whether a row's target is met.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Met,
    Missed,
    /// No target: a figure for information or a baseline.
    Info,
    NotMeasured(String),
}

impl Verdict {
    pub fn from(met: bool) -> Verdict {
        if met { Verdict::Met } else { Verdict::Missed }
    }

    fn text(&self) -> String {
        match self {
            Verdict::Met => "met".into(),
            Verdict::Missed => "MISSED".into(),
            Verdict::Info => "—".into(),
            Verdict::NotMeasured(why) => format!("not measured: {why}"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(name: impl Into<String>, measured: impl Into<String>) -> Row {
        Row {
            name: name.into(),
            measured: measured.into(),
            baseline: String::new(),
            ratio: String::new(),
            target: String::new(),
            verdict: Verdict::Info,
        }
    }

    pub fn baseline(mut self, baseline: impl Into<String>) -> Row {
        self.baseline = baseline.into();
        self
    }

    pub fn ratio(mut self, ratio: impl Into<String>) -> Row {
        self.ratio = ratio.into();
        self
    }

    pub fn target(mut self, target: impl Into<String>, met: bool) -> Row {
        self.target = target.into();
        self.verdict = Verdict::from(met);
        self
    }

    pub fn not_measured(name: impl Into<String>, target: impl Into<String>, why: String) -> Row {
        Row {
            name: name.into(),
            measured: String::new(),
            baseline: String::new(),
            ratio: String::new(),
            target: target.into(),
            verdict: Verdict::NotMeasured(why),
        }
    }
}

/// A titled group of rows.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

const HEADERS: [&str; 6] = ["benchmark", "measured", "compared with", "ratio", "target", "met?"];

fn cells(row: &Row) -> [String; 6] {
    [
        row.name.clone(),
        row.measured.clone(),
        row.baseline.clone(),
        row.ratio.clone(),
        row.target.clone(),
        row.verdict.text(),
    ]
}

/// The table as aligned plain text, for the terminal.
pub fn plain(sections: &[Section]) -> String {
    let all: Vec<[String; 6]> = sections.iter().flat_map(|s| s.rows.iter().map(cells)).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &all {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            let _ = write!(out, "{cell:<w$}");
        }
        out.trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&line(&HEADERS.map(String::from)));
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 3 * (widths.len() - 1)));
    out.push('\n');
    for section in sections {
        let _ = writeln!(out, "[{}]", section.title);
        for row in &section.rows {
            out.push_str(&line(&cells(row)));
            out.push('\n');
        }
    }
    out
}

/// The table as Markdown, one table per section with its notes.
pub fn markdown(sections: &[Section]) -> String {
    let mut out = String::new();
    for section in sections {
        let _ = writeln!(out, "### {}\n", section.title);
        let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(HEADERS.len()));
        for row in &section.rows {
            let cells = cells(row).map(|c| c.replace('|', "\\|"));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
        for note in &section.notes {
            let _ = writeln!(out, "- {note}");
        }
        if !section.notes.is_empty() {
            out.push('\n');
        }
    }
    out
}

/// Today's date (UTC), `YYYY-MM-DD HH:MM UTC`, from the system clock (the date arithmetic is
/// `delegate_approval::rfc3339_utc`'s, not written again here).
pub fn now_utc() -> String {
    let stamp = delegate_approval::rfc3339_utc(SystemTime::now());
    format!("{} {} UTC", &stamp[..10], &stamp[11..16])
}

/// What this machine is: CPU model and count, memory, kernel, load.
pub fn machine() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let mhz = cpuinfo.lines().find_map(|l| {
        l.strip_prefix("cpu MHz").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string())
    });
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib = |key: &str| -> Option<f64> {
        meminfo.lines().find_map(|l| {
            l.strip_prefix(key)?.trim_start_matches(':').split_whitespace().next()?.parse().ok()
        })
    };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut lines = vec![format!(
        "CPU: {model}, {cpus} logical CPU(s){}",
        mhz.map(|m| format!(", {m} MHz")).unwrap_or_default()
    )];
    if let Some(total) = mem_kib("MemTotal") {
        lines.push(format!(
            "memory: {:.1} GiB total, {:.1} GiB available at the start",
            total / 1048576.0,
            mem_kib("MemAvailable").unwrap_or(0.0) / 1048576.0
        ));
    }
    lines.push(format!("kernel: Linux {}", kernel.trim()));
    lines
}

/// The 1-minute load average, a hint of how busy the shared machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

pub fn elapsed(d: Duration) -> String {
    format!("{:.0} s", d.as_secs_f64())
}
