//! The app-server's messages on the stdio transport's JSON-lines framing: any JSON value per
//! line, classified later by [`Incoming`](crate::jsonrpc::Incoming).

use delegate_protocol::DecodeError;
use delegate_transport_stdio::WireMessage;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

/// One JSON-RPC message, either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct RpcMessage(pub(crate) Value);

impl WireMessage for RpcMessage {
    const STREAM: &'static str = "codex app-server";

    fn decode(line: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(line).map(RpcMessage).map_err(|err| {
            let message = err.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            DecodeError {
                what: "JSON-RPC message",
                path: String::new(),
                line: err.line(),
                column: err.column(),
                message,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_json_decodes_and_anything_else_says_where_it_broke() {
        assert_eq!(
            RpcMessage::decode(br#"{"id":1}"#).unwrap(),
            RpcMessage(serde_json::json!({"id": 1}))
        );
        let err = RpcMessage::decode(b"{\"id\": nope}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 9));
        assert!(
            err.to_string().starts_with("JSON-RPC message is invalid at line 1, column 9"),
            "{err}"
        );
    }
}
