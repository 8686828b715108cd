//! A run's life, one driver for `run`, `drill`, `resume` and `rollback`: what a run has left
//! to do is decided from what its journal says ([`next`], on the journal's own fold), and each
//! phase is done in turn (the steps; for a drill, the soak, the rollback, the verification)
//! until nothing is left that this process may do. The commands parse, confirm and print.

use super::drill::{self, Soaked};
use super::execute::execute;
use super::journal::Journal;
use super::record::{now, Outcome, Record};
use super::rollback::rollback;
use super::view::RunView;
use super::{journal_err, EngineError, Header, Observer, Report, Spec};
use crate::playbook::Playbook;
use crate::steps::Ctx;

/// What a run has left to do, by its journal alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Its steps, from the first not done: it never ended, or it was stopped.
    Steps,
    /// Its rollback: one began and did not finish, or a step failed and the process stopped
    /// before rolling back.
    Rollback,
    /// A drill whose steps all ran: its soak (unless `soaked`), its rollback, its
    /// verification.
    Restore { soaked: bool },
    /// A drill whose rollback finished: the verification of its restore.
    Verify,
    /// Nothing: it ended.
    Done,
}

/// What `view`'s run has left to do.
pub fn next(view: &RunView) -> Next {
    if view.rolling_back {
        return Next::Rollback;
    }
    match view.outcome {
        None if view.failed_step().is_some() => Next::Rollback,
        None | Some(Outcome::Stopped) if view.failed_step().is_none() => Next::Steps,
        Some(Outcome::Succeeded) if view.drill.is_some() => Next::Restore {
            soaked: view.soaked,
        },
        // A drill that changed nothing (it ended before any change) has nothing to verify.
        Some(Outcome::RolledBack)
            if view.drill.is_some()
                && !view.verified
                && view.steps.iter().any(|s| s.undo.is_some()) =>
        {
            Next::Verify
        }
        _ => Next::Done,
    }
}

/// Why `resume` cannot go on with a run: each is the engine's rule, said by the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresumable {
    /// A rollback began: only `rollback` finishes it.
    RollingBack,
    /// This step failed and the run stopped before rolling back: its undo record must stand,
    /// and only `rollback` may act on it.
    FailedBeforeRollback(String),
    /// It ended.
    Finished,
    /// The playbook (or its inputs) is not the run's: the journal's undo records and step
    /// states mean nothing for another.
    OtherPlaybook(Vec<String>),
    /// A drill whose journal says no soak a drill could have had (it was edited).
    Edited(String),
}

/// What `resume` does with `view`'s run: the next phase, or why none.
pub fn resumable(view: &RunView) -> Result<Next, Unresumable> {
    match next(view) {
        Next::Rollback if view.rolling_back => Err(Unresumable::RollingBack),
        Next::Rollback => {
            let step = view.failed_step().map(|s| s.id.clone()).unwrap_or_default();
            Err(Unresumable::FailedBeforeRollback(step))
        }
        Next::Done => Err(Unresumable::Finished),
        next => Ok(next),
    }
}

/// Whether `pb` (with the `--var` values given) is the playbook `view`'s run started with,
/// as `resume` needs: the journal's undo records and step states mean nothing for another.
/// A drill's soak must also be one a drill could have had.
pub fn same_run(view: &RunView, pb: &Playbook) -> Result<(), Unresumable> {
    let mut changed: Vec<String> = view
        .source
        .as_ref()
        .and_then(|s| s.differs(pb, "the run started"))
        .into_iter()
        .collect();
    let now = pb.steps.iter().map(|s| (s.id.as_str(), s.kind.name));
    let then = view.steps.iter().map(|s| (s.id.as_str(), s.kind.as_str()));
    if changed.is_empty() && !now.eq(then) {
        changed.push(format!(
            "the playbook {} no longer has the run's steps",
            view.file
        ));
    }
    if !changed.is_empty() {
        return Err(Unresumable::OtherPlaybook(changed));
    }
    // What the soak is to be, checked before anything changes: an edited journal must not
    // stop a resumed drill half way.
    match view.drill.as_ref().map(|d| d.durations()) {
        Some(Err(why)) => Err(Unresumable::Edited(why)),
        _ => Ok(()),
    }
}

/// How a run's life went in this process.
#[derive(Debug, Default)]
pub struct Lived {
    /// Its steps' report (run, drill or resumed), when they ran here.
    pub steps: Option<Report>,
    /// A rollback's report (a drill's restore, or the `rollback` command's), when one ran.
    pub rollback: Option<Report>,
    /// Why a drill's restore was not verified, when it could not be.
    pub unverified: Option<Unverified>,
}

/// A drill's restore that cannot be verified with the playbook at hand: the drill ran it
/// with other inputs (`rollback` takes no `--var`), and `unread` of the `changed`
/// resources it changed are not planned by this one. Nothing is recorded, so that `resume`
/// with the drill's inputs verifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    pub why: String,
    pub unread: usize,
    pub changed: usize,
}

/// A run's life in this process: its playbook (none when `rollback` cannot load it: a
/// drill's restore then goes unverified), its clients, its journal and who watches.
pub struct Life<'a> {
    pub playbook: Option<&'a Playbook>,
    pub ctx: &'a Ctx,
    pub journal: &'a mut Journal,
    pub obs: &'a mut dyn Observer,
}

/// Where a life starts.
pub enum Begin<'a> {
    /// A new run (or drill, by its header): journaled, then its steps.
    Run {
        spec: &'a Spec<'a>,
        run_id: &'a str,
        header: Box<Header>,
    },
    /// `resume`: whatever its journal has left, its steps (when they are left: see
    /// [`resumable`]) checked against `spec`.
    Resume { spec: Option<&'a Spec<'a>> },
    /// `rollback`: its rollback (`force`: over drift), then, for a drill, the verification.
    Rollback { force: bool },
}

impl Life<'_> {
    /// Lives the run from `begin` until nothing is left that this process may do: each
    /// phase at most once, as [`next`] decides from the journal after the one before.
    pub async fn live(mut self, begin: Begin<'_>) -> Result<Lived, EngineError> {
        let mut lived = Lived::default();
        let mut resuming = false;
        let spec = match begin {
            Begin::Run {
                spec,
                run_id,
                header,
            } => {
                super::begin(spec.playbook, self.journal, run_id, *header)?;
                Some(spec)
            }
            Begin::Resume { spec } => {
                resuming = true;
                spec
            }
            Begin::Rollback { force } => {
                let reason = if force {
                    "requested with --force"
                } else {
                    "requested"
                };
                lived.rollback = self.roll_back(force, reason).await?;
                None
            }
        };
        let mut steps_ran = false;
        let mut soaked = None;
        let mut verified = false;
        loop {
            match next(self.journal.view()?) {
                Next::Steps if !steps_ran => {
                    let Some(spec) = spec else { break };
                    steps_ran = true;
                    lived.steps = Some(self.steps(spec, resuming).await?);
                }
                Next::Restore { soaked: false } if soaked.is_none() => {
                    soaked = Some(self.soak().await?);
                }
                Next::Restore { soaked: true } if lived.rollback.is_none() => {
                    let reason = soaked
                        .take()
                        .unwrap_or_else(|| "the resumed drill puts everything back".into());
                    lived.rollback = self.roll_back(false, &reason).await?;
                }
                Next::Verify if !verified => {
                    verified = true;
                    lived.unverified = self.verify().await?;
                }
                _ => break,
            }
        }
        Ok(lived)
    }

    /// Runs the steps: all of a new run's, or those not done yet of one `resuming`.
    async fn steps(&mut self, spec: &Spec<'_>, resuming: bool) -> Result<Report, EngineError> {
        if !resuming {
            return execute(spec, self.ctx, self.journal, None, self.obs).await;
        }
        let view = self.journal.view()?.clone();
        self.journal
            .append(&Record::Resumed { at: now() })
            .map_err(journal_err(self.journal))?;
        execute(spec, self.ctx, self.journal, Some(&view), self.obs).await
    }

    /// Holds a drill's promoted state as its journal says, and says why the rollback follows.
    async fn soak(&mut self) -> Result<String, EngineError> {
        let view = self.journal.view()?;
        let (soak, every) = match view.drill.as_ref().map(|d| d.durations()) {
            Some(Ok(durations)) => durations,
            // `resumable` refuses such a journal, and a new drill journals its own.
            Some(Err(why)) => return Ok(format!("the drill's soak cannot be read: {why}")),
            None => return Ok("the drill puts everything back".into()),
        };
        let Some(pb) = self.playbook else {
            return Ok("the drill puts everything back".into());
        };
        self.obs.soaking(soak, every);
        Ok(
            match drill::soak(pb, self.ctx, self.journal, soak, every).await? {
                Soaked::Held => "the drill puts everything back".to_owned(),
                Soaked::Broken(why) => format!("the drill's soak failed: {why}"),
                Soaked::Stopped => "the drill's soak was ended by a signal".to_owned(),
            },
        )
    }

    /// Rolls back what the journal says is in place; `None` when nothing is (a rollback
    /// killed after its last undo is then recorded as finished).
    async fn roll_back(
        &mut self,
        force: bool,
        reason: &str,
    ) -> Result<Option<Report>, EngineError> {
        let view = self.journal.view()?.clone();
        if view.rollback_stack().next().is_none() {
            if view.rolling_back {
                self.journal
                    .append(&Record::Finished {
                        outcome: Outcome::RolledBack,
                        failed: None,
                        at: now(),
                    })
                    .map_err(journal_err(self.journal))?;
            }
            return Ok(None);
        }
        rollback(
            &view,
            self.ctx,
            self.journal,
            force,
            (reason, None),
            self.obs,
        )
        .await
        .map(Some)
    }

    /// Compares every resource of the drill's snapshot with what it holds now, and journals
    /// the result; or says why it cannot.
    async fn verify(&mut self) -> Result<Option<Unverified>, EngineError> {
        let Some(pb) = self.playbook else {
            return Ok(None);
        };
        let view = self.journal.view()?;
        let snapshot = view.snapshot.clone();
        let other = view
            .source
            .as_ref()
            .and_then(|s| s.differs(pb, "the drill started"));
        // A resource the playbook no longer plans (what a step copies from moved) counts
        // as differing, not read, when the playbook is the drill's.
        let checked = drill::verify(pb, self.ctx, &snapshot).await;
        if let Some(why) = other.filter(|_| !checked.unread.is_empty()) {
            return Ok(Some(Unverified {
                why,
                unread: checked.unread.len(),
                changed: snapshot.len(),
            }));
        }
        drill::record_verified(self.journal, snapshot.len(), checked.differences);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record::{DrillSpec, StepRef, FORMAT};

    /// A run of steps `a` (a pause: changes nothing) and `b`, a drill if `drill`, whose
    /// journal then holds `lines` (records as JSON, `"at"` added).
    fn view(drill: bool, lines: &[&str]) -> RunView {
        let step = |id: &str, kind: &str| StepRef {
            id: id.into(),
            kind: kind.into(),
            group: None,
            account: None,
        };
        let mut view = RunView::from_records(&[Record::Start {
            format: FORMAT,
            run_id: "r".into(),
            playbook: "p".into(),
            file: "p.yaml".into(),
            aws: Default::default(),
            accounts: Default::default(),
            source: None,
            steps: vec![step("a", "pause"), step("b", "ssm.put-parameters")],
            drill: drill.then_some(DrillSpec {
                recovery: None,
                rto_target_secs: None,
                soak_secs: 1.0,
                every_secs: 1.0,
                report_dir: None,
                notify_origin: None,
            }),
            by: None,
            principals: Vec::new(),
            warnings: Vec::new(),
            plan_sha256: None,
            at: "2026-12-07T00:00:00Z".into(),
        }])
        .expect("a start record");
        for line in lines {
            let line = format!(r#"{{{line},"at":"2026-12-07T00:00:01Z"}}"#);
            view.push(&serde_json::from_str(&line).expect("a record"));
        }
        view
    }

    const INTENT_B: &str = r#""record":"intent","step":"b","undo":{}"#;
    const APPLIED_B: &str = r#""record":"applied","step":"b","undo":{},"secs":0.1"#;
    const FAILED_B: &str = r#""record":"failed","step":"b","undo":{},"error":"denied""#;
    const ROLLING: &str = r#""record":"rollback-started","reason":"requested""#;
    const UNDONE_B: &str = r#""record":"undone","step":"b","restored":[]"#;
    const SUCCEEDED: &str = r#""record":"finished","outcome":"succeeded""#;
    const ROLLED_BACK: &str = r#""record":"finished","outcome":"rolled-back""#;
    const STOPPED: &str = r#""record":"finished","outcome":"stopped""#;
    const INCOMPLETE: &str = r#""record":"finished","outcome":"rollback-incomplete""#;
    const SOAKED: &str = r#""record":"soaked","secs":1.0,"checks":1"#;
    const VERIFIED: &str = r#""record":"verified","checked":1,"differences":[]"#;

    /// Every way a journal can end, what comes next, and what `resume` may do with it.
    #[test]
    fn what_comes_next_and_what_resume_may_do_are_decided_by_the_journal_alone() {
        use Next::*;
        type Case<'a> = (bool, &'a [&'a str], Next, Result<Next, Unresumable>);
        let cases: &[Case] = &[
            // Killed before any step, or mid-change, or stopped by a signal: its steps.
            (false, &[], Steps, Ok(Steps)),
            (false, &[INTENT_B], Steps, Ok(Steps)),
            (false, &[APPLIED_B, STOPPED], Steps, Ok(Steps)),
            // A step failed and the process died before rolling back: only `rollback`.
            (
                false,
                &[FAILED_B],
                Rollback,
                Err(Unresumable::FailedBeforeRollback("b".into())),
            ),
            // A rollback began: only `rollback` finishes it.
            (
                false,
                &[APPLIED_B, ROLLING],
                Rollback,
                Err(Unresumable::RollingBack),
            ),
            (
                false,
                &[APPLIED_B, ROLLING, UNDONE_B],
                Rollback,
                Err(Unresumable::RollingBack),
            ),
            // Ended: nothing.
            (
                false,
                &[APPLIED_B, SUCCEEDED],
                Done,
                Err(Unresumable::Finished),
            ),
            (
                false,
                &[FAILED_B, ROLLING, UNDONE_B, ROLLED_BACK],
                Done,
                Err(Unresumable::Finished),
            ),
            (
                false,
                &[FAILED_B, ROLLING, INCOMPLETE],
                Done,
                Err(Unresumable::Finished),
            ),
            // A drill past its steps: its soak, rollback and verification, or what is left.
            (
                true,
                &[APPLIED_B, SUCCEEDED],
                Restore { soaked: false },
                Ok(Restore { soaked: false }),
            ),
            (
                true,
                &[APPLIED_B, SUCCEEDED, SOAKED],
                Restore { soaked: true },
                Ok(Restore { soaked: true }),
            ),
            (
                true,
                &[APPLIED_B, SUCCEEDED, SOAKED, ROLLING],
                Rollback,
                Err(Unresumable::RollingBack),
            ),
            (
                true,
                &[APPLIED_B, SUCCEEDED, SOAKED, ROLLING, UNDONE_B, ROLLED_BACK],
                Verify,
                Ok(Verify),
            ),
            (
                true,
                &[
                    APPLIED_B,
                    SUCCEEDED,
                    ROLLING,
                    UNDONE_B,
                    ROLLED_BACK,
                    VERIFIED,
                ],
                Done,
                Err(Unresumable::Finished),
            ),
            // A drill that ended before any change has nothing to verify.
            (
                true,
                &[
                    r#""record":"failed","step":"b","error":"cannot be planned""#,
                    ROLLED_BACK,
                ],
                Done,
                Err(Unresumable::Finished),
            ),
            // A drill whose restore left work for a human: nothing this standin can do.
            (
                true,
                &[APPLIED_B, SUCCEEDED, SOAKED, ROLLING, INCOMPLETE],
                Done,
                Err(Unresumable::Finished),
            ),
            // A drill stopped with changes in place, before its soak: its steps, again.
            (true, &[APPLIED_B, STOPPED], Steps, Ok(Steps)),
        ];
        for (drill, lines, then, resume) in cases {
            let v = view(*drill, lines);
            assert_eq!(next(&v), *then, "drill {drill}, {lines:?}");
            assert_eq!(resumable(&v), *resume, "drill {drill}, {lines:?}");
        }
    }

    /// A pause whose intent is journaled (SIGTERM while it waited) is not in doubt: it
    /// changes nothing, and the run goes on with its steps.
    #[test]
    fn a_step_that_changes_nothing_stopped_mid_wait_leaves_the_steps_next() {
        let v = view(
            false,
            &[r#""record":"intent","step":"a","undo":{}"#, STOPPED],
        );
        assert_eq!(next(&v), Next::Steps);
    }
}
