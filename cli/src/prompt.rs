//! Approvals at the terminal: [`TerminalApprover`] asks a person on stderr and reads the answer
//! from stdin; [`NoTerminal`] denies, saying why, when stdin is not a terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::Request;
use delegate_approval::Verdict;
use delegate_approval::display_safe;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::RequestUserInputResponse;
use delegate_protocol::UserInputAnswer;
use delegate_transport_stdio::ThreadedStdin;

use crate::render::Stderr;
use tokio::io::AsyncBufReadExt;
use tokio::io::BufReader;
use tokio::io::Lines;
use tokio::sync::Mutex;

/// Lines of stdin, shared by the session's prompt loop and the approval prompts (never both at
/// once: a turn's approvals are asked while the prompt loop waits for the turn).
#[derive(Clone)]
pub struct StdinLines {
    lines: Arc<Mutex<Lines<BufReader<ThreadedStdin>>>>,
}

impl StdinLines {
    pub fn open() -> Result<Self, delegate_transport_stdio::TransportError> {
        let stdin = ThreadedStdin::spawn()?;
        Ok(Self { lines: Arc::new(Mutex::new(BufReader::new(stdin).lines())) })
    }

    /// The next line, `None` at end of input. Cancel-safe.
    pub async fn next_line(&self) -> Option<String> {
        self.lines.lock().await.next_line().await.ok().flatten()
    }
}

/// Asks a person at the terminal. One prompt at a time; concurrent requests wait their turn.
pub struct TerminalApprover {
    stdin: StdinLines,
    stderr: Stderr,
    one_at_a_time: Mutex<()>,
}

/// How many unreadable answers before a prompt gives up and denies.
const MAX_ATTEMPTS: usize = 3;

impl TerminalApprover {
    pub fn new(stdin: StdinLines, stderr: Stderr) -> Self {
        Self { stdin, stderr, one_at_a_time: Mutex::new(()) }
    }

    async fn ask(&self, text: &str) -> Option<String> {
        eprint!("{text}");
        let _ = std::io::stderr().flush();
        self.stdin.next_line().await
    }

    async fn decide_yes_no(&self, request: &ApprovalRequest) -> Verdict {
        for _ in 0..MAX_ATTEMPTS {
            let Some(answer) = self.ask("  [y] approve once  [s] approve for this session  [n] deny  [a] abort the turn > ").await
            else {
                eprintln!("\n  stdin closed: denied");
                return request.refusal(Decision::Denied, DecidedBy::Policy("stdin_closed".into()));
            };
            match answer.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => return request.grant(Decision::Approved, DecidedBy::User),
                "s" | "session" => {
                    return request.grant(Decision::ApprovedForSession, DecidedBy::User);
                }
                "n" | "no" | "" => return request.refusal(Decision::Denied, DecidedBy::User),
                "a" | "abort" => return request.refusal(Decision::Abort, DecidedBy::User),
                other => eprintln!("  {other:?} is not one of y, s, n, a"),
            }
        }
        eprintln!("  no valid answer: denied");
        request.refusal(Decision::Denied, DecidedBy::User)
    }
}

fn header(request: &ApprovalRequest) -> String {
    let who = request.agent_path.join("/");
    let mut text = format!("\n? {who} asks: {}\n", request.summary());
    let reason = match &request.request {
        Request::Exec(r) => r.reason.clone(),
        Request::Patch(r) => r.reason.clone(),
        Request::Permissions(r) => r.reason.clone(),
        _ => None,
    };
    if let Some(reason) = reason {
        text.push_str(&format!("  reason: {}\n", display_safe(&reason)));
    }
    if let Request::Patch(r) = &request.request {
        for (path, change) in &r.changes {
            text.push_str(&format!(
                "  {} {}\n",
                change.kind_str(),
                display_safe(&path.to_string_lossy())
            ));
        }
    }
    text
}

#[async_trait]
impl Approver for TerminalApprover {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        let _turn = self.one_at_a_time.lock().await;
        self.stderr.pause(true);
        let verdict = self.prompt(request).await;
        self.stderr.pause(false);
        verdict
    }

    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        self.stderr.pause(false);
        eprintln!(
            "\n  ({} {} resolved without you: {} by {})",
            request.kind(),
            request.call_id(),
            verdict.summary_decision(),
            verdict.decided_by
        );
    }
}

impl TerminalApprover {
    async fn prompt(&self, request: &ApprovalRequest) -> Verdict {
        eprint!("{}", header(request));
        match &request.request {
            Request::UserInput(r) => {
                let mut answers = BTreeMap::new();
                for question in &r.questions {
                    let mut text = format!("  {}\n", display_safe(&question.question));
                    let options = question.options.clone().unwrap_or_default();
                    for (i, option) in options.iter().enumerate() {
                        text.push_str(&format!("    {}. {}\n", i + 1, display_safe(&option.label)));
                    }
                    text.push_str("  answer (empty to skip) > ");
                    let Some(line) = self.ask(&text).await else {
                        eprintln!("\n  stdin closed: no answer");
                        return request
                            .refusal(Decision::Denied, DecidedBy::Policy("stdin_closed".into()));
                    };
                    let line = line.trim().to_string();
                    if line.is_empty() {
                        continue;
                    }
                    let answer = match line.parse::<usize>() {
                        Ok(n) if n >= 1 && n <= options.len() => options[n - 1].label.clone(),
                        _ => line,
                    };
                    answers.insert(question.id.clone(), UserInputAnswer { answers: vec![answer] });
                }
                Verdict::user_input(RequestUserInputResponse { answers }, DecidedBy::User)
            }
            _ => self.decide_yes_no(request).await,
        }
    }
}

/// Denies everything, saying so on stderr: the answer when no policy decides and nobody is at a
/// terminal to ask.
pub struct NoTerminal;

#[async_trait]
impl Approver for NoTerminal {
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        eprintln!(
            "delegate: denied {} request {:?} ({}): stdin is not a terminal and no --policy decided it",
            request.kind(),
            request.call_id(),
            request.summary()
        );
        request.refusal(Decision::Denied, DecidedBy::Policy("no_terminal".into()))
    }
}
