//! [`DelegateOptions`] and the [`EventFilter`].

use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use delegate_protocol::EventMsg;
use delegate_protocol::W3cTraceContext;

/// How long shutdown waits for the sub-agent to finish its turn after `interrupt` and `shutdown`
/// (the seed's value): long enough for an in-process or local agent to wind down, short enough
/// that a hung sub-agent never holds the parent noticeably.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// Capacity of the channel from the engine to the caller. Small: a slow consumer should push
/// back on the sub-agent rather than let memory grow; tokio's mpsc allocates as it fills, so an
/// idle delegate pays for one block, not for every slot.
pub const DEFAULT_EVENT_CAPACITY: usize = 64;

/// Capacity of the channel from the caller to the engine.
pub const DEFAULT_OP_CAPACITY: usize = 16;

/// Most events forwarded in one wake-up of the engine before it looks at cancellation, ops and
/// decisions again: keeps bursts cheap without starving the rest.
pub(crate) const MAX_BATCH: usize = 64;

/// Which events the caller does not see. Approval requests are never shown raw, whatever the
/// filter says: they go to the approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Shared, copied on write: every delegate gets the default filter, and building it anew
    /// cost six allocations per delegate.
    dropped: Arc<Vec<String>>,
}

/// The default filter's list, built once.
static DEFAULT_DROPPED: LazyLock<Arc<Vec<String>>> = LazyLock::new(|| {
    Arc::new(
        [
            "agent_message_delta",
            "agent_reasoning_delta",
            "token_count",
            "session_configured",
            "thread_name_updated",
        ]
        .map(String::from)
        .to_vec(),
    )
});

impl Default for EventFilter {
    /// Drops what the seed drops: `agent_message_delta`, `agent_reasoning_delta`, `token_count`,
    /// `session_configured`, `thread_name_updated`.
    fn default() -> Self {
        Self { dropped: Arc::clone(&DEFAULT_DROPPED) }
    }
}

impl EventFilter {
    /// A filter that drops nothing.
    pub fn keep_all() -> Self {
        Self { dropped: Arc::default() }
    }

    /// A filter that drops exactly these event types.
    pub fn dropping(types: &[&str]) -> Self {
        Self { dropped: Arc::new(types.iter().map(|t| t.to_string()).collect()) }
    }

    /// Also drop events of this type.
    pub fn drop_type(mut self, kind: impl Into<String>) -> Self {
        let kind = kind.into();
        if !self.dropped.contains(&kind) {
            Arc::make_mut(&mut self.dropped).push(kind);
        }
        self
    }

    /// Show events of this type after all.
    pub fn keep_type(mut self, kind: &str) -> Self {
        Arc::make_mut(&mut self.dropped).retain(|k| k != kind);
        self
    }

    /// Whether the caller sees this message.
    pub fn passes(&self, msg: &EventMsg) -> bool {
        let kind = msg.kind();
        !self.dropped.iter().any(|d| d == kind)
    }
}

/// Options of one delegation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DelegateOptions {
    /// Which events the caller does not see.
    pub filter: EventFilter,
    /// How long shutdown drains the sub-agent's events.
    pub drain_timeout: Duration,
    /// Capacity of the event channel to the caller (at least 1).
    pub event_capacity: usize,
    /// Capacity of the op channel from the caller (at least 1).
    pub op_capacity: usize,
    /// Path of this sub-agent from the root of the delegation tree; every approval request
    /// carries it. Set by [`DelegationScope`](crate::DelegationScope) when used.
    pub agent_path: Vec<String>,
    /// The trace this delegation belongs to: the engine's own submissions (approval answers,
    /// interrupt, shutdown) carry a child of it, and its spans record it.
    pub trace: Option<W3cTraceContext>,
}

impl Default for DelegateOptions {
    fn default() -> Self {
        Self {
            filter: EventFilter::default(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            op_capacity: DEFAULT_OP_CAPACITY,
            agent_path: vec!["agent".to_string()],
            trace: None,
        }
    }
}

impl DelegateOptions {
    /// These options with another event filter.
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// These options with another drain timeout.
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// These options with another event channel capacity.
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// These options with another agent path.
    pub fn with_agent_path(mut self, path: Vec<String>) -> Self {
        self.agent_path = path;
        self
    }

    /// These options with a trace context.
    pub fn with_trace(mut self, trace: Option<W3cTraceContext>) -> Self {
        self.trace = trace;
        self
    }
}
