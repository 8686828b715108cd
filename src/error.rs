//! The top-level error: every failure a command can end with, and the exit code it means.

use crate::engine::record::Outcome;
use crate::engine::EngineError;
use crate::playbook::Invalid;
use crate::state::{LockError, StateError};

/// How a command ends: every outcome's exit code is decided here, and only here. `--help`
/// is made from [`Exit::ALL`], and a test holds README's table to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    RolledBack = 1,
    Invalid = 2,
    HumanNeeded = 3,
    NotStarted = 4,
    Stopped = 5,
    MissedRto = 6,
    Blockers = 7,
    Warnings = 8,
    Unverified = 9,
}

impl Exit {
    pub const ALL: [Self; 10] = [
        Self::Success,
        Self::RolledBack,
        Self::Invalid,
        Self::HumanNeeded,
        Self::NotStarted,
        Self::Stopped,
        Self::MissedRto,
        Self::Blockers,
        Self::Warnings,
        Self::Unverified,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code tells whoever reads it (README's table says the same).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::RolledBack => "a step failed and everything was rolled back (or nothing had changed yet)",
            Self::Invalid => "invalid input (playbook, arguments, saved plan, journal, state directory): nothing was called",
            Self::HumanNeeded => "a step failed and the rollback is incomplete, a drill's restore differs from its snapshot, or the journal stopped taking writes: a human must act, as the output says (never when nothing was changed)",
            Self::NotStarted => "did not start: another run holds the lock, the state cannot be locked or journaled, the confirmation was not given (or cannot be: no terminal and no `--yes`), a guard refused the plan (a drill then reports it and exits 1; `drill --dry` exits 4 for whatever would stop the drill), the account's blocker checks found one (`standin doctor`: the root user without `--allow-root`, a quarantined key, an AWS risk notice), the saved plan is stale, the run cannot be resumed, or the process could not start (nothing was changed)",
            Self::MissedRto => "a drill promoted, held and put everything back, but clients were back later than the playbook's `rto_target` (recovery plus the TTL, as it was before, of the records it changed)",
            Self::Blockers => "`standin doctor` found a blocker (`run` and `drill` would refuse to start), and maybe warnings and notes",
            Self::Warnings => "`standin doctor` found warnings but no blocker (notes alone exit 0)",
            Self::Unverified => "`standin verify-evidence`: the evidence does not match (a journal line, the plan, the playbook or a report was changed, removed or reordered: the first that does not match is named)",
            Self::Stopped => "stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) with changes in place: `standin resume` or `standin rollback` next",
        }
    }

    /// The exit code of every ending (README's table and `--help` say what each means).
    pub fn of(ending: Ending) -> Self {
        let (verdict, behind, by_rollback) = match ending {
            Ending::Done => return Self::Success,
            Ending::Unrunnable => return Self::RolledBack,
            Ending::Blocked | Ending::NoRuntime => return Self::NotStarted,
            Ending::Findings { blockers: true, .. } => return Self::Blockers,
            Ending::Findings { warnings: true, .. } => return Self::Warnings,
            Ending::Findings { .. } => return Self::Success,
            Ending::Evidence { verified: true } => return Self::Success,
            Ending::Evidence { verified: false } => return Self::Unverified,
            Ending::Ended {
                verdict,
                behind,
                by_rollback,
            } => (verdict, behind, by_rollback),
        };
        let exit = match verdict {
            // What the journal is missing, a human must record (`standin rollback` again).
            _ if behind => Self::HumanNeeded,
            Verdict::Succeeded | Verdict::Passed => Self::Success,
            Verdict::RolledBack
            | Verdict::StepFailed
            | Verdict::SoakFailed
            | Verdict::Interrupted => Self::RolledBack,
            Verdict::MissedRto => Self::MissedRto,
            Verdict::RestoreDiffers | Verdict::RollbackIncomplete => Self::HumanNeeded,
            Verdict::Stopped | Verdict::Unfinished => Self::Stopped,
        };
        match exit {
            Self::HumanNeeded => exit,
            _ if by_rollback => Self::Success,
            _ => exit,
        }
    }

    /// The exit codes as `--help` lists them.
    pub fn help() -> String {
        let mut out = String::from("Exit codes:\n");
        for exit in Self::ALL {
            let mut line = format!("  {}  ", exit.code());
            for word in exit.meaning().split(' ') {
                if line.len() + word.len() > 95 {
                    out.push_str(line.trim_end());
                    out.push('\n');
                    line = "     ".to_owned();
                }
                line.push_str(word);
                line.push(' ');
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// How a run or a drill ended, as a report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A run: every step applied (or had nothing to do).
    Succeeded,
    /// A run: a step failed (or a rollback was asked for) and every change was undone.
    RolledBack,
    /// A drill: promoted, held, put back exactly, within its recovery time objective.
    Passed,
    /// A drill: promoted, held and put back exactly, but recovery took longer than the target.
    MissedRto,
    /// A drill: a step failed; what it had changed was rolled back.
    StepFailed,
    /// A drill: a gate failed while the promoted state was held; everything was rolled back.
    SoakFailed,
    /// A drill: the rollback finished but a resource does not hold what it held before.
    RestoreDiffers,
    /// A drill: stopped (a signal, or killed) before its soak ended, then rolled back.
    Interrupted,
    /// Some change could not be undone: a human must act.
    RollbackIncomplete,
    /// Stopped by a signal with changes in place (or killed): resume or roll it back.
    Stopped,
    /// The journal ends without an outcome: the run is going on, or its process died.
    Unfinished,
}

impl Verdict {
    /// Words for a person.
    pub fn words(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::RolledBack => "rolled back",
            Self::Passed => "passed",
            Self::MissedRto => "missed its recovery time objective",
            Self::StepFailed => "failed: a step failed, everything was rolled back",
            Self::SoakFailed => "failed: a gate broke during the soak, everything was rolled back",
            Self::RestoreDiffers => "failed: the restore differs from the snapshot",
            Self::Interrupted => "interrupted before its soak ended, then rolled back",
            Self::RollbackIncomplete => "failed: the rollback is incomplete, a human must act",
            Self::Stopped => "stopped with changes in place",
            Self::Unfinished => "unfinished (running, or its process died)",
        }
    }
}

impl Verdict {
    pub const ALL: [Self; 11] = [
        Self::Succeeded,
        Self::RolledBack,
        Self::Passed,
        Self::MissedRto,
        Self::StepFailed,
        Self::SoakFailed,
        Self::RestoreDiffers,
        Self::Interrupted,
        Self::RollbackIncomplete,
        Self::Stopped,
        Self::Unfinished,
    ];

    /// How a run (not a drill) ended, by its outcome.
    pub fn of_run(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Succeeded => Self::Succeeded,
            Outcome::RolledBack => Self::RolledBack,
            Outcome::RollbackIncomplete => Self::RollbackIncomplete,
            Outcome::Stopped => Self::Stopped,
        }
    }
}

/// Every way a command can end but with an [`Error`] (which [`Error::exit`] maps), as far as
/// its exit code goes: [`Exit::of`] decides each code, and nothing else does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It did what it was asked: `status`, `report`, `init`, a runnable `plan`, a `drill
    /// --dry` that found nothing in the way, a `rollback` with nothing to undo.
    Done,
    /// `plan`: a step cannot be planned, or a guard refuses the plan.
    Unrunnable,
    /// `drill --dry`: something would stop the drill before it changes anything.
    Blocked,
    /// A run or drill ended as its report says (`verdict`); `behind`: its journal stopped
    /// taking writes, so a human must record the end; `by_rollback`: `standin rollback`
    /// ended it, for which everything put back is success.
    Ended {
        verdict: Verdict,
        behind: bool,
        by_rollback: bool,
    },
    /// The process could not start (no async runtime): nothing was called.
    NoRuntime,
    /// `doctor`: whether it found blockers, and warnings (notes change nothing).
    Findings { blockers: bool, warnings: bool },
    /// `verify-evidence`: whether everything it could check matches.
    Evidence { verified: bool },
}

impl Ending {
    /// How a run's steps, or a rollback (`by_rollback`), ended, by its report.
    pub fn of_report(report: &crate::engine::Report, by_rollback: bool) -> Self {
        Self::Ended {
            verdict: Verdict::of_run(report.outcome),
            behind: report.unjournaled.is_some(),
            by_rollback,
        }
    }

    /// A run or drill that ended by itself (not by `rollback`), as its report says.
    pub fn ended(verdict: Verdict, behind: bool) -> Self {
        Self::Ended {
            verdict,
            behind,
            by_rollback: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid playbook\n{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("not confirmed: nothing was changed")]
    Declined,
    #[error("refusing to act without confirmation: stdin is not a terminal; pass `--yes` to confirm in automation\nnothing was changed")]
    NoConfirmation,
    #[error("cannot plan step `{step}`: {message}\nnothing was changed")]
    Plan { step: String, message: String },
    /// `init` could not read what it drafts from.
    #[error("cannot read the account: {0}\nnothing was written")]
    Account(#[from] crate::aws::AwsError),
    #[error("refused before any change:\n{}\nnothing was changed; fix the playbook or the world, or overrule a built-in guard with `--force-guard NAME`", lines(.0))]
    Refused(Vec<String>),
    /// `doctor`'s blocker checks found what makes acting in the account unsafe.
    #[error("refused before any change: the account is not safe to act in:\n{}\nnothing was changed; `standin doctor` says more; go ahead anyway with `--force-blocker ID` (`--allow-root` for the root user)", lines(.0))]
    AccountBlocked(Vec<String>),
    #[error("the saved plan is stale; nothing was changed:\n{}\nmake a new plan (`standin plan -o FILE`), review it, and run that", lines(.0))]
    Stale(Vec<String>),
    #[error("cannot resume:\n{}\nnothing was changed", lines(.0))]
    NotResumable(Vec<String>),
    /// `approve` cannot answer (no request waits, the runner's own run, answered already).
    #[error("cannot answer: {0}\nnothing was written")]
    Unanswered(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn lines(items: &[String]) -> String {
    items
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Self::Invalid(_)
            | Self::Usage(_)
            | Self::State(_)
            | Self::Lock(LockError::NotShared) => Exit::Invalid,
            Self::Engine(EngineError::Read(_)) => Exit::Invalid,
            Self::Lock(
                LockError::Held { .. } | LockError::WrongId { .. } | LockError::Live { .. },
            )
            | Self::Declined
            | Self::NoConfirmation
            | Self::Refused(_)
            | Self::AccountBlocked(_)
            | Self::Stale(_)
            | Self::NotResumable(_)
            | Self::Unanswered(_) => Exit::NotStarted,
            // Nothing can have changed before the state is locked.
            Self::Lock(LockError::Failed { .. } | LockError::Unreadable { .. }) => Exit::NotStarted,
            // A call failed before anything changed, as when a plan cannot be made.
            Self::Plan { .. } | Self::Account(_) => Exit::RolledBack,
            // The journal could not be written mid-run: what happened is uncertain, unless
            // no step had journaled an intent yet.
            Self::Engine(EngineError::Journal { changed: true, .. }) => Exit::HumanNeeded,
            Self::Engine(EngineError::Journal { changed: false, .. }) => Exit::NotStarted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ending a command can have, and its code: a new verdict or ending fails to
    /// compile here until it is given one.
    #[test]
    fn every_ending_has_its_exit_code() {
        let of_verdict = |v: Verdict| match v {
            Verdict::Succeeded | Verdict::Passed => 0,
            Verdict::RolledBack | Verdict::StepFailed | Verdict::SoakFailed => 1,
            Verdict::Interrupted => 1,
            Verdict::RestoreDiffers | Verdict::RollbackIncomplete => 3,
            Verdict::Stopped | Verdict::Unfinished => 5,
            Verdict::MissedRto => 6,
        };
        for verdict in Verdict::ALL {
            let code = |behind, by_rollback| {
                Exit::of(Ending::Ended {
                    verdict,
                    behind,
                    by_rollback,
                })
                .code()
            };
            assert_eq!(code(false, false), of_verdict(verdict), "{verdict:?}");
            // A journal behind always leaves a human to record the end.
            assert_eq!(code(true, false), 3, "{verdict:?}");
            assert_eq!(code(true, true), 3, "{verdict:?}");
            // `rollback`: everything put back is success; what a human must do stays 3.
            let by_rollback = if of_verdict(verdict) == 3 { 3 } else { 0 };
            assert_eq!(code(false, true), by_rollback, "{verdict:?}");
        }
        let others = [
            (Ending::Done, 0),
            (Ending::Unrunnable, 1),
            (Ending::Blocked, 4),
            (Ending::NoRuntime, 4),
            (
                Ending::Findings {
                    blockers: true,
                    warnings: true,
                },
                7,
            ),
            (
                Ending::Findings {
                    blockers: true,
                    warnings: false,
                },
                7,
            ),
            (
                Ending::Findings {
                    blockers: false,
                    warnings: true,
                },
                8,
            ),
            (
                Ending::Findings {
                    blockers: false,
                    warnings: false,
                },
                0,
            ),
            (Ending::Evidence { verified: true }, 0),
            (Ending::Evidence { verified: false }, 9),
        ];
        for (ending, code) in others {
            match ending {
                Ending::Done
                | Ending::Unrunnable
                | Ending::Blocked
                | Ending::NoRuntime
                | Ending::Findings { .. }
                | Ending::Evidence { .. } => {}
                Ending::Ended { .. } => unreachable!("above"),
            }
            assert_eq!(Exit::of(ending).code(), code, "{ending:?}");
        }
        // A run's outcomes read as its verdicts.
        let runs = [
            (Outcome::Succeeded, 0),
            (Outcome::RolledBack, 1),
            (Outcome::RollbackIncomplete, 3),
            (Outcome::Stopped, 5),
        ];
        for (outcome, code) in runs {
            let ending = Ending::ended(Verdict::of_run(outcome), false);
            assert_eq!(Exit::of(ending).code(), code, "{outcome:?}");
        }
    }
}
