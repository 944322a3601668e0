//! `peer-rmcp`: an MCP server built with the `rmcp` crate, on stdin/stdout (its non-blocking
//! pipe transport, the one it recommends for servers a client starts).
//!
//! Tools: `flood {"n": N}` sends N `notifications/progress` carrying the benchmark payload as
//! their message, then returns; `echo {"text": T}` returns T (the round trip).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rmcp::ErrorData as McpError;
use rmcp::RoleServer;
use rmcp::ServerHandler;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::model::CallToolResponse;
use rmcp::model::CallToolResult;
use rmcp::model::ContentBlock;
use rmcp::model::NumberOrString;
use rmcp::model::ProgressNotificationParam;
use rmcp::model::ProgressToken;
use rmcp::model::ServerCapabilities;
use rmcp::model::ServerConfig;
use rmcp::service::RequestContext;

struct Server;

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        match request.name.as_ref() {
            "flood" => {
                let n = arguments.get("n").and_then(|n| n.as_u64()).unwrap_or(0);
                let token = context
                    .meta
                    .get_progress_token()
                    .unwrap_or(ProgressToken(NumberOrString::Number(1)));
                for i in 0..n {
                    let progress = ProgressNotificationParam::new(token.clone(), i as f64)
                        .with_message(delegate_bench::PAYLOAD);
                    if context.peer.notify_progress(progress).await.is_err() {
                        break;
                    }
                }
                Ok(CallToolResult::success(vec![ContentBlock::text("done")]).into())
            }
            "echo" => {
                let text = arguments.get("text").and_then(|t| t.as_str()).unwrap_or_default();
                Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
            }
            other => Err(McpError::invalid_params(format!("no tool {other}"), None)),
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let service = Server.serve(rmcp::transport::stdio_pipes()).await.expect("serving");
        let _ = service.waiting().await;
    });
}
