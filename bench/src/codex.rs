//! The Codex adapter's added latency per turn: a real Codex `app-server` against the adapter
//! crate's mock model server, driven directly (a minimal JSON-RPC client) and through
//! `CodexAgent` behind `delegate()`, in interleaved rounds of the same run.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use delegate_adapter_codex::CodexAgent;
use delegate_adapter_codex::test_util::CodexSandbox;
use delegate_adapter_codex::test_util::MockResponsesServer;
use delegate_adapter_codex::test_util::codex_binary;
use delegate_approval::AllowAll;
use delegate_core::Delegate;
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

use crate::Config;
use crate::report::Row;
use crate::report::millis;
use crate::report::percentile;
use crate::report::ratio;

const NAME: &str = "Codex turn through `delegate()` + adapter vs direct JSON-RPC, p50";
const TARGET: &str = "≤ 1.05× (issue 7)";

/// Codex behind nothing but a line reader.
struct Direct {
    _child: tokio::process::Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    thread_id: String,
    next_id: i64,
    buf: Vec<u8>,
}

impl Direct {
    async fn start(sandbox: &CodexSandbox, codex: &std::path::Path) -> Result<Direct, String> {
        let mut child = tokio::process::Command::new(codex)
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
            .map_err(|e| format!("codex does not start: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::with_capacity(64 * 1024, child.stdout.take().ok_or("no stdout")?);
        let mut direct = Direct {
            _child: child,
            stdin,
            stdout,
            thread_id: String::new(),
            next_id: 1,
            buf: Vec::new(),
        };
        let init = json!({"clientInfo": {"name": "delegate-bench", "title": null, "version": "0"}, "capabilities": null});
        direct.request("initialize", init).await?;
        direct.until_response(1).await?;
        direct.send(&json!({"method": "initialized"})).await?;
        let params = json!({"cwd": sandbox.repo, "approvalPolicy": "untrusted", "sandbox": "read-only", "ephemeral": true});
        direct.request("thread/start", params).await?;
        let started = direct.until_response(2).await?;
        direct.thread_id = started["result"]["thread"]["id"]
            .as_str()
            .ok_or_else(|| format!("no thread id in {started}"))?
            .to_string();
        Ok(direct)
    }

    async fn send(&mut self, message: &Value) -> Result<(), String> {
        let line = delegate_bench::json_line(message);
        self.stdin.write_all(&line).await.map_err(|e| e.to_string())?;
        self.stdin.flush().await.map_err(|e| e.to_string())
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"id": id, "method": method, "params": params})).await
    }

    async fn next(&mut self) -> Result<Value, String> {
        self.buf.clear();
        let n = self.stdout.read_until(b'\n', &mut self.buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("codex exited".into());
        }
        serde_json::from_slice(&self.buf).map_err(|e| e.to_string())
    }

    async fn until_response(&mut self, id: i64) -> Result<Value, String> {
        loop {
            let message = self.next().await?;
            if message.get("method").is_none() && message["id"] == id {
                return Ok(message);
            }
        }
    }

    async fn turn(&mut self) -> Result<(), String> {
        let params = json!({"threadId": self.thread_id, "input": [{"type": "text", "text": "hi", "text_elements": []}]});
        self.request("turn/start", params).await?;
        loop {
            if self.next().await?["method"] == "turn/completed" {
                return Ok(());
            }
        }
    }
}

async fn engine_turn(engine: &mut Delegate, id: String) -> Result<(), String> {
    engine.submit(Submission::new(id, Op::user_text("hi"))).await.map_err(|e| e.to_string())?;
    loop {
        match engine.next_event().await {
            Some(event) if matches!(event.msg, EventMsg::TaskComplete(_)) => return Ok(()),
            Some(_) => {}
            None => return Err("the delegation ended".into()),
        }
    }
}

pub fn turn_latency(config: &Config, rt: &tokio::runtime::Runtime) -> Row {
    let codex = match codex_binary() {
        Ok(codex) => codex,
        Err(why) => return Row::not_measured(NAME, TARGET, format!("no Codex binary ({why})")),
    };
    match rt.block_on(measure(config, &codex)) {
        Ok(row) => row,
        Err(why) => Row::not_measured(NAME, TARGET, why),
    }
}

async fn measure(config: &Config, codex: &std::path::Path) -> Result<Row, String> {
    // An empty script: every model request is answered with one message.
    let mock = MockResponsesServer::start(Vec::new()).await.map_err(|e| format!("mock: {e}"))?;
    let sandboxes = [
        CodexSandbox::new(&mock.base_url()).map_err(|e| e.to_string())?,
        CodexSandbox::new(&mock.base_url()).map_err(|e| e.to_string())?,
    ];
    let mut direct = Direct::start(&sandboxes[0], codex).await?;
    let agent = CodexAgent::spawn(sandboxes[1].options(codex))
        .await
        .map_err(|e| format!("CodexAgent: {e}"))?;
    let mut engine = delegate(
        Arc::new(agent),
        Arc::new(AllowAll),
        CancellationToken::new(),
        DelegateOptions::default(),
    );
    let mut times: [Vec<f64>; 2] = Default::default();
    let mut turn = 0;
    // Two warm-up turns each, then rounds of one turn each, the order alternating.
    for round in 0..config.codex_rounds + 2 {
        for k in 0..2 {
            let way = (round + k) % 2;
            turn += 1;
            let start = Instant::now();
            match way {
                0 => direct.turn().await?,
                _ => engine_turn(&mut engine, format!("t{turn}")).await?,
            }
            if round >= 2 {
                times[way].push(start.elapsed().as_secs_f64());
            }
        }
    }
    engine.cancel();
    engine.finished().await;
    let [mut direct_t, mut through] = times;
    let (d50, t50) = (percentile(&mut direct_t, 0.5), percentile(&mut through, 0.5));
    let (d90, t90) = (percentile(&mut direct_t, 0.9), percentile(&mut through, 0.9));
    let r = t50 / d50;
    Ok(Row::new(NAME, format!("p50 {} / p90 {}", millis(t50), millis(t90)))
        .baseline(format!(
            "direct p50 {} / p90 {}; adds {} per turn",
            millis(d50),
            millis(d90),
            millis(t50 - d50)
        ))
        .ratio(ratio(r))
        .target(TARGET, r <= 1.05))
}
