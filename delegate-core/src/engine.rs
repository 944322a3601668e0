//! The delegation engine: one task per delegate that forwards events, routes approval requests,
//! forwards ops, and owns cancellation and bounded shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::pin::pin;
use std::sync::Arc;

use delegate_approval::Answer;
use delegate_approval::ApprovalRequest;
use delegate_approval::Approver;
use delegate_approval::Request;
use delegate_approval::Verdict;
use delegate_protocol::AgentStatus;
use delegate_protocol::ApprovalDecidedEvent;
use delegate_protocol::ApprovalPendingEvent;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use delegate_protocol::Event;
use delegate_protocol::EventMsg;
use delegate_protocol::Op;
use delegate_protocol::Submission;
use delegate_protocol::W3cTraceContext;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::Agent;
use crate::DelegateError;
use crate::DelegateOptions;
use crate::options::MAX_BATCH;

/// An op on its way from the caller to the engine. Boxed because tokio's mpsc allocates its
/// first block of 32 slots when the channel is created: 32 × 8 bytes instead of 32 ×
/// `size_of::<Submission>()` (≈ 5 KiB) per idle delegate, for one small allocation per op (ops
/// are rare next to events).
type QueuedOp = Box<Submission>;

/// The caller's handle to a running delegation: send ops, receive events, watch status, cancel.
///
/// Dropping the event receiver (or the whole handle) shuts the sub-agent down, like cancelling.
#[derive(Debug)]
pub struct Delegate {
    pub(crate) ops: OpSender,
    events: mpsc::Receiver<Event>,
    status: watch::Receiver<AgentStatus>,
    cancel: CancellationToken,
    /// Cancelled when the engine's task ends (a token rather than a `watch<bool>`: an idle
    /// delegate keeps ≈ 100 bytes for it instead of ≈ 400).
    finished: CancellationToken,
}

/// Sends ops to a delegated sub-agent. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OpSender {
    tx: Option<mpsc::Sender<QueuedOp>>,
    closed_reason: &'static str,
}

impl OpSender {
    pub(crate) fn closed(reason: &'static str) -> Self {
        Self { tx: None, closed_reason: reason }
    }

    /// Send one submission; it reaches the sub-agent with its id and trace unchanged (a
    /// malformed trace context is dropped with a warning event).
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the submission was not queued.
    pub async fn submit(&self, submission: Submission) -> Result<(), DelegateError> {
        let Some(tx) = &self.tx else {
            return Err(DelegateError::Closed { reason: self.closed_reason });
        };
        tx.send(Box::new(submission))
            .await
            .map_err(|_| DelegateError::Closed { reason: "the delegate has stopped" })
    }

    /// Whether submissions can no longer be sent.
    pub fn is_closed(&self) -> bool {
        self.tx.as_ref().is_none_or(|tx| tx.is_closed())
    }
}

impl Delegate {
    /// Send one submission to the sub-agent. See [`OpSender::submit`].
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the submission was not queued.
    pub async fn submit(&self, submission: Submission) -> Result<(), DelegateError> {
        self.ops.submit(submission).await
    }

    /// The next event for the caller; `None` once the delegation has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped call loses no event.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// A clone of the op sender.
    pub fn ops(&self) -> OpSender {
        self.ops.clone()
    }

    /// The sub-agent's status.
    pub fn status(&self) -> watch::Receiver<AgentStatus> {
        self.status.clone()
    }

    /// The token that stops this delegation (a child of the one it was started with).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stop the delegation: pending approvals are refused, the sub-agent gets `interrupt` and
    /// `shutdown`, and its events are drained for at most the drain timeout.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Wait until the engine has finished shutting down (the sub-agent has been told to stop
    /// and drained, or has ended by itself). Events still buffered can be read afterwards.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn finished(&self) {
        self.finished.cancelled().await;
    }

    /// Split into the op sender and the event receiver, as the seed's callers use them.
    pub fn into_parts(self) -> (OpSender, mpsc::Receiver<Event>) {
        (self.ops, self.events)
    }
}

/// Why the engine's main loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The caller's token was cancelled.
    Cancelled,
    /// The caller dropped its event receiver.
    ConsumerGone,
    /// The sub-agent's event stream ended.
    AgentEnded,
    /// One-shot: the turn ended and `shutdown` was sent.
    TurnDone,
}

/// Start an interactive delegation of `agent`, with `approver` deciding its requests.
///
/// Cancelling `cancel` (or [`Delegate::cancel`], which cancels a child of it) stops the
/// delegation. Must be called within a tokio runtime.
pub fn delegate(
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    cancel: CancellationToken,
    options: DelegateOptions,
) -> Delegate {
    start(agent, approver, cancel.child_token(), options, false, None)
}

pub(crate) fn start(
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    cancel: CancellationToken,
    options: DelegateOptions,
    one_shot: bool,
    permit: Option<OwnedSemaphorePermit>,
) -> Delegate {
    let (ops_tx, ops_rx) = mpsc::channel(options.op_capacity.max(1));
    let (events_tx, events_rx) = mpsc::channel(options.event_capacity.max(1));
    let finished = CancellationToken::new();
    // Dropped when the task ends, however it ends (also if it panics or the runtime drops it).
    let finished_guard = finished.clone().drop_guard();
    let status = agent.status();
    let span = tracing::info_span!(
        "delegate",
        agent_path = %options.agent_path.join("/"),
        trace_id = tracing::field::Empty,
        parent_span_id = tracing::field::Empty,
    );
    record_trace(&span, options.trace.as_ref());
    let mut engine = Engine {
        agent,
        approver,
        events_tx,
        cancel: cancel.clone(),
        options,
        one_shot,
        pending: HashMap::new(),
        tasks: HashMap::new(),
        aborts: HashMap::new(),
        unsent: None,
        decisions: JoinSet::new(),
        shutdown_requested: false,
        last_was_error: false,
        saw_shutdown_complete: false,
    };
    tokio::spawn(
        async move {
            engine.run(ops_rx).await;
            // In this order, as when `run` consumed the engine: the caller's event stream ends,
            // then the permit is released, then `finished()` returns.
            drop(engine);
            drop(permit);
            drop(finished_guard);
        }
        .instrument(span),
    );
    Delegate {
        ops: OpSender { tx: Some(ops_tx), closed_reason: "the delegate has stopped" },
        events: events_rx,
        status,
        cancel,
        finished,
    }
}

fn record_trace(span: &tracing::Span, trace: Option<&W3cTraceContext>) {
    if let Some(parent) = trace.and_then(|t| t.parse_traceparent().ok().flatten()) {
        span.record("trace_id", tracing::field::display(parent.trace_id_hex()));
        span.record("parent_span_id", tracing::field::display(hex8(&parent.parent_id)));
    }
}

fn hex8(bytes: &[u8; 8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Engine {
    agent: Arc<dyn Agent>,
    approver: Arc<dyn Approver>,
    events_tx: mpsc::Sender<Event>,
    cancel: CancellationToken,
    options: DelegateOptions,
    one_shot: bool,
    /// Requests waiting for a decision, by request id.
    pending: HashMap<String, ApprovalRequest>,
    /// Which request each decision task decides.
    tasks: HashMap<tokio::task::Id, String>,
    /// How to stop each request's decision task, by request id.
    aborts: HashMap<String, tokio::task::AbortHandle>,
    /// An event that was waiting for room in the caller's channel when cancellation came.
    unsent: Option<Box<Event>>,
    decisions: JoinSet<(String, Verdict)>,
    shutdown_requested: bool,
    last_was_error: bool,
    saw_shutdown_complete: bool,
}

/// How handling something went: done at once, or the rest of it, boxed, to await (see
/// [`Engine::run`]).
type Step<'a> = Result<Flow, Pin<Box<dyn Future<Output = Flow> + Send + 'a>>>;

/// What [`Engine::try_emit`] did.
enum Emit {
    /// Sent, or the caller is gone: how the main loop goes on.
    Done(Flow),
    /// The caller's channel is full: the event, to send when there is room.
    Full(Event),
}

/// What handling one event asks of the main loop.
enum Flow {
    Continue,
    Stop(Stop),
}

impl Engine {
    // The size of the engine's task matters: a future is as large as its largest await point,
    // and every idle delegate keeps all of it. So `run` borrows the engine (the spawned task
    // owns it once, instead of once per `async fn` layer), the event branch's own work is not
    // `async` (see `on_event`), and the rare paths (ops, decisions, approval requests, waiting
    // for room in the caller's channel, shutdown) are boxed futures awaited outside `select!`,
    // so that nothing event-sized is held across an await. They cost one allocation when they
    // run instead of ≈ 3 KiB in every idle delegate.
    async fn run(&mut self, mut ops_rx: mpsc::Receiver<QueuedOp>) {
        let agent = Arc::clone(&self.agent);
        let cancel = self.cancel.clone();
        let events_tx = self.events_tx.clone();
        let mut cancelled = pin!(cancel.cancelled());
        let mut consumer_gone = pin!(events_tx.closed());
        let mut next = agent.next_event();
        let mut ops_open = true;
        let stop = loop {
            // `None` until this wake-up's branch has run; then how many more ready events the
            // wake-up may forward (a burst: the first event and up to MAX_BATCH more).
            let mut burst: Option<usize> = None;
            let flow = loop {
                // A fresh binding per step: a boxed rest borrows the engine only until awaited.
                let step: Step<'_> = match burst {
                    Some(_) => match agent.try_next_event() {
                        Some(event) => self.on_event(event),
                        None => break Flow::Continue,
                    },
                    None => tokio::select! {
                        biased;
                        _ = &mut cancelled => Ok(Flow::Stop(Stop::Cancelled)),
                        _ = &mut consumer_gone => Ok(Flow::Stop(Stop::ConsumerGone)),
                        Some(done) = self.decisions.join_next_with_id(),
                            if !self.decisions.is_empty() =>
                        {
                            Err(Box::pin(self.on_decision(done)))
                        }
                        event = &mut next => match event {
                            None => Ok(Flow::Stop(Stop::AgentEnded)),
                            Some(event) => {
                                next = agent.next_event();
                                burst = Some(MAX_BATCH);
                                self.on_event(event)
                            }
                        },
                        op = ops_rx.recv(), if ops_open => match op {
                            Some(submission) => Err(Box::pin(self.on_op(*submission))),
                            None => {
                                ops_open = false;
                                Ok(Flow::Continue)
                            }
                        },
                    },
                };
                let flow = match step {
                    Ok(flow) => flow,
                    Err(rest) => rest.await,
                };
                match &mut burst {
                    Some(more) if *more > 0 && matches!(flow, Flow::Continue) => {
                        if cancel.is_cancelled() {
                            break flow;
                        }
                        *more -= 1;
                    }
                    _ => break flow,
                }
            };
            if let Flow::Stop(stop) = flow {
                break stop;
            }
        };
        drop(next);
        drop(ops_rx);
        Box::pin(self.shut_down(stop)).await;
    }

    /// Send an event to the caller without blocking unless the channel is full, and then only
    /// until cancellation.
    async fn emit(&mut self, event: Event) -> Flow {
        match self.try_emit(event) {
            Emit::Done(flow) => flow,
            Emit::Full(event) => Box::pin(self.emit_when_room(event)).await,
        }
    }

    /// `emit` without waiting. Not async, so the hot path in `on_event` keeps no event-sized
    /// `emit` future in the task.
    fn try_emit(&mut self, event: Event) -> Emit {
        self.last_was_error = matches!(event.msg, EventMsg::Error(_));
        match self.events_tx.try_send(event) {
            Ok(()) => Emit::Done(Flow::Continue),
            Err(TrySendError::Closed(_)) => Emit::Done(Flow::Stop(Stop::ConsumerGone)),
            Err(TrySendError::Full(event)) => Emit::Full(event),
        }
    }

    /// `emit`'s slow path: wait for room in the caller's channel, until cancellation.
    /// An event cut off by cancellation is kept for shutdown to deliver, not dropped.
    async fn emit_when_room(&mut self, event: Event) -> Flow {
        let permit = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => {
                self.unsent = Some(Box::new(event));
                return Flow::Stop(Stop::Cancelled);
            }
            permit = self.events_tx.reserve() => permit,
        };
        match permit {
            Ok(permit) => {
                permit.send(event);
                Flow::Continue
            }
            Err(_) => Flow::Stop(Stop::ConsumerGone),
        }
    }

    /// Submit to the sub-agent, bounded by cancellation. `false` if it was not delivered.
    async fn submit(&self, submission: Submission) -> bool {
        let span = tracing::debug_span!(
            "delegate.op",
            id = %submission.id,
            op = submission.op.kind(),
            trace_id = tracing::field::Empty,
            parent_span_id = tracing::field::Empty,
        );
        // Each op's span is parented on the submission's own W3C context when it has one.
        if !span.is_disabled() {
            record_trace(&span, submission.trace.as_ref());
        }
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => false,
            result = self.agent.submit(submission).instrument(span) => match result {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(error = %err, "submission to the sub-agent failed");
                    false
                }
            },
        }
    }

    fn own_trace(&self) -> Option<W3cTraceContext> {
        self.options.trace.as_ref().and_then(W3cTraceContext::child)
    }

    async fn on_op(&mut self, mut submission: Submission) -> Flow {
        if let Some(trace) = &submission.trace
            && let Err(err) = trace.validate()
        {
            let (clean, _) = trace.sanitized();
            submission.trace = clean;
            let warning = Event::new(
                submission.id.clone(),
                EventMsg::warning(format!(
                    "dropped the trace context of submission {:?}: {err}",
                    submission.id
                )),
            );
            if let Flow::Stop(stop) = self.emit(warning).await {
                return Flow::Stop(stop);
            }
        }
        if matches!(submission.op, Op::Shutdown) {
            self.shutdown_requested = true;
        }
        let (id, kind) = (submission.id.clone(), submission.op.kind());
        if !self.submit(submission).await {
            if self.cancel.is_cancelled() {
                return Flow::Stop(Stop::Cancelled);
            }
            let warning = EventMsg::warning(format!(
                "submission {id:?} ({kind}) did not reach the sub-agent: it is gone"
            ));
            return self.emit(Event::new(id, warning)).await;
        }
        Flow::Continue
    }

    /// Handle one event from the sub-agent. The common case (an event the filter drops, or one
    /// the caller's channel has room for) is done before this returns; the rare ones (an
    /// approval request, a full channel, the end of a one-shot turn) come back as a boxed future
    /// for the caller to await. Not `async` so that the engine's task keeps only that box, not
    /// an event-sized state machine, while it waits.
    fn on_event(&mut self, event: Event) -> Step<'_> {
        let Event { id, msg } = event;
        let request = match msg {
            EventMsg::ExecApprovalRequest(r) => Request::Exec(*r),
            EventMsg::ApplyPatchApprovalRequest(r) => Request::Patch(*r),
            EventMsg::RequestPermissions(r) => Request::Permissions(*r),
            EventMsg::RequestUserInput(r) => Request::UserInput(*r),
            msg => {
                if matches!(msg, EventMsg::ShutdownComplete) {
                    self.saw_shutdown_complete = true;
                }
                let ends_one_shot = msg.ends_turn() && self.one_shot;
                // Requests of a turn that has ended are dead: close them before the caller
                // sees the turn end, so no prompt can approve them afterwards.
                let stale = if msg.ends_turn() && !self.pending.is_empty() {
                    self.resolve_stale(&id)
                } else {
                    Vec::new()
                };
                let passes = self.options.filter.passes(&msg);
                let event = Event { id, msg };
                let mut later = None;
                if !stale.is_empty() {
                    later = passes.then_some(event);
                } else if passes {
                    match self.try_emit(event) {
                        Emit::Done(Flow::Continue) => {}
                        Emit::Done(stop) => return Ok(stop),
                        Emit::Full(event) => later = Some(event),
                    }
                }
                if later.is_none() && stale.is_empty() && !ends_one_shot {
                    return Ok(Flow::Continue);
                }
                return Err(Box::pin(async move {
                    for decided in stale {
                        if let Flow::Stop(stop) = self.emit(decided).await {
                            return Flow::Stop(stop);
                        }
                    }
                    if let Some(event) = later
                        && let Flow::Stop(stop) = self.emit(event).await
                    {
                        return Flow::Stop(stop);
                    }
                    if ends_one_shot {
                        self.shutdown_requested = true;
                        self.submit(
                            Submission::new("shutdown", Op::Shutdown).with_trace(self.own_trace()),
                        )
                        .await;
                        return Flow::Stop(Stop::TurnDone);
                    }
                    Flow::Continue
                }));
            }
        };
        Err(Box::pin(self.route(request, id)))
    }

    /// Close the pending requests carried by events of the turn `event_id`, which has ended:
    /// stop their decision tasks, tell the approver (so a prompt closes), and return the
    /// `approval_decided` events (`abort`, decided by cancellation). The sub-agent gets no
    /// answer: its turn is over.
    fn resolve_stale(&mut self, event_id: &str) -> Vec<Event> {
        let mut stale: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, r)| r.event_id == event_id)
            .map(|(id, _)| id.clone())
            .collect();
        stale.sort();
        let mut decided = Vec::new();
        for request_id in stale {
            let Some(request) = self.pending.remove(&request_id) else { continue };
            if let Some(abort) = self.aborts.remove(&request_id) {
                self.tasks.remove(&abort.id());
                abort.abort();
            }
            let verdict = request.refusal(Decision::Abort, DecidedBy::Cancel);
            self.approver.resolved(&request, &verdict);
            decided.push(decided_event(&request, &verdict));
        }
        decided
    }

    /// Hand a request to the approver, off the event loop, and tell the caller it is pending.
    async fn route(&mut self, request: Request, event_id: String) -> Flow {
        let mut request =
            ApprovalRequest::new(request, self.options.agent_path.clone(), event_id.clone());
        request.trace = self.options.trace.clone();
        let request_id = request.request_id().to_string();
        if self.pending.contains_key(&request_id) {
            let warning = EventMsg::warning(format!(
                "ignored a second {} request with id {request_id:?} while the first is pending",
                request.kind()
            ));
            return self.emit(Event::new(event_id, warning)).await;
        }
        let pending = EventMsg::ApprovalPending(ApprovalPendingEvent {
            kind: request.kind(),
            call_id: request.call_id().to_string(),
            agent_path: request.agent_path.clone(),
            summary: request.summary(),
        });
        let span = tracing::info_span!(
            "delegate.approval",
            kind = %request.kind(),
            call_id = %request.call_id(),
            decided_by = tracing::field::Empty,
        );
        let approver = Arc::clone(&self.approver);
        let for_task = request.clone();
        let id_for_task = request_id.clone();
        let mut decision: Pin<Box<dyn Future<Output = (String, Verdict)> + Send>> = Box::pin(
            async move {
                let verdict = approver.decide(&for_task).await;
                tracing::Span::current()
                    .record("decided_by", tracing::field::display(&verdict.decided_by));
                (id_for_task, verdict)
            }
            .instrument(span),
        );
        // Policies that answer at once (rules, allow/deny, the session cache) need no task of
        // their own: poll the decision once here and answer without two more task hand-offs.
        // Only a decision that has to wait (a person, a timer) goes to the JoinSet, which polls
        // it again with a real waker. A panicking approver is refused, as in a task.
        let polled: Option<Result<Verdict, ()>> = {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                decision.as_mut().poll(&mut cx)
            })) {
                Ok(std::task::Poll::Pending) => None,
                Ok(std::task::Poll::Ready((_, verdict))) => Some(Ok(verdict)),
                Err(_) => Some(Err(())),
            }
        };
        match polled {
            None => {}
            Some(Ok(verdict)) => {
                if let Flow::Stop(stop) = self.emit(Event::new(event_id, pending)).await {
                    return Flow::Stop(stop);
                }
                return self.answer(&request, verdict).await;
            }
            Some(Err(())) => {
                drop(decision);
                if let Flow::Stop(stop) = self.emit(Event::new(event_id, pending)).await {
                    return Flow::Stop(stop);
                }
                return self.refuse_failed(&request, "it panicked".to_string()).await;
            }
        }
        let handle = self.decisions.spawn(decision);
        self.tasks.insert(handle.id(), request_id.clone());
        self.aborts.insert(request_id.clone(), handle);
        self.pending.insert(request_id, request);
        self.emit(Event::new(event_id, pending)).await
    }

    async fn on_decision(
        &mut self,
        done: Result<(tokio::task::Id, (String, Verdict)), tokio::task::JoinError>,
    ) -> Flow {
        let (request_id, verdict) = match done {
            Ok((task, (request_id, verdict))) => {
                self.tasks.remove(&task);
                self.aborts.remove(&request_id);
                (request_id, verdict)
            }
            Err(err) => {
                let Some(request_id) = self.tasks.remove(&err.id()) else { return Flow::Continue };
                self.aborts.remove(&request_id);
                let Some(request) = self.pending.remove(&request_id) else { return Flow::Continue };
                return self.refuse_failed(&request, err.to_string()).await;
            }
        };
        let Some(request) = self.pending.remove(&request_id) else { return Flow::Continue };
        self.answer(&request, verdict).await
    }

    /// An approver that failed (panicked) means a refusal: warn the caller, then answer `denied`.
    async fn refuse_failed(&mut self, request: &ApprovalRequest, why: String) -> Flow {
        tracing::error!(%why, "the approver failed; refusing the request");
        let warning = EventMsg::warning(format!(
            "the approver failed on request {:?}: {why}; refused",
            request.request_id()
        ));
        if let Flow::Stop(stop) = self.emit(Event::new(request.event_id.clone(), warning)).await {
            return Flow::Stop(stop);
        }
        let verdict =
            request.refusal(Decision::Denied, DecidedBy::Policy("approver_failed".into()));
        self.answer(request, verdict).await
    }

    /// Send the verdict to the sub-agent with the id rules of the seed, and report it.
    async fn answer(&mut self, request: &ApprovalRequest, verdict: Verdict) -> Flow {
        // Fail closed on an answer of the wrong kind, or one that grants more than was asked
        // (permissions beyond the request, answers to questions nobody asked).
        let verdict = if verdict.stays_within(request) {
            verdict
        } else {
            tracing::warn!(
                "the approver's answer does not fit the request or grants more than asked; refusing"
            );
            request.refusal(Decision::Denied, verdict.decided_by)
        };
        if let Some(op) = reply_op(request, &verdict) {
            let submission = Submission::new(format!("approval-{}", request.request_id()), op)
                .with_trace(self.own_trace());
            if !self.submit(submission).await {
                if self.cancel.is_cancelled() {
                    return Flow::Stop(Stop::Cancelled);
                }
                let warning = EventMsg::warning(format!(
                    "the answer to {} request {:?} did not reach the sub-agent: it is gone",
                    request.kind(),
                    request.call_id()
                ));
                if let Flow::Stop(stop) =
                    self.emit(Event::new(request.event_id.clone(), warning)).await
                {
                    return Flow::Stop(stop);
                }
            }
        }
        self.emit(decided_event(request, &verdict)).await
    }

    async fn shut_down(&mut self, stop: Stop) {
        tracing::debug!(?stop, "delegate stopping");
        let consumer_alive = stop != Stop::ConsumerGone;
        let agent_alive = stop != Stop::AgentEnded;
        // One deadline bounds everything below, so shutdown takes at most the drain timeout.
        let deadline = Instant::now() + self.options.drain_timeout;
        // What the caller is told, sent after the sub-agent has been told to stop: a caller
        // that is not reading must not delay `interrupt` and `shutdown`.
        let mut outgoing = Vec::new();

        // Pending approvals resolve fail-closed; the approver is told so a prompt can close.
        self.decisions.abort_all();
        self.tasks.clear();
        self.aborts.clear();
        let mut pending: Vec<ApprovalRequest> = self.pending.drain().map(|(_, r)| r).collect();
        pending.sort_by(|a, b| a.request_id().cmp(b.request_id()));
        for request in pending {
            let verdict = request.refusal(Decision::Abort, DecidedBy::Cancel);
            self.approver.resolved(&request, &verdict);
            if agent_alive && let Some(op) = reply_op(&request, &verdict) {
                let submission = Submission::new(format!("approval-{}", request.request_id()), op);
                let _ = tokio::time::timeout_at(deadline, self.agent.submit(submission)).await;
            }
            outgoing.push(decided_event(&request, &verdict));
        }

        if agent_alive && stop != Stop::TurnDone {
            let trace = self.own_trace();
            let interrupt = Submission::new("interrupt", Op::Interrupt).with_trace(trace.clone());
            let _ = tokio::time::timeout_at(deadline, self.agent.submit(interrupt)).await;
            if !self.shutdown_requested {
                let shutdown = Submission::new("shutdown", Op::Shutdown).with_trace(trace);
                let _ = tokio::time::timeout_at(deadline, self.agent.submit(shutdown)).await;
            }
        }

        let mut dropped = 0usize;
        if consumer_alive {
            for event in self.unsent.take().map(|e| *e).into_iter().chain(outgoing) {
                dropped += usize::from(!self.send_by(deadline, event).await);
            }
        }
        if agent_alive {
            // Drain until the turn ends or the sub-agent is gone, for at most the drain timeout.
            let _ = tokio::time::timeout_at(deadline, async {
                while let Some(event) = self.agent.next_event().await {
                    let last =
                        event.msg.ends_turn() || matches!(event.msg, EventMsg::ShutdownComplete);
                    if consumer_alive
                        && self.options.filter.passes(&event.msg)
                        && !is_request(&event.msg)
                    {
                        dropped += usize::from(!self.send_by(deadline, event).await);
                    }
                    if last {
                        break;
                    }
                }
            })
            .await;
        } else if consumer_alive
            && !self.shutdown_requested
            && !self.saw_shutdown_complete
            && !self.last_was_error
        {
            let status = self.agent.status().borrow().clone();
            let message = match status {
                AgentStatus::Errored(reason) => format!("the sub-agent failed: {reason}"),
                other => {
                    format!("the sub-agent's event stream ended unexpectedly (status: {other})")
                }
            };
            dropped += usize::from(
                !self.send_by(deadline, Event::new("", EventMsg::error(message))).await,
            );
        }
        if dropped > 0 {
            tracing::warn!(dropped, "events dropped during shutdown: the caller was not reading");
            let warning = EventMsg::warning(format!(
                "{dropped} event(s) dropped while shutting down: the caller was not reading"
            ));
            let _ = self.events_tx.try_send(Event::new("", warning));
        }
    }

    /// Send to the caller, waiting for room until `deadline`. `false` if it was not sent.
    async fn send_by(&self, deadline: Instant, event: Event) -> bool {
        match self.events_tx.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(event)) => {
                matches!(
                    tokio::time::timeout_at(deadline, self.events_tx.send(event)).await,
                    Ok(Ok(()))
                )
            }
        }
    }
}

/// The `approval_decided` event reporting `verdict` on `request`.
fn decided_event(request: &ApprovalRequest, verdict: &Verdict) -> Event {
    let decided = EventMsg::ApprovalDecided(ApprovalDecidedEvent {
        kind: request.kind(),
        call_id: request.call_id().to_string(),
        decision: verdict.summary_decision(),
        decided_by: verdict.decided_by.clone(),
    });
    Event::new(request.event_id.clone(), decided)
}

fn is_request(msg: &EventMsg) -> bool {
    matches!(
        msg,
        EventMsg::ExecApprovalRequest(_)
            | EventMsg::ApplyPatchApprovalRequest(_)
            | EventMsg::RequestPermissions(_)
            | EventMsg::RequestUserInput(_)
    )
}

/// The op that answers `request`, with the id rules of the seed: exec →
/// `exec_approval{id: approval_id or call_id, turn_id: event id}`; patch → `patch_approval{id:
/// call_id}`; permissions → `request_permissions_response{id: call_id}`; user input →
/// `user_input_answer{id: event id}`.
pub(crate) fn reply_op(request: &ApprovalRequest, verdict: &Verdict) -> Option<Op> {
    let decision = match &verdict.answer {
        Answer::Decision(d) => *d,
        _ => verdict.summary_decision(),
    };
    Some(match &request.request {
        Request::Exec(r) => Op::ExecApproval {
            id: r.effective_approval_id().to_string(),
            turn_id: Some(request.event_id.clone()),
            decision,
        },
        Request::Patch(r) => Op::PatchApproval { id: r.call_id.clone(), decision },
        Request::Permissions(r) => Op::RequestPermissionsResponse {
            id: r.call_id.clone(),
            response: match &verdict.answer {
                Answer::Permissions(response) => response.clone(),
                _ => delegate_protocol::RequestPermissionsResponse::empty(),
            },
        },
        Request::UserInput(_) => Op::UserInputAnswer {
            id: request.event_id.clone(),
            response: match &verdict.answer {
                Answer::UserInput(response) => response.clone(),
                _ => delegate_protocol::RequestUserInputResponse::empty(),
            },
        },
        // A kind this engine does not know cannot be answered; the sub-agent's own timeout or
        // cancellation applies. Never approved.
        _ => return None,
    })
}
