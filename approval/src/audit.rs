//! The audit trail: every decision appended to a file as one JSON line, durably.
//!
//! Each line is an [`AuditRecord`]:
//!
//! ```json
//! {"time":"2025-01-31T12:00:00.000Z","agent_path":["root","worker"],"kind":"exec","call_id":"c1","summary":"run `git push` in /repo","decision":"denied","decided_by":"rule:no-push","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
//! ```
//!
//! Durability: the file is opened for appending; each line is written with a single `write`
//! call (so concurrent writers never interleave within a line) and then `sync_data`, so a crash
//! loses at most the line being written. A newly created file also has its directory synced. A
//! failure is an [`Error::Audit`], never ignored: [`Audited`] refuses the decision it could not
//! record.
//!
//! Writes are synchronous on the calling task: a decision is made at the pace of people and
//! rules, and an fsync per decision is the price of the guarantee.

use std::fs::File;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use delegate_protocol::ApprovalKind;
use delegate_protocol::DecidedBy;
use delegate_protocol::Decision;
use serde::Deserialize;
use serde::Serialize;

use crate::ApprovalRequest;
use crate::Approver;
use crate::Error;
use crate::Verdict;

/// One decision, as written to the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was decided, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The path of the agent that asked.
    pub agent_path: Vec<String>,
    /// The kind of request.
    pub kind: ApprovalKind,
    /// The request's tool call id.
    pub call_id: String,
    /// What was asked, in one line.
    pub summary: String,
    /// What it amounted to.
    pub decision: Decision,
    /// Who or what decided.
    pub decided_by: DecidedBy,
    /// The trace id of the delegation, when its `traceparent` is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl AuditRecord {
    /// The record of `verdict` on `request`, made at `time`.
    pub fn new(request: &ApprovalRequest, verdict: &Verdict, time: SystemTime) -> Self {
        Self {
            time: rfc3339_utc(time),
            agent_path: request.agent_path.clone(),
            kind: request.kind(),
            call_id: request.call_id().to_string(),
            summary: request.summary(),
            decision: verdict.summary_decision(),
            decided_by: verdict.decided_by.clone(),
            trace_id: request
                .trace
                .as_ref()
                .and_then(|t| t.parse_traceparent().ok().flatten())
                .map(|p| p.trace_id_hex()),
        }
    }
}

/// `time` as RFC 3339 in UTC with milliseconds, e.g. `2025-01-31T12:00:00.000Z`. Times before
/// 1970 are written as the epoch (no clock we run on reports them).
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// An append-only, durable audit file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Open (or create) the audit file at `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let fail = |source| Error::Audit { path: path.clone(), source };
        let created = OpenOptions::new().append(true).create_new(true).open(&path);
        let file = match created {
            Ok(file) => {
                sync_parent(&path).map_err(fail)?;
                file
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                OpenOptions::new().append(true).open(&path).map_err(fail)?
            }
            Err(e) => return Err(fail(e)),
        };
        Ok(Self { path, file: Mutex::new(file) })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append the record of `verdict` on `request`, stamped now.
    pub fn record(&self, request: &ApprovalRequest, verdict: &Verdict) -> Result<(), Error> {
        self.append(&AuditRecord::new(request, verdict, SystemTime::now()))
    }

    /// Append `record` as one line, in one write, then sync it to disk.
    pub fn append(&self, record: &AuditRecord) -> Result<(), Error> {
        let fail = |source| Error::Audit { path: self.path.clone(), source };
        let mut line = serde_json::to_vec(record).map_err(|e| fail(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut file = self.file.lock().map_err(|_| {
            fail(std::io::Error::other(
                "an earlier write panicked; the audit trail may be incomplete",
            ))
        })?;
        let written = file.write(&line).map_err(fail)?;
        if written != line.len() {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                format!(
                    "short write ({written} of {} bytes): the last line is truncated",
                    line.len()
                ),
            )));
        }
        file.sync_data().map_err(fail)
    }
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

type ErrorHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// Records every decision of `inner` in an [`AuditLog`] — including the answers the engine
/// gives on cancellation, which reach it through [`Approver::resolved`].
///
/// If a decision cannot be recorded it is refused (`denied`, decided by
/// `policy:audit_failed`), the refusal is recorded if possible, and the error goes to the hook
/// set with [`Audited::on_error`]. [`Audited::try_decide`] returns the error instead.
pub struct Audited<A> {
    inner: A,
    log: Arc<AuditLog>,
    on_error: Option<ErrorHook>,
}

impl<A> std::fmt::Debug for Audited<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audited").field("log", &self.log.path).finish_non_exhaustive()
    }
}

impl<A> Audited<A> {
    /// Record `inner`'s decisions in `log`.
    pub fn new(inner: A, log: Arc<AuditLog>) -> Self {
        Self { inner, log, on_error: None }
    }

    /// Call `hook` with every audit failure (for a warning on screen, a metric, a shutdown).
    pub fn on_error(mut self, hook: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    fn report(&self, error: &Error) {
        if let Some(hook) = &self.on_error {
            hook(error);
        }
    }
}

impl<A: Approver> Audited<A> {
    /// Decide with `inner` and record the verdict; an error when it could not be recorded (the
    /// verdict is then not to be used).
    ///
    /// # Cancel safety
    ///
    /// If dropped while `inner` decides, nothing is recorded here; the engine's call to
    /// [`Approver::resolved`] records the answer it gave instead.
    pub async fn try_decide(&self, request: &ApprovalRequest) -> Result<Verdict, Error> {
        let verdict = self.inner.decide(request).await;
        self.log.record(request, &verdict)?;
        Ok(verdict)
    }
}

#[async_trait]
impl<A: Approver> Approver for Audited<A> {
    /// # Cancel safety
    ///
    /// As [`Audited::try_decide`].
    async fn decide(&self, request: &ApprovalRequest) -> Verdict {
        match self.try_decide(request).await {
            Ok(verdict) => verdict,
            Err(error) => {
                self.report(&error);
                let refusal =
                    request.refusal(Decision::Denied, DecidedBy::Policy("audit_failed".into()));
                if let Err(again) = self.log.record(request, &refusal) {
                    self.report(&again);
                }
                refusal
            }
        }
    }

    fn resolved(&self, request: &ApprovalRequest, verdict: &Verdict) {
        if let Err(error) = self.log.record(request, verdict) {
            self.report(&error);
        }
        self.inner.resolved(request, verdict);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_formats_known_instants() {
        let at = |secs: u64, millis: u64| {
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_709_210_096, 999), "2024-02-29T12:34:56.999Z");
        assert_eq!(at(4_102_444_799, 0), "2099-12-31T23:59:59.000Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00.000Z");
    }
}
