//! Output: human text (with a spinner while a turn runs, when stderr is a terminal) or one JSON
//! event per line. Results go to stdout; progress and diagnostics to stderr.

use std::io::IsTerminal;
use std::io::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::time::Duration;

use delegate_protocol::Event;
use delegate_protocol::EventMsg;

/// How often the spinner moves: fast enough to look alive, slow enough to cost nothing.
const SPINNER_PERIOD: Duration = Duration::from_millis(100);

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Writes to stderr, clearing the spinner's line first.
#[derive(Clone)]
pub struct Stderr {
    lock: Arc<Mutex<()>>,
    spinning: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    tty: bool,
}

impl Stderr {
    pub fn new() -> Self {
        Self {
            lock: Arc::new(Mutex::new(())),
            spinning: Arc::new(AtomicBool::new(false)),
            paused: Arc::new(AtomicBool::new(false)),
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub fn line(&self, text: &str) {
        let _guard = self.lock.lock();
        let mut err = std::io::stderr().lock();
        if self.tty && self.spinning.load(Ordering::Relaxed) {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "{text}");
    }

    /// Start the spinner task (a no-op unless stderr is a terminal).
    pub fn spawn_spinner(&self) {
        if !self.tty {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut frame = 0usize;
            let mut ticker = tokio::time::interval(SPINNER_PERIOD);
            loop {
                ticker.tick().await;
                if this.spinning.load(Ordering::Relaxed) && !this.paused.load(Ordering::Relaxed) {
                    let _guard = this.lock.lock();
                    let _ =
                        write!(std::io::stderr(), "\r{} working…", FRAMES[frame % FRAMES.len()]);
                    let _ = std::io::stderr().flush();
                    frame += 1;
                }
            }
        });
    }

    /// Hold the spinner still (and clear its line) while a prompt waits for a person.
    pub fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
        if paused && self.tty {
            let _guard = self.lock.lock();
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }

    fn spin(&self, on: bool) {
        let was = self.spinning.swap(on, Ordering::Relaxed);
        if was && !on && self.tty {
            let _guard = self.lock.lock();
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// Shows events to a person or a program.
pub struct Renderer {
    json: bool,
    stderr: Stderr,
    message_shown: bool,
}

impl Renderer {
    pub fn new(json: bool, stderr: Stderr) -> Self {
        if !json {
            stderr.spawn_spinner();
        }
        Self { json, stderr, message_shown: false }
    }

    pub fn event(&mut self, event: &Event) {
        if self.json {
            let mut out = std::io::stdout().lock();
            if serde_json::to_writer(&mut out, event).is_ok() {
                let _ = out.write_all(b"\n");
                let _ = out.flush();
            }
            return;
        }
        match &event.msg {
            EventMsg::TaskStarted(_) => {
                self.message_shown = false;
                self.stderr.spin(true);
            }
            EventMsg::AgentMessage(m) => {
                self.stdout(&m.message);
                self.message_shown = true;
            }
            EventMsg::TaskComplete(done) => {
                self.stderr.spin(false);
                if let (false, Some(last)) = (self.message_shown, &done.last_agent_message) {
                    self.stdout(last);
                }
                self.stderr.line("✓ turn complete");
            }
            EventMsg::TurnAborted(aborted) => {
                self.stderr.spin(false);
                self.stderr.line(&format!(
                    "✗ turn aborted ({})",
                    serde_json::to_value(aborted.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                ));
            }
            EventMsg::ApprovalPending(p) => {
                self.stderr.line(&format!(
                    "… approval needed ({}): {} — asked by {}",
                    p.kind,
                    p.summary,
                    p.agent_path.join("/")
                ));
            }
            EventMsg::ApprovalDecided(d) => {
                self.stderr.line(&format!(
                    "→ {} {}: {} (decided by {})",
                    d.kind, d.call_id, d.decision, d.decided_by
                ));
            }
            EventMsg::ExecCommandBegin(b) => {
                self.stderr.line(&format!("$ {}", delegate_approval::shell_join(&b.command)))
            }
            EventMsg::ExecCommandEnd(e) => {
                if let Some(code) = e.exit_code {
                    self.stderr.line(&format!("  (exit {code})"));
                }
            }
            EventMsg::Warning(w) => self.stderr.line(&format!("warning: {}", w.message)),
            EventMsg::Error(e) => {
                self.stderr.spin(false);
                self.stderr.line(&format!("error: {}", e.message));
            }
            _ => {}
        }
    }

    fn stdout(&self, text: &str) {
        self.stderr.spin(false);
        let _guard = self.stderr.lock.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// A diagnostic line on stderr (never in the JSON stream).
    pub fn note(&self, text: &str) {
        self.stderr.line(text);
    }

    pub fn stop_spinner(&self) {
        self.stderr.spin(false);
    }
}
