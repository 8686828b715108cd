//! `standin verify-evidence`: finds a run's files (a directory of them, else the state) and
//! prints [`crate::evidence::verify`]'s checks.

use std::path::Path;

use crate::cli::Cli;
use crate::error::{Ending, Error};
use crate::evidence::verify::{self, Files, Status};
use crate::report::{self, Format};

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
