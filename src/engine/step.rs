//! Running one step: planned again right before it changes anything and checked against the
//! plan and the guards, then applied within its timeout, each move journaled; or, when the
//! journal of a resumed run has it in doubt, settled against live state first. Apart from
//! `execute.rs`, which runs the steps (a group's members at once) and decides what their
//! outcomes mean for the run.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::caught::caught;
use super::crash;
use super::journal::Journal;
use super::plan::{self, PlanDoc};
use super::record::{now, Record};
use super::view::StepView;
use super::{Observer, DEFAULT_STEP_TIMEOUT};
use crate::guards::{self, GuardResult, Predicted};
use crate::playbook::{Playbook, StepDef};
use crate::steps::{self, Ctx, Mutation, Prepared, StepError};

/// The journal and the observer, shared by the members of a parallel group as they run.
pub(super) struct Io<'a> {
    journal: Mutex<&'a mut Journal>,
    obs: Mutex<&'a mut dyn Observer>,
}

impl<'a> Io<'a> {
    pub(super) fn new(journal: &'a mut Journal, obs: &'a mut dyn Observer) -> Self {
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

    pub(super) fn obs(&self) -> MutexGuard<'_, &'a mut dyn Observer> {
        self.obs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Settles a step the journal has in doubt (intent written, no outcome) by planning again what
/// its intent was about to change (`Step::replan`, as right before a change: those resources
/// read exactly, where a fresh plan of a prefix lists it with a call that may not show a write
/// made a moment ago): nothing left to change means its change landed, so the intent's undo
/// record stands as applied; the same changes as the intent means it did not land, so it runs
/// again; anything else (part landed, or someone else changed a resource) fails the step. An
/// intent from before changes were journaled names none: the step is planned afresh.
pub(super) async fn settle(
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
pub(super) enum RunStepError {
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
    pub(super) fn fails_run(&self) -> bool {
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
pub(super) struct Checks<'a> {
    pub(super) playbook: &'a Playbook,
    pub(super) expected: &'a PlanDoc,
    pub(super) index: usize,
    pub(super) forced: &'a BTreeSet<String>,
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
pub(super) async fn run_step(
    def: &StepDef,
    ctx: &Ctx,
    io: &Io<'_>,
    checks: &Checks<'_>,
) -> Result<bool, RunStepError> {
    let limit = def.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT);
    let deadline = tokio::time::Instant::now() + limit;
    // A step that waits for people (an approval) says until when, and ends its wait itself.
    let ctx = &Ctx {
        deadline: Some(deadline),
        ..ctx.clone()
    };
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
