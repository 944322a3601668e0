//! `delegate-adapter-codex`: a real OpenAI Codex as a `delegate` sub-agent.
//!
//! [`CodexAgent`] implements [`delegate_core::Agent`] over `codex app-server`, Codex's JSON-RPC
//! interface on stdin/stdout. It starts the binary in its own process group, sets up one thread
//! (`initialize`, `initialized`, `thread/start`), turns our submissions into app-server requests
//! and the app-server's notifications and requests into our events. Every approval Codex asks
//! for becomes one of our four request events, so it reaches the parent's policy; the parent's
//! answer goes back as the JSON-RPC result Codex waits for.
//!
//! What this crate is not: it does not decide anything (the delegation engine and its approver
//! do), it does not parse Codex's config, and it is tested against one Codex version,
//! [`SUPPORTED_CODEX_VERSION`] (`@openai/codex@0.169.0` from npm); other versions are refused
//! unless [`VersionCheck::Warn`] is chosen.
//!
//! Features: `test-util` adds the `test_util` module: a scripted mock Responses-API model server on
//! loopback, a throwaway offline `CODEX_HOME`, and the locator of the pinned binary that
//! `install-codex.sh` puts in a cache outside the repository.
//!
//! # Mapping
//!
//! Events carry the id of the submission that started their turn (`task_started`,
//! `exec_approval_request`, … `task_complete`); events outside any turn carry `""`, as Codex's
//! own `session_configured` does. Codex's turn id is in `task_started`'s `codex_turn_id`.
//!
//! | ours | app-server | notes |
//! |---|---|---|
//! | [`CodexAgent::spawn`] | `initialize` → `initialized` → `thread/start` {cwd, approvalPolicy, sandbox, ephemeral, model} | one thread per agent; version checked from the `initialize` user agent; then `session_configured` {session_id: thread id, model, codex_version, …} |
//! | op `user_input` | request `turn/start` {threadId, input, outputSchema} | `final_output_json_schema` → `outputSchema`; a rejected start → `error` + `task_complete` {status: failed} |
//! | op `interrupt` | request `turn/interrupt` {threadId, turnId} | held until the starting turn's id is known; nothing to interrupt → ignored |
//! | op `shutdown` | close stdin → grace → SIGTERM group → SIGKILL group | then `shutdown_complete`, status `shutdown`, end of events |
//! | op `exec_approval` / `patch_approval` | result `{decision}` | `approved` → `accept`, `approved_for_session` → `acceptForSession`, `denied`/`timed_out` → `decline`, `abort` → `cancel` |
//! | op `request_permissions_response` | result `{permissions: {network, fileSystem: {read, write}}, scope}` | an empty grant grants nothing |
//! | op `user_input_answer` | result `{answers: {id: {answers}}}` | matched by call id, or by the event id that asked |
//! | `task_started` {turn_id} | notification `turn/started` | status `running` |
//! | `task_complete` {turn_id, last_agent_message, status: completed} | `turn/completed`, status `completed` | status `completed(last message)` |
//! | `turn_aborted` {reason: interrupted} | `turn/completed`, status `interrupted` | status `interrupted`; requests of the turn are dropped |
//! | `error` + `task_complete` {status: failed} | `turn/completed`, status `failed` | the error is not repeated when an `error` notification said it |
//! | `agent_message_delta` | `item/agentMessage/delta` | |
//! | `agent_message` | `item/completed`, item `agentMessage` | remembered as the turn's last message |
//! | `agent_reasoning_delta` / `agent_reasoning` | `item/reasoning/textDelta`, `…/summaryTextDelta` / `item/completed` `reasoning` | |
//! | `exec_command_begin` / `exec_command_end` | `item/started` / `item/completed`, item `commandExecution` | argv from the command string; end carries `exit_code`, `aggregated_output`, `status` (`declined` for a denied command) |
//! | `patch_apply_begin` / `patch_apply_end` | `item/started` / `item/completed`, item `fileChange` | changes by path: `add` {content}, `delete`, `update` {unified_diff, move_path}; `success` = status `completed` |
//! | `token_count` | `thread/tokenUsage/updated` | Codex's `tokenUsage` fields |
//! | `thread_name_updated` | `thread/name/updated` | |
//! | `error` / `warning` | `error` (`willRetry` → `warning`), `warning`, `guardianWarning`, `configWarning`, `deprecationNotice` | |
//! | `exec_approval_request` {call_id: itemId, approval_id, command: argv, cwd, reason} | server request `item/commandExecution/requestApproval` | `/bin/bash -lc 'x y'` → `["/bin/bash", "-lc", "x y"]` by shell-word rules |
//! | `apply_patch_approval_request` {call_id: itemId, changes, reason, grant_root} | server request `item/fileChange/requestApproval` | changes from the `fileChange` item seen at `item/started` |
//! | `request_permissions` {call_id: itemId, permissions, reason} | server request `item/permissions/requestApproval` | `entries` we cannot express are shown in `codex_permissions`, never granted |
//! | `request_user_input` {call_id: itemId, questions} | server request `item/tool/requestUserInput` | |
//! | `warning`, answer `{action: decline}` | server request `mcpServer/elicitation/request` | never accepted |
//! | `warning`, answer error -32601 | any other server request | never accepted |
//! | the method as `type`, params as fields | any other notification (`thread/started`, `item/started` of other items, `serverRequest/resolved`, …) | passed through whole |
//! | status `errored`, `error` naming the exit | stdout ends without `shutdown` (crash, kill) | then the end of events |
//!
//! Trace context: each submission's W3C trace context goes in the `trace` field of the JSON-RPC
//! request it becomes (`turn/start`, `turn/interrupt`), which the app-server's schema defines;
//! answers to server requests have no such field. [`CodexOptions::trace`] goes with
//! `initialize` and `thread/start` and into the process environment as `TRACEPARENT` /
//! `TRACESTATE`.
//!
//! Framing and process handling: lines are read and written with the stdio transport's
//! JSON-lines framing (`delegate_transport_stdio::JsonLinesReader` / `JsonLinesWriter`, over a
//! JSON-RPC message type): the same line limit, and a bad or oversized line becomes a `warning`
//! naming its line number while the stream goes on. The transport's `ChildProcessAgent` frames
//! our own protocol, not Codex's JSON-RPC, and offers no bare child process, so this crate
//! starts its child itself with the same discipline: its own process group; shutdown closes
//! stdin, waits the grace period, then SIGTERM and SIGKILL to the group; whatever is left in the
//! group after Codex exits is killed; dropping the handle kills the group (one system call, no
//! runtime needed); the child is reaped.
//!
//! # Example
//!
//! ```no_run
//! use delegate_adapter_codex::{CodexAgent, CodexOptions};
//! use delegate_core::Agent;
//! use delegate_protocol::{Decision, EventMsg, Op, Submission};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let agent = CodexAgent::spawn(CodexOptions::new("/path/to/repo")).await?;
//! agent.submit(Submission::new("turn-1", Op::user_text("create hello.txt"))).await?;
//! while let Some(event) = agent.next_event().await {
//!     match event.msg {
//!         EventMsg::ExecApprovalRequest(request) => {
//!             let id = request.effective_approval_id().to_string();
//!             let op = Op::ExecApproval { id, turn_id: Some(event.id), decision: Decision::Denied };
//!             agent.submit(Submission::new("answer", op)).await?;
//!         }
//!         EventMsg::ApplyPatchApprovalRequest(request) => {
//!             let op = Op::PatchApproval { id: request.call_id, decision: Decision::Approved };
//!             agent.submit(Submission::new("answer", op)).await?;
//!         }
//!         EventMsg::TaskComplete(done) => {
//!             println!("codex says: {}", done.last_agent_message.unwrap_or_default());
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! agent.submit(Submission::new("bye", Op::Shutdown)).await?;
//! while agent.next_event().await.is_some() {} // …until shutdown_complete and the end
//! # Ok(())
//! # }
//! ```

mod agent;
mod error;
mod jsonrpc;
mod mapping;
mod options;
mod process;
mod shell;
mod wire;

#[cfg(feature = "test-util")]
pub mod test_util;

pub use agent::CodexAgent;
pub use agent::EVENT_CAPACITY;
pub use agent::SUBMISSION_CAPACITY;
pub use agent::SessionInfo;
pub use error::CodexError;
pub use options::ApprovalPolicy;
pub use options::CodexOptions;
pub use options::DEFAULT_HANDSHAKE_TIMEOUT;
pub use options::DEFAULT_MAX_LINE_BYTES;
pub use options::DEFAULT_SHUTDOWN_GRACE;
pub use options::DEFAULT_TERM_GRACE;
pub use options::SandboxMode;
pub use options::StderrMode;
pub use options::VersionCheck;

/// The Codex release line this adapter is written and tested against: `0.169.x`.
pub const SUPPORTED_CODEX_VERSION: &str = "0.169";
