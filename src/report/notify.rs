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
