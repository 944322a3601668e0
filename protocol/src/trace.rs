//! W3C Trace Context (`traceparent` / `tracestate`) carried on submissions.
//!
//! The wire form keeps the two header values as plain strings so that a malformed value never
//! stops a submission from decoding: the engine and transports validate with
//! [`W3cTraceContext::parse_traceparent`] and drop a bad value with a warning.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;

use serde::Deserialize;
use serde::Serialize;

/// Longest `tracestate` header accepted, per W3C Trace Context §3.3.1.1 (512 characters is the
/// size every vendor must be able to propagate).
pub const MAX_TRACESTATE_LEN: usize = 512;

/// Most list members in `tracestate`, per W3C Trace Context §3.3.1.1.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The W3C trace context of a submission, exactly as it travels on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct W3cTraceContext {
    /// `00-<trace id>-<parent id>-<flags>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Vendor-specific list of `key=value` members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// A parsed, valid `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// Version byte; `00` is the only version defined today.
    pub version: u8,
    /// 16-byte trace id, never all zero.
    pub trace_id: [u8; 16],
    /// 8-byte id of the parent span, never all zero.
    pub parent_id: [u8; 8],
    /// Trace flags; bit 0 is "sampled".
    pub flags: u8,
}

/// Why a `traceparent` or `tracestate` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceContextError {
    /// The value does not have the `vv-<32 hex>-<16 hex>-ff` layout.
    #[error("traceparent {value:?} is malformed: {reason}")]
    Malformed {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `tracestate` value breaks the list rules.
    #[error("tracestate is malformed: {reason}")]
    MalformedState {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl W3cTraceContext {
    /// A context carrying only `traceparent`.
    pub fn from_traceparent(traceparent: impl Into<String>) -> Self {
        Self { traceparent: Some(traceparent.into()), tracestate: None }
    }

    /// Parse and validate `traceparent`. `Ok(None)` when there is none.
    pub fn parse_traceparent(&self) -> Result<Option<TraceParent>, TraceContextError> {
        self.traceparent.as_deref().map(TraceParent::parse).transpose()
    }

    /// Validate the whole context: `traceparent` per [`TraceParent::parse`], and `tracestate`
    /// (at most 512 characters, at most 32 `key=value` members, no empty keys).
    pub fn validate(&self) -> Result<(), TraceContextError> {
        self.parse_traceparent()?;
        if let Some(state) = &self.tracestate {
            validate_tracestate(state)?;
        }
        Ok(())
    }

    /// This context with every invalid part removed, plus the errors for what was removed.
    ///
    /// Used wherever a malformed value must be dropped with a warning rather than stop work.
    pub fn sanitized(&self) -> (Option<W3cTraceContext>, Vec<TraceContextError>) {
        let mut errors = Vec::new();
        let traceparent = match self.parse_traceparent() {
            Ok(parent) => parent.map(|p| p.to_string()),
            Err(err) => {
                errors.push(err);
                None
            }
        };
        // tracestate without a valid traceparent is meaningless (W3C §3.3).
        let tracestate = match (&traceparent, &self.tracestate) {
            (Some(_), Some(state)) => match validate_tracestate(state) {
                Ok(()) => Some(state.clone()),
                Err(err) => {
                    errors.push(err);
                    None
                }
            },
            _ => None,
        };
        let context = traceparent.map(|tp| W3cTraceContext { traceparent: Some(tp), tracestate });
        (context, errors)
    }

    /// A context for a new span that is a child of this one: same trace id and flags, a fresh
    /// parent id, the same `tracestate`. `None` when this context has no valid `traceparent`.
    pub fn child(&self) -> Option<W3cTraceContext> {
        let parent = self.parse_traceparent().ok().flatten()?;
        Some(W3cTraceContext {
            traceparent: Some(parent.child().to_string()),
            tracestate: self.tracestate.clone(),
        })
    }
}

fn validate_tracestate(state: &str) -> Result<(), TraceContextError> {
    if state.len() > MAX_TRACESTATE_LEN {
        return Err(TraceContextError::MalformedState { reason: "longer than 512 characters" });
    }
    let mut members = 0;
    for member in state.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        members += 1;
        let Some((key, value)) = member.split_once('=') else {
            return Err(TraceContextError::MalformedState { reason: "a member has no '='" });
        };
        if key.is_empty() || key.len() > 256 {
            return Err(TraceContextError::MalformedState {
                reason: "a member key is empty or too long",
            });
        }
        let key_ok = key.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        });
        if !key_ok {
            return Err(TraceContextError::MalformedState {
                reason: "a member key has a character outside [a-z0-9_-*/@]",
            });
        }
        let value_ok = !value.is_empty()
            && value.len() <= 256
            && value.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
        if !value_ok {
            return Err(TraceContextError::MalformedState {
                reason: "a member value is empty, too long or has a forbidden character",
            });
        }
    }
    if members > MAX_TRACESTATE_MEMBERS {
        return Err(TraceContextError::MalformedState { reason: "more than 32 members" });
    }
    Ok(())
}

impl TraceParent {
    /// A new root trace: random trace id and parent id, sampled.
    pub fn new_root() -> Self {
        let hi = random_u64();
        let lo = random_u64();
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&hi.to_be_bytes());
        trace_id[8..].copy_from_slice(&lo.to_be_bytes());
        if trace_id == [0; 16] {
            trace_id[15] = 1;
        }
        Self { version: 0, trace_id, parent_id: new_span_id(), flags: 1 }
    }

    /// A child span of this one: same trace id and flags, a fresh non-zero parent id.
    pub fn child(&self) -> Self {
        Self { version: 0, trace_id: self.trace_id, parent_id: new_span_id(), flags: self.flags }
    }

    /// The trace id as 32 lowercase hex digits.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// Whether the sampled flag is set.
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// Parse a `traceparent` header value per W3C Trace Context §3.2.
    ///
    /// Accepts version `00` with exactly 55 characters, and future versions (not `ff`) that have
    /// at least the version-00 fields, ignoring what follows a `-` after them.
    pub fn parse(value: &str) -> Result<Self, TraceContextError> {
        let bad = |reason| TraceContextError::Malformed { value: value.to_string(), reason };
        let bytes = value.as_bytes();
        if bytes.len() < 55 {
            return Err(bad("shorter than 55 characters"));
        }
        let version = parse_hex_byte(&bytes[0..2])
            .ok_or_else(|| bad("version is not 2 lowercase hex digits"))?;
        if version == 0xff {
            return Err(bad("version ff is forbidden"));
        }
        if version == 0 && bytes.len() != 55 {
            return Err(bad("version 00 must be exactly 55 characters"));
        }
        if version != 0 && bytes.len() > 55 && bytes[55] != b'-' {
            return Err(bad("data after the flags must start with '-'"));
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return Err(bad("fields must be separated by '-'"));
        }
        let mut trace_id = [0u8; 16];
        for (i, out) in trace_id.iter_mut().enumerate() {
            *out = parse_hex_byte(&bytes[3 + 2 * i..5 + 2 * i])
                .ok_or_else(|| bad("trace id is not 32 lowercase hex digits"))?;
        }
        let mut parent_id = [0u8; 8];
        for (i, out) in parent_id.iter_mut().enumerate() {
            *out = parse_hex_byte(&bytes[36 + 2 * i..38 + 2 * i])
                .ok_or_else(|| bad("parent id is not 16 lowercase hex digits"))?;
        }
        let flags = parse_hex_byte(&bytes[53..55])
            .ok_or_else(|| bad("flags are not 2 lowercase hex digits"))?;
        if trace_id == [0; 16] {
            return Err(bad("trace id is all zeros"));
        }
        if parent_id == [0; 8] {
            return Err(bad("parent id is all zeros"));
        }
        Ok(Self { version, trace_id, parent_id, flags })
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}-{}-{}-{:02x}",
            self.version,
            hex(&self.trace_id),
            hex(&self.parent_id),
            self.flags
        )
    }
}

impl std::str::FromStr for TraceParent {
    type Err = TraceContextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn parse_hex_byte(pair: &[u8]) -> Option<u8> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    Some(digit(pair[0])? << 4 | digit(pair[1])?)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn new_span_id() -> [u8; 8] {
    loop {
        let id = random_u64();
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

/// Random enough for span ids without a `rand` dependency: std's `RandomState` is seeded from the
/// OS once per process and perturbed per instance; a counter keeps successive ids distinct.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::collections::hash_map::RandomState::new().hash_one(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_traceparent_round_trips() {
        let parsed = TraceParent::parse(VALID).unwrap();
        assert_eq!(parsed.to_string(), VALID);
        assert!(parsed.sampled());
        assert_eq!(parsed.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn malformed_traceparents_are_rejected_with_a_reason() {
        let cases = [
            ("", "shorter"),
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "trace id"),
            ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "all zeros"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "all zeros"),
            ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "ff"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "exactly 55"),
            ("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "separated"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", "flags"),
            ("0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version"),
        ];
        for (value, needle) in cases {
            let err = TraceParent::parse(value).unwrap_err().to_string();
            assert!(err.contains(needle), "{value:?}: {err}");
        }
    }

    #[test]
    fn future_versions_may_carry_more_fields() {
        let v = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abcd";
        assert_eq!(TraceParent::parse(v).unwrap().version, 1);
        let v = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01abcd";
        assert!(TraceParent::parse(v).is_err());
    }

    #[test]
    fn child_keeps_trace_id_and_flags_but_not_parent_id() {
        let ctx =
            W3cTraceContext { traceparent: Some(VALID.into()), tracestate: Some("a=b".into()) };
        let child = ctx.child().unwrap();
        let parsed = child.parse_traceparent().unwrap().unwrap();
        let original = TraceParent::parse(VALID).unwrap();
        assert_eq!(parsed.trace_id, original.trace_id);
        assert_eq!(parsed.flags, original.flags);
        assert_ne!(parsed.parent_id, original.parent_id);
        assert_eq!(child.tracestate.as_deref(), Some("a=b"));
    }

    #[test]
    fn new_roots_are_distinct_and_valid() {
        let a = TraceParent::new_root();
        let b = TraceParent::new_root();
        assert_ne!(a.trace_id, b.trace_id);
        assert_eq!(TraceParent::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn sanitized_drops_only_the_bad_parts() {
        let ctx =
            W3cTraceContext { traceparent: Some("garbage".into()), tracestate: Some("a=b".into()) };
        let (clean, errors) = ctx.sanitized();
        assert_eq!(clean, None);
        assert_eq!(errors.len(), 1);
        let ctx =
            W3cTraceContext { traceparent: Some(VALID.into()), tracestate: Some("=x".into()) };
        let (clean, errors) = ctx.sanitized();
        assert_eq!(clean, Some(W3cTraceContext::from_traceparent(VALID)));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn tracestate_rules() {
        assert!(validate_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").is_ok());
        assert!(validate_tracestate("a=1, b=2 ,").is_ok());
        assert!(validate_tracestate("UPPER=1").is_err());
        assert!(validate_tracestate("novalue").is_err());
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(validate_tracestate(&many.join(",")).is_err());
        assert!(validate_tracestate(&"a=".repeat(300)).is_err());
    }
}
