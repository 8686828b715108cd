//! Undoing a run: every step that changed something, last first, from the undo records in its
//! journal. Apart from running steps because a rollback also runs on its own (`standin
//! rollback`, a drill putting things back), and once started it finishes, signals or not.

use std::time::Instant;

use super::caught::caught;
use super::crash;
use super::journal::Journal;
use super::record::{now, FailedStep, Outcome, Record};
use super::view::RunView;
use super::{reported, EngineError, Observer, Report, DEFAULT_STEP_TIMEOUT};
use crate::steps::{self, Ctx, StepError, Undo};
use crate::stop::Waits;

/// Undoes every step of `view` that changed something, last first, journaling each result.
/// A step whose undo fails or is refused (drift) is reported as a leftover; the others are
/// still undone, so as much as possible is put back. Once started, a rollback finishes:
/// signals are only reported (SIGKILL can still end it; `standin rollback` then goes on), and
/// a journal that stops taking writes does not stop it either: it goes on from the records the
/// process holds, and the report says what the journal is missing. `failed`: the step that
/// stopped the run, when that is why it rolls back (journaled with the rollback's start).
pub async fn rollback(
    view: &RunView,
    ctx: &Ctx,
    journal: &mut Journal,
    force: bool,
    (reason, failed): (&str, Option<FailedStep>),
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
        failed,
        at: now(),
    });
    let mut left = false;
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
                    error,
                    by_hand,
                    drift: match e {
                        StepError::Drift(items) => items,
                        _ => Vec::new(),
                    },
                    at: now(),
                });
                left = true;
            }
        }
    }
    let outcome = if left {
        Outcome::RollbackIncomplete
    } else {
        Outcome::RolledBack
    };
    let _ = journal.append(&Record::Finished {
        outcome,
        failed: None,
        at: now(),
    });
    reported(journal, started)
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
