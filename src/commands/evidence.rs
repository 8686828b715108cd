//! `standin verify-evidence`: finds a run's files (a directory of them, else the state) and
//! prints [`crate::evidence::verify`]'s checks.

use std::path::Path;
use std::time::SystemTime;

use crate::aws::s3::{Bucket, Lock, LockMode, Retention};
use crate::cli::{Cli, EvidenceArgs};
use crate::config::AwsSettings;
use crate::error::{Ending, Error};
use crate::evidence::verify::{self, Files, Status};
use crate::playbook::{EvidenceTarget, Playbook};
use crate::report::document::RunReport;
use crate::report::ReportFormat;
use crate::report::{self, Format};
use crate::state::State;

/// Reads a file that may be absent.
fn optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Usage(format!("cannot read {}: {e}", path.display()))),
    }
}

pub(super) async fn verify(
    cli: &Cli,
    target: &str,
    playbook: Option<&Path>,
) -> Result<Ending, Error> {
    let dir = Path::new(target);
    let mut files = Files::default();
    let run_id = if dir.is_dir() {
        files.journal = optional(&dir.join("journal.jsonl"))?;
        files.plan = optional(&dir.join("plan.json"))?;
        files.report = optional(&dir.join("report.json"))?;
        // A report's directory holds no journal: the report names its run, in the state.
        match (&files.journal, &files.report) {
            (None, Some(report)) => serde_json::from_slice::<serde_json::Value>(report)
                .ok()
                .and_then(|r| r.get("run_id")?.as_str().map(str::to_owned)),
            (None, None) => {
                return Err(Error::Usage(format!(
                    "{target} holds neither journal.jsonl nor report.json; give a run id or a directory of a run's files"
                )))
            }
            _ => None,
        }
    } else {
        Some(target.to_owned())
    };
    if let Some(run_id) = run_id {
        let state = super::state(cli).await?;
        let run_id = super::status::resolve(&state, Some(&run_id)).await?;
        let read = |e: std::io::Error| {
            Error::Usage(format!(
                "cannot read run {run_id} in {}: {e}",
                state.location()
            ))
        };
        if files.journal.is_none() {
            files.journal = state.kept(&run_id, "journal.jsonl").await.map_err(read)?;
        }
        if files.plan.is_none() {
            files.plan = state.kept(&run_id, "plan.json").await.map_err(read)?;
        }
    }
    if let Some(path) = playbook {
        files.playbook = Some(std::fs::read(path).map_err(|e| {
            Error::Usage(format!("--playbook: cannot read {}: {e}", path.display()))
        })?);
    }
    let verdict = verify::verify(&files);
    match cli.output {
        Format::Json => report::print_json(&verdict),
        Format::Human => {
            let mut text = String::new();
            for c in &verdict.checks {
                let mark = match c.status {
                    Status::Ok => "ok     ",
                    Status::Failed => "FAILED ",
                    Status::Skipped => "skipped",
                };
                text.push_str(&format!("  {mark} {}: {}\n", c.file, c.detail));
            }
            let run = verdict
                .run_id
                .as_deref()
                .map(|id| format!("run {id}"))
                .unwrap_or_else(|| target.to_owned());
            text.push_str(&if verdict.verified {
                format!("The evidence of {run} verifies.\n")
            } else {
                format!("The evidence of {run} does NOT verify: see FAILED above.\n")
            });
            report::outcome(&text);
        }
    }
    Ok(Ending::Evidence {
        verified: verdict.verified,
    })
}

/// `--evidence` (with `--retain`, `--retain-mode`), else a playbook's `evidence:` with those
/// flags over its own.
pub(super) fn target(args: &EvidenceArgs, pb: Option<&Playbook>) -> Option<EvidenceTarget> {
    let mut target = match &args.evidence {
        Some(to) => EvidenceTarget {
            to: to.clone(),
            retain: None,
            mode: None,
        },
        None => pb?.evidence.clone()?,
    };
    target.retain = args.retain.or(target.retain);
    target.mode = args.retain_mode.or(target.mode);
    Some(target)
}

/// Uploads the evidence of a run that just ended, its report made from its journal.
pub(super) async fn upload_run(state: &State, run_id: &str, target: &EvidenceTarget) {
    match super::reports::document(state, run_id).await {
        Ok(doc) => upload(state, &doc, target).await,
        Err(e) => report::warn(&format!("warning: evidence: no report to upload: {e}")),
    }
}

/// Uploads a run's evidence to `PREFIX/RUN_ID/`: its journal, its plan and every report,
/// retained with S3 Object Lock as `target` asks (or as the bucket's default retention
/// says). A failed upload is said, on stderr, and never fails the command: `standin report
/// RUN_ID --evidence ...` uploads again.
pub(super) async fn upload(state: &State, doc: &RunReport, target: &EvidenceTarget) {
    let run_id = &doc.run_id;
    let config = crate::aws::config(&AwsSettings::default()).await;
    let bucket = Bucket::new(&config, &target.to.bucket, &target.to.prefix);
    let place = format!("{}/{run_id}/", target.to.to_string().trim_end_matches('/'));
    let retention = match (bucket.lock().await, target.retain) {
        (Ok(Lock::On(default)), Some(retain)) => {
            let mode = target
                .mode
                .or(default.map(|(mode, _)| mode))
                .unwrap_or(LockMode::Governance);
            let until = SystemTime::now() + retain;
            report::warn(&format!(
                "evidence: each object is retained in {mode} mode until {} (S3 Object Lock)",
                humantime::format_rfc3339_seconds(until)
            ));
            Some(Retention { mode, until })
        }
        (Ok(Lock::On(Some((mode, days)))), None) => {
            report::warn(&format!(
                "evidence: each object is retained by the bucket's default retention: {mode} mode, {days} days (S3 Object Lock)"
            ));
            None
        }
        (Ok(Lock::On(None)), None) => {
            report::warn("evidence: retention was not applied: the bucket has S3 Object Lock but no default retention, and no --retain was given");
            None
        }
        (Ok(Lock::Off), _) => {
            report::warn(&format!(
                "evidence: retention was not applied: the bucket {} has no S3 Object Lock (create it with Object Lock enabled to keep evidence where no one can edit it)",
                target.to.bucket
            ));
            None
        }
        (Err(e), retain) => {
            report::warn(&format!(
                "evidence: cannot read the bucket's Object Lock ({e}); uploading {}",
                if retain.is_some() {
                    "without --retain's retention"
                } else {
                    "as the bucket's default says"
                }
            ));
            None
        }
    };
    let mut files: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    for (name, content_type) in [
        ("journal.jsonl", "application/x-ndjson"),
        ("plan.json", "application/json"),
    ] {
        match state.kept(run_id, name).await {
            Ok(Some(bytes)) => files.push((name, bytes, content_type)),
            Ok(None) => {}
            Err(e) => report::warn(&format!("evidence: cannot read the run's {name}: {e}")),
        }
    }
    for format in ReportFormat::ALL {
        let content_type = match format {
            ReportFormat::Json => "application/json",
            ReportFormat::Md => "text/markdown; charset=utf-8",
            ReportFormat::Junit => "application/xml",
            ReportFormat::Html => "text/html; charset=utf-8",
        };
        files.push((
            format.file_name(),
            format.render(doc).into_bytes(),
            content_type,
        ));
    }
    let mut failed = Vec::new();
    let count = files.len();
    for (name, bytes, content_type) in files {
        if let Err(e) = bucket
            .upload(&format!("{run_id}/{name}"), bytes, content_type, retention)
            .await
        {
            failed.push(format!("{name}: {e}"));
        }
    }
    if failed.is_empty() {
        report::warn(&format!("evidence: {count} files uploaded to {place}"));
    } else {
        report::warn(&format!(
            "warning: evidence: {} of {count} files could not be uploaded to {place} ({}); the outcome is not affected; upload again with `standin report {run_id} --evidence {}`",
            failed.len(),
            failed.join("; "),
            target.to
        ));
    }
}
