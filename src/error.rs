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
}

impl Exit {
    pub const ALL: [Self; 7] = [
        Self::Success,
        Self::RolledBack,
        Self::Invalid,
        Self::HumanNeeded,
        Self::NotStarted,
        Self::Stopped,
        Self::MissedRto,
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
            Self::HumanNeeded => "a step failed and the rollback is incomplete, or a drill's restore differs from its snapshot: a human must act, as the output says (never when nothing was changed)",
            Self::NotStarted => "did not start: another run holds the lock, the state cannot be locked or journaled, the confirmation was not given (or cannot be: no terminal and no `--yes`), a guard refused the plan (a drill then reports it and exits 1), the saved plan is stale, or the run cannot be resumed (nothing was changed)",
            Self::MissedRto => "a drill promoted, held and put everything back, but clients were back later than the playbook's `rto_target` (recovery plus the TTL, as it was before, of the records it changed)",
            Self::Stopped => "stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) with changes in place: `standin resume` or `standin rollback` next",
        }
    }

    /// How a run or rollback ended.
    pub fn of(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Succeeded => Self::Success,
            Outcome::RolledBack => Self::RolledBack,
            Outcome::RollbackIncomplete => Self::HumanNeeded,
            Outcome::Stopped => Self::Stopped,
        }
    }

    /// How a run or rollback ended, and whether its journal holds it: a journal that stopped
    /// taking writes leaves a human to record the end (`standin rollback` again).
    pub fn of_report(report: &crate::engine::Report) -> Self {
        match report.unjournaled {
            Some(_) => Self::HumanNeeded,
            None => Self::of(report.outcome),
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
    #[error("the saved plan is stale; nothing was changed:\n{}\nmake a new plan (`standin plan -o FILE`), review it, and run that", lines(.0))]
    Stale(Vec<String>),
    #[error("cannot resume:\n{}\nnothing was changed", lines(.0))]
    NotResumable(Vec<String>),
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
            | Self::Stale(_)
            | Self::NotResumable(_) => Exit::NotStarted,
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
