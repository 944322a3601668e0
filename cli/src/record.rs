//! `--record FILE`: a JSON-lines transcript of every submission and event, with timestamps.
//!
//! Each line is `{"at":"2026-11-25T22:07:45.123Z","submission":{…}}` or
//! `{"at":…,"event":{…}}`, in the order they crossed the boundary to the sub-agent. Lines are
//! flushed as they are written, so a crash loses at most the line being written.

use std::fs::File;
use std::io::BufWriter;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use delegate_approval::rfc3339_utc;
use delegate_core::Agent;
use delegate_core::AgentError;
use delegate_protocol::AgentStatus;
use delegate_protocol::Event;
use delegate_protocol::Submission;
use tokio::sync::watch;

/// An [`Agent`] that writes everything it passes to a transcript.
pub struct RecordingAgent {
    inner: Arc<dyn Agent>,
    out: Mutex<BufWriter<File>>,
}

impl RecordingAgent {
    pub fn create(inner: Arc<dyn Agent>, path: &Path) -> std::io::Result<Self> {
        let file = File::create(path)?;
        Ok(Self { inner, out: Mutex::new(BufWriter::new(file)) })
    }

    fn write(&self, key: &str, value: serde_json::Result<serde_json::Value>) {
        let Ok(value) = value else { return };
        let line = serde_json::json!({ "at": rfc3339_utc(SystemTime::now()), key: value });
        if let Ok(mut out) = self.out.lock() {
            let written = serde_json::to_writer(&mut *out, &line).is_ok()
                && out.write_all(b"\n").is_ok()
                && out.flush().is_ok();
            if !written {
                eprintln!("delegate: could not write to the --record transcript");
            }
        }
    }
}

#[async_trait]
impl Agent for RecordingAgent {
    async fn submit(&self, submission: Submission) -> Result<(), AgentError> {
        self.write("submission", serde_json::to_value(&submission));
        self.inner.submit(submission).await
    }

    async fn next_event(&self) -> Option<Event> {
        let event = self.inner.next_event().await?;
        self.write("event", serde_json::to_value(&event));
        Some(event)
    }

    fn try_next_event(&self) -> Option<Event> {
        let event = self.inner.try_next_event()?;
        self.write("event", serde_json::to_value(&event));
        Some(event)
    }

    fn status(&self) -> watch::Receiver<AgentStatus> {
        self.inner.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339_utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_644_465_123);
        assert_eq!(rfc3339_utc(t), "2026-11-25T22:07:45.123Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339_utc(leap), "2000-02-29T00:00:00.000Z");
    }
}
