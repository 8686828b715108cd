//! `standin report` and `standin history`: a past run's or drill's reports, and the list of
//! runs, from journals alone.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::Cli;
use crate::engine::record::Record;
use crate::engine::view::RunView;
use crate::error::{Ending, Error};
use crate::report::document::{span, RunReport, TrendPoint, Verdict};
use crate::report::{self, Format, ReportFormat};
use crate::state::State;

/// The records of a run's journal.
async fn records(state: &State, run_id: &str) -> Result<Vec<Record>, Error> {
    Ok(state.records(run_id).await?)
}

/// The report of a run, with the trend of the drills of its playbook up to it.
pub(super) async fn document(state: &State, run_id: &str) -> Result<RunReport, Error> {
    // Read once: its records, and its seal for the evidence.
    let location = format!("{}/runs/{run_id}/journal.jsonl", state.location());
    let bytes = state
        .kept(run_id, "journal.jsonl")
        .await
        .map_err(|e| Error::Usage(format!("cannot read {location}: {e}")))?
        .ok_or_else(|| not_a_journal(run_id))?;
    let mine =
        crate::engine::record::parse(&location, &bytes).map_err(|e| Error::Engine(e.into()))?;
    let view = RunView::from_records(&mine).ok_or_else(|| not_a_journal(run_id))?;
    document_of(state, &view, crate::evidence::Sealed::of(&bytes)).await
}

/// The report of a run from its journal's fold (a drill's process folds the records its
/// journal could not take too), with the trend of the drills in the state up to it.
pub(super) async fn document_of(
    state: &State,
    view: &RunView,
    sealed: Option<crate::evidence::Sealed>,
) -> Result<RunReport, Error> {
    let run_id = view.run_id.as_str();
    let mut doc = RunReport::of(view, &[]).ok_or_else(|| not_a_journal(run_id))?;
    if let Some(evidence) = doc.evidence.as_mut() {
        evidence.journal = sealed;
    }
    if doc.is_drill() {
        let mut earlier = Vec::new();
        for id in state.run_ids().await.map_err(|e| listing(state, &e))? {
            if id.as_str() >= run_id {
                break;
            }
            // A journal that cannot be read is left out of the trend, not fatal for this one.
            let Ok(records) = records(state, &id).await else {
                continue;
            };
            if let Some(other) = RunReport::from_records(&records, &[]) {
                if other.is_drill() && other.playbook == doc.playbook {
                    earlier.push(other.point());
                }
            }
        }
        // The trend ends with this drill; the earlier ones go before it.
        doc.trend.splice(0..0, earlier);
    }
    Ok(doc)
}

fn not_a_journal(run_id: &str) -> Error {
    Error::Usage(format!(
        "run {run_id}: its journal does not start with a start record"
    ))
}

/// The newest passing drill of `pb` in `state` (its run id, and when it ended), for
/// `doctor`'s `drill_every:`; an unreadable journal is skipped, as `history` skips it.
pub(super) async fn last_passed(
    state: &State,
    pb: &crate::playbook::Playbook,
) -> Result<Option<(String, std::time::SystemTime)>, String> {
    let file = pb.path.display().to_string();
    let mut newest: Option<(String, std::time::SystemTime)> = None;
    for id in state
        .run_ids()
        .await
        .map_err(|e| listing(state, &e).to_string())?
    {
        let Ok(records) = records(state, &id).await else {
            continue;
        };
        let Some(doc) = RunReport::from_records(&records, &[]) else {
            continue;
        };
        let ours = doc.playbook == pb.name || same_file(&file, &doc.file);
        if !ours || !doc.is_drill() || doc.outcome != crate::error::Verdict::Passed {
            continue;
        }
        let Ok(ended) = humantime::parse_rfc3339_weak(&doc.ended) else {
            continue;
        };
        if newest.as_ref().is_none_or(|(_, at)| ended > *at) {
            newest = Some((doc.run_id, ended));
        }
    }
    Ok(newest)
}

fn listing(state: &State, e: &std::io::Error) -> Error {
    Error::Usage(format!("cannot list runs in {}: {e}", state.location()))
}

/// Writes `doc` in each of `formats` into `dir` (created if missing), each file replaced
/// whole: a link planted where a report goes is replaced, never written through.
/// Makes `dir` ready for reports before anything is done that they would report: created if
/// missing, a directory, and one this process can write a file in (a read-only or full disk
/// found at the end would lose the outcome). Returns it absolute, for a resumed drill.
pub(super) fn ready(dir: &Path) -> Result<PathBuf, String> {
    use std::io::Write;
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{} is a file, not a directory", dir.display()));
    }
    let cannot = |e: std::io::Error| format!("cannot write in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(cannot)?;
    let mut probe = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    probe.write_all(&[b'\n'; 4096]).map_err(cannot)?;
    probe.as_file().sync_data().map_err(cannot)?;
    std::path::absolute(dir).map_err(cannot)
}

/// Writes `doc` in each format into `dir`; the error names the file that could not be.
pub(super) fn write(doc: &RunReport, dir: &Path, formats: &[ReportFormat]) -> Result<(), String> {
    ready(dir)?;
    for format in formats {
        let path = dir.join(format.file_name());
        super::write_file(&path, format.render(doc).as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

pub(super) async fn report(
    cli: &Cli,
    run_id: Option<&str>,
    formats: &[ReportFormat],
    dir: &Path,
    evidence: &crate::cli::EvidenceArgs,
) -> Result<Ending, Error> {
    let state = super::state(cli).await?;
    let run_id = super::status::resolve(&state, run_id).await?;
    let doc = document(&state, &run_id).await?;
    let formats = if formats.is_empty() {
        &ReportFormat::ALL[..]
    } else {
        formats
    };
    write(&doc, dir, formats).map_err(|e| Error::Usage(format!("--dir: {e}")))?;
    if let Some(target) = super::evidence::target(evidence, None) {
        super::evidence::upload(&state, &doc, &target).await;
    }
    match cli.output {
        Format::Json => report::print_json(&serde_json::json!({
            "run_id": run_id,
            "files": formats.iter().map(|f| dir.join(f.file_name())).collect::<Vec<_>>(),
        })),
        Format::Human => {
            for f in formats {
                report::line(&dir.join(f.file_name()).display().to_string());
            }
        }
    }
    Ok(Ending::Done)
}

/// One line of `standin history`.
#[derive(Serialize)]
struct Entry {
    run_id: String,
    started: String,
    kind: String,
    playbook: String,
    file: String,
    outcome: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_secs: Option<f64>,
    /// Recovery as clients saw it (DNS caches included); what the target is held to.
    #[serde(skip_serializing_if = "Option::is_none")]
    clients_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rto_target_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

/// Whether two paths name one playbook file: the same file on disk (`./a.yaml`, `a.yaml`, an
/// absolute path, a link), else the same path once `.` segments are dropped (a journal may
/// name a file that has moved since).
fn same_file(a: &str, b: &str) -> bool {
    use std::path::{Component, Path};
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => {
            let plain = |p| {
                Path::new(p)
                    .components()
                    .filter(|c| *c != Component::CurDir)
            };
            plain(a).eq(plain(b))
        }
    }
}

pub(super) async fn history(cli: &Cli, playbook: Option<&str>) -> Result<Ending, Error> {
    let state = super::state(cli).await?;
    let mut entries = Vec::new();
    let mut unreadable = Vec::new();
    let mut trend: Vec<TrendPoint> = Vec::new();
    for id in state.run_ids().await.map_err(|e| listing(&state, &e))? {
        let doc = match records(&state, &id).await {
            Ok(records) => RunReport::from_records(&records, &trend),
            Err(e) => {
                unreadable.push(format!("{id}: {e}"));
                continue;
            }
        };
        let Some(doc) = doc else { continue };
        if playbook.is_some_and(|p| p != doc.playbook && !same_file(p, &doc.file)) {
            continue;
        }
        if doc.is_drill() {
            trend.push(doc.point());
        }
        entries.push(Entry {
            run_id: doc.run_id,
            started: doc.started,
            kind: doc.kind,
            playbook: doc.playbook,
            file: doc.file,
            outcome: doc.outcome,
            recovery_secs: doc.recovery.secs,
            clients_secs: doc.recovery.clients_secs,
            rto_target_secs: doc.recovery.target_secs,
            by: doc.by,
        });
    }
    for line in &unreadable {
        report::warn(&format!("warning: unreadable journal {line}"));
    }
    match cli.output {
        Format::Json => report::print_json(&entries),
        Format::Human if entries.is_empty() => {
            report::line(&format!("no runs in {}", state.location()));
        }
        Format::Human => {
            let shown = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), span);
            let mut rows = vec![[
                "RUN",
                "KIND",
                "PLAYBOOK",
                "RECOVERY",
                "CLIENTS/TARGET",
                "OUTCOME",
                "BY",
            ]
            .map(str::to_owned)];
            for e in &entries {
                // The target is held to clients' time.
                let clients = match (e.clients_secs, e.rto_target_secs) {
                    (Some(c), Some(t)) => format!("{}/{}", span(c), span(t)),
                    (c, _) => shown(c),
                };
                rows.push([
                    e.run_id.clone(),
                    e.kind.clone(),
                    e.playbook.clone(),
                    shown(e.recovery_secs),
                    clients,
                    serde_json::to_value(e.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    e.by.clone().unwrap_or_else(|| "-".to_owned()),
                ]);
            }
            // Each column as wide as its widest cell: no value runs into the next.
            let widths: Vec<usize> = (0..7)
                .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
                .collect();
            for row in &rows {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(cell, width)| format!("{cell:<width$}"))
                    .collect();
                report::line(cells.join(" ").trim_end());
            }
        }
    }
    Ok(Ending::Done)
}
