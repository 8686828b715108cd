//! The end of a run or rollback, and a run's status, as a person reads them: what happened,
//! what was put back, and what a human must still do, with the commands to do it.

use super::document::{span, RunReport, Verdict};
use crate::engine::record::Outcome;
use crate::engine::view::{DrillStage, RunView, StepState};
use crate::engine::{FailedStep, Leftover, Report, Unjournaled};

/// The end of a run or rollback, for people.
pub fn human_report(report: &Report, state_flag: &str) -> String {
    let run = &report.run_id;
    let mut out = String::new();
    match report.outcome {
        Outcome::Succeeded => {
            out.push_str(&format!("Run {run} succeeded in {:.1}s.\n", report.secs))
        }
        Outcome::RolledBack => {
            if let Some(FailedStep { step, error }) = &report.failed_step {
                out.push_str(&format!("Run {run} failed at step `{step}`: {error}\n"));
            }
            out.push_str(&format!(
                "Rolled back: {}. Everything the run changed is back as it was.\n",
                if report.undone.is_empty() {
                    "nothing needed undoing".to_owned()
                } else {
                    report.undone.join(", ")
                }
            ));
        }
        Outcome::RollbackIncomplete => {
            if let Some(FailedStep { step, error }) = &report.failed_step {
                out.push_str(&format!("Run {run} failed at step `{step}`: {error}\n"));
            }
            if !report.undone.is_empty() {
                out.push_str(&format!("Rolled back: {}.\n", report.undone.join(", ")));
            }
            out.push_str("ROLLBACK INCOMPLETE. A human must act on:\n");
            for leftover in &report.leftovers {
                out.push_str(&leftover_text(leftover, run, state_flag));
            }
        }
        Outcome::Stopped => {
            match &report.failed_step {
                Some(FailedStep { step, error }) => {
                    out.push_str(&format!("Run {run} stopped at step `{step}`: {error}\n"))
                }
                None => out.push_str(&format!(
                    "Run {run} stopped between steps, as asked; what it changed is still in place.\n"
                )),
            }
            out.push_str(&format!(
                "To continue: standin{state_flag} resume {run}\nTo undo: standin{state_flag} rollback {run}\n"
            ));
        }
    }
    if let Some(Unjournaled { journal, why }) = &report.unjournaled {
        let next = match report.outcome {
            // Every step was done and recorded; only the end was not.
            Outcome::Succeeded => format!(
                "run `standin{state_flag} resume {run}`: it finds every step done and records that the run succeeded"
            ),
            Outcome::Stopped => format!(
                "`standin{state_flag} resume {run}` or `standin{state_flag} rollback {run}` goes on from where it stopped"
            ),
            Outcome::RolledBack | Outcome::RollbackIncomplete => format!(
                "run `standin{state_flag} rollback {run}`: it finds what is already back, records it, and undoes what is not"
            ),
        };
        out.push_str(&format!(
            "THE JOURNAL IS BEHIND: {journal} stopped taking writes ({why}), so it does not hold all of the above. Once the state can be written again (free space, access to the bucket), {next}.\n"
        ));
    }
    out
}

fn leftover_text(l: &Leftover, run: &str, state_flag: &str) -> String {
    let mut out = format!("  - step `{}` ({}): {}\n", l.step, l.kind, l.error);
    if l.drift.is_empty() {
        out.push_str(&format!(
            "    fix the cause (permissions, connectivity, throttling), then run `standin{state_flag} rollback {run}` again\n"
        ));
        if !l.by_hand.is_empty() {
            out.push_str(
                "    or, where you still have access (another role, the console's shell), put it back by hand:\n",
            );
            for line in &l.by_hand {
                out.push_str(&format!("      {line}\n"));
            }
            out.push_str(&format!(
                "    then check with `standin{state_flag} rollback {run}`: it finds the resources as before the run\n"
            ));
        }
    } else {
        for d in &l.drift {
            out.push_str(&format!(
                "    {} was changed by someone else since the run: now {}, standin wrote {}\n",
                d.resource,
                crate::escape::value(&d.found),
                crate::escape::value(&d.expected)
            ));
        }
        out.push_str(&format!(
            "    decide which value is right; to put back the value from before the run anyway, run `standin{state_flag} rollback {run} --force`\n"
        ));
    }
    out
}

/// A run's steps and states, for people.
pub fn human_status(view: &RunView, state_flag: &str) -> String {
    let outcome = match (view.drill_stage, view.outcome) {
        (Some(DrillStage::Promoted), _) => {
            "UNFINISHED DRILL: promoted, not restored (production's traffic may be on the stand-in)"
        }
        (Some(DrillStage::Restored), Some(Outcome::RolledBack)) => {
            "rolled back; the restore is not verified"
        }
        (_, Some(Outcome::Succeeded)) => "succeeded",
        (_, Some(Outcome::RolledBack)) => "rolled back",
        (_, Some(Outcome::RollbackIncomplete)) => "ROLLBACK INCOMPLETE (a human must act)",
        (_, Some(Outcome::Stopped)) => "stopped by the operator, changes in place",
        (_, None) if view.rolling_back => "ROLLBACK UNFINISHED (running, or its process stopped)",
        (_, None) => "unfinished (running, or its process stopped)",
    };
    let what = if view.drill.is_some() { "Drill" } else { "Run" };
    let mut out = format!(
        "{what} {} of `{}` ({}), started {}: {outcome}\n",
        view.run_id, view.playbook, view.file, view.started
    );
    // Where a signal stopped it (a failed step shows its own error below).
    if let (Some(Outcome::Stopped), Some(FailedStep { step, error })) =
        (view.outcome, &view.stopped_at)
    {
        out.push_str(&format!("  stopped at step `{step}`: {error}\n"));
    }
    match view.drill_stage {
        Some(DrillStage::Promoted) => out.push_str(&format!(
            "  its soak, rollback and verification did not finish: `standin{state_flag} resume {run}` finishes the drill, `standin{state_flag} rollback {run}` puts everything back now\n",
            run = view.run_id
        )),
        Some(DrillStage::Restored) if view.outcome == Some(Outcome::RolledBack) => {
            out.push_str(&format!(
                "  `standin{state_flag} resume {}` verifies the restore and writes the drill's report\n",
                view.run_id
            ))
        }
        _ => {}
    }
    let width = view.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for step in &view.steps {
        let state = match step.state {
            StepState::NotStarted => "not started",
            StepState::InDoubt => "IN DOUBT (its change may or may not have happened)",
            StepState::StoppedWaiting => "stopped while waiting (it changes nothing)",
            StepState::Applied => "applied",
            StepState::Unchanged => "unchanged (nothing to do)",
            StepState::Failed => "failed",
            StepState::Undone => "undone",
            StepState::UndoFailed => "UNDO FAILED",
        };
        let group = step
            .group
            .as_ref()
            .map_or(String::new(), |g| format!(" [parallel: {g}]"));
        let account = step
            .account
            .as_ref()
            .map_or(String::new(), |a| format!(" in account `{a}`"));
        out.push_str(&format!(
            "  {:<width$}  {:<20} {state}{group}{account}\n",
            step.id, step.kind
        ));
        if let Some(e) = &step.error {
            out.push_str(&format!("      error: {e}\n"));
        }
        if let Some(e) = &step.undo_error {
            out.push_str(&format!("      undo error: {e}\n"));
        }
        for line in &step.by_hand {
            out.push_str(&format!("      by hand: {line}\n"));
        }
        for line in &step.restored {
            out.push_str(&format!("      {line}\n"));
        }
        if step.kind == <crate::steps::approval::Approval as crate::steps::Kind>::NAME {
            for answered in crate::evidence::approvals(view)
                .iter()
                .filter(|a| a.step == step.id)
            {
                out.push_str(&format!("      {answered}\n"));
            }
            if step.state == StepState::StoppedWaiting && view.outcome.is_none() {
                out.push_str(&format!(
                    "      if it still waits, approve it with: standin{state_flag} approve {}\n",
                    view.run_id
                ));
            }
        }
    }
    let run = &view.run_id;
    if view.resumable() {
        out.push_str(&format!(
            "To continue it (steps in doubt are checked first): standin{state_flag} resume {run}\n"
        ));
    }
    if view.steps.iter().any(|s| s.needs_undo()) {
        out.push_str(&format!(
            "To undo what this run changed: standin{state_flag} rollback {run}\n"
        ));
    }
    out
}

/// The end of a drill, for people: its outcome, recovery time against the target and earlier
/// drills, where the time went, and what differs if the restore is not exact.
pub fn human_drill(doc: &RunReport, state_flag: &str) -> String {
    let run = &doc.run_id;
    let mut out = format!(
        "Drill {run} of `{}`: {}.\n",
        doc.playbook,
        doc.outcome.words()
    );
    if let Some(reason) = &doc.reason {
        out.push_str(&format!("  why: {reason}\n"));
    }
    let recovery = &doc.recovery;
    out.push_str(
        &match (recovery.took(), recovery.judged(), recovery.target_secs) {
            (Some(took), Some(s), Some(t)) => format!(
                "  recovery: {took} (target {}, {})\n",
                span(t),
                if s <= t { "met" } else { "MISSED" }
            ),
            (Some(took), _, None) => {
                format!("  recovery: {took} (no `rto_target` in the playbook)\n")
            }
            _ => "  recovery: not reached\n".to_owned(),
        },
    );
    let earlier: Vec<String> = doc
        .trend
        .iter()
        .rev()
        .skip(1)
        .take(5)
        .filter_map(|p| p.judged().map(span))
        .collect();
    if !earlier.is_empty() {
        out.push_str(&format!(
            "  earlier drills (newest first): {}\n",
            earlier.join(", ")
        ));
    }
    let t = &doc.timings;
    out.push_str(&format!(
        "  steps {}, DNS wait {}, restore {}, total {}\n",
        span(t.steps_secs),
        span(t.dns_wait_secs),
        t.restore_secs.map_or_else(|| "-".to_owned(), span),
        span(t.total_secs)
    ));
    if let Some(soak) = &doc.soak {
        out.push_str(&format!(
            "  soak: held {} with {} check(s) of the gates{}\n",
            span(soak.secs),
            soak.checks,
            match (&soak.broken, soak.stopped) {
                (Some(broken), _) => format!("; {broken}"),
                (None, true) => "; ended early by a signal".to_owned(),
                (None, false) => String::new(),
            }
        ));
    }
    if let Some(verify) = &doc.verify {
        if verify.differences.is_empty() {
            out.push_str(&format!(
                "  restore verified: {} resource(s) as before the drill\n",
                verify.checked
            ));
        } else {
            out.push_str(&format!(
                "  RESTORE DIFFERS: {} of {} resource(s) do not hold what they held before the drill:\n",
                verify.differences.len(),
                verify.checked
            ));
            for d in &verify.differences {
                out.push_str(&format!(
                    "    {}: before {}, now {}\n",
                    d.resource,
                    d.before.as_deref().unwrap_or("(absent)"),
                    d.after.as_deref().unwrap_or("(absent)")
                ));
            }
            out.push_str("  a human must decide which value is right and set it\n");
        }
    }
    if matches!(doc.outcome, Verdict::Stopped | Verdict::Unfinished) {
        out.push_str(&format!(
            "To continue the drill: standin{state_flag} resume {run}\nTo put everything back now: standin{state_flag} rollback {run}\n"
        ));
    }
    out
}
