//! The engine: plans, runs and rolls back playbooks through the step traits, journaling every
//! move. It never names an AWS service, and it reports progress only through [`Observer`].
//!
//! This file holds what its callers give it and get back (the observer, a run's spec and header,
//! results and errors) and a run's first records; running a run's steps is `execute.rs`, one
//! step `step.rs`, undoing a run `rollback.rs`.

mod caught;
pub mod chain;
pub(crate) mod crash;
pub mod drill;
mod execute;
pub mod journal;
pub mod life;
pub mod plan;
pub mod record;
mod rollback;
pub mod source;
mod step;
pub mod timeline;
pub mod view;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use self::journal::Journal;
use self::plan::PlanDoc;
use self::record::{
    now, DrillSpec, Held, Outcome, Principal, Record, StepRef, FORMAT, FORMAT_ONE_ACCOUNT,
};
use self::view::RunView;

pub use self::record::FailedStep;
use crate::playbook::{Playbook, StepDef};
use crate::steps::{Drift, Prepared};

/// Bound on a step (plan, apply and waits) when the playbook sets no `timeout`.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Receives progress; the report module renders it for a terminal, a log or nothing (JSON).
pub trait Observer: Send {
    fn step_started(&mut self, index: usize, total: usize, step: &StepDef);
    fn step_planned(&mut self, id: &str, prepared: &Prepared);
    fn step_finished(&mut self, id: &str, result: &StepResult);
    fn rollback_started(&mut self, reason: &str);
    /// A drill holds its promoted state for `soak`, checking its gates every `every`.
    fn soaking(&mut self, soak: Duration, every: Duration);
    fn undo_finished(&mut self, id: &str, result: Result<&[String], &str>);
    /// Where steps' waits say what they wait for (called from any step's task): the step,
    /// what it waits for, how long so far, and the step's bound. None hears nothing.
    fn waiting(&self) -> Option<Hear> {
        None
    }
}

/// See [`Observer::waiting`].
pub type Hear = Arc<dyn Fn(&str, &str, Duration, Duration) + Send + Sync>;

/// How one step of a run ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum StepResult {
    Applied { secs: f64 },
    Unchanged { secs: f64 },
    Failed { secs: f64, error: String },
}

/// A step that could not be undone, and what a human must do about it.
#[derive(Debug, Clone, Serialize)]
pub struct Leftover {
    pub step: String,
    pub kind: String,
    pub error: String,
    /// Resources changed since the run, when that is why (rerun with `--force` to overwrite).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// aws CLI commands that finish this undo by hand (e.g. when access is denied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_hand: Vec<String>,
}

/// The end of a run or a rollback.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_id: String,
    pub outcome: Outcome,
    /// The step that failed, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<FailedStep>,
    /// Undone steps, in the order they were undone.
    pub undone: Vec<String>,
    pub leftovers: Vec<Leftover>,
    pub secs: f64,
    /// The journal stopped taking writes: what this report says happened is not all in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unjournaled: Option<Unjournaled>,
}

impl Report {
    /// The end of a run, or of its rollback, as the journal says it: the view folded from its
    /// records (those held unwritten too), so that what the run prints and what `status` and
    /// the reports read later are one account. The process adds only what it measured: its
    /// `secs`, and whether the journal stopped taking writes.
    pub fn of(view: &RunView, secs: f64, unjournaled: Option<Unjournaled>) -> Self {
        let leftovers = view
            .left
            .iter()
            .filter_map(|id| view.steps.iter().find(|s| &s.id == id))
            .map(|s| Leftover {
                step: s.id.clone(),
                kind: s.kind.clone(),
                error: s.undo_error.clone().unwrap_or_default(),
                drift: s.drift.clone(),
                by_hand: s.by_hand.clone(),
            })
            .collect();
        Self {
            run_id: view.run_id.clone(),
            // Never unset here: the end is appended (held, if not written) before the report.
            outcome: view.outcome.unwrap_or(Outcome::Stopped),
            failed_step: view.stopped_at.clone(),
            undone: view.undone.clone(),
            leftovers,
            secs,
            unjournaled,
        }
    }
}

/// The report of the part of a run this process just ended (its `finished` record appended),
/// `started` when that part did.
fn reported(journal: &mut Journal, started: std::time::Instant) -> Result<Report, EngineError> {
    let unjournaled = journal.broken().map(|why| Unjournaled {
        journal: journal.location().to_owned(),
        why: why.to_owned(),
    });
    let view = journal.view()?;
    Ok(Report::of(
        view,
        started.elapsed().as_secs_f64(),
        unjournaled,
    ))
}

/// A journal that stopped taking writes during a run or its rollback.
#[derive(Debug, Clone, Serialize)]
pub struct Unjournaled {
    /// The journal's path or `s3://` URL.
    pub journal: String,
    /// The error of the first write that failed.
    pub why: String,
}

/// Engine failures that are not a step's: the journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("journal {path}: {source}{}", if *.changed { "" } else { "\nnothing was changed" })]
    Journal {
        path: String,
        #[source]
        source: std::io::Error,
        /// Whether the run may have changed something (a step's intent was journaled): then a
        /// human must look; otherwise the run did not start.
        changed: bool,
    },
    #[error(transparent)]
    Read(#[from] record::ReadError),
}

/// Names the journal in an append error.
pub fn journal_err(journal: &Journal) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Journal {
        path: journal.location().to_owned(),
        source,
        changed: journal.changed(),
    }
}

/// What a run executes, and what each step is checked against right before it mutates.
pub struct Spec<'a> {
    pub playbook: &'a Playbook,
    /// The plan shown (or saved): every step must still do what it says.
    pub expected: &'a PlanDoc,
    /// Built-in guards overruled with `--force-guard`.
    pub forced: &'a BTreeSet<String>,
}

/// What the start of a journal says besides the playbook: who runs it, the plan's warnings,
/// and for a drill what it measures and its snapshot.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub by: Option<String>,
    pub principals: Vec<Principal>,
    pub warnings: Vec<String>,
    /// [`plan::PlanDoc::sha256`] of the plan the run is held to.
    pub plan_sha256: Option<String>,
    /// A drill: its measures, and every resource it touches as it is now.
    pub drill: Option<(DrillSpec, Vec<Held>)>,
}

/// Journals a run that ended before any change (a step could not be planned, a guard refused
/// the plan): each step's failure, without an undo record, then `rolled-back` with nothing
/// undone; so that its reports and `history` show it as any other run's.
pub fn refused(
    playbook: &Playbook,
    journal: &mut Journal,
    run_id: &str,
    header: Header,
    failed: &[FailedStep],
) -> Result<(), EngineError> {
    begin(playbook, journal, run_id, header)?;
    for f in failed {
        journal
            .append(&Record::Failed {
                step: f.step.clone(),
                undo: None,
                error: f.error.clone(),
                took: None,
                at: now(),
            })
            .map_err(journal_err(journal))?;
    }
    journal
        .append(&Record::Finished {
            outcome: Outcome::RolledBack,
            failed: failed.first().cloned(),
            at: now(),
        })
        .map_err(journal_err(journal))
}

/// Journals a run's start record (and a drill's snapshot).
fn begin(
    playbook: &Playbook,
    journal: &mut Journal,
    run_id: &str,
    header: Header,
) -> Result<(), EngineError> {
    let start = Record::Start {
        format: if !crate::config::acts_elsewhere(&playbook.aws, &playbook.accounts) {
            FORMAT_ONE_ACCOUNT
        } else {
            FORMAT
        },
        run_id: run_id.to_owned(),
        playbook: playbook.name.clone(),
        file: playbook.path.display().to_string(),
        aws: playbook.aws.clone(),
        accounts: playbook.accounts.clone(),
        source: Some(source::Source::of(playbook)),
        steps: playbook
            .steps
            .iter()
            .map(|s| StepRef {
                id: s.id.clone(),
                kind: s.kind.name.to_owned(),
                group: s.group.clone(),
                account: s.account.clone(),
            })
            .collect(),
        drill: header.drill.as_ref().map(|(d, _)| d.clone()),
        by: header.by,
        principals: header.principals,
        warnings: header.warnings,
        plan_sha256: header.plan_sha256,
        at: now(),
    };
    journal.append(&start).map_err(journal_err(journal))?;
    if let Some((_, resources)) = header.drill {
        journal
            .append(&Record::Snapshot {
                resources,
                at: now(),
            })
            .map_err(journal_err(journal))?;
    }
    Ok(())
}

/// What a run's journal says about it (folded as it was read and written: see
/// [`Journal::view`]).
pub fn load_view(journal: &mut Journal) -> Result<RunView, EngineError> {
    Ok(journal.view()?.clone())
}
