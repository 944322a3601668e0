//! `peer-acp`: an agent built with the `agent-client-protocol` crate (protocol v1), on
//! stdin/stdout through the SDK's own `Stdio` transport.
//!
//! A prompt `flood N` → N `session/update` notifications (`agent_message_chunk` with the
//! benchmark payload as text), then the prompt's response; `approvals N` → N
//! `session/request_permission` requests (a tool call titled with the payload), each after the
//! client answered the previous one, then the prompt's response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use agent_client_protocol::Agent;
use agent_client_protocol::Stdio;
use agent_client_protocol::v1::schema::AgentCapabilities;
use agent_client_protocol::v1::schema::ContentBlock;
use agent_client_protocol::v1::schema::ContentChunk;
use agent_client_protocol::v1::schema::InitializeRequest;
use agent_client_protocol::v1::schema::InitializeResponse;
use agent_client_protocol::v1::schema::NewSessionRequest;
use agent_client_protocol::v1::schema::NewSessionResponse;
use agent_client_protocol::v1::schema::PermissionOption;
use agent_client_protocol::v1::schema::PermissionOptionKind;
use agent_client_protocol::v1::schema::PromptRequest;
use agent_client_protocol::v1::schema::PromptResponse;
use agent_client_protocol::v1::schema::RequestPermissionRequest;
use agent_client_protocol::v1::schema::SessionNotification;
use agent_client_protocol::v1::schema::SessionUpdate;
use agent_client_protocol::v1::schema::StopReason;
use agent_client_protocol::v1::schema::TextContent;
use agent_client_protocol::v1::schema::ToolCallUpdate;
use agent_client_protocol::v1::schema::ToolCallUpdateFields;
use delegate_bench::PAYLOAD;
use delegate_bench::Task;

fn prompt_text(prompt: &PromptRequest) -> String {
    prompt
        .prompt
        .iter()
        .find_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let served = runtime.block_on(
        Agent
            .v1()
            .name("delegate-bench-peer")
            .on_receive_request(
                async move |initialize: InitializeRequest, responder, _cx| {
                    responder.respond(
                        InitializeResponse::new(initialize.protocol_version)
                            .agent_capabilities(AgentCapabilities::new()),
                    )
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |_new: NewSessionRequest, responder, _cx| {
                    responder.respond(NewSessionResponse::new("s1"))
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |prompt: PromptRequest, responder, cx| {
                    let session = prompt.session_id.clone();
                    match Task::parse(&prompt_text(&prompt)) {
                        Some(Task::Flood(n)) => {
                            for _ in 0..n {
                                let chunk = ContentChunk::new(ContentBlock::Text(
                                    TextContent::new(PAYLOAD),
                                ));
                                cx.send_notification(SessionNotification::new(
                                    session.clone(),
                                    SessionUpdate::AgentMessageChunk(chunk),
                                ))?;
                            }
                            responder.respond(PromptResponse::new(StopReason::EndTurn))
                        }
                        Some(Task::Approvals(n)) => {
                            // Waiting for the client inside the handler would hold the dispatch
                            // loop (and the client's answer behind it): ask from a task.
                            let connection = cx.clone();
                            cx.spawn(async move {
                                for i in 0..n {
                                    let call = ToolCallUpdate::new(
                                        format!("c{i}"),
                                        ToolCallUpdateFields::new().title(PAYLOAD.to_string()),
                                    );
                                    let options = vec![
                                        PermissionOption::new(
                                            "allow",
                                            "Allow",
                                            PermissionOptionKind::AllowOnce,
                                        ),
                                        PermissionOption::new(
                                            "deny",
                                            "Deny",
                                            PermissionOptionKind::RejectOnce,
                                        ),
                                    ];
                                    connection
                                        .send_request(RequestPermissionRequest::new(
                                            session.clone(),
                                            call,
                                            options,
                                        ))
                                        .block_task()
                                        .await?;
                                }
                                responder.respond(PromptResponse::new(StopReason::EndTurn))
                            })
                        }
                        None => responder.respond(PromptResponse::new(StopReason::EndTurn)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .connect_to(Stdio::new()),
    );
    if let Err(err) = served {
        eprintln!("peer-acp: {err}");
    }
    runtime.shutdown_background();
}
