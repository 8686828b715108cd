//! `--notify URL`: the end of a drill posted as JSON, for a chat webhook (Slack's incoming
//! webhooks read `text`; the other fields are the report's summary, for any other receiver).

use std::time::Duration;

use super::document::{span, RunReport};

/// Why a notification was not delivered. The URL is named by its host only: a webhook's
/// path is its secret.
#[derive(Debug, thiserror::Error)]
#[error("could not notify {host}: {why}")]
pub struct NotifyError {
    host: String,
    why: String,
}

/// Posts the summary of `doc` to `url`, within 10 seconds.
pub async fn notify(url: &str, doc: &RunReport) -> Result<(), NotifyError> {
    post(url, &message(doc)).await
}

/// Posts `body` (JSON) to `url`, within 10 seconds, following no redirect.
pub async fn post(url: &str, body: &serde_json::Value) -> Result<(), NotifyError> {
    let host = crate::escape::origin(url);
    let failed = |why: String| NotifyError {
        host: host.clone(),
        why,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(failed(format!("it answered {}", response.status())))
    }
}

/// The JSON posted: `text` for people, and the report's summary fields.
pub fn message(doc: &RunReport) -> serde_json::Value {
    let recovery = match (doc.recovery.took(), doc.recovery.target_secs) {
        (Some(took), Some(t)) => format!("recovery {took} (target {})", span(t)),
        (Some(took), None) => format!("recovery {took}"),
        (None, _) => "recovery not reached".to_owned(),
    };
    let mut text = format!(
        "standin {} of {}: {} ({recovery})",
        doc.kind,
        doc.playbook,
        doc.outcome.words()
    );
    if let Some(reason) = &doc.reason {
        text.push_str(&format!(": {reason}"));
    }
    serde_json::json!({
        "text": text,
        "report_format": doc.report_format,
        "run_id": doc.run_id,
        "kind": doc.kind,
        "playbook": doc.playbook,
        "by": doc.by,
        "started": doc.started,
        "ended": doc.ended,
        "outcome": doc.outcome,
        "exit_code": doc.exit_code,
        "reason": doc.reason,
        "recovery": doc.recovery,
        "timings": doc.timings,
    })
}

/// A run's events posted to a chat webhook as they happen (`--notify` on `run`, `rollback`,
/// and a run's approvals): `started`, `waiting-for-approval`, `step-failed`, `rolling-back`,
/// then how it ended (`finished`, `rolled-back`, `rollback-incomplete`, `stopped`). Each is
/// Slack-compatible JSON: `text` for people, which Slack's incoming webhooks show, and so do
/// Mattermost's, Rocket.Chat's and Google Chat's, and Discord's through its `/slack` webhook
/// URL; plus `event`, `run_id`, `playbook`, `kind` and the event's own fields for any other
/// receiver. Posted in order, by one task in the background, so a slow webhook never holds
/// a run back; [`Chat::done`] waits for them at the end. A failed post is said on stderr and
/// changes nothing.
#[derive(Clone)]
pub struct Chat {
    head: serde_json::Value,
    what: String,
    queue: tokio::sync::mpsc::UnboundedSender<Option<serde_json::Value>>,
    poster: std::sync::Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Chat {
    /// Starts posting the events of run `run_id` (a `kind`: `run`, `rollback`) of `playbook`.
    pub fn new(url: &str, kind: &str, run_id: &str, playbook: &str) -> Self {
        let (queue, mut events) =
            tokio::sync::mpsc::unbounded_channel::<Option<serde_json::Value>>();
        let url = url.to_owned();
        let poster = tokio::spawn(async move {
            while let Some(Some(body)) = events.recv().await {
                if let Err(e) = post(&url, &body).await {
                    super::warn(&format!("warning: {e} (the run is not affected)"));
                }
            }
        });
        Self {
            head: serde_json::json!({"run_id": run_id, "playbook": playbook, "kind": kind}),
            what: format!("standin {kind} {run_id} of `{playbook}`"),
            queue,
            poster: std::sync::Arc::new(std::sync::Mutex::new(Some(poster))),
        }
    }

    /// Posts `event`, saying `text`, with `fields`.
    pub fn event(&self, event: &str, text: &str, fields: serde_json::Value) {
        let mut body = self.head.clone();
        body["event"] = event.into();
        // Slack reads `<...>` as links and mentions (`<!channel>`): what comes from a run (a
        // deny reason, an error) is escaped as its message formatting asks.
        let text = format!("{}: {text}", self.what)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        body["text"] = text.into();
        if let (Some(body), serde_json::Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        let _ = self.queue.send(Some(body));
    }

    /// Waits until every event is posted (each within 10 seconds).
    pub async fn done(&self) {
        let _ = self.queue.send(None);
        let poster = self.poster.lock().expect("not poisoned").take();
        if let Some(poster) = poster {
            let _ = poster.await;
        }
    }
}

/// An observer that also posts a run's failures to a chat as they happen (with a chat).
pub struct Notifying<'a> {
    pub inner: &'a mut dyn crate::engine::Observer,
    pub chat: Option<Chat>,
}

impl crate::engine::Observer for Notifying<'_> {
    fn step_started(&mut self, index: usize, total: usize, step: &crate::playbook::StepDef) {
        self.inner.step_started(index, total, step);
    }

    fn step_planned(&mut self, id: &str, prepared: &crate::steps::Prepared) {
        self.inner.step_planned(id, prepared);
    }

    fn step_finished(&mut self, id: &str, result: &crate::engine::StepResult) {
        if let (Some(chat), crate::engine::StepResult::Failed { error, .. }) = (&self.chat, result)
        {
            chat.event(
                "step-failed",
                &format!("step `{id}` failed: {error}"),
                serde_json::json!({"step": id, "error": error}),
            );
        }
        self.inner.step_finished(id, result);
    }

    fn rollback_started(&mut self, reason: &str) {
        if let Some(chat) = &self.chat {
            chat.event(
                "rolling-back",
                &format!("rolling back: {reason}"),
                serde_json::json!({"reason": reason}),
            );
        }
        self.inner.rollback_started(reason);
    }

    fn soaking(&mut self, soak: Duration, every: Duration) {
        self.inner.soaking(soak, every);
    }

    fn undo_finished(&mut self, id: &str, result: Result<&[String], &str>) {
        self.inner.undo_finished(id, result);
    }

    fn waiting(&self) -> Option<crate::engine::Hear> {
        self.inner.waiting()
    }
}

/// Posts how a run (or its rollback) ended: from its report (`None`: it had nothing to do), or
/// the error of its own it stopped on; then waits for every event to be posted.
pub async fn end(chat: &Chat, how: Result<Option<&crate::engine::Report>, String>) {
    match how {
        Ok(Some(report)) => ended(chat, report),
        Ok(None) => {}
        Err(error) => errored(chat, &error),
    }
    chat.done().await;
}

/// Posts that a run (or its rollback) stopped on an error of its own (its journal could not be
/// written, its state could not be read): a human must look.
fn errored(chat: &Chat, error: &str) {
    chat.event(
        "errored",
        &format!("STOPPED ON AN ERROR, a human must look: {error}"),
        serde_json::json!({"error": error}),
    );
}

/// Posts how a run (or its rollback) ended, from its report.
fn ended(chat: &Chat, report: &crate::engine::Report) {
    use crate::engine::record::Outcome;
    let (event, words) = match report.outcome {
        Outcome::Succeeded => ("finished", "finished: every step applied".to_owned()),
        Outcome::RolledBack => (
            "rolled-back",
            format!(
                "rolled back{}: everything it changed is back as it was",
                report
                    .failed_step
                    .as_ref()
                    .map(|f| format!(" after step `{}` failed", f.step))
                    .unwrap_or_default()
            ),
        ),
        Outcome::RollbackIncomplete => (
            "rollback-incomplete",
            format!(
                "ROLLBACK INCOMPLETE: a human must act on {}",
                report
                    .leftovers
                    .iter()
                    .map(|l| format!("`{}`", l.step))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Outcome::Stopped => (
            "stopped",
            "stopped by a signal with changes in place: resume or roll it back".to_owned(),
        ),
    };
    chat.event(
        event,
        &words,
        serde_json::json!({"outcome": report.outcome, "undone": report.undone}),
    );
}
