//! Decoding one JSON line into a [`Submission`] or an [`Event`], with errors that say where.

use serde::de::DeserializeOwned;

use crate::Event;
use crate::Submission;

/// Why a line could not be decoded. Names the field (as a path such as `msg.command[0]`) and
/// the line/column within the decoded text where serde stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is invalid at line {line}, column {column}{field}: {message}", field = field_suffix(.path))]
pub struct DecodeError {
    /// `submission` or `event`.
    pub what: &'static str,
    /// Path of the offending field, empty when the problem is the whole value.
    pub path: String,
    /// 1-based line within the decoded text.
    pub line: usize,
    /// 1-based column within that line.
    pub column: usize,
    /// serde's description of the problem.
    pub message: String,
}

fn field_suffix(path: &str) -> String {
    if path.is_empty() || path == "." { String::new() } else { format!(" (field `{path}`)") }
}

fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(fast_err) => {
            // Decode again, slowly, only to learn the path of the failing field.
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let (path, err) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(err) => (err.path().to_string(), err.into_inner()),
                Ok(_) => (String::new(), fast_err),
            };
            let message = strip_position(&err.to_string());
            Err(DecodeError { what, path, line: err.line(), column: err.column(), message })
        }
    }
}

/// serde_json appends " at line L column C"; we report those as fields instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl Submission {
    /// Decode one JSON value (one line of the wire format, without its newline).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode("submission", bytes)
    }
}

impl Event {
    /// Decode one JSON value (one line of the wire format, without its newline).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode("event", bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_and_position() {
        let line = br#"{"id":"1","msg":{"type":"exec_approval_request","call_id":"c","turn_id":"t","command":[5],"cwd":"/"}}"#;
        let err = Event::from_json_slice(line).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.column > 0);
        assert!(err.path.contains("command"), "{err}");
        assert!(err.to_string().contains("field `"), "{err}");
    }

    #[test]
    fn missing_fields_are_named() {
        let err =
            Event::from_json_slice(br#"{"id":"1","msg":{"type":"agent_message"}}"#).unwrap_err();
        assert!(err.message.contains("missing field `message`"), "{err}");
        let err = Submission::from_json_slice(br#"{"op":{"type":"interrupt"}}"#).unwrap_err();
        assert!(err.message.contains("missing field `id`"), "{err}");
    }

    #[test]
    fn non_json_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"{", b"null", b"[]", b"\xff\xfe", b"{\"id\":1}"] {
            assert!(Event::from_json_slice(bad).is_err());
            assert!(Submission::from_json_slice(bad).is_err());
        }
    }
}
