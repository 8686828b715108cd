//! The engine: plans, runs and rolls back playbooks through the step traits, journaling every
//! move. It never names an AWS service, and it reports progress only through [`Observer`].

mod caught;
pub(crate) mod crash;
pub mod drill;
pub mod journal;
pub mod life;
pub mod plan;
pub mod record;
pub mod source;
pub mod timeline;
pub mod view;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::Serialize;

use self::caught::caught;
use self::journal::Journal;
use self::plan::PlanDoc;
use self::record::{
    now, DrillSpec, Held, Outcome, Principal, Record, StepRef, FORMAT, FORMAT_ONE_ACCOUNT,
};
use self::view::{RunView, StepState, StepView};
use crate::guards::{self, GuardResult, Predicted};
use crate::playbook::{Playbook, StepDef};
use crate::steps::{self, Ctx, Drift, Mutation, Prepared, StepError, Undo};
use crate::stop::{Told, Waits};

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

/// The step that stopped a run, and why.
#[derive(Debug, Clone, Serialize)]
pub struct FailedStep {
    pub step: String,
    pub error: String,
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

/// Runs every step in order (of a resumed run, `earlier`, those not done yet: a step in
/// doubt is checked against live state first, see [`settle`]); on the first failure, undoes
/// the completed steps in reverse. Right before each mutation the step is planned again: it
/// must still do what the plan says, and the guards must still hold on the state it leads
/// to; otherwise it fails, unchanged.
async fn execute(
    spec: &Spec<'_>,
    ctx: &Ctx,
    journal: &mut Journal,
    run_id: &str,
    earlier: Option<&RunView>,
    obs: &mut dyn Observer,
) -> Result<Report, EngineError> {
    let stop = &ctx.waits.stop;
    let started = Instant::now();
    let steps = &spec.playbook.steps;
    let mut next = 0;
    while next < steps.len() {
        // A unit: one step, or the members of a parallel group, which run at once.
        let end = match &steps[next].group {
            Some(group) => (next..steps.len())
                .find(|&k| steps[k].group.as_ref() != Some(group))
                .unwrap_or(steps.len()),
            None => next + 1,
        };
        let unit: Vec<usize> = (next..end)
            .filter(|&k| earlier.is_none_or(|v| !v.steps[k].state.is_done()))
            .collect();
        next = end;
        let Some(&first) = unit.first() else {
            continue;
        };
        if stop.requested() {
            let halt = Halt::Before(&steps[first].id);
            return stopped(ctx, journal, run_id, halt, obs, started).await;
        }
        let outcomes = {
            let io = Io::new(journal, obs);
            let group = (unit.len() > 1).then(Group::default);
            join_all(
                unit.iter()
                    .map(|&k| attempt(spec, ctx, &io, k, earlier, group.as_ref())),
            )
            .await
        };
        match Verdict::of(outcomes, steps) {
            Verdict::Done => {}
            Verdict::Aborted(k) => {
                let aborted = FailedStep {
                    step: steps[k].id.clone(),
                    error: RunStepError::Aborted(steps[k].kind.changes_nothing).to_string(),
                };
                return ended(journal, run_id, Outcome::Stopped, Some(aborted), started);
            }
            Verdict::Failed(k, error) => {
                let id = &steps[k].id;
                let reason = format!("step `{id}` failed: {error}");
                let view = load_view(journal)?;
                let mut report = rollback(&view, ctx, journal, false, &reason, obs).await?;
                report.failed_step = Some(FailedStep {
                    step: id.clone(),
                    error: error.to_string(),
                });
                report.secs = started.elapsed().as_secs_f64();
                return Ok(report);
            }
            Verdict::Halted(halt) => {
                return stopped(ctx, journal, run_id, halt, obs, started).await;
            }
        }
    }
    ended(journal, run_id, Outcome::Succeeded, None, started)
}

/// The journal and the observer, shared by the members of a parallel group as they run.
struct Io<'a> {
    journal: Mutex<&'a mut Journal>,
    obs: Mutex<&'a mut dyn Observer>,
}

impl<'a> Io<'a> {
    fn new(journal: &'a mut Journal, obs: &'a mut dyn Observer) -> Self {
        Self {
            journal: Mutex::new(journal),
            obs: Mutex::new(obs),
        }
    }

    /// Appends (and fsyncs) one record; members take turns.
    fn append(&self, record: &Record) -> std::io::Result<()> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(record)
    }

    fn obs(&self) -> MutexGuard<'_, &'a mut dyn Observer> {
        self.obs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The members of a parallel group as they run: the first to fail says so, which ends the
/// others' waits and keeps those not started yet from changing anything, so that the rollback
/// starts without waiting out their gates.
struct Group {
    failed: tokio::sync::watch::Sender<bool>,
    first: std::sync::OnceLock<String>,
}

impl Default for Group {
    fn default() -> Self {
        Self {
            failed: tokio::sync::watch::channel(false).0,
            first: std::sync::OnceLock::new(),
        }
    }
}

impl Group {
    fn fail(&self, step: &str) {
        let _ = self.first.set(step.to_owned());
        self.failed.send_replace(true);
    }

    /// The member that failed first, once one did.
    fn failed_by(&self) -> Option<&str> {
        self.first.get().map(String::as_str)
    }
}

/// Runs step `k` (settling it first when the journal has it in doubt), reporting its start and
/// end; a second signal ends it at once, and so does the failure of another member of its
/// parallel `group` end its waits.
async fn attempt(
    spec: &Spec<'_>,
    ctx: &Ctx,
    io: &Io<'_>,
    k: usize,
    earlier: Option<&RunView>,
    group: Option<&Group>,
) -> (usize, Result<bool, RunStepError>) {
    let steps = &spec.playbook.steps;
    let def = &steps[k];
    io.obs().step_started(k + 1, steps.len(), def);
    let t0 = Instant::now();
    let checks = Checks {
        playbook: spec.playbook,
        expected: spec.expected,
        index: k,
        forced: spec.forced,
    };
    // The step acts in its account, and its waits say what they wait for, named and bounded
    // by the step.
    let hear = io.obs().waiting();
    let stop = ctx.waits.stop.clone();
    let ctx = ctx.on(&def.id, def.account.as_deref()).map(|ctx| {
        let told = match hear {
            Some(hear) => {
                let (id, limit) = (def.id.clone(), def.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT));
                Told::new(move |what, waited| hear(&id, what, waited, limit))
            }
            None => ctx.waits.told.clone(),
        };
        let stop = match group {
            Some(group) => ctx.waits.stop.in_group(group.failed.subscribe()),
            None => ctx.waits.stop.clone(),
        };
        Ctx {
            waits: Waits {
                told,
                stop,
                ..ctx.waits.clone()
            },
            ..ctx
        }
    });
    let in_doubt = earlier
        .map(|v| &v.steps[k])
        .filter(|s| s.state == StepState::InDoubt);
    let work = async {
        let ctx = &ctx?;
        match in_doubt {
            Some(in_doubt) => settle(def, in_doubt, ctx, io, &checks).await,
            None => run_step(def, ctx, io, &checks).await,
        }
    };
    let result = tokio::select! {
        result = caught(work) => result.unwrap_or_else(|panic| Err(RunStepError::Panicked(panic))),
        () = stop.aborted() => Err(RunStepError::Aborted(def.kind.changes_nothing)),
    };
    let result = match (group, result) {
        // Stopped because another member failed, not by a signal: what it did stands in
        // the journal (a change that landed, or an intent in doubt) for the rollback.
        (
            Some(group),
            Err(RunStepError::NotStarted | RunStepError::Step(StepError::Interrupted { .. })),
        ) if !stop.requested() && group.failed_by().is_some() => Err(RunStepError::GroupFailed(
            group.failed_by().unwrap_or_default().to_owned(),
        )),
        (Some(group), Err(e)) if e.fails_run() => {
            group.fail(&def.id);
            Err(e)
        }
        (_, result) => result,
    };
    let secs = t0.elapsed().as_secs_f64();
    let shown = match &result {
        Ok(true) => StepResult::Applied { secs },
        Ok(false) => StepResult::Unchanged { secs },
        Err(e) => StepResult::Failed {
            secs,
            error: e.to_string(),
        },
    };
    io.obs().step_finished(&def.id, &shown);
    crash::at(crash::Point::StepDone, &def.id);
    (k, result)
}

/// What a unit's outcomes mean for the run: a second signal ends it at once; a failure rolls
/// back everything done (the group's other members were let finish); a stop halts it.
enum Verdict<'a> {
    Done,
    Aborted(usize),
    Failed(usize, RunStepError),
    Halted(Halt<'a>),
}

impl<'a> Verdict<'a> {
    fn of(outcomes: Vec<(usize, Result<bool, RunStepError>)>, steps: &'a [StepDef]) -> Self {
        let mut verdict = Self::Done;
        for (k, result) in outcomes {
            let id = steps[k].id.as_str();
            let this = match result {
                // The member that failed decides; this one's part is in the journal.
                Ok(_) | Err(RunStepError::GroupFailed(_)) => continue,
                Err(RunStepError::Aborted(_)) => Self::Aborted(k),
                Err(RunStepError::NotStarted) => Self::Halted(Halt::Before(id)),
                Err(RunStepError::Step(StepError::Interrupted { landed: true, .. })) => {
                    Self::Halted(Halt::After(id))
                }
                Err(RunStepError::Step(StepError::Interrupted { .. }))
                    if steps[k].kind.changes_nothing =>
                {
                    Self::Halted(Halt::Waiting(id))
                }
                Err(RunStepError::Step(StepError::Interrupted { .. })) => {
                    Self::Halted(Halt::During(id))
                }
                Err(error) => Self::Failed(k, error),
            };
            if this.rank() > verdict.rank() {
                verdict = this;
            }
        }
        verdict
    }

    /// Which verdict wins when members of a group end differently.
    fn rank(&self) -> u8 {
        match self {
            Self::Done => 0,
            Self::Halted(..) => 1,
            Self::Failed(..) => 2,
            Self::Aborted(_) => 3,
        }
    }
}

/// Journals how a run ended with nothing undone, and reports it. A journal that no longer
/// takes writes holds the record all the same, and the report says what it is missing: every
/// step was done (or stopped) and recorded, so the run ended as said; a drill goes on to put
/// everything back from what the process holds.
fn ended(
    journal: &mut Journal,
    run_id: &str,
    outcome: Outcome,
    failed_step: Option<FailedStep>,
    started: Instant,
) -> Result<Report, EngineError> {
    if let Err(e) = journal.append(&Record::Finished { outcome, at: now() }) {
        // Another process may own the run now: it, not this one, says how it goes on.
        if journal.superseded().is_some() {
            return Err(journal_err(journal)(e));
        }
    }
    Ok(Report {
        run_id: run_id.to_owned(),
        outcome,
        failed_step,
        undone: Vec::new(),
        leftovers: Vec::new(),
        secs: started.elapsed().as_secs_f64(),
        unjournaled: journal.broken().map(|why| Unjournaled {
            journal: journal.location().to_owned(),
            why: why.to_owned(),
        }),
    })
}

/// Where a run stopped on request.
#[derive(Clone, Copy)]
enum Halt<'a> {
    /// Before this step changed anything.
    Before(&'a str),
    /// While this step waited for its change to settle (or in a gate): its intent is
    /// journaled, so it is in doubt until `resume` checks it.
    During(&'a str),
    /// In this step's wait, which changes nothing: `resume` runs it again.
    Waiting(&'a str),
    /// After this step made its change, in the wait for it to settle: the step is done.
    After(&'a str),
}

/// A stop was asked for (a signal) and the run reached a safe point: offers the operator at
/// the terminal a rollback of what was done; otherwise the run ends stopped, to be resumed or
/// rolled back later.
async fn stopped(
    ctx: &Ctx,
    journal: &mut Journal,
    run_id: &str,
    halt: Halt<'_>,
    obs: &mut dyn Observer,
    started: Instant,
) -> Result<Report, EngineError> {
    let stop = &ctx.waits.stop;
    let signal = stop.first_signal().unwrap_or("a stop request");
    let (place, failed_step) = match halt {
        Halt::Before(step) => (format!("before step `{step}`"), None),
        Halt::After(step) => (
            format!("after step `{step}`"),
            Some(FailedStep {
                step: step.to_owned(),
                error: format!("stopped by {signal} while its change settled; the change was made (`standin resume` goes on with the next step, `standin rollback` undoes)"),
            }),
        ),
        Halt::During(step) => (
            format!("during step `{step}`"),
            Some(FailedStep {
                step: step.to_owned(),
                error: format!("stopped by {signal} while it waited; whether its change landed is in doubt (`standin resume` checks and goes on, `standin rollback` undoes)"),
            }),
        ),
        Halt::Waiting(step) => (
            format!("during step `{step}`"),
            Some(FailedStep {
                step: step.to_owned(),
                error: format!("stopped by {signal} while waiting; the step changes nothing (`standin resume` waits again and goes on, `standin rollback` undoes what the run changed)"),
            }),
        ),
    };
    let view = load_view(journal)?;
    let question = format!("Stopped {place}. Roll back what this run changed?");
    if stop.from_terminal()
        && view.rollback_stack().next().is_some()
        && ctx.prompt.confirm(&question) == Some(true)
    {
        let reason = format!("stopped by {signal} {place}");
        let mut report = rollback(&view, ctx, journal, false, &reason, obs).await?;
        report.failed_step = failed_step;
        report.secs = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    ended(journal, run_id, Outcome::Stopped, failed_step, started)
}

/// Settles a step the journal has in doubt (intent written, no outcome) by planning again what
/// its intent was about to change (`Step::replan`, as right before a change: those resources
/// read exactly, where a fresh plan of a prefix lists it with a call that may not show a write
/// made a moment ago): nothing left to change means its change landed, so the intent's undo
/// record stands as applied; the same changes as the intent means it did not land, so it runs
/// again; anything else (part landed, or someone else changed a resource) fails the step. An
/// intent from before changes were journaled names none: the step is planned afresh.
async fn settle(
    def: &StepDef,
    in_doubt: &StepView,
    ctx: &Ctx,
    io: &Io<'_>,
    checks: &Checks<'_>,
) -> Result<bool, RunStepError> {
    let limit = def.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT);
    let planned = &in_doubt.changes;
    let fresh = async {
        if planned.is_empty() {
            def.step.plan(ctx).await
        } else {
            def.step.replan(ctx, planned).await
        }
    };
    let prepared = tokio::time::timeout(limit, fresh)
        .await
        .map_err(|_| RunStepError::Timeout(limit))??;
    if prepared.is_noop() {
        io.obs().step_planned(&def.id, &prepared);
        let record = Record::Applied {
            step: def.id.clone(),
            undo: in_doubt.undo.clone().unwrap_or_default(),
            secs: 0.0,
            took: None,
            at: now(),
        };
        io.append(&record).map_err(RunStepError::Unrecorded)?;
        return Ok(true);
    }
    let differences = plan::differences(&changing(planned), &changing(&prepared.changes));
    if differences.is_empty() {
        return run_step(def, ctx, io, checks).await;
    }
    Err(RunStepError::Unsettled(differences))
}

/// Why a step failed: its own error, a timeout, or a journal that could not be written (in
/// which case its mutation was not started, or its outcome is in doubt).
#[derive(Debug, thiserror::Error)]
enum RunStepError {
    #[error(transparent)]
    Step(#[from] StepError),
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("cannot write the journal, so the step was stopped: {0}")]
    Journal(std::io::Error),
    /// The change landed; its intent (undo record) is journaled, its outcome is not.
    #[error("the change was made, but the journal could not record it: {0}")]
    Unrecorded(std::io::Error),
    #[error("stopped before changing anything: the live state changed since the plan: {}", .0.join("; "))]
    Stale(Vec<String>),
    #[error("stopped before changing anything: {}", .0.join("; "))]
    Guard(Vec<String>),
    #[error("the run stopped in the middle of this step, and live state is neither before nor after it: {}", .0.join("; "))]
    Unsettled(Vec<String>),
    /// A second signal; `.0`: the step changes nothing, so nothing is in doubt.
    #[error("{}", if *.0 {
        "aborted by a second signal while waiting; the step changes nothing (`standin resume` waits again, `standin rollback` undoes what the run changed)"
    } else {
        "aborted by a second signal; whether its change landed is in doubt (`standin resume` checks, `standin rollback` undoes)"
    })]
    Aborted(bool),
    /// A stop was asked for after the step was planned, before it changed anything.
    #[error("stopped before changing anything, as asked")]
    NotStarted,
    /// A bug in standin: treated as the step failing, so the rollback stack still runs.
    #[error("internal error (a bug in standin, please report it): {0}")]
    Panicked(String),
    /// Another member of its parallel group failed: this one stopped waiting (or did not
    /// start its change), and the run rolls back.
    #[error("stopped: `{0}`, run at the same time, failed")]
    GroupFailed(String),
}

impl RunStepError {
    /// Whether this ends the run with a rollback (not a stop, which may be resumed).
    fn fails_run(&self) -> bool {
        !matches!(
            self,
            Self::Aborted(_)
                | Self::NotStarted
                | Self::GroupFailed(_)
                | Self::Step(StepError::Interrupted { .. })
        )
    }
}

/// What a step is checked against right before it mutates.
struct Checks<'a> {
    playbook: &'a Playbook,
    expected: &'a PlanDoc,
    index: usize,
    forced: &'a BTreeSet<String>,
}

impl Checks<'_> {
    /// This step's changes in the plan.
    fn planned(&self) -> Result<&[steps::Change], RunStepError> {
        self.expected
            .steps
            .get(self.index)
            .map(|s| s.changes.as_slice())
            .ok_or_else(|| RunStepError::Stale(vec!["the plan has no such step".to_owned()]))
    }

    /// The step must still do what the plan said: its fresh plan (`prepared`) changes what
    /// the plan changes, the same way.
    fn unchanged(&self, prepared: &Prepared) -> Result<(), RunStepError> {
        let differences =
            plan::differences(&changing(self.planned()?), &changing(&prepared.changes));
        if differences.is_empty() {
            Ok(())
        } else {
            Err(RunStepError::Stale(differences))
        }
    }

    /// The guards must hold on the state that this step's planned changes and the later
    /// steps' lead to. Read while the step plans again, so the check costs no round trip of
    /// its own: [`Self::unchanged`] then makes sure the fresh plan changes the same things the
    /// same way. What this step leaves as it is comes from live reads, never from the plan.
    async fn guards(&self, ctx: &Ctx) -> Result<(), RunStepError> {
        let own = changing(self.planned()?);
        let later = self
            .expected
            .steps
            .iter()
            .skip(self.index + 1)
            .flat_map(|s| s.changes.iter().map(|c| (s.account.as_deref(), c)));
        let account = self.playbook.steps[self.index].account.as_deref();
        let state = Predicted::in_accounts(own.iter().map(|c| (account, c)).chain(later));
        let live = guards::LiveAws::new(ctx);
        let failed: Vec<String> = guards::check(&self.playbook.guards, &state, &live, self.forced)
            .await
            .into_iter()
            .filter(GuardResult::blocks)
            .map(|g| format!("guard `{}` fails: {}", g.guard, g.message))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(RunStepError::Guard(failed))
        }
    }
}

/// The changes that change something (what a step leaves as it is need not have been read
/// again, see `Step::replan`).
fn changing(changes: &[steps::Change]) -> Vec<steps::Change> {
    changes
        .iter()
        .filter(|c| c.action != steps::Action::Keep)
        .cloned()
        .collect()
}

/// Plans and applies one step; `Ok(false)` when it had nothing to change.
async fn run_step(
    def: &StepDef,
    ctx: &Ctx,
    io: &Io<'_>,
    checks: &Checks<'_>,
) -> Result<bool, RunStepError> {
    let limit = def.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT);
    let deadline = tokio::time::Instant::now() + limit;
    let began = Instant::now();
    let took = || Some(began.elapsed().as_secs_f64());
    let id = def.id.clone();
    // The guards read while the step plans again; their verdict is wanted only when the
    // fresh plan changes something. All of it within the step's timeout: a change starts
    // only before its deadline.
    let guards = checks.guards(ctx);
    tokio::pin!(guards);
    let mut verdict = None;
    let replanned = async {
        let replan = def.step.replan(ctx, checks.planned()?);
        tokio::pin!(replan);
        loop {
            tokio::select! {
                prepared = &mut replan => break prepared.map_err(RunStepError::Step),
                v = &mut guards, if verdict.is_none() => verdict = Some(v),
            }
        }
    };
    let planned = match tokio::time::timeout_at(deadline, replanned).await {
        Ok(Ok(prepared)) if prepared.is_noop() => Ok(prepared),
        Ok(Ok(prepared)) => match checks.unchanged(&prepared) {
            Ok(()) => match verdict {
                Some(v) => v,
                None => tokio::time::timeout_at(deadline, guards)
                    .await
                    .unwrap_or(Err(RunStepError::Timeout(limit))),
            }
            .map(|()| prepared),
            Err(e) => Err(e),
        },
        Ok(Err(e)) => Err(e),
        Err(_) => Err(RunStepError::Timeout(limit)),
    };
    let prepared = match planned {
        Ok(prepared) => prepared,
        Err(error) => {
            // Nothing was changed; the record tells `status` which step stopped the run.
            let _ = io.append(&Record::Failed {
                step: id,
                undo: None,
                error: error.to_string(),
                took: took(),
                at: now(),
            });
            return Err(error);
        }
    };
    if ctx.waits.stop.requested() {
        return Err(RunStepError::NotStarted);
    }
    io.obs().step_planned(&def.id, &prepared);
    // A journal that stops taking writes holds what this process knows (see `Journal`): the
    // step's failure with it, so that what the process reports (a drill's report) names it.
    let unwritten = |error: RunStepError, undo: Option<serde_json::Value>| {
        let _ = io.append(&Record::Failed {
            step: id.clone(),
            undo,
            error: error.to_string(),
            took: took(),
            at: now(),
        });
        error
    };
    if prepared.is_noop() {
        if let Err(e) = io.append(&Record::Unchanged {
            step: id.clone(),
            took: took(),
            at: now(),
        }) {
            return Err(unwritten(RunStepError::Journal(e), None));
        }
        return Ok(false);
    }
    let mut mutation = prepared.mutation;
    if let Err(e) = io.append(&Record::Intent {
        step: id.clone(),
        undo: mutation.undo_record(),
        changes: prepared.changes,
        at: now(),
    }) {
        // Not written, so not started: nothing to undo.
        return Err(unwritten(RunStepError::Journal(e), None));
    }
    crash::at(crash::Point::IntentWritten, &id);
    let t0 = Instant::now();
    let applying = caught(async {
        crash::panic_at(&id);
        mutation.apply(ctx).await
    });
    let applied = tokio::time::timeout_at(deadline, applying).await;
    let applied_record = |mutation: &dyn Mutation, id: String| Record::Applied {
        step: id,
        undo: mutation.undo_record(),
        secs: t0.elapsed().as_secs_f64(),
        took: took(),
        at: now(),
    };
    let error = match applied {
        Ok(Ok(Ok(()))) => {
            crash::at(crash::Point::Applied, &id);
            return match io.append(&applied_record(mutation.as_ref(), id.clone())) {
                Ok(()) => Ok(true),
                Err(e) => Err(unwritten(
                    RunStepError::Unrecorded(e),
                    Some(mutation.undo_record()),
                )),
            };
        }
        // Stopped in the wait after its change was made: the change stands (resume must not
        // make it again), and the run stops here.
        Ok(Ok(Err(e @ StepError::Interrupted { landed: true, .. }))) => {
            if let Err(e) = io.append(&applied_record(mutation.as_ref(), id.clone())) {
                return Err(unwritten(
                    RunStepError::Unrecorded(e),
                    Some(mutation.undo_record()),
                ));
            }
            return Err(RunStepError::Step(e));
        }
        // Stopped before its change was known to be made: the intent stands, in doubt.
        Ok(Ok(Err(e @ StepError::Interrupted { .. }))) => return Err(RunStepError::Step(e)),
        Ok(Ok(Err(e))) => RunStepError::Step(e),
        // A bug inside the change: journaled as a failure with what the undo record learned.
        Ok(Err(panic)) => RunStepError::Panicked(panic),
        Err(_) => RunStepError::Timeout(limit),
    };
    // The failure itself is what matters; a journal error here leaves the step in doubt, which
    // rollback treats the same way.
    let _ = io.append(&Record::Failed {
        step: id,
        undo: Some(mutation.undo_record()),
        error: error.to_string(),
        took: took(),
        at: now(),
    });
    Err(error)
}

/// What a run's journal says about it (folded as it was read and written: see
/// [`Journal::view`]).
pub fn load_view(journal: &mut Journal) -> Result<RunView, EngineError> {
    Ok(journal.view()?.clone())
}

/// Undoes every step of `view` that changed something, last first, journaling each result.
/// A step whose undo fails or is refused (drift) is reported as a leftover; the others are
/// still undone, so as much as possible is put back. Once started, a rollback finishes:
/// signals are only reported (SIGKILL can still end it; `standin rollback` then goes on), and
/// a journal that stops taking writes does not stop it either: it goes on from the records the
/// process holds, and the report says what the journal is missing.
pub async fn rollback(
    view: &RunView,
    ctx: &Ctx,
    journal: &mut Journal,
    force: bool,
    reason: &str,
    obs: &mut dyn Observer,
) -> Result<Report, EngineError> {
    // Another process may own the run now: it, not this one, decides what is undone.
    if let Some(why) = journal.superseded() {
        return Err(EngineError::Journal {
            path: journal.location().to_owned(),
            source: std::io::Error::other(why.to_owned()),
            changed: true,
        });
    }
    // The rollback's own waits (DNS, environments) are never ended by a signal.
    let ctx = &Ctx {
        waits: Waits {
            stop: ctx.waits.stop.for_rollback(),
            ..ctx.waits.clone()
        },
        ..ctx.clone()
    };
    let started = Instant::now();
    obs.rollback_started(reason);
    let _ = journal.append(&Record::RollbackStarted {
        reason: reason.to_owned(),
        at: now(),
    });
    let mut undone = Vec::new();
    let mut leftovers = Vec::new();
    for step in view.rollback_stack() {
        let undo = load_undo(&step.kind, step.undo.clone().unwrap_or_default());
        let result = match &undo {
            Err(e) => Err(StepError::failed(&step.id, e)),
            Ok(undo) => {
                async {
                    run_undo(
                        undo.as_ref(),
                        &ctx.on(&step.id, step.account.as_deref())?,
                        force,
                    )
                    .await
                }
                .await
            }
        };
        crash::at(crash::Point::Undone, &step.id);
        // A record that cannot be written is held (see `Journal`), and said at the end.
        match result {
            Ok(lines) => {
                obs.undo_finished(&step.id, Ok(&lines));
                let _ = journal.append(&Record::Undone {
                    step: step.id.clone(),
                    restored: lines,
                    at: now(),
                });
                undone.push(step.id.clone());
            }
            Err(e) => {
                let error = e.to_string();
                obs.undo_finished(&step.id, Err(&error));
                // Not over someone else's change: that is for a human to decide.
                let by_hand = match (&e, undo) {
                    (StepError::Drift(_), _) | (_, Err(_)) => Vec::new(),
                    (_, Ok(undo)) => view.by_hand(step, undo.as_ref()),
                };
                let _ = journal.append(&Record::UndoFailed {
                    step: step.id.clone(),
                    error: error.clone(),
                    by_hand: by_hand.clone(),
                    at: now(),
                });
                leftovers.push(Leftover {
                    step: step.id.clone(),
                    kind: step.kind.clone(),
                    error,
                    by_hand,
                    drift: match e {
                        StepError::Drift(items) => items,
                        _ => Vec::new(),
                    },
                });
            }
        }
    }
    let outcome = if leftovers.is_empty() {
        Outcome::RolledBack
    } else {
        Outcome::RollbackIncomplete
    };
    let _ = journal.append(&Record::Finished { outcome, at: now() });
    Ok(Report {
        run_id: view.run_id.clone(),
        outcome,
        failed_step: None,
        undone,
        leftovers,
        secs: started.elapsed().as_secs_f64(),
        unjournaled: journal.broken().map(|why| Unjournaled {
            journal: journal.location().to_owned(),
            why: why.to_owned(),
        }),
    })
}

/// Reads a journaled undo record with its kind's type.
fn load_undo(kind: &str, record: serde_json::Value) -> Result<Box<dyn Undo>, String> {
    let def = steps::find_kind(kind).ok_or_else(|| {
        format!(
            "this standin does not know the kind `{kind}`; roll back with the standin that ran it"
        )
    })?;
    (def.load_undo)(record).map_err(|e| format!("unreadable undo record in the journal: {e}"))
}

async fn run_undo(undo: &dyn Undo, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
    tokio::time::timeout(DEFAULT_STEP_TIMEOUT, caught(undo.undo(ctx, force)))
        .await
        .map_err(|_| {
            StepError::failed(
                "undo",
                format!(
                    "timed out after {}",
                    humantime::format_duration(DEFAULT_STEP_TIMEOUT)
                ),
            )
        })?
        .map_err(|panic| {
            StepError::failed(
                "undo",
                format!("internal error (a bug in standin, please report it): {panic}"),
            )
        })?
}
