//! The app-server's JSON-RPC dialect: one object per line, no `"jsonrpc"` field, requests in both
//! directions with their own id counters, and an optional W3C `trace` on requests.

use delegate_protocol::W3cTraceContext;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

/// JSON-RPC "method not found", our answer to server requests this adapter does not handle.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;

/// An error answer from the other side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
}

/// One message from the app-server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    /// A server→client request: it waits for our answer under `id`.
    Request { id: Value, method: String, params: Value },
    /// A notification.
    Notification { method: String, params: Value },
    /// The answer to one of our requests.
    Response { id: Value, result: Result<Value, RpcError> },
}

impl Incoming {
    /// Classify one decoded line. `Err` says what is wrong with it.
    pub(crate) fn classify(value: Value) -> Result<Incoming, String> {
        let Value::Object(mut map) = value else {
            return Err("not a JSON object".to_string());
        };
        let id = map.remove("id");
        let params = map.remove("params").unwrap_or(Value::Null);
        match (map.remove("method"), id) {
            (Some(Value::String(method)), Some(id)) => Ok(Incoming::Request { id, method, params }),
            (Some(Value::String(method)), None) => Ok(Incoming::Notification { method, params }),
            (Some(_), _) => Err("`method` is not a string".to_string()),
            (None, Some(id)) => {
                if let Some(result) = map.remove("result") {
                    Ok(Incoming::Response { id, result: Ok(result) })
                } else if let Some(error) = map.remove("error") {
                    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
                    let message = error
                        .get("message")
                        .and_then(Value::as_str)
                        .map_or_else(|| error.to_string(), str::to_string);
                    Ok(Incoming::Response { id, result: Err(RpcError { code, message }) })
                } else {
                    Err("a response with neither `result` nor `error`".to_string())
                }
            }
            (None, None) => Err("neither `method` nor `id`".to_string()),
        }
    }
}

/// A request from us. `trace` rides along in the envelope's `trace` field.
pub(crate) fn request(
    id: i64,
    method: &str,
    params: Value,
    trace: Option<&W3cTraceContext>,
) -> Value {
    let mut map = Map::new();
    map.insert("id".to_string(), Value::from(id));
    map.insert("method".to_string(), Value::from(method));
    map.insert("params".to_string(), params);
    if let Some(trace) = trace.and_then(|t| serde_json::to_value(t).ok()) {
        map.insert("trace".to_string(), trace);
    }
    Value::Object(map)
}

/// A notification from us.
pub(crate) fn notification(method: &str) -> Value {
    json!({ "method": method })
}

/// Our answer to a server request.
pub(crate) fn response(id: Value, result: Value) -> Value {
    json!({ "id": id, "result": result })
}

/// Our error answer to a server request.
pub(crate) fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({ "id": id, "error": { "code": code, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn messages_are_told_apart_by_method_and_id() {
        let req = Incoming::classify(json!({"id": 0, "method": "m", "params": {"a": 1}})).unwrap();
        assert_eq!(
            req,
            Incoming::Request { id: json!(0), method: "m".into(), params: json!({"a": 1}) }
        );
        let note = Incoming::classify(json!({"method": "n"})).unwrap();
        assert_eq!(note, Incoming::Notification { method: "n".into(), params: Value::Null });
        let ok = Incoming::classify(json!({"id": 3, "result": {}})).unwrap();
        assert_eq!(ok, Incoming::Response { id: json!(3), result: Ok(json!({})) });
        let err = Incoming::classify(
            json!({"id": 3, "error": {"code": -32600, "message": "Not initialized"}}),
        )
        .unwrap();
        assert_eq!(
            err,
            Incoming::Response {
                id: json!(3),
                result: Err(RpcError { code: -32600, message: "Not initialized".into() })
            }
        );
    }

    #[test]
    fn malformed_messages_say_what_is_wrong() {
        assert!(Incoming::classify(json!([])).unwrap_err().contains("object"));
        assert!(Incoming::classify(json!({"x": 1})).unwrap_err().contains("neither"));
        assert!(Incoming::classify(json!({"id": 1})).unwrap_err().contains("result"));
        assert!(Incoming::classify(json!({"method": 5})).unwrap_err().contains("string"));
    }

    #[test]
    fn requests_carry_the_trace_only_when_there_is_one() {
        let trace = W3cTraceContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
        assert_eq!(
            request(7, "turn/interrupt", json!({}), Some(&trace)),
            json!({"id": 7, "method": "turn/interrupt", "params": {},
                   "trace": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
        );
        assert_eq!(
            request(7, "turn/interrupt", json!({}), None),
            json!({"id": 7, "method": "turn/interrupt", "params": {}})
        );
    }
}
