//! Running a run's steps in order, one at a time or a `parallel:` group's members at once, to
//! its end: done, stopped on request (a rollback offered), or failed and rolled back. Apart
//! from `step.rs`, which runs one step: this file decides what the steps' outcomes mean for the
//! run.

use std::time::Instant;

use futures_util::future::join_all;

use super::caught::caught;
use super::crash;
use super::journal::Journal;
use super::record::{now, Outcome, Record};
use super::rollback::rollback;
use super::step::{run_step, settle, Checks, Io, RunStepError};
use super::view::{RunView, StepState};
use super::{
    journal_err, load_view, reported, EngineError, FailedStep, Observer, Report, Spec, StepResult,
    DEFAULT_STEP_TIMEOUT,
};
use crate::playbook::StepDef;
use crate::steps::{Ctx, StepError};
use crate::stop::{Told, Waits};

/// Runs every step in order (of a resumed run, `earlier`, those not done yet: a step in
/// doubt is checked against live state first, see [`settle`]); on the first failure, undoes
/// the completed steps in reverse. Right before each mutation the step is planned again: it
/// must still do what the plan says, and the guards must still hold on the state it leads
/// to; otherwise it fails, unchanged.
pub(super) async fn execute(
    spec: &Spec<'_>,
    ctx: &Ctx,
    journal: &mut Journal,
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
            return stopped(ctx, journal, halt, obs, started).await;
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
                return ended(journal, Outcome::Stopped, Some(aborted), started);
            }
            Verdict::Failed(k, error) => {
                let id = &steps[k].id;
                let reason = format!("step `{id}` failed: {error}");
                let failed = FailedStep {
                    step: id.clone(),
                    error: error.to_string(),
                };
                let view = load_view(journal)?;
                let mut report =
                    rollback(&view, ctx, journal, false, (&reason, Some(failed)), obs).await?;
                report.secs = started.elapsed().as_secs_f64();
                return Ok(report);
            }
            Verdict::Halted(halt) => {
                return stopped(ctx, journal, halt, obs, started).await;
            }
        }
    }
    ended(journal, Outcome::Succeeded, None, started)
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
    outcome: Outcome,
    failed_step: Option<FailedStep>,
    started: Instant,
) -> Result<Report, EngineError> {
    let end = Record::Finished {
        outcome,
        failed: failed_step,
        at: now(),
    };
    if let Err(e) = journal.append(&end) {
        // Another process may own the run now: it, not this one, says how it goes on.
        if journal.superseded().is_some() {
            return Err(journal_err(journal)(e));
        }
    }
    reported(journal, started)
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
        let mut report = rollback(&view, ctx, journal, false, (&reason, failed_step), obs).await?;
        report.secs = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    ended(journal, Outcome::Stopped, failed_step, started)
}
